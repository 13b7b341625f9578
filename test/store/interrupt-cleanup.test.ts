// removeOnInterrupt: a registered directory is removed when a signal ends the process, which then
// dies of that signal; an unregistered one stays. tempPath: the temporary files of the process (its
// worker threads' too) are removed at the signal; other processes' and other files stay.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

const MODULE = new URL('../../src/store/interrupt-cleanup.ts', import.meta.url).href;
const ATOMIC = new URL('../../src/store/atomic-file.ts', import.meta.url).href;
const TSX = import.meta.resolve('tsx');
const TSX_API = import.meta.resolve('tsx/esm/api');

describe('removeOnInterrupt', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'imprint-interrupt-'));
  after(() => rm(dir, { recursive: true, force: true }));

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`removes the registered directory on ${signal} and dies of it`, async () => {
      const work = join(dir, `work-${signal}`);
      const kept = join(dir, `kept-${signal}`);
      const script = `
        import { mkdirSync, writeFileSync } from 'node:fs';
        const { removeOnInterrupt } = await import(${JSON.stringify(MODULE)});
        mkdirSync(${JSON.stringify(join(work, 'sub'))}, { recursive: true });
        writeFileSync(${JSON.stringify(join(work, 'sub', 'f'))}, 'x');
        mkdirSync(${JSON.stringify(kept)});
        removeOnInterrupt(${JSON.stringify(work)});
        const done = removeOnInterrupt(${JSON.stringify(kept)});
        done();
        console.log('ready');
        setInterval(() => {}, 1000);
      `;
      const child = spawn(process.execPath, ['--import', TSX, '--input-type=module', '-e', script], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
      const ended = new Promise<NodeJS.Signals | null>((resolve) =>
        child.on('exit', (_code, sig) => resolve(sig)),
      );
      child.kill(signal);
      assert.equal(await ended, signal);
      assert.equal(existsSync(work), false, 'the registered directory is gone');
      assert.equal(existsSync(kept), true, 'a released one stays');
    });
  }

  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    it(`removes the temporary files of the process (a worker's too) on ${signal}, only those`, async () => {
      const main = join(dir, `temps-${signal}`, 'main');
      const shared = join(dir, `temps-${signal}`, 'shared');
      await mkdir(main, { recursive: true });
      await mkdir(shared, { recursive: true });
      // Another process's temporary file, a finished file, a temporary name without an owner.
      const foreign = '.tmp-p1.1.0123456789abcdef-0123456789abcdef';
      for (const name of [foreign, 'blob', '.tmp-0123456789abcdef']) await writeFile(join(main, name), 'x');
      const script = `
        import { writeFileSync } from 'node:fs';
        import { Worker } from 'node:worker_threads';
        const { tempPath } = await import(${JSON.stringify(ATOMIC)});
        writeFileSync(tempPath(${JSON.stringify(main)}), 'partial');
        writeFileSync(tempPath(${JSON.stringify(main)}, 'index.json'), 'partial');
        tempPath(${JSON.stringify(shared)}, 'pack'); // the directory, as a spool's constructor names it
        // Workers do not inherit tsx's loader: registered first, as src/debian/install-workers.ts does.
        const worker = new Worker(
          \`import(\${JSON.stringify(${JSON.stringify(TSX_API)})})
             .then((m) => { m.register(); return import(\${JSON.stringify(${JSON.stringify(ATOMIC)})}); })
             .then(async ({ tempPath }) => {
               const { writeFileSync } = await import('node:fs');
               const { parentPort } = await import('node:worker_threads');
               writeFileSync(tempPath(\${JSON.stringify(${JSON.stringify(shared)})}, 'pack'), 'x');
               parentPort.postMessage('written');
             });\`,
          { eval: true },
        );
        await new Promise((resolve) => worker.once('message', resolve));
        console.log('ready');
        setInterval(() => {}, 1000);
      `;
      const child = spawn(process.execPath, ['--import', TSX, '--input-type=module', '-e', script], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
      assert.equal((await readdir(main)).length, 5);
      assert.equal((await readdir(shared)).length, 1);
      const ended = new Promise<NodeJS.Signals | null>((resolve) =>
        child.on('exit', (_code, sig) => resolve(sig)),
      );
      child.kill(signal);
      assert.equal(await ended, signal);
      assert.deepEqual((await readdir(main)).sort(), ['.tmp-0123456789abcdef', foreign, 'blob'].sort());
      assert.deepEqual(await readdir(shared), []);
    });
  }
});
