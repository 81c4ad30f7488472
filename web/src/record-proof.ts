/**
 * One-click "verify" of a record version: the node's `$verify` answer, checked in this browser.
 * The resource with its salt must hash to a commitment the signed transaction carries; the
 * transaction must be the leaf the RFC 9162 inclusion proof includes in a tree head; and the
 * tree head's signature must verify.
 */
import { call } from './node-api.js';
import { fromHex, sha256, toHex, verifyInclusion } from './merkle.js';
import { checkSignature, LedgerCheckError, type TreeHead } from './tree-head.js';

/** RFC 8785 JSON canonicalisation: sorted keys, ECMAScript number and string forms. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value).sort().map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value);
}

interface Part { name: string; valueString?: string; valueInteger?: number; resource?: unknown }

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** What a checked version proves: the block-level facts to show beside the record. */
export interface CheckedVersion {
  readonly leafIndex: number;
  readonly treeSize: number;
  readonly height: number;
}

/** Fetches `$verify` for `Type/id` version `vid` and checks it; throws LedgerCheckError (or NodeError) saying what failed. */
export async function verifyVersion(type: string, id: string, vid: string, headers?: HeadersInit): Promise<CheckedVersion> {
  const answer = await call<{ parameter: Part[] }>(`/fhir/${type}/${encodeURIComponent(id)}/_history/${vid}/$verify`, headers === undefined ? {} : { headers });
  const part = (name: string) => answer.parameter.find((p) => p.name === name);
  const text = (name: string) => part(name)?.valueString ?? '';
  const transaction = new TextEncoder().encode(text('transaction'));
  const commitment = toHex(await sha256(concat(fromHex(text('salt')), new TextEncoder().encode(canonicalJson(part('resource')?.resource)))));
  if (!text('transaction').includes(commitment)) throw new LedgerCheckError('the record does not match the commitment in its signed transaction');
  const leafHash = toHex(await sha256(concat(new Uint8Array([0]), transaction)));
  const head = JSON.parse(text('treeHead')) as TreeHead;
  const leafIndex = part('leafIndex')?.valueInteger ?? -1;
  const treeSize = part('treeSize')?.valueInteger ?? -1;
  const path = answer.parameter.filter((p) => p.name === 'inclusionProof').map((p) => p.valueString ?? '');
  if (!(await verifyInclusion(leafIndex, treeSize, leafHash, path, head.logRoot)) || head.logSize !== treeSize) throw new LedgerCheckError('the transaction is not included in the signed tree head');
  await checkSignature(head, text('treeHeadSignerPublicKey'));
  return { leafIndex, treeSize, height: head.height };
}
