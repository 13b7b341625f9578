// Decompression bombs are built inside the tests by streaming zeros through a compressor; nothing
// large is stored. Each must fail with DECOMPRESSION_BOMB soon after the grace amount of output.
import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, test } from 'node:test';
import * as zlib from 'node:zlib';
import { compressStream, decompressStream, openDecompressed } from '../../src/compress/index.js';
import { DecompressionGuard } from '../../src/compress/limits.js';
import type { Decompression } from '../../src/compress/sniff.js';
import { type ImprintError, isImprintError } from '../../src/errors.js';
import { textBytes, transformAll, zeroStream } from './corpus.js';
import { hasTool, runTool } from './tools.js';

const MiB = 1024 * 1024;
const BOMB_SIZE = 200 * 1024 * 1024;
const GRACE = 16 * MiB;

/** Compresses `total` zeros with Node's zlib gzip, streaming (fast; the bytes need not be canonical). */
async function gzipZeros(total: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  await pipeline(
    zeroStream(total),
    zlib.createGzip({ level: 9 }),
    new Writable({
      write(c: Buffer, _e, cb) {
        parts.push(c);
        cb();
      },
    }),
  );
  return Buffer.concat(parts);
}

/** Drains `stream`, counting what reaches the consumer; resolves with the error and the count. */
async function explode(stream: Readable): Promise<{ err: ImprintError; received: number }> {
  let received = 0;
  try {
    await pipeline(
      stream,
      new Writable({
        write(c: Buffer, _e, cb) {
          received += c.length;
          cb();
        },
      }),
    );
  } catch (err) {
    assert.ok(isImprintError(err, 'DECOMPRESSION_BOMB'), `expected DECOMPRESSION_BOMB, got ${String(err)}`);
    return { err, received };
  }
  assert.fail(`no DECOMPRESSION_BOMB after ${received} bytes`);
}

function assertStoppedEarly(err: ImprintError, received: number, what: string): void {
  assert.equal(err.details.what, what);
  const produced = err.details.outputBytes as number;
  // The guard trips on the first chunk past the grace amount; chunks are at most 1 MiB.
  assert.ok(produced > GRACE && produced <= GRACE + MiB, `guard tripped at ${produced} bytes`);
  assert.ok(received <= GRACE, `consumer received ${received} bytes`);
  assert.ok((err.details.inputBytes as number) < BOMB_SIZE / 200);
}

describe('DecompressionGuard', () => {
  test('ratio is enforced only past the grace amount, inclusive bounds pass', () => {
    const g = new DecompressionGuard('g', { maxRatio: 10, ratioGraceBytes: 1000 });
    g.input(10);
    g.output(1000); // ratio 100, but within grace
    g.input(90);
    g.output(0); // 1000 / 100 = 10: at the limit, allowed
    assert.throws(
      () => g.output(1),
      (err) =>
        isImprintError(err, 'DECOMPRESSION_BOMB') &&
        err.details.what === 'g' &&
        err.details.outputBytes === 1001,
    );
  });

  test('maxOutputBytes caps the output whatever the ratio', () => {
    const g = new DecompressionGuard('capped', { maxOutputBytes: 100 });
    g.input(1000);
    g.output(100);
    assert.throws(
      () => g.output(1),
      (err) => isImprintError(err, 'DECOMPRESSION_BOMB'),
    );
  });

  test('check() looks ahead without recording', () => {
    const g = new DecompressionGuard('ahead', { maxOutputBytes: 100 });
    g.check(100);
    assert.throws(
      () => g.check(101),
      (err) => isImprintError(err, 'DECOMPRESSION_BOMB'),
    );
    assert.equal(g.outputBytes, 0);
  });
});

describe('bombs', () => {
  const codecs: Array<[Decompression, string | false, () => Promise<Buffer>]> = [
    ['gzip', false, () => gzipZeros(BOMB_SIZE)],
    [
      'xz',
      hasTool('xz') ? false : 'xz CLI not installed',
      () => runTool('xz', ['-c', '-0', '-T1'], zeroStream(BOMB_SIZE)),
    ],
    [
      'zstd',
      hasTool('zstd') ? false : 'zstd CLI not installed',
      () => runTool('zstd', ['-c', '-q', '-1'], zeroStream(BOMB_SIZE)),
    ],
  ];

  for (const [kind, skip, build] of codecs) {
    test(`${kind}: 200 MB of zeros stops with DECOMPRESSION_BOMB just past the grace amount`, {
      skip,
    }, async () => {
      const bomb = await build();
      assert.ok(bomb.length < BOMB_SIZE / 1000, `the ${kind} bomb is ${bomb.length} bytes`);
      const what = `${kind} bomb`;
      const { err, received } = await explode(Readable.from([bomb]).pipe(decompressStream(kind, { what })));
      assertStoppedEarly(err, received, what);
    });

    test(`${kind}: the bomb also trips through openDecompressed`, { skip }, async () => {
      const bomb = await build();
      const opened = await openDecompressed(Readable.from([bomb]), { what: 'sniffed bomb' });
      assert.equal(opened.kind, kind);
      const { err, received } = await explode(opened.stream);
      assertStoppedEarly(err, received, 'sniffed bomb');
    });
  }

  test("gzip: a multi-member bomb (imprint's own output, one member per MiB) trips just the same", async () => {
    const total = 64 * MiB;
    const parts: Buffer[] = [];
    await pipeline(
      zeroStream(total),
      compressStream({ compression: 'gzip', level: 6 }),
      new Writable({
        write(c: Buffer, _e, cb) {
          parts.push(c);
          cb();
        },
      }),
    );
    const bomb = Buffer.concat(parts);
    assert.ok(bomb.length < total / 900, `the multi-member bomb is ${bomb.length} bytes`);
    const what = 'multi-member gzip bomb';
    const { err, received } = await explode(Readable.from([bomb]).pipe(decompressStream('gzip', { what })));
    assertStoppedEarly(err, received, what);
    // Past the first member: the guard counts the input of every member it has read.
    assert.ok(
      (err.details.inputBytes as number) > bomb.length / 8,
      `input ${String(err.details.inputBytes)}`,
    );
  });

  test('high ratio below the grace amount is fine (8 MB of zeros)', async () => {
    const gz = await gzipZeros(8 * MiB);
    const out = await transformAll([gz], decompressStream('gzip', { what: 'small zeros' }));
    assert.equal(out.length, 8 * MiB);
  });

  test('custom limits: ratio and output cap', async () => {
    const text = textBytes(4 * MiB, 61);
    const gz = await transformAll([text], compressStream({ compression: 'gzip', level: 1 }));
    const ratio = text.length / gz.length;
    assert.ok(ratio > 2 && ratio < 20, `text ratio ${ratio}`);
    const tight = { maxRatio: 2, ratioGraceBytes: MiB };
    await assert.rejects(
      transformAll([gz], decompressStream('gzip', { what: 'tight', limits: tight })),
      (err) => isImprintError(err, 'DECOMPRESSION_BOMB'),
    );
    const loose = { maxRatio: 20, ratioGraceBytes: MiB };
    assert.equal(
      (await transformAll([gz], decompressStream('gzip', { what: 'loose', limits: loose }))).length,
      text.length,
    );
    await assert.rejects(
      transformAll([gz], decompressStream('gzip', { what: 'capped', limits: { maxOutputBytes: MiB } })),
      (err) => isImprintError(err, 'DECOMPRESSION_BOMB') && err.details.maxOutputBytes === MiB,
    );
  });
});
