/**
 * The outcome recorded for every transaction in a block. Domain outcomes are values (TB):
 * `ok`, a `denied:` reason (the transaction was well-formed but not allowed), or an
 * `invalid:` reason (it should never have been signed as it stands).
 */
export type TxStatus = 'ok' | `denied:${string}` | `invalid:${string}`;

/** Reasons the ledger itself gives, before any contract runs. */
export type EnvelopeRejection =
  | 'invalid:malformed'
  | 'invalid:oversized'
  | 'invalid:unknown-type'
  | 'invalid:unknown-signer'
  | 'invalid:bad-signature'
  | 'invalid:duplicate-txid'
  | 'invalid:stale-nonce'
  | 'denied:signer-inactive';

const TX_STATUS_PATTERN = /^(ok|(denied|invalid):[a-z0-9-]{1,64})$/;

/** True when `value` is a well-formed TxStatus. */
export function isTxStatus(value: unknown): value is TxStatus {
  return typeof value === 'string' && TX_STATUS_PATTERN.test(value);
}
