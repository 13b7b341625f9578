import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  codecDescription,
  compressStream,
  decompressStream,
  zstdAvailable,
} from '../../src/compress/index.js';
import { isImprintError } from '../../src/errors.js';
import { fixedChunks, mixedBytes, randomChunks, textBytes, transformAll } from './corpus.js';
import { hasTool, runTool } from './tools.js';

const available = zstdAvailable();
const needsZstd = available ? false : `Node ${process.version} has no built-in zstd`;

test('without built-in zstd, zstd output is COMPRESSION_UNSUPPORTED', {
  skip: available ? 'this Node has zstd' : false,
}, () => {
  assert.throws(
    () => compressStream({ compression: 'zstd' }),
    (err) => isImprintError(err, 'COMPRESSION_UNSUPPORTED') && typeof err.hint === 'string',
  );
});

test('zstd levels outside 1..19 are USAGE errors', () => {
  for (const level of [0, 20, 2.5]) {
    assert.throws(
      () => compressStream({ compression: 'zstd', level }),
      (err) => isImprintError(err, 'USAGE'),
    );
  }
});

test('codecDescription pins zstd parameters and the libzstd version', () => {
  assert.deepEqual(codecDescription({ compression: 'zstd' }), {
    compression: 'zstd',
    level: 3,
    implementation: 'node-zlib-zstd',
    zstd: process.versions.zstd ?? 'unknown',
    checksum: 1,
    contentSize: 0,
  });
});

test('zstd round trips and is indifferent to chunking', { skip: needsZstd }, async () => {
  const data = Buffer.concat([textBytes(3 * 1024 * 1024, 31), mixedBytes(1024 * 1024, 32)]);
  const one = await transformAll([data], compressStream({ compression: 'zstd' }));
  const random = await transformAll(randomChunks(data, 33), compressStream({ compression: 'zstd' }));
  const fixed = await transformAll(fixedChunks(data, 65537), compressStream({ compression: 'zstd' }));
  assert.ok(random.equals(one), 'random chunking changed the bytes');
  assert.ok(fixed.equals(one), '65537-byte chunking changed the bytes');
  // Frame header descriptor: checksum flag set, no content size, not single-segment.
  assert.equal(one.readUInt32LE(0), 0xfd2fb528);
  const fhd = one[4] as number;
  assert.equal(fhd & 0x04, 0x04, 'checksum flag');
  assert.equal(fhd >> 6, 0, 'content size field');
  assert.equal(fhd & 0x20, 0, 'single segment');
  const back = await transformAll([one], decompressStream('zstd', { what: 'round trip' }));
  assert.ok(back.equals(data));
});

test('small inputs give the same frame whether written at once or byte by byte', {
  skip: needsZstd,
}, async () => {
  const data = textBytes(3000, 34);
  const one = await transformAll([data], compressStream({ compression: 'zstd', level: 19 }));
  const bytes = await transformAll(fixedChunks(data, 1), compressStream({ compression: 'zstd', level: 19 }));
  assert.ok(bytes.equals(one));
  const empty = await transformAll([], compressStream({ compression: 'zstd' }));
  assert.ok(
    (await transformAll([empty], decompressStream('zstd', { what: 'empty' }))).equals(Buffer.alloc(0)),
  );
});

test('zstd -dc reads imprint zstd output', {
  skip: needsZstd || (hasTool('zstd') ? false : 'zstd CLI not installed'),
}, async () => {
  const data = textBytes(2 * 1024 * 1024, 35);
  const z = await transformAll(randomChunks(data, 36), compressStream({ compression: 'zstd', level: 9 }));
  assert.ok((await runTool('zstd', ['-dc'], z)).equals(data));
});
