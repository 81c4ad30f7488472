/**
 * One-click "verify" of a record version: the node's `$verify` answer, checked in this browser.
 * The resource on screen must be the one verified; with its salt it must hash to a commitment
 * in the signed transaction, whose signature must verify under the signer's key; the transaction
 * must be the leaf the RFC 9162 inclusion proof includes in a tree head; and that tree head must
 * be signed and belong to the history this browser checked (ledger-check.ts).
 */
import { call } from './node-api.js';
import { fromHex, sha256, toHex, verifyInclusion } from './merkle.js';
import { LedgerCheckError, type TreeHead } from './tree-head.js';
import { checkHead } from './ledger-check.js';
import { canonicalJson } from './canonical-json.js';

interface Part {
  name: string;
  valueString?: string;
  valueInteger?: number;
  resource?: unknown;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** What a checked version proves: the block-level facts to show beside the record, and the key that signed it. */
export interface CheckedVersion {
  readonly leafIndex: number;
  readonly treeSize: number;
  readonly height: number;
  /** The key id of the transaction's signer: the author's key, checked here. */
  readonly signer: string;
}

interface SignedTransaction {
  type: string;
  signer: string;
  nonce: number;
  body: Record<string, unknown>;
  sig: string;
}

/** True when some `commitment` field anywhere in `value` equals `commitment`. */
function commits(value: unknown, commitment: string): boolean {
  if (Array.isArray(value)) return value.some((item) => commits(item, commitment));
  if (value === null || typeof value !== 'object') return false;
  return Object.entries(value).some(
    ([key, item]) => (key === 'commitment' && item === commitment) || commits(item, commitment),
  );
}

/** The resource without what the node adds when serving it (meta), for comparing what is shown with what was signed. */
function content(resource: unknown): string {
  const { meta: _meta, ...rest } = resource as Record<string, unknown>;
  return canonicalJson(rest);
}

/** Throws LedgerCheckError unless `text` is the canonical form of a transaction that `key` (hex) signed and whose signer id is that key's. */
async function checkTransaction(text: string, key: string): Promise<SignedTransaction> {
  const tx = JSON.parse(text) as SignedTransaction;
  if (canonicalJson(tx) !== text)
    throw new LedgerCheckError('the transaction is not in canonical form');
  if (toHex(await sha256(fromHex(key))) !== tx.signer)
    throw new LedgerCheckError("the signer key does not match the transaction's signer");
  const message = new TextEncoder().encode(
    `chartchain/tx/v1\n${canonicalJson({ type: tx.type, signer: tx.signer, nonce: tx.nonce, body: tx.body })}`,
  );
  const imported = await crypto.subtle.importKey(
    'raw',
    fromHex(key) as BufferSource,
    { name: 'Ed25519' },
    false,
    ['verify'],
  );
  if (
    !(await crypto.subtle.verify(
      'Ed25519',
      imported,
      fromHex(tx.sig) as BufferSource,
      message as BufferSource,
    ))
  )
    throw new LedgerCheckError("the transaction's signature does not verify");
  return tx;
}

/**
 * Fetches `$verify` for `Type/id` version `vid` and checks it against `shown`, the resource on
 * screen; throws LedgerCheckError (or NodeError) saying what failed.
 */
export async function verifyVersion(
  shown: { resourceType: string; id?: string },
  vid: string,
  headers?: HeadersInit,
): Promise<CheckedVersion> {
  const answer = await call<{ parameter: Part[] }>(
    `/fhir/${shown.resourceType}/${encodeURIComponent(shown.id ?? '')}/_history/${vid}/$verify`,
    headers === undefined ? {} : { headers },
  );
  const part = (name: string) => answer.parameter.find((p) => p.name === name);
  const text = (name: string) => part(name)?.valueString ?? '';
  const resource = part('resource')?.resource;
  if (content(resource) !== content(shown))
    throw new LedgerCheckError('the record on screen is not the one the ledger anchors');
  const tx = await checkTransaction(text('transaction'), text('signerPublicKey'));
  const commitment = toHex(
    await sha256(concat(fromHex(text('salt')), new TextEncoder().encode(canonicalJson(resource)))),
  );
  if (!commits(tx.body, commitment))
    throw new LedgerCheckError(
      'the record does not match the commitment in its signed transaction',
    );
  const leafHash = toHex(
    await sha256(concat(new Uint8Array([0]), new TextEncoder().encode(text('transaction')))),
  );
  const head = JSON.parse(text('treeHead')) as TreeHead;
  const leafIndex = part('leafIndex')?.valueInteger ?? -1;
  const treeSize = part('treeSize')?.valueInteger ?? -1;
  const path = answer.parameter
    .filter((p) => p.name === 'inclusionProof')
    .map((p) => p.valueString ?? '');
  if (
    head.logSize !== treeSize ||
    !(await verifyInclusion(leafIndex, treeSize, leafHash, path, head.logRoot))
  )
    throw new LedgerCheckError('the transaction is not included in the signed tree head');
  await checkHead(head, text('treeHeadSignerPublicKey'));
  return { leafIndex, treeSize, height: head.height, signer: tx.signer };
}
