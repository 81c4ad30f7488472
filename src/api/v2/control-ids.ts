/**
 * The messages already taken, by sender and control id (MSH-3@MSH-4, MSH-10), with the ACK code
 * each got: a resent message is answered again, not written again. Kept in `<data>/v2-messages.db`,
 * written (and fsynced) only after the message's writes committed on the ledger.
 */
import { join } from 'node:path';
import { openDatabase, type SqliteDatabase } from '../../storage/index.js';

export class V2ControlIds {
  readonly #db: SqliteDatabase;
  readonly #get;
  readonly #put;

  constructor(dataDir: string) {
    this.#db = openDatabase(join(dataDir, 'v2-messages.db'));
    this.#db.exec(
      'CREATE TABLE IF NOT EXISTS message (sender TEXT NOT NULL, control_id TEXT NOT NULL, ack TEXT NOT NULL, at INTEGER NOT NULL, PRIMARY KEY (sender, control_id))',
    );
    this.#get = this.#db
      .prepare('SELECT ack FROM message WHERE sender = ? AND control_id = ?')
      .pluck();
    this.#put = this.#db.prepare(
      'INSERT OR REPLACE INTO message (sender, control_id, ack, at) VALUES (?, ?, ?, ?)',
    );
  }

  /** The ACK code message `controlId` from `sender` got, when it was taken before. */
  taken(sender: string, controlId: string): string | undefined {
    return this.#get.get(sender, controlId) as string | undefined;
  }

  /** Records that message `controlId` from `sender` was taken and answered `ack`. */
  record(sender: string, controlId: string, ack: string, atMs: number): void {
    this.#put.run(sender, controlId, ack, atMs);
  }

  close(): void {
    this.#db.close();
  }
}
