// gzip layers cut a member before and after every file body of at least GZIP_ALIGNED_BODY_MIN bytes
// (body plus tar padding, itself cut every GZIP_BLOCK_SIZE from its own start). The members of such a
// body may be made ahead (GzipBodyCache) while packages unpack; the layer's bytes must be exactly the
// same either way, and the members made ahead must be exactly gzipMember of the padded body's blocks.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, test } from 'node:test';
import * as zlib from 'node:zlib';
import type { BlockRunner } from '../../src/compress/deflate-pool.js';
import { GZIP_ALIGNED_BODY_MIN, GZIP_BLOCK_SIZE, GzipBlocks } from '../../src/compress/gzip.js';
import { GzipBodyCache } from '../../src/compress/gzip-bodies.js';
import { gzipMember } from '../../src/compress/gzip-member.js';
import { ImprintError, isImprintError } from '../../src/errors.js';
import { type TarWriteEntry, tarChunks } from '../../src/tar/index.js';
import { writeLayer } from '../../src/vfs/layer.js';
import { file } from '../diff/fixtures.js';
import { memorySink } from '../helpers/layers.js';
import { mixedBytes, textBytes } from './corpus.js';

const KiB = 1024;
const MiB = 1024 * 1024;

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** A regular file entry of `body` (0644, root, mtime 1), with its sha256 when given. */
const fileEntry = (path: string, body: Buffer, sha256?: string): TarWriteEntry =>
  file(path, body, { mtime: 1, ...(sha256 === undefined ? {} : { sha256 }) });

/** Waits until `cache` holds members (taking them would drop them). */
async function madeAhead(cache: GzipBodyCache): Promise<void> {
  while (cache.heldBytes === 0) await new Promise((r) => setTimeout(r, 1));
}

/** Files around the threshold and across blocks, with small files between them. */
function sampleEntries(): { entries: TarWriteEntry[]; bodies: Map<string, Buffer> } {
  const sizes = [
    100,
    GZIP_ALIGNED_BODY_MIN - 1,
    GZIP_ALIGNED_BODY_MIN,
    5000,
    GZIP_ALIGNED_BODY_MIN + 1,
    3 * 512,
    GZIP_BLOCK_SIZE,
    2 * GZIP_BLOCK_SIZE + 777,
    0,
    700 * KiB,
  ];
  const bodies = new Map<string, Buffer>();
  const entries: TarWriteEntry[] = [
    { path: 'd/', type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 1, size: 0 },
  ];
  sizes.forEach((size, i) => {
    const body = i % 2 === 0 ? textBytes(size, i + 1) : mixedBytes(size, i + 1);
    const path = `d/f${String(i).padStart(2, '0')}`;
    bodies.set(path, body);
    entries.push(fileEntry(path, body, sha(body)));
  });
  return { entries, bodies };
}

/** The expected members: a cut before and after every large body (with padding), blocks from each cut. */
async function expectedLayer(entries: TarWriteEntry[]): Promise<{ gz: Buffer; members: number }> {
  const tar: Buffer[] = [];
  for await (const c of tarChunks(entries, 't')) tar.push(c);
  const all = Buffer.concat(tar);
  const cuts = new Set<number>([0, all.length]);
  let offset = 0;
  for (const e of entries) {
    offset += 512; // one header block each (short paths, no PAX)
    const padded = Math.ceil(e.size / 512) * 512;
    if (e.type === 'file' && e.size >= GZIP_ALIGNED_BODY_MIN) {
      for (let c = offset; c < offset + padded; c += GZIP_BLOCK_SIZE) cuts.add(c);
      cuts.add(offset + padded);
    }
    offset += padded;
  }
  const sorted = [...cuts].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  for (let i = 0; i + 1 < sorted.length; i++) {
    const start = sorted[i] as number;
    const end = sorted[i + 1] as number;
    for (let c = start; c < end; c += GZIP_BLOCK_SIZE)
      out.push(gzipMember({ level: 6, data: all.subarray(c, Math.min(end, c + GZIP_BLOCK_SIZE)) }));
  }
  return { gz: Buffer.concat(out), members: out.length };
}

