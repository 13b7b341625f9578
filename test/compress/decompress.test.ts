import assert from 'node:assert/strict';
import { PassThrough, Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, test } from 'node:test';
import {
  compressStream,
  decompressStream,
  openDecompressed,
  sniffCompression,
} from '../../src/compress/index.js';
import { type Decompression, SNIFF_BYTES } from '../../src/compress/sniff.js';
import { isImprintError } from '../../src/errors.js';
import {
  fixedChunks,
  mixedBytes,
  randomBytes,
  randomChunks,
  tarLikeBytes,
  textBytes,
  transformAll,
} from './corpus.js';
import { hasTool, runTool } from './tools.js';

const sample = Buffer.concat([tarLikeBytes(200, 51), textBytes(600_000, 52), mixedBytes(400_000, 53)]);
const skipXz = hasTool('xz') ? false : 'xz CLI not installed';
const skipZstd = hasTool('zstd') ? false : 'zstd CLI not installed';
const skipGzip = hasTool('gzip') ? false : 'gzip CLI not installed';

function decode(kind: Decompression, input: Buffer | Buffer[], what = 'test input'): Promise<Buffer> {
  return transformAll(Array.isArray(input) ? input : [input], decompressStream(kind, { what }));
}

async function assertCode(
  promise: Promise<unknown>,
  code: Parameters<typeof isImprintError>[1],
  what?: string,
): Promise<void> {
  await assert.rejects(promise, (err) => {
    assert.ok(isImprintError(err, code), `expected ${code}, got ${String(err)}`);
    if (what !== undefined) assert.equal(err.details.what, what);
    return true;
  });
}

function gzipOf(data: Buffer): Promise<Buffer> {
  return transformAll([data], compressStream({ compression: 'gzip', level: 1 }));
}

describe('sniffCompression', () => {
  test('magic numbers', () => {
    const cases: Array<[number[], Decompression]> = [
      [[0x1f, 0x8b, 0x08, 0, 0, 0], 'gzip'],
      [[0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], 'xz'],
      [[0x28, 0xb5, 0x2f, 0xfd, 0x04, 0x00], 'zstd'],
      [[0x50, 0x2a, 0x4d, 0x18, 0, 0], 'zstd'], // skippable frame
      [[0x5f, 0x2a, 0x4d, 0x18], 'zstd'],
      [[0x1f, 0x8b], 'none'], // too short to be sure
      [[0x1f, 0x8b, 0x07], 'none'], // not deflate
      [[0xfd, 0x37, 0x7a, 0x58, 0x5a], 'none'],
      [[0x28, 0xb5, 0x2f], 'none'],
      [[0x60, 0x2a, 0x4d, 0x18], 'none'],
      [[0x42, 0x5a, 0x68, 0x39], 'none'], // bzip2 is not read
      [[], 'none'],
      [[...Buffer.from('usr/bin/')], 'none'],
    ];
    for (const [head, kind] of cases)
      assert.equal(sniffCompression(Uint8Array.from(head)), kind, JSON.stringify(head));
    assert.ok(SNIFF_BYTES >= 6);
  });
});

