/**
 * Which state row names a ciphertext hash: a record version, or a break-the-glass row's sealed
 * note. The chain store keeps hash → row (`blob_anchor`), written with each block, so serving a
 * blob to a peer or collecting orphans looks one hash up instead of holding, or reading, every
 * version row. The row is read again on each lookup: its envelopes are whatever state says now.
 */
import {
  BREAK_THE_GLASS,
  VERSIONS,
  BTG_TABLE,
  sealedNotesOf,
  VERSION_TABLE,
  type KeyEnvelope,
  type WriteSetEntry,
} from '../contracts/index.js';
import type { JsonValue } from '../crypto/index.js';
import type { BlobAnchor, ChainStore } from '../storage/index.js';

/** The anchors a committed block's write-set makes: each ciphertext hash its version and break-the-glass rows name. */
export function anchorsOf(writeSet: readonly WriteSetEntry[]): BlobAnchor[] {
  return writeSet.flatMap(([table, key, value]) =>
    sealedContentOf(table, value).map(
      ({ ciphertextHash }) => [ciphertextHash, referrerOf(table, key)] as const,
    ),
  );
}

/** Every anchor committed state makes: to build `blob_anchor` for a chain older than it. */
export function* anchorsInState(store: ChainStore): Generator<BlobAnchor> {
  for (const table of [VERSION_TABLE, BTG_TABLE]) {
    for (const key of store.stateKeys(table))
      yield* anchorsOf([[table, key, store.state.get(table, key) ?? null]]);
  }
}

/** The key envelopes on ciphertext `hash`, as the state row naming it holds them now; undefined when no row names it. */
export function envelopesOf(store: ChainStore, hash: string): readonly KeyEnvelope[] | undefined {
  const referrer = store.blobReferrer(hash);
  if (referrer === undefined) return undefined;
  const [table, key] = JSON.parse(referrer) as [string, string];
  return sealedContentOf(table, store.state.get(table, key) ?? null).find(
    (content) => content.ciphertextHash === hash,
  )?.envelopes;
}

function referrerOf(table: string, key: string): string {
  return JSON.stringify([table, key]);
}

/** The sealed contents a state row holds: a version's (unless a tombstone), or a break-the-glass row's notes. */
function sealedContentOf(
  table: string,
  row: JsonValue,
): { ciphertextHash: string; envelopes: readonly KeyEnvelope[] }[] {
  const version = VERSIONS.rowOf(table, row);
  if (version !== undefined)
    return version.ciphertextHash === null
      ? []
      : [{ ciphertextHash: version.ciphertextHash, envelopes: version.envelopes }];
  const breakTheGlass = BREAK_THE_GLASS.rowOf(table, row);
  return breakTheGlass === undefined ? [] : sealedNotesOf(breakTheGlass);
}
