// The deflate engine: imprint's WebAssembly build of libdeflate 1.14, its known answers, its exact
// bytes on a tiny input, and the same bytes as the native library (libdeflate-gzip) on real-looking data.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import * as zlib from 'node:zlib';
import { crc32 } from '../../src/compress/crc32.js';
import { gzipHeader, gzipTrailer } from '../../src/compress/gzip-member.js';
import {
  assertPinnedDeflate,
  deflateEngine,
  knownAnswerProbe,
  LIBDEFLATE_VERSION,
  libdeflateRaw,
  verifyKnownAnswer,
  wasmDeflateRaw,
} from '../../src/compress/libdeflate.js';
import { loadNativeLibdeflate } from '../../src/compress/libdeflate-native.js';
import { LIBDEFLATE_WASM_BASE64, LIBDEFLATE_WASM_SHA256 } from '../../src/compress/libdeflate-wasm.js';
import { isImprintError } from '../../src/errors.js';
import { ROOT } from '../helpers/cli.js';
import { corpus, randomBytes, tarLikeBytes, textBytes } from './corpus.js';
import { assertSameBytes, referenceGzip } from './reference.js';

describe('libdeflate engine', () => {
  test("the embedded module is the one the build script pins, and gives the native library's bytes", () => {
    const bytes = Buffer.from(LIBDEFLATE_WASM_BASE64, 'base64');
    assert.equal(createHash('sha256').update(bytes).digest('hex'), LIBDEFLATE_WASM_SHA256);
    const script = readFileSync(`${ROOT}/scripts/build-libdeflate-wasm.sh`, 'utf8');
    assert.match(script, new RegExp(`^version=${LIBDEFLATE_VERSION.replace('.', '\\.')}$`, 'm'));
    // libdeflate-gzip is Debian's native build of the same version: header, deflate, CRC-32, ISIZE.
    const data = Buffer.concat([tarLikeBytes(300, 11), textBytes(700_000, 12), randomBytes(40_000, 13)]);
    for (const level of [1, 6, 9]) {
      const ours = Buffer.concat([
        gzipHeader(level),
        wasmDeflateRaw(data, level),
        gzipTrailer(crc32(data), data.length),
      ]);
      assertSameBytes(ours, referenceGzip(data, level, data.length), `level ${level}`);
    }
  });

  test('the known answers hold at every level 1..9', () => {
    for (let level = 1; level <= 9; level++) {
      verifyKnownAnswer(level);
      assertPinnedDeflate(level);
    }
  });

  test('exact bytes of a tiny input (a match and static Huffman codes)', () => {
    const tiny = Buffer.from(`${'abcdefghij'.repeat(10)}0123456789`);
    for (const level of [1, 6, 9]) {
      assert.equal(
        Buffer.from(libdeflateRaw(tiny, level)).toString('hex'),
        '4b4c4a4e494d4bcfc8cc4aa419cbc0d0c8d8c4d4ccdcc21200',
        `level ${level}`,
      );
    }
    // No input: one final stored block of length 0.
    assert.equal(Buffer.from(libdeflateRaw(new Uint8Array(0), 6)).toString('hex'), '010000ffff');
  });

  test('another engine fails the known-answer check with COMPRESSION_UNSUPPORTED', () => {
    const nodeZlib = (data: Uint8Array, level: number): Uint8Array => zlib.deflateRawSync(data, { level });
    const wrongLevel = (data: Uint8Array, level: number): Uint8Array => libdeflateRaw(data, level + 1);
    for (const engine of [nodeZlib, wrongLevel]) {
      assert.throws(
        () => verifyKnownAnswer(6, engine),
        (err) =>
          isImprintError(err, 'COMPRESSION_UNSUPPORTED') &&
          err.details.pinned === LIBDEFLATE_VERSION &&
          err.details.level === 6,
      );
    }
    // A level without a known answer is refused too.
    assert.throws(
      () => verifyKnownAnswer(12),
      (err) => isImprintError(err, 'COMPRESSION_UNSUPPORTED'),
    );
  });

  test('the output inflates back and does not depend on what the engine compressed before', () => {
    const probe = knownAnswerProbe();
    const first = Buffer.from(libdeflateRaw(probe, 6));
    for (const item of corpus()) {
      const out = libdeflateRaw(item.data, 6);
      assert.ok(zlib.inflateRawSync(out).equals(item.data), item.name);
    }
    // The WebAssembly heap has grown and been reused: same bytes as before.
    assert.ok(Buffer.from(libdeflateRaw(probe, 6)).equals(first));
    assert.ok(zlib.inflateRawSync(libdeflateRaw(textBytes(3_000_000, 5), 9)).equals(textBytes(3_000_000, 5)));
  });

  const native = loadNativeLibdeflate();
  test("the host's native libdeflate 1.14, when known, gives the WebAssembly build's bytes at every level", {
    skip:
      native === undefined && 'no known native libdeflate 1.14 here (Debian 12: apt-get install libdeflate0)',
  }, () => {
    assert.ok(native);
    const inputs = [...corpus().map((item) => item.data), tarLikeBytes(400, 21), textBytes(1 << 20, 22)];
    for (let level = 1; level <= 9; level++) {
      for (const data of inputs) {
        assertSameBytes(
          Buffer.from(native.raw(data, level)),
          Buffer.from(wasmDeflateRaw(data, level)),
          `level ${level}`,
        );
      }
    }
    assert.match(deflateEngine(), /^libdeflate 1\.14 \(Debian 12 libdeflate0 1\.14-1 /);
  });

  test('a library file of no known build is not used, nor any with IMPRINT_NATIVE_DEFLATE=0', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'imprint-libdeflate-'));
    try {
      const fake = join(dir, 'libdeflate.so.0');
      await writeFile(fake, Buffer.from('not a library'));
      assert.equal(loadNativeLibdeflate(fake), undefined);
      assert.equal(loadNativeLibdeflate(join(dir, 'missing.so')), undefined);
      const real = native?.path;
      if (real !== undefined) {
        // The real library with one byte more: another build, whatever it does.
        await writeFile(fake, Buffer.concat([await readFile(real), Buffer.from([0])]));
        assert.equal(loadNativeLibdeflate(fake), undefined);
        process.env.IMPRINT_NATIVE_DEFLATE = '0';
        try {
          assert.equal(loadNativeLibdeflate(real), undefined);
        } finally {
          delete process.env.IMPRINT_NATIVE_DEFLATE;
        }
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