describe('round trips', () => {
  test('gzip: imprint output, multi-member, and gzip(1) output with a file name', {
    skip: skipGzip,
  }, async () => {
    const a = await gzipOf(sample);
    assert.ok((await decode('gzip', a)).equals(sample));
    const b = await gzipOf(Buffer.from('second member'));
    assert.ok(
      (await decode('gzip', Buffer.concat([a, b]))).equals(
        Buffer.concat([sample, Buffer.from('second member')]),
      ),
    );
    const cli = await runTool('gzip', ['-c', '-9'], sample);
    assert.ok((await decode('gzip', fixedChunks(cli, 1000))).equals(sample));
  });

  test('xz: single stream, any chunking of the input', { skip: skipXz }, async () => {
    const xz = await runTool('xz', ['-c', '-6', '-T1'], sample);
    assert.ok((await decode('xz', xz)).equals(sample));
    assert.ok((await decode('xz', randomChunks(xz, 54))).equals(sample));
    assert.ok(
      (await decode('xz', fixedChunks(xz.subarray(0, 20_000), 1).concat([xz.subarray(20_000)]))).equals(
        sample,
      ),
    );
  });

  test('xz: concatenated streams with stream padding, crc32/none checks, 64 MiB dictionary', {
    skip: skipXz,
  }, async () => {
    const a = await runTool('xz', ['-c', '--check=crc32'], sample);
    const b = await runTool('xz', ['-c', '--check=none'], Buffer.from('tail'));
    const joined = Buffer.concat([a, Buffer.alloc(4), b, Buffer.alloc(8)]);
    assert.ok(
      (await decode('xz', randomChunks(joined, 55))).equals(Buffer.concat([sample, Buffer.from('tail')])),
    );
    const big = await runTool('xz', ['-c', '--lzma2=preset=1,dict=64MiB'], sample);
    assert.ok((await decode('xz', big)).equals(sample));
    const empty = await runTool('xz', ['-c'], Buffer.alloc(0));
    assert.equal((await decode('xz', empty)).length, 0);
  });

  test('xz: options xz-embedded lacks are COMPRESSION_UNSUPPORTED', { skip: skipXz }, async () => {
    const small = textBytes(10_000, 56);
    await assertCode(
      decode('xz', await runTool('xz', ['-c', '--check=sha256'], small), 'sha256'),
      'COMPRESSION_UNSUPPORTED',
      'sha256',
    );
    await assertCode(
      decode('xz', await runTool('xz', ['-c', '--x86', '--lzma2'], small)),
      'COMPRESSION_UNSUPPORTED',
    );
    await assertCode(
      decode('xz', await runTool('xz', ['-c', '--lzma2=preset=1,dict=128MiB'], small)),
      'COMPRESSION_UNSUPPORTED',
    );
  });

  test('xz: two streams decoded interleaved do not block each other', { skip: skipXz }, async () => {
    // xz-decompress's own XzReadableStream serializes all decodes behind one lock; imprint must not.
    const xz = await runTool('xz', ['-c'], sample);
    const a = decompressStream('xz', { what: 'a' });
    const b = decompressStream('xz', { what: 'b' });
    a.end(xz);
    b.end(xz);
    const firstOf = (s: NodeJS.ReadableStream): Promise<Buffer> =>
      new Promise((resolve, reject) => {
        s.once('data', (c: Buffer) => {
          s.pause();
          resolve(c);
        });
        s.once('error', reject);
      });
    const [ca, cb] = await Promise.all([firstOf(a), firstOf(b)]);
    // Piece sizes may differ (the host's xz writes as it goes); the bytes may not.
    const n = Math.min(ca.length, cb.length);
    assert.ok(n > 0 && ca.subarray(0, n).equals(cb.subarray(0, n)));
    a.destroy();
    b.destroy();
  });

  test('zstd: zstd(1) output, concatenated frames, a skippable frame, with and without checksums', {
    skip: skipZstd,
  }, async () => {
    const z = await runTool('zstd', ['-c', '-q', '-19'], sample);
    assert.ok((await decode('zstd', z)).equals(sample));
    assert.ok((await decode('zstd', fixedChunks(z, 777))).equals(sample));
    const noCheck = await runTool('zstd', ['-c', '-q', '--no-check'], Buffer.from('tail'));
    const skippable = Buffer.concat([Buffer.from([0x50, 0x2a, 0x4d, 0x18, 3, 0, 0, 0]), Buffer.from('abc')]);
    const joined = Buffer.concat([skippable, z, noCheck]);
    assert.equal(sniffCompression(joined), 'zstd');
    assert.ok(
      (await decode('zstd', randomChunks(joined, 57))).equals(Buffer.concat([sample, Buffer.from('tail')])),
    );
  });
});

