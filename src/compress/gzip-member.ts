import { ImprintError } from '../errors.js';
import { crc32 } from './crc32.js';
import { assertPinnedDeflate, libdeflateRaw } from './libdeflate.js';

// One gzip member of imprint's output: a fixed 10-byte header, the raw deflate of one block of input
// (libdeflate, libdeflate.ts), then the block's CRC-32 and ISIZE: byte for byte what libdeflate's own
// gzip writer produces for the block (tested), framed here so the CRC uses Node's native crc32.
// gzip.ts cuts the input into blocks and concatenates their members. This module is also loaded by deflate-worker.ts: it imports nothing
// that starts threads or streams.

/**
 * The OS byte of imprint's gzip header: 255 ("unknown"), as Go's compress/gzip writes, so the bytes
 * never say which host built them (zlib would write 3 on Unix, other tools 0 or 11).
 */
export const GZIP_OS_UNKNOWN = 255;

const HEADER_SIZE = 10;
const TRAILER_SIZE = 8;

/**
 * XFL as libdeflate's gzip writer sets it: 4 ("fastest") at level 1, 2 ("maximum compression") at
 * levels 8 and 9, else 0. So each member is exactly what libdeflate_gzip_compress() writes.
 */
export function gzipXfl(level: number): number {
  if (level < 2) return 4;
  if (level >= 8) return 2;
  return 0;
}

/** The 10-byte gzip member header imprint writes: no name, comment or extra field, mtime 0. */
export function gzipHeader(level: number): Buffer {
  // ID1 ID2 CM=deflate FLG=0 | MTIME=0 (4 bytes) | XFL | OS
  return Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, gzipXfl(level), GZIP_OS_UNKNOWN]);
}

/** The 8-byte gzip trailer: CRC-32 then ISIZE (input length mod 2^32), both little endian. */
export function gzipTrailer(crc: number, size: number): Buffer {
  const out = Buffer.alloc(TRAILER_SIZE);
  out.writeUInt32LE(crc >>> 0, 0);
  out.writeUInt32LE(size % 0x1_0000_0000, 4);
  return out;
}

/** One block of input, as handed to gzipMember (possibly in a worker thread). */
export interface BlockJob {
  /** 1..9. */
  level: number;
  /** The block's uncompressed bytes (empty only for the one member of an empty input). */
  data: Uint8Array;
}

/**
 * The complete gzip member of one block: header, libdeflate's raw deflate of the block at the level,
 * CRC-32 and ISIZE of the block. A fresh Uint8Array owning its buffer (transferable). Checks the
 * engine's known answers for the level first (once per process). Cost: CPU-bound, ~45 MB/s at
 * level 6.
 */
export function gzipMember(job: BlockJob): Uint8Array {
  const { level, data } = job;
  if (!Number.isInteger(level) || level < 1 || level > 9) {
    throw new ImprintError('INTERNAL', `gzip member: level must be 1..9, found ${String(level)}`);
  }
  assertPinnedDeflate(level);
  const deflated = libdeflateRaw(data, level);
  const member = new Uint8Array(HEADER_SIZE + deflated.length + TRAILER_SIZE);
  member.set(gzipHeader(level), 0);
  member.set(deflated, HEADER_SIZE);
  member.set(gzipTrailer(crc32(data), data.length), HEADER_SIZE + deflated.length);
  return member;
}
