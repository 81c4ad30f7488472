/**
 * Test support for contract tests (not part of the public API): a chain held in Maps, driven by
 * the standard executor, and the txId of a transaction.
 */
import assert from 'node:assert/strict';
import { fromHex, publicKeyFromRaw, verify, type JsonValue } from '../crypto/index.js';
import {
  decodeTransaction,
  signatureOf,
  signingMessage,
  type Transaction,
} from '../ledger/index.js';
import type { BlockExecution, SignatureCheck } from './executor.js';
import { standardExecutor } from './index.js';
import type { StateReader } from './state.js';

const executor = standardExecutor();
const checkSignature: SignatureCheck = (decoded, publicKey) =>
  verify(publicKeyFromRaw(fromHex(publicKey)), signingMessage(decoded.tx), signatureOf(decoded.tx));
/** The first test block's time. */
export const T0 = 1_700_000_000_000;

/** A chain held in Maps: executes blocks with the standard executor and applies their write-sets. */
export class TestChain implements StateReader {
  readonly tables = new Map<string, Map<string, JsonValue>>();
  height = 0;
  time = T0;
  logSize = 0;
  appHash = '00'.repeat(32);

  get(table: string, key: string): JsonValue | undefined {
    return this.tables.get(table)?.get(key);
  }

  execute(txs: readonly Transaction[]): BlockExecution {
    const decoded = txs.map((tx) => {
      const result = decodeTransaction(tx);
      assert.ok(result.ok, 'test transactions are well-formed');
      return result;
    });
    const execution = executor.executeBlock(
      this,
      decoded,
      { height: this.height, time: this.time, logSizeBefore: this.logSize },
      this.appHash,
      checkSignature,
    );
    for (const [table, key, value] of execution.writeSet) {
      const rows = this.tables.get(table) ?? new Map<string, JsonValue>();
      this.tables.set(table, rows);
      if (value === null) rows.delete(key);
      else rows.set(key, value);
    }
    this.height += 1;
    this.logSize += txs.length;
    this.appHash = execution.appHash;
    this.time += 1000;
    return execution;
  }

  /** Executes one block and returns its statuses. */
  run(...txs: Transaction[]): string[] {
    return this.execute(txs).statuses;
  }
}

export const idOf = (tx: Transaction): string => {
  const decoded = decodeTransaction(tx);
  assert.ok(decoded.ok);
  return decoded.txId;
};
