/** Opening SQLite the way every ChartChain store needs it: WAL, fsync on commit, checked integrity. */
import Database from 'better-sqlite3';

/** A better-sqlite3 connection. */
export type SqliteDatabase = Database.Database;

/**
 * Opens (creating if needed) the database at `path` in WAL mode with synchronous=FULL, so a
 * committed transaction survives power loss and kill -9, and a half-written one is never seen.
 */
export function openDatabase(
  path: string,
  options: { readonly?: boolean; cacheKiB?: number } = {},
): SqliteDatabase {
  const db = new Database(path, {
    readonly: options.readonly === true,
    fileMustExist: options.readonly === true,
  });
  if (options.readonly !== true) {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
  }
  // Random-keyed indexes (txIds, key ids) outgrow SQLite's 2 MB default cache quickly.
  db.pragma(`cache_size = -${options.cacheKiB ?? 2048}`);
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  return db;
}

/** True when `name` is safe to splice into SQL as an identifier: we never quote user input. */
export function isSqlIdentifier(name: string): boolean {
  return /^[a-z][a-z0-9_]{0,62}$/.test(name);
}
