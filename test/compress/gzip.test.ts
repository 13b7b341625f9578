// imprint's gzip output: one member (fixed header, libdeflate raw deflate, CRC-32/ISIZE) per block of
// input. The bytes must equal the reference (reference.ts: libdeflate's own gzip writer per block)
// whatever the worker count, the chunking of the input or the order in which blocks finish; every
// gunzip reads all members; memory stays bounded when the reader is slow.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import * as zlib from 'node:zlib';
import { codecDescription, compressStream, resolveLevel } from '../../src/compress/compress.js';
import type { BlockRunner } from '../../src/compress/deflate-pool.js';
import { GZIP_BLOCK_SIZE, GzipBlocks, GzipWriter } from '../../src/compress/gzip.js';
import { type BlockJob, gzipHeader, gzipMember, gzipTrailer } from '../../src/compress/gzip-member.js';
import { isImprintError } from '../../src/errors.js';
import {
  corpus,
  fixedChunks,
  mixedBytes,
  prng,
  randomBytes,
  randomChunks,
  tarLikeBytes,
  textBytes,
  transformAll,
} from './corpus.js';
import { assertSameBytes, referenceGzip } from './reference.js';
import { hasTool, runTool } from './tools.js';

const KiB = 1024;
const MiB = 1024 * 1024;
const items = corpus();

