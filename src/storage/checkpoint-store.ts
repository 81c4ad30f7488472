/**
 * Checkpoints this node signed or received, in a node-local SQLite file (never consensus state:
 * which checkpoints a node has heard of differs from node to node). One per organisation and
 * height; the first verified one is kept, and a different second one is reported.
 */
import type { Checkpoint } from '../ledger/index.js';
import { openDatabase, type SqliteDatabase } from './database.js';

interface CheckpointRow {
  height: number;
  org_id: string;
  block_hash: string;
  app_hash: string;
  signer: string;
  sig: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS checkpoint (
  height INTEGER NOT NULL,
  org_id TEXT NOT NULL,
  block_hash TEXT NOT NULL,
  app_hash TEXT NOT NULL,
  signer TEXT NOT NULL,
  sig TEXT NOT NULL,
  PRIMARY KEY (height, org_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS checkpoint_meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS checkpoint_members (height INTEGER PRIMARY KEY, members TEXT NOT NULL);
`;

function checkpointFrom(row: CheckpointRow): Checkpoint {
  return {
    height: row.height,
    blockHash: row.block_hash,
    appHash: row.app_hash,
    orgId: row.org_id,
    signer: row.signer,
    sig: row.sig,
  };
}

/** The checkpoint table of one node. */
export class CheckpointStore {
  readonly #db: SqliteDatabase;
  readonly #statements;

  private constructor(db: SqliteDatabase) {
    this.#db = db;
    this.#statements = {
      insert: db.prepare(
        'INSERT OR IGNORE INTO checkpoint (height, org_id, block_hash, app_hash, signer, sig) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      one: db.prepare('SELECT * FROM checkpoint WHERE height = ? AND org_id = ?'),
      atHeight: db.prepare('SELECT * FROM checkpoint WHERE height = ? ORDER BY org_id'),
      latest: db.prepare(
        'SELECT c.* FROM checkpoint c JOIN (SELECT org_id, MAX(height) AS height FROM checkpoint GROUP BY org_id) m ON c.org_id = m.org_id AND c.height = m.height ORDER BY c.org_id',
      ),
      getMeta: db.prepare('SELECT value FROM checkpoint_meta WHERE name = ?').pluck(),
      getMembers: db.prepare('SELECT members FROM checkpoint_members WHERE height = ?').pluck(),
      setMembers: db.prepare(
        'INSERT OR REPLACE INTO checkpoint_members (height, members) VALUES (?, ?)',
      ),
      setMeta: db.prepare(
        'INSERT INTO checkpoint_meta (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value',
      ),
    };
  }

  /**
   * Opens (creating if needed) the checkpoint database at `path`. Commits are not fsynced one by
   * one (WAL, synchronous=NORMAL): this runs on every block commit, and a checkpoint lost to a
   * power cut is signed again at the next start (the head's) or by the next block.
   */
  static open(path: string): CheckpointStore {
    const db = openDatabase(path);
    db.pragma('synchronous = NORMAL');
    db.exec(SCHEMA);
    return new CheckpointStore(db);
  }

  /**
   * Stores `checkpoint` unless its organisation already has one at that height. Returns 'added',
   * 'known' (the same one again) or the stored one when it differs (an organisation that
   * signed two different checkpoints for one height).
   */
  add(checkpoint: Checkpoint): 'added' | 'known' | Checkpoint {
    const { height, orgId, blockHash, appHash, signer, sig } = checkpoint;
    if (this.#statements.insert.run(height, orgId, blockHash, appHash, signer, sig).changes === 1)
      return 'added';
    const stored = checkpointFrom(this.#statements.one.get(height, orgId) as CheckpointRow);
    return stored.blockHash === blockHash && stored.appHash === appHash ? 'known' : stored;
  }

  /** Every checkpoint stored for `height`, by orgId. */
  at(height: number): Checkpoint[] {
    return (this.#statements.atHeight.all(height) as CheckpointRow[]).map(checkpointFrom);
  }

  /** Each organisation's highest checkpoint, by orgId. */
  latestByOrg(): Checkpoint[] {
    return (this.#statements.latest.all() as CheckpointRow[]).map(checkpointFrom);
  }

  /**
   * Stores this node's own checkpoint with the member organisations after its block, as this
   * node committed it (who must sign that height), in one transaction.
   */
  addOwn(checkpoint: Checkpoint, members: readonly string[]): void {
    this.#db.transaction(() => {
      this.#statements.setMembers.run(checkpoint.height, JSON.stringify(members));
      this.add(checkpoint);
    })();
  }

  /** The members recorded for `height`, or undefined for a block this node has not committed. */
  membersAt(height: number): string[] | undefined {
    const text = this.#statements.getMembers.get(height) as string | undefined;
    return text === undefined ? undefined : (JSON.parse(text) as string[]);
  }

  /** The highest height known final, or -1. */
  get finalisedHeight(): number {
    const value = this.#statements.getMeta.get('finalised_height') as number | undefined;
    return value ?? -1;
  }

  /** Records that block `height` is final; never lowers the mark. */
  markFinal(height: number): void {
    if (height > this.finalisedHeight) this.#statements.setMeta.run('finalised_height', height);
  }

  close(): void {
    this.#db.close();
  }
}
