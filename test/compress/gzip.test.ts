// THE guard test: imprint's gzip bytes must equal canonical zlib's (pako, a pure-JS port of zlib,
// is the oracle) on every input, level and chunking. Node's own zlib is a Chromium fork whose
// output differs on CPUs with CRC32 instructions; imprint must then not use it (see deflate.ts).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as zlib from 'node:zlib';
import pako from 'pako';
import { codecDescription, compressStream, resolveLevel } from '../../src/compress/compress.js';
import { tableCrc32 } from '../../src/compress/crc32.js';
import {
  createDeflateRaw,
  type DeflateEngine,
  deflateEngine,
  nativeDeflateIsCanonical,
} from '../../src/compress/deflate.js';
import { GzipWriter, gzipHeader, gzipTrailer } from '../../src/compress/gzip.js';
import { isImprintError } from '../../src/errors.js';
import { corpus, fixedChunks, mixedBytes, prng, randomChunks, textBytes, transformAll } from './corpus.js';
import { hasTool, runTool } from './tools.js';

const LEVELS = [1, 6, 9] as const;
const items = corpus();

const expectedCache = new Map<string, Buffer>();

/** pako's one-shot raw deflate (cached: the corpus is compressed by several tests). */
function pakoDeflateRaw(data: Buffer, level: number): Buffer {
  const item = items.findIndex((it) => it.data === data);
  const key = `${level}:${item}`;
  const cached = item >= 0 ? expectedCache.get(key) : undefined;
  if (cached !== undefined) return cached;
  const out = pako.deflateRaw(data, {
    level: level as pako.DeflateFunctionOptions['level'],
    windowBits: 15,
    memLevel: 8,
    strategy: 0,
  });
  const buf = Buffer.from(out.buffer, out.byteOffset, out.length);
  if (item >= 0) expectedCache.set(key, buf);
  return buf;
}

function firstDifference(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}

function assertSameBytes(actual: Buffer, expected: Buffer, label: string): void {
  if (actual.equals(expected)) return;
  assert.fail(
    `${label}: ${actual.length} bytes vs ${expected.length} expected, first difference at offset ${firstDifference(actual, expected)}`,
  );
}

/** Chunkings the deflate stream must be indifferent to (pako's one-shot call is the "one write" case). */
function chunkings(data: Buffer, seed: number): Array<[string, Buffer[]]> {
  return [
    ['random 1 B..1 MiB', randomChunks(data, seed)],
    ['65537 B', fixedChunks(data, 65537)],
  ];
}

/** Many tiny writes are slow through zlib's thread pool, so they get smaller inputs. */
function tinyChunks(data: Buffer, seed: number): Buffer[] {
  const next = prng(seed);
  const out: Buffer[] = [];
  for (let off = 0; off < data.length; ) {
    const size = 1 + (next() % 64);
    out.push(data.subarray(off, off + size));
    off += size;
  }
  return out;
}

/** The whole corpus through `engine` at `level`, in every chunking, must equal pako's one-shot output. */
async function assertCorpusCanonical(engine: DeflateEngine, level: number): Promise<void> {
  for (const [i, item] of items.entries()) {
    const expected = pakoDeflateRaw(item.data, level);
    for (const [how, chunks] of chunkings(item.data, level * 100 + i)) {
      const actual = await transformAll(chunks, createDeflateRaw(level, engine));
      assertSameBytes(actual, expected, `${engine}, level ${level}, ${item.name}, ${how}`);
    }
  }
  const sample = Buffer.concat([mixedBytes(8 * 1024, 11), textBytes(8 * 1024, 12)]);
  assertSameBytes(
    await transformAll(fixedChunks(sample, 1), createDeflateRaw(level, engine)),
    pakoDeflateRaw(sample, level),
    '1-byte writes',
  );
  const larger = mixedBytes(256 * 1024, 13);
  assertSameBytes(
    await transformAll(tinyChunks(larger, level), createDeflateRaw(level, engine)),
    pakoDeflateRaw(larger, level),
    '1..64-byte writes',
  );
}

