// Test inputs for the codecs, generated from a seeded PRNG: the same bytes on every run and host.
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { xorshift32 } from '../../src/compress/libdeflate.js';

/** xorshift32 (the engine probe's generator): small, fast, and enough to make incompressible bytes. */
export function prng(seed: number): () => number {
  return xorshift32(seed >>> 0 || 1);
}

export function randomBytes(n: number, seed: number): Buffer {
  const next = prng(seed);
  const out = Buffer.alloc(n);
  let i = 0;
  for (; i + 4 <= n; i += 4) out.writeUInt32LE(next(), i);
  for (; i < n; i++) out[i] = next() & 0xff;
  return out;
}

const WORDS =
  'the quick brown fox jumps over lazy dog lorem ipsum dolor sit amet usr lib share doc bin etc var'.split(
    ' ',
  );

/** Text with a skewed word distribution, compressing roughly 3-4x like real file content. */
export function textBytes(n: number, seed: number): Buffer {
  const next = prng(seed);
  const parts: string[] = [];
  let size = 0;
  while (size < n) {
    const words: string[] = [];
    const count = 3 + (next() % 12);
    for (let i = 0; i < count; i++) {
      const r = next();
      words.push(r % 5 === 0 ? (r >>> 8).toString(36) : (WORDS[(r >>> 3) % WORDS.length] as string));
    }
    const line = `${words.join(' ')}\n`;
    parts.push(line);
    size += line.length;
  }
  return Buffer.from(parts.join('')).subarray(0, n);
}

/** A stream shaped like a tar of many small files: 512-byte headers, padded bodies, zero trailer. */
export function tarLikeBytes(files: number, seed: number): Buffer {
  const next = prng(seed);
  const parts: Buffer[] = [];
  for (let i = 0; i < files; i++) {
    const header = Buffer.alloc(512);
    header.write(`usr/share/doc/pkg${i % 37}/file-${i}.txt`, 0, 'ascii');
    header.write('0000644\0', 100, 'ascii');
    const size = next() % 3000;
    header.write(`${size.toString(8).padStart(11, '0')}\0`, 124, 'ascii');
    header.write('ustar\x0000', 257, 'binary');
    parts.push(header);
    const body = next() % 4 === 0 ? randomBytes(size, next()) : textBytes(size, next());
    parts.push(body, Buffer.alloc((512 - (size % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

/** Alternates highly compressible and incompressible runs of varied lengths. */
export function switchingBytes(n: number, seed: number): Buffer {
  const next = prng(seed);
  const parts: Buffer[] = [];
  let size = 0;
  let compressible = true;
  while (size < n) {
    const len = 1 + (next() % 200_000);
    parts.push(compressible ? Buffer.alloc(len, next() & 0xff) : randomBytes(len, next()));
    size += len;
    compressible = !compressible;
  }
  return Buffer.concat(parts).subarray(0, n);
}

/** Interleaves binary and text runs (an ELF-ish file with string tables). */
export function mixedBytes(n: number, seed: number): Buffer {
  const next = prng(seed);
  const parts: Buffer[] = [];
  let size = 0;
  while (size < n) {
    const len = 1 + (next() % 20_000);
    const r = next() % 3;
    parts.push(r === 0 ? randomBytes(len, next()) : r === 1 ? textBytes(len, next()) : Buffer.alloc(len));
    size += len;
  }
  return Buffer.concat(parts).subarray(0, n);
}

export interface CorpusItem {
  name: string;
  data: Buffer;
}

/** The varied corpus of the deflate guard test (~17 MB). */
export function corpus(): CorpusItem[] {
  return [
    { name: 'empty', data: Buffer.alloc(0) },
    { name: 'one byte', data: Buffer.from([0x61]) },
    { name: 'zeros 5 MB', data: Buffer.alloc(5 * 1024 * 1024) },
    { name: 'random 3 MB', data: randomBytes(3 * 1024 * 1024, 1) },
    { name: 'repetitive text', data: Buffer.from('imprint builds reproducible images. '.repeat(60_000)) },
    { name: 'text 2 MB', data: textBytes(2 * 1024 * 1024, 2) },
    { name: 'mixed binary/text', data: mixedBytes(2 * 1024 * 1024, 3) },
    { name: 'tar-like small files', data: tarLikeBytes(1500, 4) },
    { name: 'compressible/incompressible switches', data: switchingBytes(3 * 1024 * 1024, 5) },
  ];
}

/** Splits `data` into chunks of the given size (the last may be shorter). */
export function fixedChunks(data: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let off = 0; off < data.length; off += size) out.push(data.subarray(off, off + size));
  return out;
}

/** Splits `data` into chunks of seeded random sizes between 1 byte and 1 MiB (log-uniform). */
export function randomChunks(data: Buffer, seed: number): Buffer[] {
  const next = prng(seed);
  const out: Buffer[] = [];
  let off = 0;
  while (off < data.length) {
    const size = Math.max(1, Math.floor(2 ** ((next() % 2001) / 100)));
    out.push(data.subarray(off, off + size));
    off += size;
  }
  return out;
}

/** Runs `chunks` through `transform` and returns everything it emitted. */
export async function transformAll(
  chunks: Iterable<Buffer>,
  transform: NodeJS.ReadWriteStream,
): Promise<Buffer> {
  const out: Buffer[] = [];
  await pipeline(
    Readable.from(chunks, { objectMode: false }),
    transform,
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        out.push(chunk);
        cb();
      },
    }),
  );
  return Buffer.concat(out);
}

/** A Readable of `total` zero bytes in 1 MiB chunks, generated lazily. */
export function zeroStream(total: number): Readable {
  const chunk = Buffer.alloc(Math.min(total, 1024 * 1024));
  let left = total;
  return new Readable({
    read() {
      if (left === 0) {
        this.push(null);
        return;
      }
      const n = Math.min(left, chunk.length);
      left -= n;
      this.push(n === chunk.length ? chunk : chunk.subarray(0, n));
    },
  });
}
