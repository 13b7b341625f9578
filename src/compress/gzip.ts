import { crc32 } from './crc32.js';
import { createDeflateRaw, type DeflateEngine } from './deflate.js';
import { InnerStreamTransform } from './inner-stream.js';

/** gzip levels imprint accepts (0, "store", is not one: it is never what an image wants). */
export const GZIP_MIN_LEVEL = 1;
export const GZIP_MAX_LEVEL = 9;
export const GZIP_DEFAULT_LEVEL = 6;

/**
 * The OS byte of imprint's gzip header: 255 ("unknown"), as Go's compress/gzip writes, so the bytes
 * never say which host built them (zlib would write 3 on Unix, other tools 0 or 11).
 */
export const GZIP_OS_UNKNOWN = 255;

/** XFL as zlib sets it: 2 for maximum compression (level 9), 4 for fastest (level 1), else 0. */
export function gzipXfl(level: number): number {
  if (level === 9) return 2;
  if (level === 1) return 4;
  return 0;
}

/** The 10-byte gzip member header imprint writes: no name, comment or extra field, mtime 0. */
export function gzipHeader(level: number): Buffer {
  // ID1 ID2 CM=deflate FLG=0 | MTIME=0 (4 bytes) | XFL | OS
  return Buffer.from([0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, gzipXfl(level), GZIP_OS_UNKNOWN]);
}

/** The 8-byte gzip trailer: CRC-32 then ISIZE (input length mod 2^32), both little endian. */
export function gzipTrailer(crc: number, size: number): Buffer {
  const out = Buffer.alloc(8);
  out.writeUInt32LE(crc >>> 0, 0);
  out.writeUInt32LE(size % 0x1_0000_0000, 4);
  return out;
}

/**
 * Writes one gzip member: imprint's fixed header, canonical zlib raw deflate (see deflate.ts),
 * CRC-32/ISIZE trailer. The bytes depend only on the input bytes and the level: never on how the
 * input was chunked, the Node build or the CPU. Cost: CPU-bound, see createDeflateRaw.
 */
export class GzipWriter extends InnerStreamTransform {
  #crc = 0;
  #size = 0;

  constructor(level: number, engine?: DeflateEngine) {
    super(createDeflateRaw(level, engine));
    this.push(gzipHeader(level));
  }

  protected override onInput(chunk: Buffer): void {
    this.#crc = crc32(chunk, this.#crc);
    this.#size = (this.#size + chunk.length) % 0x1_0000_0000;
  }

  protected override trailer(): Buffer {
    return gzipTrailer(this.#crc, this.#size);
  }
}
