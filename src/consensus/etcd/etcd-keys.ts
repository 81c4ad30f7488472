/**
 * The etcd key layout of one network, all under `chartchain/<namespace>/`. Heights and
 * sequence numbers are zero-padded so that key order is numeric order and a range read pages
 * through them in order.
 *
 *   head                          height of the newest appended block (small; watched)
 *   manifests/<height>            block manifest: time, txIds, part count, size, SHA-256
 *   parts/<height>/<term>/<part>  block bytes, ≤ PART_SIZE_BYTES each, written by proposer term
 *   txq/<writer>/<seq>.<bytes>    a transaction waiting for a block, and its size (so that its
 *                                 value can be read in pages of bounded bytes)
 *   writers/<writer>              last sequence number of a writer (small; watched by the proposer)
 *   committed/<nodeId>            height each node has committed (drives compaction)
 *   election/proposer/<lease>     the proposer election (etcd3's Election)
 */

const NUMBER_DIGITS = 16;
const NAMESPACE_PATTERN = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const ID_PATTERN = /^[a-z0-9][a-z0-9._-]{0,79}$/;

const pad = (value: number): string => String(value).padStart(NUMBER_DIGITS, '0');

/** Key names of one network's ordering state. */
export class EtcdKeys {
  readonly root: string;

  /** Throws RangeError unless `namespace` is 1–64 lowercase letters, digits, dots, dashes or underscores. */
  constructor(readonly namespace: string) {
    if (!NAMESPACE_PATTERN.test(namespace))
      throw new RangeError(
        'namespace must be 1–64 of [a-z0-9._-], starting with a letter or digit',
      );
    this.root = `chartchain/${namespace}/`;
  }

  get head(): string {
    return `${this.root}head`;
  }
  get manifests(): string {
    return `${this.root}manifests/`;
  }
  manifest(height: number): string {
    return this.manifests + pad(height);
  }
  get parts(): string {
    return `${this.root}parts/`;
  }
  partsOf(height: number): string {
    return `${this.parts}${pad(height)}/`;
  }
  partsOfTerm(height: number, term: string): string {
    return `${this.partsOf(height)}${term}/`;
  }
  part(height: number, term: string, index: number): string {
    return this.partsOfTerm(height, term) + pad(index);
  }
  get txq(): string {
    return `${this.root}txq/`;
  }
  txqOf(writer: string): string {
    return `${this.txq}${checkId(writer, 'writer')}/`;
  }
  txqEntry(writer: string, seq: number, sizeBytes: number): string {
    return `${this.txqOf(writer)}${pad(seq)}.${sizeBytes}`;
  }
  get writers(): string {
    return `${this.root}writers/`;
  }
  writer(writer: string): string {
    return this.writers + checkId(writer, 'writer');
  }
  get committed(): string {
    return `${this.root}committed/`;
  }
  committedOf(nodeId: string): string {
    return this.committed + checkId(nodeId, 'nodeId');
  }
}

function checkId(id: string, name: string): string {
  if (!ID_PATTERN.test(id))
    throw new RangeError(`${name} must be 1–80 of [a-z0-9._-], starting with a letter or digit`);
  return id;
}

/** The number at the end of `key` (a padded height or sequence number). */
export function numberAtEnd(key: string): number {
  return Number(key.slice(key.lastIndexOf('/') + 1));
}

/** The size a queued transaction's key states, or undefined for a key that states none. */
export function txqEntrySize(key: string): number | undefined {
  const match = /\/\d+\.(\d+)$/.exec(key);
  return match === null ? undefined : Number(match[1]);
}

/** The last path segment of `key`. */
export function lastSegment(key: string): string {
  return key.slice(key.lastIndexOf('/') + 1);
}

/** The smallest key after every key that starts with `prefix` (etcd's range_end for a prefix). */
export function prefixEnd(prefix: string): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]! += 1;
      return end.subarray(0, i + 1);
    }
  }
  return Buffer.from([0]);
}
