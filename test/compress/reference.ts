// The reference for imprint's gzip bytes, written directly against pako (a faithful port of canonical
// zlib) and independent of src/compress: blocks of `blockSize` input bytes, each compressed with the
// 32 KiB before it as dictionary, ending in Z_SYNC_FLUSH (Z_FINISH for the last), concatenated.
import assert from 'node:assert/strict';
import pako from 'pako';
import { tableCrc32 } from '../../src/compress/crc32.js';

const Z_SYNC_FLUSH = 2;
const Z_FINISH = 4;

function pakoLevel(level: number): pako.DeflateFunctionOptions['level'] {
  return level as pako.DeflateFunctionOptions['level'];
}

/** pako's one-shot raw deflate: a single stream, no flushes (the format of inputs up to one block). */
export function pakoDeflateRaw(data: Uint8Array, level: number): Buffer {
  const out = pako.deflateRaw(data, { level: pakoLevel(level), windowBits: 15, memLevel: 8, strategy: 0 });
  return Buffer.from(out.buffer, out.byteOffset, out.length);
}

/** The blocked raw deflate stream of `data`; `blockOutputs` receives each block's bytes when given. */
export function referenceBlockedDeflate(
  data: Uint8Array,
  level: number,
  blockSize: number,
  blockOutputs?: Buffer[],
): Buffer {
  const out: Buffer[] = [];
  for (let off = 0; ; off += blockSize) {
    const end = Math.min(off + blockSize, data.length);
    const last = end === data.length;
    const deflate = new pako.Deflate({
      level: pakoLevel(level),
      raw: true,
      windowBits: 15,
      memLevel: 8,
      strategy: 0,
      ...(off > 0 ? { dictionary: data.subarray(off - 32768, off) } : {}),
    });
    const chunks: Uint8Array[] = [];
    deflate.onData = (chunk) => {
      chunks.push(chunk as Uint8Array);
    };
    if (!deflate.push(data.subarray(off, end), last ? Z_FINISH : Z_SYNC_FLUSH)) {
      throw new Error(`pako: ${deflate.msg}`);
    }
    const block = Buffer.concat(chunks);
    blockOutputs?.push(block);
    out.push(block);
    if (last) return Buffer.concat(out);
  }
}

/** The whole gzip member imprint must write for `data`. */
export function referenceGzip(data: Uint8Array, level: number, blockSize: number): Buffer {
  const xfl = level === 9 ? 2 : level === 1 ? 4 : 0;
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(tableCrc32(data), 0);
  trailer.writeUInt32LE(data.length % 2 ** 32, 4);
  return Buffer.concat([
    Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, xfl, 255]),
    referenceBlockedDeflate(data, level, blockSize),
    trailer,
  ]);
}

function firstDifference(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}

/** Fails with sizes and the first differing offset (never dumps megabytes). */
export function assertSameBytes(actual: Buffer, expected: Buffer, label: string): void {
  if (actual.equals(expected)) return;
  assert.fail(
    `${label}: ${actual.length} bytes vs ${expected.length} expected, first difference at offset ${firstDifference(actual, expected)}`,
  );
}
