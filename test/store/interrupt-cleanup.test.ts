// removeOnInterrupt: a registered directory is removed when a signal ends the process, which then
// dies of that signal; an unregistered one stays.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';

const MODULE = new URL('../../src/store/interrupt-cleanup.ts', import.meta.url).href;
const TSX = import.meta.resolve('tsx');

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
});
