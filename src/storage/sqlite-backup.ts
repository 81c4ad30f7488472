/**
 * Online, consistent copies of a live SQLite database with SQLite's backup API: the copy is the
 * database as of one transaction, whatever the writer does meanwhile (sqlite.org/backup.html).
 */
import { chmodSync } from 'node:fs';
import Database from 'better-sqlite3';

/** Copies the database at `source` to `destination` (owner-only) while others may write to it. */
export async function backupDatabase(source: string, destination: string): Promise<void> {
  const db = new Database(source, { fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    await db.backup(destination);
  } finally {
    db.close();
  }
  chmodSync(destination, 0o600);
}
