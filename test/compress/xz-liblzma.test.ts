// The in-process liblzma decoder's own behaviour (its bytes and errors are xz-engines.test.ts's): it
// honours backpressure, survives being destroyed while a call runs on the thread pool, and keeps
// streams apart when many decode at once.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadKoffi } from '../../src/compress/koffi.js';
import { DecompressionGuard } from '../../src/compress/limits.js';
import { LiblzmaDecoder, loadLiblzma } from '../../src/compress/xz-liblzma.js';
import { mixedBytes, textBytes, transformAll } from './corpus.js';
import { runTool } from './tools.js';

const lib = loadLiblzma();
const MiB = 1024 * 1024;
const xz = (data: Buffer): Promise<Buffer> => runTool('xz', ['-c', '-T1', '-6'], data);
const decoder = (what: string): LiblzmaDecoder =>
  new LiblzmaDecoder(
    lib as NonNullable<typeof lib>,
    what,
    new DecompressionGuard(what, { maxRatio: 100_000 }),
  );

describe('LiblzmaDecoder', { skip: lib === undefined && 'no liblzma.so.5 here' }, () => {
  test('koffi keeps memory for all the calls a build runs at once (configured before any library loads)', () => {
    const config = (loadKoffi() as unknown as { config(): { resident_async_pools: number } }).config();
    assert.equal(config.resident_async_pools, 8);
  });

  test('a consumer that does not read holds back the decoding: buffered output stays bounded', async () => {
    const input = await xz(Buffer.alloc(32 * MiB, 0x61));
    const d = decoder('paused');
    d.end(input);
    await sleep(300);
    assert.ok(d.readableLength <= 2 * 256 * 1024, `${d.readableLength} bytes buffered`);
    let total = 0;
    for await (const chunk of d) total += (chunk as Buffer).length;
    assert.equal(total, 32 * MiB);
  });

  test('a read that hands Transform the next piece is answered with output: the stream never stalls', async () => {
    // Pieces of compressed text decode to a few hundred KiB each. With nobody reading, the decoder
    // stops once a piece leaves the readable side at its high-water mark, and Transform holds the next
    // piece back until a read. That read (its _read hands over the next piece) counts as pending until
    // something is pushed, so Readable will not ask again: the decoder must push for it rather than
    // wait for another read. Read here as the tar reader reads: all that is buffered, then wait.
    const data = textBytes(8 * MiB, 3);
    const input = await xz(data);
    const d = decoder('re-entry');
    for (let at = 0; at < input.length; at += 64 * 1024) d.write(input.subarray(at, at + 64 * 1024));
    let before = -1;
    while (d.readableLength !== before) {
      before = d.readableLength;
      await sleep(200);
    }
    assert.ok(d.readableLength >= d.readableHighWaterMark, `${d.readableLength} bytes buffered`);
    // Ended only now: while its writable side is open, Transform holds the next piece back.
    d.end();
    let total = 0;
    let timer: NodeJS.Timeout | undefined;
    const stalled = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`stalled after ${total} of ${data.length} bytes`)), 30_000);
    });
    const read = (async () => {
      for await (const chunk of d) total += (chunk as Buffer).length;
    })();
    try {
      await Promise.race([read, stalled]);
    } finally {
      clearTimeout(timer);
    }
    assert.equal(total, data.length);
  });

  test('destroyed while input is pending or a call runs: the native memory is never touched after', (t) => {
    // In a child whose malloc checks its heap (a write into freed memory aborts it), many streams are
    // destroyed at every point of their input: after some output, and with input still queued.
    const dir = mkdtempSync(join(tmpdir(), 'imprint-liblzma-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const script = join(dir, 'run.mts');
    writeFileSync(
      script,
      `import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { DecompressionGuard } from ${JSON.stringify(new URL('../../src/compress/limits.ts', import.meta.url).href)};
import { LiblzmaDecoder, loadLiblzma } from ${JSON.stringify(new URL('../../src/compress/xz-liblzma.ts', import.meta.url).href)};
// Incompressible: the input is as long as the output, so each write holds many calls' worth.
const data = randomBytes(4 * 1024 * 1024);
const input = spawnSync('xz', ['-c', '-T1', '-1'], { input: data, maxBuffer: 1 << 28 }).stdout;
const lib = loadLiblzma();
for (let i = 0; i < 40; i++) {
  const d = new LiblzmaDecoder(lib, 'x', new DecompressionGuard('x'));
  d.on('error', () => {});
  d.write(input.subarray(0, input.length >> 1));
  d.write(input.subarray(input.length >> 1));
  if (i % 2 === 0) await once(d, 'readable');
  d.destroy();
  await sleep(i % 5);
  const junk = [];
  for (let j = 0; j < 200; j++) junk.push(Buffer.allocUnsafeSlow(1000 + j * 700).fill(j));
}
const d = new LiblzmaDecoder(lib, 'after', new DecompressionGuard('after'));
d.end(input);
const parts = [];
for await (const c of d) parts.push(c);
process.stdout.write(Buffer.concat(parts).equals(data) ? 'ok' : 'different');
`,
    );
    const run = spawnSync(process.execPath, ['--import', 'tsx', script], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      // glibc's malloc aborts on the free lists a stray write corrupts; perturb fills freed memory.
      env: { ...process.env, GLIBC_TUNABLES: 'glibc.malloc.perturb=165' },
      encoding: 'utf8',
      timeout: 120_000,
    });
    assert.equal(run.signal, null, `the child died: ${run.signal} ${run.stderr}`);
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout, 'ok');
  });

  test('a worker thread terminated while it decodes does not abort the process', (t) => {
    // Worker threads decode without liblzma: koffi would complete a call still on the thread pool into
    // the terminated worker's environment, and Node aborts (FATAL ERROR ... napi_throw). An extraction
    // pool is closed that way when another package fails. Without the main-thread rule this child
    // aborted in every run.
    const dir = mkdtempSync(join(tmpdir(), 'imprint-liblzma-worker-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const src = (path: string) => JSON.stringify(new URL(path, import.meta.url).href);
    writeFileSync(
      join(dir, 'worker.mts'),
      `import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { parentPort } from 'node:worker_threads';
import { decompressStream } from ${src('../../src/compress/decompress.ts')};
const data = randomBytes(8 * 1024 * 1024);
const input = spawnSync('xz', ['-c', '-T1', '-0'], { input: data, maxBuffer: 1 << 28 }).stdout;
parentPort.postMessage('ready');
for (;;) {
  const d = decompressStream('xz', { what: 'x' });
  d.end(input);
  for await (const _ of d) {}
}
`,
    );
    const worker = pathToFileURL(join(dir, 'worker.mts')).href;
    const loader = import.meta.resolve('tsx/esm/api');
    writeFileSync(
      join(dir, 'main.mts'),
      `import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { Worker } from 'node:worker_threads';
const code = ${JSON.stringify(`import(${JSON.stringify(loader)}).then((m) => { m.register(); return import(${JSON.stringify(worker)}); })`)};
for (let i = 0; i < 12; i++) {
  const w = new Worker(code, { eval: true });
  await once(w, 'message');
  await sleep(5 + (i % 7) * 3);
  await w.terminate();
}
process.stdout.write('ok');
`,
    );
    const run = spawnSync(process.execPath, ['--import', 'tsx', join(dir, 'main.mts')], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      encoding: 'utf8',
      timeout: 120_000,
    });
    assert.equal(run.signal, null, `the child died: ${run.signal} ${run.stderr.slice(0, 400)}`);
    assert.equal(run.status, 0, run.stderr.slice(0, 2000));
    assert.equal(run.stdout, 'ok');
  });

  test('many streams at once each get their own bytes', async () => {
    const datas = Array.from({ length: 12 }, (_, i) =>
      i % 2 ? textBytes(700_000 + i, i) : mixedBytes(400_000, i),
    );
    const inputs = await Promise.all(datas.map(xz));
    const outputs = await Promise.all(
      inputs.map((input, i) => transformAll([input], decoder(`stream ${i}`))),
    );
    for (const [i, out] of outputs.entries()) assert.ok(out.equals(datas[i] as Buffer), `stream ${i}`);
  });
});
