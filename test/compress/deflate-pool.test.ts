// The worker pool: results per job, failures as INTERNAL, closing, and process lifetime (idle workers
// never keep the process alive; busy ones do). The native runner (the host's libdeflate on libuv's
// thread pool): the same members, and the worker pool when the library's gzip writer is not the pinned one.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  blockBuffer,
  DeflatePool,
  defaultDeflateWorkers,
  MAX_SPARE_BLOCK_BYTES,
  NativeDeflateRunner,
  sharedDeflatePool,
  spareBlockBytes,
} from '../../src/compress/deflate-pool.js';
import { type BlockJob, gzipMember } from '../../src/compress/gzip-member.js';
import { loadNativeLibdeflate, type NativeLibdeflate } from '../../src/compress/libdeflate-native.js';
import { isImprintError } from '../../src/errors.js';
import { mixedBytes, textBytes } from './corpus.js';
import { referenceGzip } from './reference.js';

function job(data: Uint8Array): BlockJob {
  return { level: 6, data };
}

describe('DeflatePool', () => {
  test('the default size is min(available parallelism, 4), at least 1', () => {
    const n = defaultDeflateWorkers();
    assert.ok(Number.isInteger(n) && n >= 1 && n <= 4, String(n));
  });

  test('every job gets its own block back, whatever the order workers finish in', async () => {
    const pool = new DeflatePool(2);
    try {
      const blocks = Array.from({ length: 7 }, (_, i) =>
        i % 2 === 0 ? textBytes(50_000 + i * 9_000, i) : mixedBytes(120_000 - i * 7_000, i),
      );
      const expected = blocks.map((b) => Buffer.from(gzipMember(job(b))));
      // Copies are transferred to the workers; the originals stay usable here.
      const outputs = await Promise.all(
        blocks.map((b) => {
          const copy = b.slice();
          return pool.run(job(copy), [copy.buffer as ArrayBuffer]);
        }),
      );
      for (const [i, out] of outputs.entries())
        assert.ok(Buffer.from(out).equals(expected[i] as Buffer), `job ${i}`);
    } finally {
      await pool.close();
    }
  });

  test('empty, tiny and highly compressible blocks come back whole', async () => {
    const pool = new DeflatePool(1);
    try {
      for (const data of [
        Buffer.alloc(0),
        Buffer.from('tiny'),
        Buffer.alloc(100_000),
        textBytes(200_000, 9),
      ]) {
        const out = await pool.run(job(data));
        assert.ok(Buffer.from(out).equals(Buffer.from(gzipMember(job(data)))), `${data.length} bytes`);
      }
    } finally {
      await pool.close();
    }
  });

  test('a failing job is INTERNAL and the pool keeps working', async () => {
    const pool = new DeflatePool(1);
    try {
      await assert.rejects(pool.run({ ...job(textBytes(1000, 1)), level: 42 }), (err) =>
        isImprintError(err, 'INTERNAL'),
      );
      const data = textBytes(1000, 2);
      const out = await pool.run(job(data));
      assert.ok(Buffer.from(out).equals(Buffer.from(gzipMember(job(data)))));
    } finally {
      await pool.close();
    }
  });

  test('close fails queued and running jobs with INTERNAL; later jobs are refused', async () => {
    const pool = new DeflatePool(1);
    const pending = [pool.run(job(textBytes(500_000, 3))), pool.run(job(textBytes(500_000, 4)))];
    const failed = pending.map((p) => assert.rejects(p, (err) => isImprintError(err, 'INTERNAL')));
    await pool.close();
    await Promise.all(failed);
    await assert.rejects(pool.run(job(textBytes(10, 5))), (err) => isImprintError(err, 'INTERNAL'));
  });

  test('spare block buffers of many sizes stay within MAX_SPARE_BLOCK_BYTES in all', async () => {
    // A layer's blocks come in many sizes (the short ones before large bodies, the ends of bodies):
    // 16 spares per size and no total kept 400 MB of them after a TeX Live layer.
    const pool = sharedDeflatePool(2);
    const sizes = Array.from({ length: 60 }, (_, i) => 1024 * 1024 - 512 * (i + 1));
    for (let round = 0; round < 3; round++) {
      await Promise.all(
        sizes.map((size) => {
          const data = blockBuffer(size);
          return pool.run(job(data), [data.buffer as ArrayBuffer]);
        }),
      );
      assert.ok(spareBlockBytes() <= MAX_SPARE_BLOCK_BYTES, String(spareBlockBytes()));
    }
    assert.ok(spareBlockBytes() > 0, 'buffers are still recycled');
    // A full block's buffer is reused: the one recycled last comes back for its size.
    const last = sizes[sizes.length - 1] as number;
    const before = spareBlockBytes();
    assert.equal(blockBuffer(last).length, last);
    assert.equal(spareBlockBytes(), before - last);
  });

  test('a process compressing with workers exits by itself, after the output is complete', (t) => {
    // The shared pool is never closed: idle workers must not keep the process alive, and busy ones
    // must (otherwise the top-level await below is abandoned and node exits with code 13).
    const dir = mkdtempSync(join(tmpdir(), 'imprint-deflate-pool-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const compress = new URL('../../src/compress/compress.ts', import.meta.url).href;
    const script = join(dir, 'run.mts');
    writeFileSync(
      script,
      `import { createHash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { compressStream } from ${JSON.stringify(compress)};
const data = Buffer.alloc(3 * 1024 * 1024 + 5);
for (let i = 0; i < data.length; i++) data[i] = (i * 2654435761) >>> 23 & 0x3f;
const hash = createHash('sha256');
await pipeline(Readable.from([data]), compressStream({ compression: 'gzip', workers: 2 }),
  new Writable({ write(chunk, _e, cb) { hash.update(chunk); cb(); } }));
process.stdout.write(hash.digest('hex'));
`,
    );
    const run = spawnSync(process.execPath, ['--import', 'tsx', script], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      encoding: 'utf8',
      timeout: 120_000,
    });
    assert.equal(run.status, 0, run.stderr);
    const data = Buffer.alloc(3 * 1024 * 1024 + 5);
    for (let i = 0; i < data.length; i++) data[i] = ((i * 2654435761) >>> 23) & 0x3f;
    assert.equal(
      run.stdout,
      createHash('sha256')
        .update(referenceGzip(data, 6, 1024 * 1024))
        .digest('hex'),
    );
  });
});

test('prewarm starts the workers ahead; blocks compressed afterwards are the same bytes', async () => {
  const pool = new DeflatePool(2);
  try {
    pool.prewarm(6);
    pool.prewarm(6); // again: no more workers than the pool's size
    const data = Buffer.from('prewarmed '.repeat(5000));
    const job: BlockJob = { level: 6, data: new Uint8Array(data) };
    const expected = gzipMember({ level: 6, data: new Uint8Array(data) });
    assert.deepEqual(Buffer.from(await pool.run(job)), Buffer.from(expected));
  } finally {
    await pool.close();
  }
});

const native = loadNativeLibdeflate();
describe('NativeDeflateRunner', {
  skip: native === undefined && 'no known native libdeflate 1.14 here',
}, () => {
  test("is the shared runner where the native library is; its members are gzipMember's, in any number at once", async () => {
    assert.ok(native);
    assert.ok(sharedDeflatePool(2) instanceof NativeDeflateRunner);
    const runner = new NativeDeflateRunner(2, native);
    try {
      const blocks = Array.from({ length: 9 }, (_, i) =>
        i % 3 === 0
          ? textBytes(300_000 + i * 9_000, i)
          : i % 3 === 1
            ? mixedBytes(90_000, i)
            : Buffer.alloc(i * 10),
      );
      for (const level of [1, 6, 9]) {
        const expected = blocks.map((b) => Buffer.from(gzipMember({ level, data: b })));
        // More blocks than the runner's size: the rest queue; each gets its own member back.
        const outputs = await Promise.all(blocks.map((b) => runner.run({ level, data: b.slice() })));
        for (const [i, out] of outputs.entries())
          assert.ok(Buffer.from(out).equals(expected[i] as Buffer), `level ${level} block ${i}`);
      }
    } finally {
      await runner.close();
    }
  });

  test('runs blocks made ahead on `size` calls, and blocks a writer waits for on as many again', async () => {
    assert.ok(native);
    let running = 0;
    const finish: Array<() => void> = [];
    const held: NativeLibdeflate = {
      ...native,
      gzipAsync: (data, level) => {
        running++;
        return new Promise((resolve) =>
          finish.push(() => {
            running--;
            resolve(native.gzip(data, level));
          }),
        );
      },
    };
    const runner = new NativeDeflateRunner(2, held);
    try {
      const data = Array.from({ length: 6 }, (_, i) => textBytes(20_000 + i, i));
      const ahead = data.slice(0, 3).map((d) => runner.run({ level: 6, data: d.slice() }, [], true));
      assert.equal(running, 2, 'blocks made ahead: at most size at once');
      const waited = data.slice(3).map((d) => runner.run({ level: 6, data: d.slice() }));
      assert.equal(running, 4, "a writer's blocks: up to twice size, beside them");
      (finish.shift() as () => void)();
      await new Promise((r) => setImmediate(r));
      assert.equal(running, 4, "the writer's third block starts before the third made ahead");
      while (finish.length > 0) {
        (finish.shift() as () => void)();
        await new Promise((r) => setImmediate(r));
      }
      const outputs = await Promise.all([...ahead, ...waited]);
      for (const [i, out] of outputs.entries())
        assert.ok(
          Buffer.from(out).equals(Buffer.from(gzipMember({ level: 6, data: data[i] as Buffer }))),
          `block ${i}`,
        );
    } finally {
      await runner.close();
    }
  });

  test('a library whose gzip writer differs from the pinned member hands blocks to worker threads', async () => {
    assert.ok(native);
    let calls = 0;
    const foreign: NativeLibdeflate = {
      ...native,
      // One byte off in the OS field: not what gzipMember frames.
      gzip: (data, level) => {
        const m = native.gzip(data, level);
        m[9] = 3;
        return m;
      },
      gzipAsync: (data, level) => {
        calls++;
        return native.gzipAsync(data, level);
      },
    };
    const runner = new NativeDeflateRunner(2, foreign);
    try {
      const data = textBytes(200_000, 7);
      const out = await runner.run({ level: 6, data: data.slice() });
      assert.ok(Buffer.from(out).equals(Buffer.from(gzipMember({ level: 6, data }))));
      assert.equal(calls, 0);
    } finally {
      await runner.close();
    }
  });

  test('a level libdeflate lacks fails the block with INTERNAL, and close refuses later blocks', async () => {
    assert.ok(native);
    const runner = new NativeDeflateRunner(1, native);
    await assert.rejects(runner.run({ level: 42, data: textBytes(1000, 1) }), (err) =>
      isImprintError(err, 'INTERNAL'),
    );
    const data = textBytes(1000, 2);
    assert.ok(
      Buffer.from(await runner.run({ level: 6, data: data.slice() })).equals(
        Buffer.from(gzipMember({ level: 6, data })),
      ),
    );
    await runner.close();
    await assert.rejects(runner.run({ level: 6, data: textBytes(10, 5) }), (err) =>
      isImprintError(err, 'INTERNAL'),
    );
  });
});
