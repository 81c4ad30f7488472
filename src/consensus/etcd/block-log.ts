/**
 * The ordered blocks in etcd. A block is split into parts of at most PART_SIZE_BYTES under
 * `parts/<height>/<term>/<part>` and committed by writing its manifest `manifests/<height>` in
 * one etcd transaction that succeeds only if
 *   - no manifest exists at that height yet (createRevision = 0: appending is idempotent, and a
 *     client retry of the same append cannot write a second block), and
 *   - the proposer's election key still exists (fencing: a proposer whose lease expired can
 *     write nothing, not even a part).
 * The same transaction moves `head` and deletes the queued transactions it ordered. Readers page
 * through manifests and parts and never rely on a watch carrying block bytes.
 */
import assert from 'node:assert/strict';
import type { Etcd3, IRequestOp } from 'etcd3';
import { sha256Hex } from '../../crypto/index.js';
import { rangeAll, rangePages } from './etcd-client.js';
import { numberAtEnd, prefixEnd, type EtcdKeys } from './etcd-keys.js';

/** One block part, sized so that a part and its transaction stay under etcd's 1.5 MiB request limit. */
export const PART_SIZE_BYTES = 512 * 1024;
const MANIFEST_PAGE = 16;
const PART_PAGE = 8;

/** What the log records of a block besides its bytes. */
export interface Manifest {
  readonly height: number;
  readonly time: number;
  /** The proposer's election lease: parts of an abandoned attempt at this height live under another term. */
  readonly term: string;
  readonly partCount: number;
  readonly sizeBytes: number;
  readonly sha256: string;
  /** Transactions in the block, so every node can drop them from its pending count and no proposer re-includes them. */
  readonly txIds: readonly string[];
}

/** A block to append, with the queue range it consumes. */
export interface Append {
  readonly height: number;
  readonly time: number;
  readonly txIds: readonly string[];
  readonly block: Uint8Array;
  /** Per queue writer, the last key ordered into this block. */
  readonly consumed: ReadonlyMap<string, string>;
}

/** The proposer's fencing token: its election key and lease. */
export interface Fence {
  readonly electionKey: string;
  readonly term: string;
}

/** Reads and appends blocks of one network. */
export class BlockLog {
  constructor(
    private readonly client: Etcd3,
    private readonly keys: EtcdKeys,
  ) {}

  /** Height of the newest appended block, or -1 when the log is empty. */
  async head(): Promise<number> {
    const value = await this.client.get(this.keys.head).string();
    return value === null ? -1 : Number(value);
  }

  /** Lowest height still stored, or undefined when no manifest is stored. */
  async floor(): Promise<number | undefined> {
    const response = await this.client.kv.range({
      key: Buffer.from(this.keys.manifests),
      range_end: prefixEnd(this.keys.manifests),
      limit: 1,
      keys_only: true,
    });
    const first = response.kvs[0];
    return first === undefined ? undefined : numberAtEnd(first.key.toString());
  }

  /** Manifests of heights `[begin, end)` that are stored, in height order. */
  async *manifests(begin: number, end: number): AsyncGenerator<Manifest> {
    if (begin >= end) return;
    for await (const page of rangePages(this.client, {
      start: this.keys.manifest(begin),
      end: Buffer.from(this.keys.manifest(end)),
      pageSize: MANIFEST_PAGE,
    })) {
      for (const kv of page.kvs) yield JSON.parse(kv.value.toString('utf8')) as Manifest;
    }
  }

  /** The block bytes of `manifest`, checked against its size and hash. */
  async block(manifest: Manifest): Promise<Uint8Array> {
    const parts = await rangeAll(this.client, {
      start: this.keys.partsOfTerm(manifest.height, manifest.term),
      pageSize: PART_PAGE,
    });
    const bytes = Buffer.concat(parts.kvs.map((kv) => kv.value));
    if (
      parts.kvs.length !== manifest.partCount ||
      bytes.length !== manifest.sizeBytes ||
      sha256Hex(bytes) !== manifest.sha256
    ) {
      throw new Error(
        `block ${manifest.height} in etcd does not match its manifest (${parts.kvs.length}/${manifest.partCount} parts)`,
      );
    }
    return new Uint8Array(bytes);
  }

