// The three xz decoders (the host's liblzma in this process, its xz in a child process, xz-embedded in
// WebAssembly) must give the same bytes and the same error codes on the same input, and each must
// enforce the decompression limits.
// Every input is generated here with the xz CLI, then altered byte by byte where a case needs it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, type Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, test } from 'node:test';
import { crc32 } from '../../src/compress/crc32.js';
import { decompressStream, NATIVE_XZ_MIN_INPUT } from '../../src/compress/decompress.js';
import { DecompressionGuard, type DecompressLimits } from '../../src/compress/limits.js';
import { XzDecoder } from '../../src/compress/xz.js';
import { XzFeatureCheck } from '../../src/compress/xz-features.js';
import { LiblzmaDecoder, loadLiblzma } from '../../src/compress/xz-liblzma.js';
import { findXzTool, NativeXzDecoder } from '../../src/compress/xz-native.js';
import { type ErrorCode, isImprintError } from '../../src/errors.js';
import {
  fixedChunks,
  mixedBytes,
  randomBytes,
  randomChunks,
  tarLikeBytes,
  textBytes,
  transformAll,
  zeroStream,
} from './corpus.js';
import { runTool } from './tools.js';

const tool = findXzTool();
const skip = tool === undefined ? 'no XZ Utils xz on PATH' : false;
const MiB = 1024 * 1024;

const liblzma = loadLiblzma();
type Engine = 'native' | 'wasm' | 'liblzma';
const ENGINES: Engine[] = liblzma === undefined ? ['native', 'wasm'] : ['native', 'wasm', 'liblzma'];

function decoder(engine: Engine, what: string, limits?: DecompressLimits): Transform {
  const guard = new DecompressionGuard(what, limits);
  if (engine === 'wasm') return new XzDecoder(what, guard);
  if (engine === 'liblzma') {
    assert.ok(liblzma !== undefined);
    return new LiblzmaDecoder(liblzma, what, guard);
  }
  assert.ok(tool !== undefined);
  return new NativeXzDecoder(tool, what, guard);
}

function decode(
  engine: Engine,
  chunks: Buffer[],
  what = 'input',
  limits?: DecompressLimits,
): Promise<Buffer> {
  return transformAll(chunks, decoder(engine, what, limits));
}

/** The error code decoding fails with, or 'ok'. */
async function outcome(engine: Engine, input: Buffer, what = 'input'): Promise<ErrorCode | 'ok'> {
  try {
    await decode(engine, [input], what);
    return 'ok';
  } catch (err) {
    assert.ok(isImprintError(err), `${engine}: not an ImprintError: ${String(err)}`);
    assert.equal(err.details.what, what, `${engine}: the error names the input`);
    return err.code;
  }
}

const xz = (args: string[], data: Buffer): Promise<Buffer> => runTool('xz', ['-c', '-T1', ...args], data);

/** Sets `mutate` on a copy of `bytes` and fixes the CRC32 of the header at [start, end) (CRC after it). */
function patchHeader(bytes: Buffer, start: number, end: number, mutate: (b: Buffer) => void): Buffer {
  const out = Buffer.from(bytes);
  mutate(out);
  out.writeUInt32LE(crc32(out.subarray(start, end)), end);
  return out;
}

const sample = Buffer.concat([tarLikeBytes(150, 61), textBytes(400_000, 62), mixedBytes(300_000, 63)]);

describe('xz decoders: same bytes', { skip }, () => {
  const cases: Array<[string, () => Promise<{ input: Buffer; output: Buffer }>]> = [
    ['one stream, preset 6', async () => ({ input: await xz(['-6'], sample), output: sample })],
    [
      'many blocks (--block-size)',
      async () => ({ input: await xz(['--block-size=64KiB'], sample), output: sample }),
    ],
    [
      'incompressible data (uncompressed LZMA2 chunks)',
      async () => {
        const data = randomBytes(300_000, 64);
        return { input: await xz(['-1'], data), output: data };
      },
    ],
    [
      'concatenated streams, stream padding, CRC32/none/CRC64 checks',
      async () => {
        const a = await xz(['--check=crc32'], sample);
        const b = await xz(['--check=none'], Buffer.from('middle'));
        const c = await xz(['--check=crc64', '--block-size=10KiB'], textBytes(50_000, 65));
        return {
          input: Buffer.concat([a, Buffer.alloc(4), b, c, Buffer.alloc(8)]),
          output: Buffer.concat([sample, Buffer.from('middle'), textBytes(50_000, 65)]),
        };
      },
    ],
    ['an empty stream', async () => ({ input: await xz([], Buffer.alloc(0)), output: Buffer.alloc(0) })],
    [
      'a 64 MiB dictionary',
      async () => ({ input: await xz(['--lzma2=preset=1,dict=64MiB'], sample), output: sample }),
    ],
  ];
  for (const [name, make] of cases) {
    test(name, async () => {
      const { input, output } = await make();
      for (const engine of ENGINES) {
        assert.ok((await decode(engine, [input])).equals(output), `${engine}, one chunk`);
        assert.ok((await decode(engine, randomChunks(input, 66))).equals(output), `${engine}, random chunks`);
        const head = Math.min(input.length, 3000);
        const bytewise = fixedChunks(input.subarray(0, head), 1).concat([input.subarray(head)]);
        assert.ok((await decode(engine, bytewise)).equals(output), `${engine}, byte by byte`);
      }
    });
  }
});

