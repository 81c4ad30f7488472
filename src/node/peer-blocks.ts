/**
 * Blocks travel between organisations' nodes when the ordering service no longer holds them:
 * etcd keeps only blocks some node has not yet committed, so a node joining later, or one
 * restored from an old backup, syncs the older blocks from its peers. Serving: any active
 * member organisation may read the chain, one page of canonical blocks per request, one per
 * line (the export's format). Fetching: every block is validated as a block from the orderer
 * is (signature, prevHash, height, re-execution to the same appHash) before it commits; a
 * peer that sends one that fails is named in an alarm and the next peer is asked.
 */
import {
  BLOCK_BYTES_MAX,
  BlockFormatError,
  encodeBlock,
  PEER_BLOCKS_COUNT_MAX,
  PEER_BLOCKS_PAGE_BYTES,
} from '../ledger/index.js';
import type { ChainStore } from '../storage/index.js';
import { BlockValidationError } from '../verifier/index.js';
import type { PeerClient } from './peer-client.js';

const NEWLINE = 0x0a;

/** The page of canonical blocks from `from` (at most `countMax`), newline-terminated; empty past the head. */
export function blockPage(store: ChainStore, from: number, countMax: number): Uint8Array {
  const until = Math.min(
    (store.head()?.height ?? -1) + 1,
    from + Math.min(countMax, PEER_BLOCKS_COUNT_MAX),
  );
  const parts: Uint8Array[] = [];
  for (let height = from, bytes = 0; height < until && bytes < PEER_BLOCKS_PAGE_BYTES; height++) {
    const line = encodeBlock(store.block(height)!);
    parts.push(line, Uint8Array.of(NEWLINE));
    bytes += line.byteLength + 1;
  }
  return Buffer.concat(parts);
}

/** Splits a page into its block lines. */
export function blockLines(page: Uint8Array): Uint8Array[] {
  const lines: Uint8Array[] = [];
  for (let start = 0; start < page.byteLength;) {
    const end = page.indexOf(NEWLINE, start);
    const stop = end < 0 ? page.byteLength : end;
    lines.push(page.subarray(start, stop));
    start = stop + 1;
  }
  return lines;
}

/** What syncing needs from the node: validate and commit one block, and raise an alarm. */
export interface PeerBlockHost {
  /** Validates the block at `height` against the committed chain and commits it; throws BlockValidationError or BlockFormatError for a bad one. */
  commit(height: number, block: Uint8Array): Promise<void>;
  alarm(reason: string): void;
}

/** Thrown when no peer could serve a block this node needs. */
export class PeerSyncError extends Error {
  constructor(
    readonly height: number,
    peers: readonly string[],
  ) {
    super(
      `no peer served a valid block ${height} (asked: ${peers.length === 0 ? 'none configured' : peers.join(', ')}); the node cannot catch up`,
    );
    this.name = 'PeerSyncError';
  }
}

/** Commits blocks fetched from peers. */
export class PeerBlockSync {
  constructor(
    private readonly peers: PeerClient,
    private readonly host: PeerBlockHost,
  ) {}

  /** Commits every block from `from` below `until`, asking each peer in turn; returns the next height. Throws PeerSyncError when every peer fails at one height. */
  async sync(from: number, until: number): Promise<number> {
    let height = from;
    while (height < until) {
      const before = height;
      for (const orgId of this.peers.peers()) {
        height = await this.#syncFrom(orgId, height, until);
        if (height >= until) break;
      }
      if (height === before) throw new PeerSyncError(height, this.peers.peers());
    }
    return height;
  }

  /** Commits what `orgId` serves from `from` until it fails, runs out or `until`; returns the next height. */
  async #syncFrom(orgId: string, from: number, until: number): Promise<number> {
    let height = from;
    for (;;) {
      const page = await this.peers.get(
        orgId,
        `/peer/blocks?from=${height}&count=${Math.min(until - height, PEER_BLOCKS_COUNT_MAX)}`,
        PEER_BLOCKS_PAGE_BYTES + 2 * BLOCK_BYTES_MAX,
      );
      const lines = page === undefined ? [] : blockLines(page);
      if (lines.length === 0) return height;
      for (const line of lines.slice(0, until - height)) {
        try {
          await this.host.commit(height, line);
        } catch (error) {
          if (!(error instanceof BlockValidationError || error instanceof BlockFormatError))
            throw error;
          this.host.alarm(
            `peer ${orgId} sent block ${height} that fails validation (${error.message}): refused`,
          );
          return height;
        }
        height += 1;
      }
      if (height >= until) return height;
    }
  }
}