describe('raw deflate is canonical zlib (equals pako)', () => {
  for (const level of LEVELS) {
    test(`level ${level}: the engine imprint picks, every corpus item, every chunking`, async (t) => {
      t.diagnostic(`engine at level ${level}: ${deflateEngine(level)} (Node zlib ${process.versions.zlib})`);
      await assertCorpusCanonical(deflateEngine(level), level);
    });

    test(`level ${level}: pako streaming is indifferent to chunking`, async (t) => {
      if (deflateEngine(level) === 'pako') {
        t.skip('covered above: pako is the engine here');
        return;
      }
      await assertCorpusCanonical('pako', level);
    });

    test(`level ${level}: Node's zlib is used only if it is canonical on the whole corpus`, async (t) => {
      if (nativeDeflateIsCanonical(level)) {
        await assertCorpusCanonical('node-zlib', level);
        return;
      }
      // The self-check said no: show it was right, so the fallback is not taken needlessly.
      let differing = 0;
      for (const item of items) {
        const native = zlib.deflateRawSync(item.data, { level, memLevel: 8, windowBits: 15, strategy: 0 });
        if (!native.equals(pakoDeflateRaw(item.data, level))) differing++;
      }
      t.diagnostic(
        `Node zlib ${process.versions.zlib} differs from canonical zlib on ${differing}/${items.length} items here`,
      );
      assert.ok(
        differing > 0,
        'the self-check rejected Node zlib, yet it matched canonical zlib on the whole corpus',
      );
    });
  }
});

describe('gzip member', () => {
  test('header bytes are fixed per level', () => {
    assert.deepEqual([...gzipHeader(1)], [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 4, 255]);
    assert.deepEqual([...gzipHeader(6)], [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255]);
    assert.deepEqual([...gzipHeader(9)], [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 255]);
  });

  test('trailer is CRC-32 and ISIZE mod 2^32, little endian', () => {
    assert.deepEqual([...gzipTrailer(0xcbf43926, 9)], [0x26, 0x39, 0xf4, 0xcb, 9, 0, 0, 0]);
    assert.deepEqual([...gzipTrailer(1, 2 ** 32 + 5)], [1, 0, 0, 0, 5, 0, 0, 0]);
  });

  for (const level of LEVELS) {
    test(`level ${level}: header + pako deflate + trailer, and gunzip round trips`, async () => {
      for (const [i, item] of items.entries()) {
        const gz = await transformAll(
          randomChunks(item.data, 7 + i),
          compressStream({ compression: 'gzip', level }),
        );
        if (deflateEngine(level) !== 'pako') {
          const viaPako = await transformAll(randomChunks(item.data, 70 + i), new GzipWriter(level, 'pako'));
          assertSameBytes(viaPako, gz, `level ${level}, ${item.name}: forced pako engine`);
        }
        const expected = Buffer.concat([
          gzipHeader(level),
          pakoDeflateRaw(item.data, level),
          gzipTrailer(tableCrc32(item.data), item.data.length),
        ]);
        assertSameBytes(gz, expected, `level ${level}, ${item.name}`);
        assert.equal(gz.readUInt32LE(gz.length - 8), tableCrc32(item.data), `${item.name}: CRC`);
        assert.equal(gz.readUInt32LE(gz.length - 4), item.data.length, `${item.name}: ISIZE`);
        assert.ok(zlib.gunzipSync(gz).equals(item.data), `${item.name}: zlib gunzip`);
        assert.ok(Buffer.from(pako.ungzip(gz)).equals(item.data), `${item.name}: pako ungzip`);
      }
    });
  }

  test('gzip -dc round trips', { skip: hasTool('gzip') ? false : 'gzip CLI not installed' }, async () => {
    for (const item of items) {
      const gz = await transformAll([item.data], compressStream({ compression: 'gzip' }));
      const out = await runTool('gzip', ['-dc'], gz);
      assert.ok(out.equals(item.data), item.name);
      // gzip -t also checks the header fields and the trailer.
      await runTool('gzip', ['-t'], gz);
    }
  });

  test('default level is 6', async () => {
    const data = textBytes(100_000, 21);
    const gz = await transformAll([data], compressStream({ compression: 'gzip' }));
    assertSameBytes(gz.subarray(10, gz.length - 8), pakoDeflateRaw(data, 6), 'default level');
    assert.equal(resolveLevel({ compression: 'gzip' }), 6);
  });

  test('levels outside 1..9 are USAGE errors', () => {
    for (const level of [0, 10, 1.5, -1, Number.NaN]) {
      assert.throws(
        () => compressStream({ compression: 'gzip', level }),
        (err) => isImprintError(err, 'USAGE'),
      );
    }
  });

  test('codecDescription records what the bytes depend on, and nothing host-specific', () => {
    assert.deepEqual(codecDescription({ compression: 'gzip', level: 9 }), {
      compression: 'gzip',
      level: 9,
      implementation: 'canonical-zlib-deflateRaw',
      memLevel: 8,
      windowBits: 15,
      strategy: 'default',
      header: 'mtime=0,xfl=2,os=255',
    });
    assert.deepEqual(codecDescription({ compression: 'none' }), { compression: 'none' });
  });

  test("'none' passes bytes through", async () => {
    const data = textBytes(50_000, 22);
    assert.ok(
      (await transformAll(randomChunks(data, 3), compressStream({ compression: 'none' }))).equals(data),
    );
  });
});