describe('xz decoders: same errors', { skip }, () => {
  test('corrupt, truncated, trailing garbage, bad padding, empty, not xz: COMPRESSION_INVALID', async () => {
    const good = await xz([], sample);
    const flipped = Buffer.from(good);
    flipped[good.length >> 1] = (flipped[good.length >> 1] as number) ^ 0x55;
    const badHeaderCrc = Buffer.from(good);
    badHeaderCrc[8] = (badHeaderCrc[8] as number) ^ 1;
    const inputs: Array<[string, Buffer]> = [
      ['flipped byte', flipped],
      ['stream header CRC', badHeaderCrc],
      ['truncated end', good.subarray(0, good.length - 10)],
      ['truncated half', good.subarray(0, good.length >> 1)],
      ['header only', good.subarray(0, 12)],
      ['three padding bytes', Buffer.concat([good, Buffer.alloc(3)])],
      ['trailing garbage', Buffer.concat([good, Buffer.from('garbage!')])],
      ['empty', Buffer.alloc(0)],
      ['lzma-alone format', await runTool('xz', ['-c', '--format=lzma'], sample)],
    ];
    for (const [name, input] of inputs) {
      for (const engine of ENGINES) {
        assert.equal(
          await outcome(engine, input, `data.tar.xz (${name})`),
          'COMPRESSION_INVALID',
          `${engine}: ${name}`,
        );
      }
    }
  });

  test('what xz-embedded lacks is COMPRESSION_UNSUPPORTED from both, also in a later stream', async () => {
    const small = textBytes(20_000, 67);
    const good = await xz([], small);
    // Block header: at byte 12; its size byte, then the flags byte; CRC32 over (size byte + 1) * 4 - 4 bytes.
    const blockHeaderEnd = 12 + ((good[12] as number) + 1) * 4 - 4;
    const inputs: Array<[string, Buffer]> = [
      ['SHA-256 check', await xz(['--check=sha256'], small)],
      ['x86 BCJ filter', await xz(['--x86', '--lzma2'], small)],
      ['delta filter', await xz(['--delta=dist=4', '--lzma2'], small)],
      ['128 MiB dictionary', await xz(['--lzma2=preset=1,dict=128MiB'], small)],
      ['96 MiB dictionary', await xz(['--lzma2=preset=1,dict=96MiB'], small)],
      ['reserved stream flags', patchHeader(good, 6, 8, (b) => (b[6] = 1))],
      ['reserved check ID 2', patchHeader(good, 6, 8, (b) => (b[7] = 2))],
      [
        'reserved block flags',
        patchHeader(good, 12, blockHeaderEnd, (b) => (b[13] = (b[13] as number) | 0x04)),
      ],
      ['SHA-256 in a second stream', Buffer.concat([good, await xz(['--check=sha256'], small)])],
      [
        'x86 in a second stream after padding',
        Buffer.concat([good, Buffer.alloc(4), await xz(['--x86', '--lzma2'], small)]),
      ],
    ];
    for (const [name, input] of inputs) {
      for (const engine of ENGINES) {
        assert.equal(await outcome(engine, input, name), 'COMPRESSION_UNSUPPORTED', `${engine}: ${name}`);
      }
    }
  });
});

describe('xz decoders: limits', { skip }, () => {
  for (const engine of ENGINES) {
    test(`${engine}: maxOutputBytes and the ratio guard stop a bomb`, async () => {
      const bomb = await runTool('xz', ['-c', '-0', '-T1'], zeroStream(40 * MiB));
      await assert.rejects(
        decode(engine, [bomb], 'capped', { maxOutputBytes: 3 * MiB }),
        (err) => isImprintError(err, 'DECOMPRESSION_BOMB') && (err.details.outputBytes as number) <= 4 * MiB,
      );
      let received = 0;
      const sink = new Writable({
        write(c: Buffer, _e, cb) {
          received += c.length;
          cb();
        },
      });
      await assert.rejects(
        pipeline(
          Readable.from([bomb]),
          decoder(engine, 'ratio', { maxRatio: 50, ratioGraceBytes: 2 * MiB }),
          sink,
        ),
        (err) => isImprintError(err, 'DECOMPRESSION_BOMB') && err.details.what === 'ratio',
      );
      assert.ok(received <= 3 * MiB, `${engine}: the consumer received ${received} bytes`);
      // Inside the limits the same input decodes.
      assert.equal((await decode(engine, [bomb], 'allowed', { maxRatio: 100_000 })).length, 40 * MiB);
    });
  }
});

