/**
 * The frame a blob is stored in inside an append-only segment file:
 *
 *   magic (4 bytes) | length (uint32, big-endian) | SHA-256 of the content (32 bytes) | content
 *
 * The magic is `CCB1` for a live frame and `CCB0` for an erased one, whose hash and content are
 * overwritten with zeros while its length is kept, so a scan can step over it. The header makes
 * a segment self-describing: its index can always be rebuilt by reading it from the start.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { SHA256_BYTES } from '../crypto/index.js';

export const FRAME_HEADER_BYTES = 8 + SHA256_BYTES;
const LIVE = Buffer.from('CCB1', 'latin1');
const ERASED = Buffer.from('CCB0', 'latin1');

/** One frame found in a segment: where it starts, its content's length, and its stated hash. */
export interface FrameEntry {
  readonly offset: number;
  readonly length: number;
  readonly hash: string;
}

/** The bytes of a live frame holding `content`, whose SHA-256 is `hash`. */
export function encodeFrame(hash: string, content: Uint8Array): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + content.byteLength);
  LIVE.copy(frame, 0);
  frame.writeUInt32BE(content.byteLength, 4);
  frame.write(hash, 8, SHA256_BYTES, 'hex');
  frame.set(content, FRAME_HEADER_BYTES);
  return frame;
}

/** What overwrites a frame of `length` content bytes to erase it: the erased magic, the length, zeros. */
export function erasedFrame(length: number): Buffer {
  const frame = Buffer.alloc(FRAME_HEADER_BYTES + length);
  ERASED.copy(frame, 0);
  frame.writeUInt32BE(length, 4);
  return frame;
}

/** A frame read back: whether it is still live, and its content (zeros once erased). */
export interface StoredFrame {
  readonly live: boolean;
  readonly content: Buffer;
}

/** The frame at `offset` in `fd` with `length` content bytes; undefined when the file is shorter. */
export function readFrame(fd: number, offset: number, length: number): StoredFrame | undefined {
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + length);
  if (readSync(fd, frame, 0, frame.length, offset) !== frame.length) return undefined;
  return {
    live: !frame.subarray(0, 4).equals(ERASED),
    content: frame.subarray(FRAME_HEADER_BYTES),
  };
}

/** Result of scanning a segment: its live frames, and where its whole frames end. */
export interface SegmentScan {
  readonly frames: FrameEntry[];
  /** The end of the last whole frame (live or erased); anything after it is a torn write. */
  readonly end: number;
}

/**
 * Reads the frame headers of the segment at `path` from `from`. The scan stops at the first
 * frame that is cut short or has no magic: appends are sequential, so only the last,
 * unacknowledged write can be torn. Content is not hashed here: a live frame is listed under
 * its header's hash, and every read re-hashes, so damaged content is reported, not hidden.
 */
export function scanSegment(path: string, from: number): SegmentScan {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const frames: FrameEntry[] = [];
    const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
    let offset = from;
    while (offset + FRAME_HEADER_BYTES <= size) {
      readSync(fd, header, 0, FRAME_HEADER_BYTES, offset);
      const length = header.readUInt32BE(4);
      const magic = header.subarray(0, 4);
      if (
        offset + FRAME_HEADER_BYTES + length > size ||
        !(magic.equals(LIVE) || magic.equals(ERASED))
      )
        break;
      if (magic.equals(LIVE)) frames.push({ offset, length, hash: header.toString('hex', 8) });
      offset += FRAME_HEADER_BYTES + length;
    }
    return { frames, end: offset };
  } finally {
    closeSync(fd);
  }
}
