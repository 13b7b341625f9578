// The deflate engine: the pinned libdeflate package, its known answers, its exact bytes on a tiny
// input, and its process hygiene (the package's Emscripten runtime installs process-wide handlers).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import * as zlib from 'node:zlib';
import {
  assertPinnedDeflate,
  knownAnswerProbe,
  LIBDEFLATE_VERSION,
  libdeflateRaw,
  verifyKnownAnswer,
} from '../../src/compress/libdeflate.js';
import { isImprintError } from '../../src/errors.js';
import { ROOT } from '../helpers/cli.js';
import { corpus, textBytes } from './corpus.js';

describe('libdeflate engine', () => {
  test('package.json pins exactly the version the code names, and it is the one installed', () => {
    const pkg = JSON.parse(readFileSync(`${ROOT}/package.json`, 'utf8')) as {
      dependencies: Record<string, string>;
    };
    assert.equal(pkg.dependencies.libdeflate, LIBDEFLATE_VERSION, 'an exact version, no range');
    const installed = JSON.parse(readFileSync(`${ROOT}/node_modules/libdeflate/package.json`, 'utf8')) as {
      version: string;
    };
    assert.equal(installed.version, LIBDEFLATE_VERSION);
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

  test('loading the engine leaves no process-wide handlers behind (the bare package does)', () => {
    const counts =
      "console.log(process.listenerCount('uncaughtException'), process.listenerCount('unhandledRejection'))";
    const viaImprint = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        `const m = await import(${JSON.stringify(new URL('../../src/compress/libdeflate.ts', import.meta.url).href)});
m.libdeflateRaw(new Uint8Array(10), 6); ${counts}`,
      ],
      { cwd: ROOT, encoding: 'utf8' },
    );
    assert.equal(viaImprint.status, 0, viaImprint.stderr);
    assert.equal(viaImprint.stdout.trim(), '0 0');
    const bare = spawnSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const m = await import('libdeflate'); m.deflate(new Uint8Array(10), 6); ${counts}`,
      ],
      { cwd: ROOT, encoding: 'utf8' },
    );
    assert.equal(bare.status, 0, bare.stderr);
    assert.equal(bare.stdout.trim(), '1 1', 'the package no longer installs handlers: drop the workaround');
  });
});