describe('corrupt input', () => {
  test('gzip: flipped body byte, bad CRC, truncation, trailing garbage, empty', async () => {
    const gz = await gzipOf(sample);
    const flipped = Buffer.from(gz);
    flipped[100] = (flipped[100] as number) ^ 0xff;
    await assertCode(decode('gzip', flipped, 'layer x'), 'COMPRESSION_INVALID', 'layer x');
    const badCrc = Buffer.from(gz);
    badCrc.writeUInt32LE(badCrc.readUInt32LE(badCrc.length - 8) ^ 1, badCrc.length - 8);
    await assertCode(decode('gzip', badCrc), 'COMPRESSION_INVALID');
    await assertCode(decode('gzip', gz.subarray(0, gz.length - 3)), 'COMPRESSION_INVALID');
    await assertCode(decode('gzip', Buffer.concat([gz, Buffer.from('garbage')])), 'COMPRESSION_INVALID');
    await assertCode(decode('gzip', Buffer.alloc(0)), 'COMPRESSION_INVALID');
    await assertCode(decode('gzip', Buffer.from('not gzip at all')), 'COMPRESSION_INVALID');
  });

  test('xz: flipped byte, truncation, bad padding, trailing garbage, empty, not xz', {
    skip: skipXz,
  }, async () => {
    const xz = await runTool('xz', ['-c'], sample);
    const flipped = Buffer.from(xz);
    flipped[xz.length >> 1] = (flipped[xz.length >> 1] as number) ^ 0x55;
    await assertCode(decode('xz', flipped, 'data.tar.xz'), 'COMPRESSION_INVALID', 'data.tar.xz');
    await assertCode(decode('xz', xz.subarray(0, xz.length - 10)), 'COMPRESSION_INVALID');
    await assertCode(decode('xz', xz.subarray(0, xz.length >> 1)), 'COMPRESSION_INVALID');
    await assertCode(decode('xz', Buffer.concat([xz, Buffer.alloc(3)])), 'COMPRESSION_INVALID');
    await assertCode(decode('xz', Buffer.concat([xz, Buffer.from('garbage!')])), 'COMPRESSION_INVALID');
    await assertCode(decode('xz', Buffer.alloc(0)), 'COMPRESSION_INVALID');
    await assertCode(
      decode('xz', await runTool('xz', ['-c', '--format=lzma'], sample)),
      'COMPRESSION_INVALID',
    );
  });

  test('zstd: bad block type, truncation, garbage, empty', { skip: skipZstd }, async () => {
    const z = await runTool('zstd', ['-c', '-q'], sample);
    // Frame header: magic(4) + FHD(1) + window descriptor(1); the first block header follows.
    // Its bits 1-2 are the block type; 3 is reserved and must be rejected.
    const badBlock = Buffer.from(z);
    assert.equal((badBlock[4] as number) & 0xe0, 0, 'zstd(1) wrote an unexpected frame header layout');
    badBlock[6] = (badBlock[6] as number) | 0x06;
    await assertCode(decode('zstd', badBlock, 'data.tar.zst'), 'COMPRESSION_INVALID', 'data.tar.zst');
    await assertCode(decode('zstd', z.subarray(0, z.length - 5)), 'COMPRESSION_INVALID');
    await assertCode(decode('zstd', z.subarray(0, z.length >> 1)), 'COMPRESSION_INVALID');
    await assertCode(decode('zstd', Buffer.from('hello, this is not zstd')), 'COMPRESSION_INVALID');
    await assertCode(decode('zstd', Buffer.alloc(0)), 'COMPRESSION_INVALID');
  });
});