/** The decoder classes decompressStream picks for a small, a large and an unknown input size, in a child with `env`. */
function kindsIn(env: NodeJS.ProcessEnv): string {
  const script = `
    import { decompressStream } from ${JSON.stringify(new URL('../../src/compress/decompress.ts', import.meta.url).href)};
    const kind = (n) => { const s = decompressStream('xz', { what: 'x', inputSize: n }); const k = s.constructor.name; s.destroy(); return k; };
    console.log(kind(${NATIVE_XZ_MIN_INPUT - 1}), kind(${NATIVE_XZ_MIN_INPUT}), kind(undefined));`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    env,
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

describe('decompressStream picks the engine', () => {
  test("the host's liblzma decodes every input in this process; IMPRINT_LIBLZMA=0 turns it off", {
    skip: liblzma === undefined && 'no liblzma.so.5 here',
  }, () => {
    const s = decompressStream('xz', { what: 's', inputSize: 10 });
    assert.ok(s instanceof LiblzmaDecoder);
    s.destroy();
    assert.equal(kindsIn({ PATH: process.env.PATH }), 'LiblzmaDecoder LiblzmaDecoder LiblzmaDecoder');
    // Found by the dynamic loader, not on PATH.
    assert.equal(kindsIn({ PATH: '/nonexistent' }), 'LiblzmaDecoder LiblzmaDecoder LiblzmaDecoder');
  });

  test('without liblzma: small inputs decode in WebAssembly, others (or of unknown size) in xz, with or without the helper shell', {
    skip,
  }, () => {
    assert.equal(
      kindsIn({ PATH: process.env.PATH, IMPRINT_LIBLZMA: '0' }),
      'XzDecoder NativeXzDecoder NativeXzDecoder',
    );
    // No sh on PATH: xz is forked; the same choice.
    const xzOnly = mkdtempSync(join(tmpdir(), 'imprint-xzonly-'));
    try {
      symlinkSync(
        spawnSync('sh', ['-c', 'command -v xz'], { encoding: 'utf8' }).stdout.trim(),
        join(xzOnly, 'xz'),
      );
      assert.equal(
        kindsIn({ PATH: xzOnly, IMPRINT_LIBLZMA: '0' }),
        'XzDecoder NativeXzDecoder NativeXzDecoder',
      );
    } finally {
      rmSync(xzOnly, { recursive: true, force: true });
    }
  });

  test('without liblzma or xz on PATH, decoding falls back to WebAssembly silently', () => {
    const script = `
      import { decompressStream } from ${JSON.stringify(new URL('../../src/compress/decompress.ts', import.meta.url).href)};
      import { findXzTool } from ${JSON.stringify(new URL('../../src/compress/xz-native.ts', import.meta.url).href)};
      const input = Buffer.from(${JSON.stringify(XZ_HELLO)}, 'base64');
      const s = decompressStream('xz', { what: 'x' });
      const parts = [];
      s.on('data', (c) => parts.push(c));
      s.on('end', () => console.log(JSON.stringify({ tool: findXzTool() ?? null, kind: s.constructor.name, text: Buffer.concat(parts).toString() })));
      s.end(input);`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      env: { PATH: '/nonexistent', IMPRINT_LIBLZMA: '0' },
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.deepEqual(JSON.parse(r.stdout), { tool: null, kind: 'XzDecoder', text: 'hello\n' });
  });
});

/** `printf 'hello\n' | xz -c | base64`: a fixed input, so the PATH-less child needs no xz. */
const XZ_HELLO = '/Td6WFoAAATm1rRGAgAhARYAAAB0L+WjAQAFaGVsbG8KAAAApWCX8ZT2/eAAAR4GwS+kHR+2830BAAAAAARZWg==';

describe('XzFeatureCheck', () => {
  test('walks a multi-block, multi-stream file without complaint, fed byte by byte', { skip }, async () => {
    const input = Buffer.concat([
      await xz(['--block-size=8KiB'], textBytes(60_000, 68)),
      Buffer.alloc(4),
      await xz(['-0'], randomBytes(70_000, 69)),
    ]);
    const check = new XzFeatureCheck('walk');
    for (const piece of fixedChunks(input, 1)) check.feed(piece);
    // ...and it was still following the structure at the end: a SHA-256 stream after it is caught.
    const flags = Buffer.from([0x00, 0x0a]); // check ID 10: SHA-256
    const crc = Buffer.alloc(4);
    crc.writeUInt32LE(crc32(flags));
    assert.throws(
      () => check.feed(Buffer.concat([Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]), flags, crc])),
      (err) => isImprintError(err, 'COMPRESSION_UNSUPPORTED'),
    );
  });

  test('stops checking (without throwing) at malformed structure', () => {
    const check = new XzFeatureCheck('junk');
    check.feed(Buffer.from('definitely not an xz stream, just text'));
    check.feed(randomBytes(10_000, 70));
  });
});
