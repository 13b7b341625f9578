// fileSink: writes behind the source in order, and with `syncing`, data syncs behind the writes.
import assert from 'node:assert/strict';
import type { FileHandle } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, it } from 'node:test';
import { fileSink, SYNC_EVERY_BYTES } from '../../src/store/atomic-file.js';

/** A file handle that records its writes and data syncs, in the order they complete. */
function recordingHandle(opts: { failSync?: boolean } = {}) {
  const events: string[] = [];
  let written = 0;
  let syncing = 0;
  const later = () => new Promise((r) => setTimeout(r, 1));
  const fh = {
    async writev(chunks: Uint8Array[]) {
      await later();
      const n = chunks.reduce((s, c) => s + c.length, 0);
      written += n;
      events.push(`write ${written}`);
      return { bytesWritten: n, buffers: chunks };
    },
    async datasync() {
      syncing++;
      events.push(`sync ${written}`); // the bytes written when it starts
      await later();
      syncing--;
      if (opts.failSync) throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
    },
  };
  return { fh: fh as unknown as FileHandle, events, busy: () => syncing };
}

const chunks = (count: number, size: number) =>
  Readable.from(Array.from({ length: count }, (_, i) => Buffer.alloc(size, i)));

describe('fileSink', () => {
  it('syncs behind its writes every SYNC_EVERY_BYTES when syncing, and settles after the last sync', async () => {
    const rec = recordingHandle();
    const size = 256 * 1024;
    const count = (3 * SYNC_EVERY_BYTES) / size + 3;
    await pipeline(chunks(count, size), fileSink(rec.fh, undefined, { syncing: true }));
    assert.equal(rec.busy(), 0, 'no sync runs once the sink has settled');
    const syncs = rec.events.filter((e) => e.startsWith('sync')).map((e) => Number(e.split(' ')[1]));
    assert.ok(syncs.length >= 2, `data syncs while writing: ${rec.events.join(', ')}`);
    // The k-th sync starts once the writes holding its k * SYNC_EVERY_BYTES bytes have completed,
    // while later writes still go on.
    for (const [k, at] of syncs.entries())
      assert.ok(at >= (k + 1) * SYNC_EVERY_BYTES, `sync ${k + 1} at ${at} bytes`);
    assert.ok(
      syncs[0] !== undefined && syncs[0] < count * size,
      'the first sync starts before the last write',
    );
    assert.equal(
      Math.max(...rec.events.filter((e) => e.startsWith('write')).map((e) => Number(e.split(' ')[1]))),
      count * size,
    );
  });

  it('starts no sync without syncing, nor for less than SYNC_EVERY_BYTES', async () => {
    const plain = recordingHandle();
    await pipeline(chunks(40, 256 * 1024), fileSink(plain.fh));
    assert.deepEqual(
      plain.events.filter((e) => e.startsWith('sync')),
      [],
    );
    const small = recordingHandle();
    await pipeline(chunks(3, 1024), fileSink(small.fh, undefined, { syncing: true }));
    assert.deepEqual(
      small.events.filter((e) => e.startsWith('sync')),
      [],
    );
  });

  it('fails when a data sync fails, and leaves none running', async () => {
    const rec = recordingHandle({ failSync: true });
    await assert.rejects(
      pipeline(chunks(40, 256 * 1024), fileSink(rec.fh, undefined, { syncing: true })),
      /EIO/,
    );
    assert.equal(rec.busy(), 0);
  });
});