describe('openDecompressed', () => {
  async function readAll(s: Readable): Promise<Buffer> {
    const parts: Buffer[] = [];
    for await (const c of s) parts.push(c as Buffer);
    return Buffer.concat(parts);
  }

  test('sniffs each codec, also when the source arrives byte by byte', {
    skip: skipXz || skipZstd,
  }, async () => {
    const inputs: Array<[Decompression, Buffer]> = [
      ['gzip', await gzipOf(sample)],
      ['xz', await runTool('xz', ['-c'], sample)],
      ['zstd', await runTool('zstd', ['-c', '-q'], sample)],
      ['none', sample],
    ];
    for (const [kind, bytes] of inputs) {
      for (const chunks of [[bytes], fixedChunks(bytes.subarray(0, 64), 1).concat([bytes.subarray(64)])]) {
        const opened = await openDecompressed(Readable.from(chunks), { what: kind });
        assert.equal(opened.kind, kind);
        assert.ok((await readAll(opened.stream)).equals(sample), kind);
      }
    }
  });

  test('short and empty sources are uncompressed', async () => {
    for (const bytes of [Buffer.alloc(0), Buffer.from([0x1f]), Buffer.from('abc')]) {
      const opened = await openDecompressed(Readable.from(bytes.length > 0 ? [bytes] : []), {
        what: 'short',
      });
      assert.equal(opened.kind, 'none');
      assert.ok((await readAll(opened.stream)).equals(bytes));
    }
  });

  test('a truncated compressed source fails on the returned stream', async () => {
    const gz = await gzipOf(sample);
    const opened = await openDecompressed(Readable.from([gz.subarray(0, 4)]), { what: 'short gzip' });
    assert.equal(opened.kind, 'gzip');
    await assertCode(readAll(opened.stream), 'COMPRESSION_INVALID', 'short gzip');
    const opened2 = await openDecompressed(Readable.from([gz.subarray(0, 1000)]), { what: 'cut gzip' });
    assert.equal(opened2.kind, 'gzip');
    await assertCode(readAll(opened2.stream), 'COMPRESSION_INVALID', 'cut gzip');
  });

  test('source errors surface on the returned stream; destroying it destroys the source', async () => {
    const gz = await gzipOf(sample);
    const source = new PassThrough();
    source.write(gz.subarray(0, 5000));
    const opened = await openDecompressed(source, { what: 'failing source' });
    const reading = readAll(opened.stream);
    source.destroy(new Error('disk on fire'));
    await assert.rejects(reading, /disk on fire/);

    const source2 = new PassThrough();
    source2.write(gz.subarray(0, 5000));
    const opened2 = await openDecompressed(source2, { what: 'abandoned' });
    opened2.stream.destroy();
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok(source2.destroyed);
  });
});

describe('backpressure', () => {
  // A slow reader must hold memory to about one output piece beyond the highWaterMark.
  async function maxBuffered(
    kind: Decompression,
    compressed: Buffer,
  ): Promise<{ max: number; total: number }> {
    const d = decompressStream(kind, { what: 'slow reader', limits: { maxRatio: Number.POSITIVE_INFINITY } });
    let max = 0;
    let total = 0;
    const sink = new Writable({
      highWaterMark: 1,
      write(chunk: Buffer, _enc, cb) {
        max = Math.max(max, d.readableLength);
        total += chunk.length;
        setImmediate(cb);
      },
    });
    await pipeline(Readable.from(fixedChunks(compressed, 1024 * 1024)), d, sink);
    return { max, total };
  }

  const zeros = Buffer.alloc(64 * 1024 * 1024);
  const bound = d_hwm() + 256 * 1024;
  function d_hwm(): number {
    return decompressStream('none', { what: 'x' }).readableHighWaterMark;
  }

  test('gzip', async () => {
    const { max, total } = await maxBuffered('gzip', await gzipOf(zeros));
    assert.equal(total, zeros.length);
    assert.ok(max <= bound, `buffered ${max} > ${bound}`);
  });

  test('xz', { skip: skipXz }, async () => {
    const { max, total } = await maxBuffered('xz', await runTool('xz', ['-c', '-0'], zeros));
    assert.equal(total, zeros.length);
    assert.ok(max <= bound, `buffered ${max} > ${bound}`);
  });

  test('zstd', { skip: skipZstd }, async () => {
    const { max, total } = await maxBuffered('zstd', await runTool('zstd', ['-c', '-q', '-1'], zeros));
    assert.equal(total, zeros.length);
    assert.ok(max <= bound, `buffered ${max} > ${bound}`);
  });
});

test('random (incompressible) data round trips through every codec', {
  skip: skipXz || skipZstd,
}, async () => {
  const data = randomBytes(500_000, 58);
  assert.ok((await decode('gzip', await gzipOf(data))).equals(data));
  assert.ok((await decode('xz', await runTool('xz', ['-c'], data))).equals(data));
  assert.ok((await decode('zstd', await runTool('zstd', ['-c', '-q'], data))).equals(data));
  assert.ok((await decode('none', data)).equals(data));
});