describe('gzip layers: members aligned to large bodies', () => {
  test('cuts around every body of at least the threshold; gunzip gives the tar', async () => {
    const { entries } = sampleEntries();
    const sink = memorySink();
    const layer = await writeLayer(entries, { compression: 'gzip', level: 6, workers: 2 }, sink);
    const expected = await expectedLayer(entries);
    assert.ok(sink.bytes.equals(expected.gz), 'layer bytes equal the reference members');
    const tar: Buffer[] = [];
    for await (const c of tarChunks(entries, 't')) tar.push(c);
    const plain = Buffer.concat(tar);
    assert.ok(zlib.gunzipSync(sink.bytes).equals(plain));
    assert.equal(layer.diffId, `sha256:${sha(plain)}`);
    assert.equal(layer.uncompressedSize, plain.length);
    assert.ok(expected.members > 8, `${expected.members} members`);
  });

  test('the same bytes inline, with workers, and with every large body compressed ahead', async () => {
    const { entries, bodies } = sampleEntries();
    const inline = memorySink();
    await writeLayer(entries, { compression: 'gzip', level: 6, workers: 0 }, inline);
    const cache = new GzipBodyCache(6);
    for (const e of entries) {
      const body = bodies.get(e.path);
      if (body !== undefined) cache.offer(sha(body), body.length, () => Readable.from([body]));
    }
    const ahead = memorySink();
    await writeLayer(entries, { compression: 'gzip', level: 6, workers: 2 }, ahead, { bodies: cache });
    assert.ok(ahead.bytes.equals(inline.bytes));
    // a cache made for another level is not used
    const other = new GzipBodyCache(9);
    for (const [, body] of bodies) other.offer(sha(body), body.length, () => Readable.from([body]));
    const ignored = memorySink();
    await writeLayer(entries, { compression: 'gzip', level: 6, workers: 2 }, ignored, { bodies: other });
    assert.ok(ignored.bytes.equals(inline.bytes));
  });

  test('taken members leave the cache (it holds less as the layer is written); a repeated body is compressed again, same bytes', async () => {
    const body = mixedBytes(GZIP_BLOCK_SIZE + 5000, 21);
    const cache = new GzipBodyCache(6);
    cache.offer(sha(body), body.length, () => Readable.from([body]));
    const members = await cache.take(sha(body), body.length);
    assert.ok(members !== undefined);
    await new Promise((r) => setImmediate(r));
    assert.equal(cache.heldBytes, 0, 'nothing held once taken');
    assert.equal(cache.take(sha(body), body.length), undefined, 'given away');
    // The same body at two paths: the second is compressed by the writer, to the same bytes.
    const entries = [fileEntry('a', body, sha(body)), fileEntry('b', body, sha(body))];
    const inline = memorySink();
    await writeLayer(entries, { compression: 'gzip', level: 6, workers: 0 }, inline);
    cache.offer(sha(body), body.length, () => Readable.from([body]));
    const ahead = memorySink();
    await writeLayer(entries, { compression: 'gzip', level: 6, workers: 2 }, ahead, { bodies: cache });
    assert.ok(ahead.bytes.equals(inline.bytes));
    assert.equal(cache.heldBytes, 0);
  });

  test('members made ahead are gzipMember of the padded body, block by block, in order', async () => {
    const body = mixedBytes(2 * GZIP_BLOCK_SIZE + 100, 9);
    // a pool that finishes blocks in reverse order, and detaches buffers as a worker would
    const slow: BlockRunner = {
      run: (job) => {
        const out = gzipMember({ level: job.level, data: Uint8Array.from(job.data) });
        return new Promise((r) => setTimeout(() => r(out), job.data.length === GZIP_BLOCK_SIZE ? 30 : 1));
      },
    };
    const cache = new GzipBodyCache(6, { pool: slow, maxInFlight: 2 });
    cache.offer(sha(body), body.length, () => Readable.from([body.subarray(0, 5), body.subarray(5)]));
    const members = await cache.take(sha(body), body.length);
    assert.ok(members !== undefined);
    const padded = Buffer.alloc(Math.ceil(body.length / 512) * 512);
    body.copy(padded);
    const expected = [0, 1, 2].map((i) =>
      gzipMember({ level: 6, data: padded.subarray(i * GZIP_BLOCK_SIZE, (i + 1) * GZIP_BLOCK_SIZE) }),
    );
    assert.equal(members.length, 3);
    for (const [i, m] of members.entries())
      assert.ok(Buffer.from(m).equals(Buffer.from(expected[i] as Uint8Array)), `member ${i}`);
  });

  test('a body fed while it is read elsewhere gives the same members; an unended or long feed gives none', async () => {
    const body = mixedBytes(GZIP_BLOCK_SIZE + 70 * KiB + 3, 11);
    const offered = new GzipBodyCache(6);
    offered.offer(sha(body), body.length, () => Readable.from([body]));
    const fed = new GzipBodyCache(6);
    const feed = fed.feed(body.length);
    assert.ok(feed !== undefined);
    for (let at = 0; at < body.length; at += 10_000)
      assert.equal(await feed.push(body.subarray(at, at + 10_000)), true);
    assert.equal(fed.take(sha(body), body.length), undefined, 'not before end()');
    feed.end(sha(body));
    const a = await offered.take(sha(body), body.length);
    const b = await fed.take(sha(body), body.length);
    assert.ok(a !== undefined && b !== undefined);
    assert.deepEqual(
      b.map((m) => Buffer.from(m)),
      a.map((m) => Buffer.from(m)),
    );
    assert.equal(fed.feed(GZIP_ALIGNED_BODY_MIN - 1), undefined, 'small bodies are not fed');
    const long = fed.feed(GZIP_ALIGNED_BODY_MIN);
    assert.equal(await long?.push(Buffer.alloc(GZIP_ALIGNED_BODY_MIN + 1)), false);
    long?.end('ff');
    assert.equal(await fed.take('ff', GZIP_ALIGNED_BODY_MIN), undefined);
  });

  test("recycled block buffers never leak old bytes into a body's padding", async () => {
    const cache = new GzipBodyCache(6);
    // Full blocks of noise go to the workers and come back as spare buffers full of it.
    for (let i = 0; i < 4; i++) {
      const junk = mixedBytes(2 * GZIP_BLOCK_SIZE, 100 + i);
      cache.offer(sha(junk), junk.length, () => Readable.from([junk]));
      await cache.take(sha(junk), junk.length);
    }
    const body = textBytes(2 * GZIP_BLOCK_SIZE - 100, 7); // its last 1 MiB block ends in 100 bytes of padding
    const feed = cache.feed(body.length);
    assert.ok(feed !== undefined);
    await feed.push(body);
    feed.end(sha(body));
    const members = await cache.take(sha(body), body.length);
    const padded = Buffer.alloc(2 * GZIP_BLOCK_SIZE);
    body.copy(padded);
    assert.deepEqual(
      members?.map((m) => Buffer.from(m)),
      [0, 1].map((i) =>
        Buffer.from(
          gzipMember({ level: 6, data: padded.subarray(i * GZIP_BLOCK_SIZE, (i + 1) * GZIP_BLOCK_SIZE) }),
        ),
      ),
    );
  });

  test('small bodies, repeats, short reads and offers beyond the budget are not kept', async () => {
    const cache = new GzipBodyCache(6, { maxHeldBytes: 1 });
    const small = textBytes(GZIP_ALIGNED_BODY_MIN - 1, 1);
    cache.offer(sha(small), small.length, () => Readable.from([small]));
    assert.equal(cache.take(sha(small), small.length), undefined);
    const short = textBytes(GZIP_ALIGNED_BODY_MIN, 2);
    cache.offer('ab', short.length + 10, () => Readable.from([short]));
    assert.equal(await cache.take('ab', short.length + 10), undefined);
    const failing = 'cd';
    cache.offer(failing, MiB, () => {
      throw new Error('gone');
    });
    assert.equal(await cache.take(failing, MiB), undefined);
    const big = mixedBytes(200 * KiB, 3);
    cache.offer(sha(big), big.length, () => Readable.from([big]));
    await madeAhead(cache);
    assert.ok(cache.heldBytes > 1);
    const later = mixedBytes(200 * KiB, 4);
    cache.offer(sha(later), later.length, () => Readable.from([later]));
    assert.equal(cache.take(sha(later), later.length), undefined, 'beyond the budget');
  });

  test('members that do not match the body fail the layer (INTERNAL), never a mixed layer', async () => {
    const body = mixedBytes(300 * KiB, 5);
    const wrong = mixedBytes(300 * KiB, 6);
    const cache = new GzipBodyCache(6);
    cache.offer(sha(body), body.length, () => Readable.from([wrong]));
    await madeAhead(cache);
    const entries = [fileEntry('big', body, sha(body))];
    await assert.rejects(
      writeLayer(entries, { compression: 'gzip', level: 6, workers: 2 }, memorySink(), { bodies: cache }),
      (err: unknown) => isImprintError(err) && err.code === 'INTERNAL' && /\/big/.test(err.message),
    );
  });

  test('a sink that fails without reading fails the layer with its error, never a hang', async () => {
    // More than the stream's buffer, so the writer must wait for a reader that never comes.
    const entries = [fileEntry('big', randomBytes(4 * MiB))];
    const sink = { put: () => Promise.reject(new Error('the store is not writable')) };
    for (const workers of [1, 2]) {
      await assert.rejects(
        writeLayer(entries, { compression: 'gzip', level: 1, workers }, sink),
        /the store is not writable/,
      );
    }
  });

  test("a sink that fails while it reads (a full disk) fails the layer with the sink's error, not an abort", async () => {
    // As BlobStore.put does: its pipeline ends the layer stream on the failed write, and the sink's
    // own error comes after it has closed and removed its temporary file.
    const sink = {
      put: async (src: Readable) => {
        try {
          await pipeline(src, async (source: AsyncIterable<Buffer>) => {
            let n = 0;
            for await (const chunk of source) {
              n += chunk.length;
              if (n > MiB) throw new Error('ENOSPC: no space left on device, write');
            }
          });
        } catch (err) {
          src.destroy();
          await new Promise((resolve) => setTimeout(resolve, 20));
          throw new ImprintError('IO', 'writing a blob: ENOSPC: no space left on device, write', {
            cause: err,
          });
        }
        return { digest: 'sha256:' as const, size: 0 };
      },
    };
    const entries = [fileEntry('big', randomBytes(8 * MiB)), fileEntry('small', randomBytes(100 * KiB))];
    for (const compression of [
      { compression: 'gzip', level: 1, workers: 2 },
      { compression: 'gzip', level: 1, workers: 1 },
      { compression: 'none' },
    ] as const) {
      await assert.rejects(writeLayer(entries, compression, sink), (err) => isImprintError(err, 'IO'));
    }
  });

  test('GzipBlocks: cut() ends a block, insert() places members, an empty input is one member', async () => {
    const emitted: Uint8Array[] = [];
    const blocks = new GzipBlocks(6, { workers: 0, blockSize: 10 }, (m) => {
      emitted.push(m);
    });
    await blocks.write(Buffer.from('abcdefghijklmno')); // 10 + 5
    await blocks.cut();
    await blocks.cut(); // nothing to cut
    await blocks.insert(Promise.resolve([gzipMember({ level: 6, data: Buffer.from('XYZ') })]));
    await blocks.write(Buffer.from('0123456789')); // exactly one block: no empty member after it
    await blocks.end();
    const expected = ['abcdefghij', 'klmno', 'XYZ', '0123456789'].map((s) =>
      Buffer.from(gzipMember({ level: 6, data: Buffer.from(s) })),
    );
    assert.deepEqual(
      emitted.map((m) => Buffer.from(m)),
      expected,
    );
    const empty: Uint8Array[] = [];
    const none = new GzipBlocks(6, { workers: 0 }, (m) => {
      empty.push(m);
    });
    await none.end();
    assert.equal(zlib.gunzipSync(Buffer.from(empty[0] as Uint8Array)).length, 0);
    assert.equal(empty.length, 1);
  });
});
