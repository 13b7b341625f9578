// THE guard test: every block imprint writes must be canonical zlib's bytes (pako, a pure-JS port of
// zlib, is the oracle) for that block, its 32 KiB dictionary and its flush. Node's own zlib is a
// Chromium fork whose output differs on CPUs with CRC32 instructions; imprint must then not use it.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import * as zlib from 'node:zlib';
import {
  DEFLATE_DICTIONARY_SIZE,
  type DeflateEngine,
  deflateBlock,
  deflateBlocksSync,
  deflateEngine,
  nativeDeflateIsCanonical,
} from '../../src/compress/deflate.js';
import { corpus, mixedBytes, textBytes } from './corpus.js';
import { assertSameBytes, pakoDeflateRaw, referenceBlockedDeflate } from './reference.js';

const LEVELS = [1, 6, 9] as const;
const items = corpus();
/** Small blocks, so that every corpus item of a few MB is many blocks with full dictionaries. */
const BLOCK = 256 * 1024;

/** The whole corpus through `engine` at `level` must equal the pako reference, block by block. */
function assertCorpusCanonical(engine: DeflateEngine, level: number): void {
  for (const item of items) {
    assertSameBytes(
      deflateBlocksSync(item.data, level, BLOCK, engine),
      referenceBlockedDeflate(item.data, level, BLOCK),
      `${engine}, level ${level}, ${item.name}`,
    );
  }
}

describe('deflate blocks are canonical zlib (equal pako)', () => {
  for (const level of LEVELS) {
    test(`level ${level}: the engine imprint picks, every corpus item in ${BLOCK / 1024} KiB blocks`, (t) => {
      t.diagnostic(`engine at level ${level}: ${deflateEngine(level)} (Node zlib ${process.versions.zlib})`);
      assertCorpusCanonical(deflateEngine(level), level);
    });

    test(`level ${level}: Node's zlib is used only if it is canonical on the whole corpus`, (t) => {
      if (nativeDeflateIsCanonical(level)) {
        assertCorpusCanonical('node-zlib', level);
        return;
      }
      // The self-check said no: show it was right, so the fallback is not taken needlessly.
      let differing = 0;
      for (const item of items) {
        const native = deflateBlocksSync(item.data, level, BLOCK, 'node-zlib');
        if (!native.equals(referenceBlockedDeflate(item.data, level, BLOCK))) differing++;
        // Whatever its bytes, Node's blocks must still form one valid deflate stream.
        assert.ok(zlib.inflateRawSync(native).equals(item.data), `${item.name}: node-zlib blocks inflate`);
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

  test('one block with no dictionary is exactly a single pako stream (the format of small inputs)', () => {
    for (const item of items.filter((it) => it.data.length <= 3 * 1024 * 1024)) {
      const single = deflateBlock({
        level: 6,
        engine: deflateEngine(6),
        data: item.data,
        dictionary: new Uint8Array(0),
        last: true,
      });
      assertSameBytes(Buffer.from(single), pakoDeflateRaw(item.data, 6), item.name);
    }
  });

  test('every block but the last ends byte-aligned with an empty stored block (00 00 ff ff)', () => {
    const data = Buffer.concat([textBytes(300_000, 31), mixedBytes(300_000, 32)]);
    const blocks: Buffer[] = [];
    const stream = referenceBlockedDeflate(data, 6, 64 * 1024, blocks);
    assert.equal(blocks.length, Math.ceil(data.length / (64 * 1024)));
    for (const [i, block] of blocks.slice(0, -1).entries()) {
      assert.deepEqual([...block.subarray(-4)], [0, 0, 0xff, 0xff], `block ${i}`);
    }
    assertSameBytes(deflateBlocksSync(data, 6, 64 * 1024, deflateEngine(6)), stream, 'blocked stream');
    assert.ok(zlib.inflateRawSync(stream).equals(data));
  });

  test('the dictionary is used: a block repeating the end of the previous one compresses to almost nothing', () => {
    const text = textBytes(16 * 1024, 33);
    const dictionary = Buffer.concat([mixedBytes(DEFLATE_DICTIONARY_SIZE - text.length, 34), text]);
    const withDictionary = deflateBlock({
      level: 6,
      engine: deflateEngine(6),
      data: text,
      dictionary,
      last: true,
    });
    const without = pakoDeflateRaw(text, 6);
    assert.ok(
      withDictionary.length * 20 < without.length,
      `with dictionary ${withDictionary.length} B, without ${without.length} B`,
    );
    assert.ok(zlib.inflateRawSync(withDictionary, { dictionary }).equals(text));
  });

  test('an empty input is one empty final block', () => {
    // pako's 2 bytes, what zlib writes for no data.
    const empty = deflateBlock({
      level: 6,
      engine: 'pako',
      data: new Uint8Array(0),
      dictionary: new Uint8Array(0),
      last: true,
    });
    assert.deepEqual([...empty], [0x03, 0x00]);
  });
});