describe('gzip members', () => {
  test('header bytes are fixed per level (XFL as libdeflate writes it)', () => {
    const xfl = (level: number): number => gzipHeader(level)[8] as number;
    assert.deepEqual([...gzipHeader(1)], [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 4, 255]);
    assert.deepEqual([...gzipHeader(6)], [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255]);
    assert.deepEqual([...gzipHeader(9)], [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 255]);
    assert.deepEqual([2, 3, 4, 5, 6, 7, 8].map(xfl), [0, 0, 0, 0, 0, 0, 2]);
  });

  test('trailer is CRC-32 and ISIZE mod 2^32, little endian', () => {
    assert.deepEqual([...gzipTrailer(0xcbf43926, 9)], [0x26, 0x39, 0xf4, 0xcb, 9, 0, 0, 0]);
    assert.deepEqual([...gzipTrailer(1, 2 ** 32 + 5)], [1, 0, 0, 0, 5, 0, 0, 0]);
  });

  for (const level of [1, 6, 9]) {
    test(`level ${level}: every corpus item equals the reference, and gunzip round trips`, async () => {
      for (const [i, item] of items.entries()) {
        const gz = await transformAll(
          randomChunks(item.data, 7 + i),
          compressStream({ compression: 'gzip', level }),
        );
        assertSameBytes(gz, referenceGzip(item.data, level, GZIP_BLOCK_SIZE), `level ${level}, ${item.name}`);
        assert.ok(zlib.gunzipSync(gz).equals(item.data), `${item.name}: zlib gunzip`);
      }
    });
  }

  test('an empty input is one member of an empty deflate stream (exact bytes)', async () => {
    const gz = await transformAll([], compressStream({ compression: 'gzip' }));
    assert.equal(gz.toString('hex'), `1f8b08000000000000ff${'010000ffff'}${'00000000'}${'00000000'}`);
    assert.equal(zlib.gunzipSync(gz).length, 0);
  });

  test('one member per started block, each a complete gzip of its block', async () => {
    for (const size of [1, GZIP_BLOCK_SIZE - 1, GZIP_BLOCK_SIZE, GZIP_BLOCK_SIZE + 1, 3.5 * MiB]) {
      const data = textBytes(size, 41);
      const gz = await transformAll(fixedChunks(data, 65_536), compressStream({ compression: 'gzip' }));
      const members: Buffer[] = [];
      assertSameBytes(gz, referenceGzip(data, 6, GZIP_BLOCK_SIZE, members), `${size} bytes`);
      assert.equal(members.length, Math.ceil(size / GZIP_BLOCK_SIZE), `${size} bytes`);
      for (const [i, member] of members.entries()) {
        const block = data.subarray(i * GZIP_BLOCK_SIZE, (i + 1) * GZIP_BLOCK_SIZE);
        assert.ok(zlib.gunzipSync(member).equals(block), `${size} bytes, member ${i}`);
        assert.equal(member.readUInt32LE(member.length - 4), block.length);
        assert.ok(member.subarray(0, 10).equals(gzipHeader(6)));
      }
    }
  });

  test('a member is the header, the raw deflate and the CRC-32/ISIZE trailer of its block', () => {
    const data = textBytes(100_000, 42);
    const member = Buffer.from(gzipMember({ level: 6, data }));
    assert.ok(member.subarray(0, 10).equals(gzipHeader(6)));
    assert.ok(member.subarray(-8).equals(gzipTrailer(zlib.crc32(data), data.length)));
    assert.ok(zlib.inflateRawSync(member.subarray(10, -8)).equals(data));
  });

  test('python3 gzip round trips', {
    skip: hasTool('python3') ? false : 'python3 not installed',
  }, async () => {
    const script = 'import gzip, sys; sys.stdout.buffer.write(gzip.decompress(sys.stdin.buffer.read()))';
    for (const item of items) {
      const gz = await transformAll([item.data], compressStream({ compression: 'gzip' }));
      const out = await runTool('python3', ['-c', script], gz);
      assert.ok(out.equals(item.data), item.name);
    }
  });

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
    assertSameBytes(gz, referenceGzip(data, 6, GZIP_BLOCK_SIZE), 'default level');
    assert.equal(resolveLevel({ compression: 'gzip' }), 6);
  });

  test('levels outside 1..9, bad worker counts and block sizes are USAGE errors', () => {
    for (const level of [0, 10, 1.5, -1, Number.NaN]) {
      assert.throws(
        () => compressStream({ compression: 'gzip', level }),
        (err) => isImprintError(err, 'USAGE'),
      );
    }
    for (const workers of [-1, 1.5, Number.NaN]) {
      assert.throws(
        () => compressStream({ compression: 'gzip', workers }),
        (err) => isImprintError(err, 'USAGE'),
      );
    }
    for (const blockSize of [0, -1, 100_000.5]) {
      assert.throws(
        () => new GzipWriter(6, { blockSize }),
        (err) => isImprintError(err, 'USAGE'),
      );
    }
  });

  test('codecDescription records what the bytes depend on, and nothing host-specific', () => {
    assert.deepEqual(codecDescription({ compression: 'gzip', level: 9, workers: 3 }), {
      compression: 'gzip',
      level: 9,
      implementation: 'imprint-gzip-members-2',
      blockSize: 1048576,
      alignedBodyMin: 65536,
      engine: 'libdeflate 1.14',
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

/** Inputs whose blocks differ from each other (text, binary, runs). */
function sample(size: number, seed: number): Buffer {
  return Buffer.concat([textBytes(size >>> 1, seed), mixedBytes(size - (size >>> 1), seed + 1)]);
}

describe('the bytes do not depend on workers, chunking or timing', () => {
  const blockSize = 32 * KiB;
  const sizes = [0, 1, blockSize - 1, blockSize, blockSize + 1, 5 * blockSize + 123, 300_000];
  const chunkSizes = [1, 7, 4095, blockSize, blockSize + 1, MiB, 4 * MiB];

  for (const size of sizes) {
    test(`${size} bytes in ${blockSize / KiB} KiB blocks: workers 0, 1, 2, 4 x chunkings 1 B..4 MiB`, async () => {
      const data = sample(size, size + 1);
      const expected = referenceGzip(data, 6, blockSize);
      for (const workers of [0, 1, 2, 4]) {
        const chunkings: Array<[string, Buffer[]]> = chunkSizes
          .filter((n) => n > 1 || size <= 100_000)
          .map((n) => [`${n} B chunks`, fixedChunks(data, n)]);
        chunkings.push(['random chunks', randomChunks(data, size + workers)]);
        for (const [how, chunks] of chunkings) {
          const gz = await transformAll(chunks, new GzipWriter(6, { workers, blockSize }));
          assertSameBytes(gz, expected, `${size} bytes, ${workers} workers, ${how}`);
        }
      }
    });
  }

  test('default block size: one block, block + 1 and many blocks, with 0, 2 and 4 workers', async () => {
    for (const size of [GZIP_BLOCK_SIZE - 1, GZIP_BLOCK_SIZE, GZIP_BLOCK_SIZE + 1, 3.5 * MiB]) {
      const data = sample(size, 51);
      const expected = referenceGzip(data, 6, GZIP_BLOCK_SIZE);
      for (const workers of [0, 2, 4]) {
        const [how, chunks] =
          workers === 2
            ? ['random chunks', randomChunks(data, workers)]
            : ['65537 B chunks', fixedChunks(data, 65537)];
        const gz = await transformAll(chunks, compressStream({ compression: 'gzip', workers }));
        assertSameBytes(gz, expected, `${size} bytes, ${workers} workers, ${how}`);
      }
    }
  });

  test('blocks finishing out of order are emitted in order, with at most 2 per worker in flight', async () => {
    const next = prng(61);
    let inFlight = 0;
    let most = 0;
    let overtaken = 0;
    let lastDone = -1;
    let submitted = 0;
    // Finishes each block after a random number of event-loop turns, so later blocks often overtake.
    const shuffling: BlockRunner = {
      run(job: BlockJob): Promise<Uint8Array> {
        const index = submitted++;
        inFlight++;
        most = Math.max(most, inFlight);
        const output = gzipMember(job);
        return new Promise((resolve) => {
          let turns = next() % 8;
          const tick = (): void => {
            if (turns-- > 0) {
              setImmediate(tick);
              return;
            }
            if (index < lastDone) overtaken++;
            lastDone = Math.max(lastDone, index);
            inFlight--;
            resolve(output);
          };
          tick();
        });
      },
    };
    const blockSize = 32 * KiB;
    const data = sample(40 * blockSize + 5, 62);
    const gz = await transformAll(
      randomChunks(data, 63),
      new GzipWriter(6, { workers: 3, blockSize, pool: shuffling }),
    );
    assertSameBytes(gz, referenceGzip(data, 6, blockSize), 'shuffled completion');
    assert.ok(overtaken > 0, 'no block finished before an earlier one: the test did not shuffle');
    assert.ok(most <= 6, `${most} blocks in flight with 3 workers`);
  });
});

/** A Readable of `total` bytes in 64 KiB chunks of `pattern` (repeated), counting what was read from it. */
function countingSource(pattern: Buffer, total: number): { stream: Readable; produced: () => number } {
  let produced = 0;
  const stream = new Readable({
    read() {
      if (produced >= total) {
        this.push(null);
        return;
      }
      const off = produced % pattern.length;
      const n = Math.min(64 * KiB, pattern.length - off, total - produced);
      produced += n;
      this.push(pattern.subarray(off, off + n));
    },
  });
  return { stream, produced: () => produced };
}

/** Resolves once `value()` has not changed for `stableTurns` checks 25 ms apart. */
async function settled(value: () => number, stableTurns = 20): Promise<number> {
  let last = -1;
  let stable = 0;
  while (stable < stableTurns) {
    await new Promise((resolve) => setTimeout(resolve, 25));
    const now = value();
    stable = now === last ? stable + 1 : 0;
    last = now;
  }
  return last;
}

describe('backpressure', () => {
  test('a stalled reader stops the producer (incompressible data fills the readable side)', async () => {
    const source = countingSource(randomBytes(MiB + 12_345, 71), 64 * MiB);
    const gzip = compressStream({ compression: 'gzip', workers: 2 });
    source.stream.pipe(gzip);
    const produced = await settled(source.produced);
    source.stream.destroy();
    gzip.destroy();
    // Held at most: the writable buffer (1 MiB), the block being filled, 2 blocks per worker in
    // flight, the readable buffer (1 MiB) and one block's output beyond it, the source's chunk.
    assert.ok(produced > 2 * MiB, `only ${produced} bytes were read before the stall`);
    assert.ok(produced <= 9 * MiB, `${produced} bytes read with nobody reading the output`);
  });

  test('slow workers stop the producer: at most 2 blocks per worker in flight', async () => {
    let submitted = 0;
    const stuck: BlockRunner = {
      run: () => {
        submitted++;
        return new Promise(() => {});
      },
    };
    const source = countingSource(Buffer.alloc(MiB), 64 * MiB);
    const gzip = new GzipWriter(6, { workers: 2, pool: stuck });
    source.stream.pipe(gzip);
    const produced = await settled(source.produced, 10);
    source.stream.destroy();
    gzip.destroy();
    assert.equal(submitted, 4);
    // The 4 blocks in flight, the block being filled, the writable buffer (1 MiB), the source's chunk.
    assert.ok(produced <= 6 * MiB + 128 * KiB, `${produced} bytes read while no block finished`);
  });

  test('blocks in flight are bounded by their bytes: short blocks (cut before large bodies) do not fill it', async () => {
    const sizes: number[] = [];
    const stuck: BlockRunner = {
      run: (job) => {
        sizes.push(job.data.length);
        return new Promise(() => {});
      },
    };
    const blockSize = 32 * KiB;
    const blocks = new GzipBlocks(6, { workers: 2, blockSize, pool: stuck }, () => {});
    void (async () => {
      for (let i = 0; i < 40; i++) {
        await blocks.write(Buffer.alloc(KiB, i));
        await blocks.cut();
      }
      for (let i = 0; i < 8; i++) await blocks.write(Buffer.alloc(blockSize, i));
    })();
    await settled(() => sizes.length, 10);
    // A bound of 2 blocks per worker stopped at the 4th short block while no block finished.
    assert.deepEqual(sizes.slice(0, 40), Array(40).fill(KiB), 'all 40 short blocks were handed out');
    assert.deepEqual(sizes.slice(40), [blockSize, blockSize], 'then full blocks, while they fit');
    const held = sizes.reduce((a, b) => a + b, 0);
    assert.ok(held <= 2 * 2 * blockSize, `${held} bytes in flight with 2 workers`);
  });

  test('a slow reader gets the same bytes', async () => {
    const data = Buffer.concat([randomBytes(3 * MiB, 72), textBytes(2 * MiB, 73)]);
    const gzip = compressStream({ compression: 'gzip', workers: 2 });
    Readable.from(fixedChunks(data, 100_000)).pipe(gzip);
    const out: Buffer[] = [];
    for await (const chunk of gzip) {
      out.push(chunk as Buffer);
      await new Promise((resolve) => setImmediate(resolve));
    }
    assertSameBytes(Buffer.concat(out), referenceGzip(data, 6, GZIP_BLOCK_SIZE), 'slow reader');
  });
});

/** ~5.3 MB of generated text, tar-like, binary and random data: six blocks of varied content. */
function goldenInput(): Buffer {
  return Buffer.concat([
    textBytes(2 * MiB, 101),
    tarLikeBytes(800, 102),
    mixedBytes(1.5 * MiB, 103),
    randomBytes(300 * KiB, 104),
    Buffer.alloc(200 * KiB, 0x41),
  ]);
}

describe('golden digest', () => {
  // A change of this digest changes every gzip layer imprint writes: make it deliberately, record the
  // new format in codecDescription, and expect the image golden digests to move with it.
  const GOLDEN = 'sha256:1c0baad7ab2048fcef4b48d492b780bf227ad795e8526b49e653e4f1fadc7ba2';

  test('the gzip output of a generated corpus is pinned, whatever the worker count', async () => {
    const data = goldenInput();
    const expected = referenceGzip(data, 6, GZIP_BLOCK_SIZE);
    assert.equal(`sha256:${createHash('sha256').update(expected).digest('hex')}`, GOLDEN, 'reference');
    for (const workers of [0, 2]) {
      const gz = await transformAll(
        randomChunks(data, 105),
        compressStream({ compression: 'gzip', workers }),
      );
      assertSameBytes(gz, expected, `${workers} workers`);
    }
  });
});