  /**
   * Appends a block at `append.height` under `fence`; returns its manifest. Returns undefined when
   * the height was taken or the fence lost (another proposer now leads); nothing is written then.
   */
  async append(fence: Fence, append: Append): Promise<Manifest | undefined> {
    const parts = splitParts(append.block);
    const fenced = [
      {
        key: Buffer.from(fence.electionKey),
        target: 'Create' as const,
        result: 'Greater' as const,
        create_revision: 0,
      },
    ];
    for (let i = 0; i < parts.length - 1; i++) {
      const put = {
        request_put: {
          key: Buffer.from(this.keys.part(append.height, fence.term, i)),
          value: parts[i]!,
        },
      };
      const written = await this.client.kv.txn({ compare: fenced, success: [put], failure: [] });
      if (!written.succeeded) return undefined;
    }
    const manifest: Manifest = {
      height: append.height,
      time: append.time,
      term: fence.term,
      partCount: parts.length,
      sizeBytes: append.block.length,
      sha256: sha256Hex(append.block),
      txIds: append.txIds,
    };
    const success: IRequestOp[] = [
      {
        request_put: {
          key: Buffer.from(this.keys.part(append.height, fence.term, parts.length - 1)),
          value: parts.at(-1)!,
        },
      },
      {
        request_put: {
          key: Buffer.from(this.keys.manifest(append.height)),
          value: Buffer.from(JSON.stringify(manifest)),
        },
      },
      {
        request_put: {
          key: Buffer.from(this.keys.head),
          value: Buffer.from(String(append.height)),
        },
      },
      ...[...append.consumed].map(([writer, lastKey]) => ({
        request_delete_range: {
          key: Buffer.from(this.keys.txqOf(writer)),
          range_end: Buffer.from(`${lastKey}\0`),
        },
      })),
    ];
    const compare = [
      ...fenced,
      {
        key: Buffer.from(this.keys.manifest(append.height)),
        target: 'Create' as const,
        result: 'Equal' as const,
        create_revision: 0,
      },
    ];
    const committed = await this.client.kv.txn({ compare, success, failure: [] });
    return committed.succeeded || (await this.#isOurs(append.height, manifest))
      ? manifest
      : undefined;
  }

  /** True when the manifest at `height` is `manifest`: a client retry of an append that had already succeeded. */
  async #isOurs(height: number, manifest: Manifest): Promise<boolean> {
    const stored = await this.client.get(this.keys.manifest(height)).string();
    if (stored === null) return false;
    const found = JSON.parse(stored) as Manifest;
    return found.term === manifest.term && found.sha256 === manifest.sha256;
  }

  /** Deletes queue entries up to `consumed` without a block (they were all duplicates), under `fence`. */
  async dropQueued(fence: Fence, consumed: ReadonlyMap<string, string>): Promise<boolean> {
    const fenced = [
      {
        key: Buffer.from(fence.electionKey),
        target: 'Create' as const,
        result: 'Greater' as const,
        create_revision: 0,
      },
    ];
    const success = [...consumed].map(([writer, lastKey]) => ({
      request_delete_range: {
        key: Buffer.from(this.keys.txqOf(writer)),
        range_end: Buffer.from(`${lastKey}\0`),
      },
    }));
    return (await this.client.kv.txn({ compare: fenced, success, failure: [] })).succeeded;
  }

  /** Deletes manifests and parts of every height below `height`. Returns the revision after. */
  async deleteBelow(height: number): Promise<string> {
    assert(height >= 0, 'requires height ≥ 0');
    const response = await this.client.kv.txn({
      compare: [],
      success: [
        {
          request_delete_range: {
            key: Buffer.from(this.keys.manifests),
            range_end: Buffer.from(this.keys.manifest(height)),
          },
        },
        {
          request_delete_range: {
            key: Buffer.from(this.keys.parts),
            range_end: Buffer.from(this.keys.partsOf(height)),
          },
        },
      ],
      failure: [],
    });
    return response.header.revision;
  }
}

/** `block` cut into parts of at most PART_SIZE_BYTES; an empty block is one empty part. */
export function splitParts(block: Uint8Array): Buffer[] {
  const parts: Buffer[] = [];
  for (let offset = 0; offset < block.length; offset += PART_SIZE_BYTES)
    parts.push(Buffer.from(block.subarray(offset, offset + PART_SIZE_BYTES)));
  return parts.length === 0 ? [Buffer.alloc(0)] : parts;
}
