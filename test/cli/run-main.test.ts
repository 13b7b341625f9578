// bin/run-main.mjs: the exit code of bin/imprint. Node exits 0 when its event loop empties, even with
// the command's promise still pending (a stalled stream); the launcher must report that as a failure.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { ROOT } from '../helpers/cli.js';

const RUN_MAIN = pathToFileURL(join(ROOT, 'bin', 'run-main.mjs')).href;

/** Runs runMain in a fresh Node with a CLI whose main is `mainSource` (a function expression). */
function launch(
  mainSource: string,
  argv: string[] = ['build', 'x'],
): { status: number | null; stderr: string; stdout: string } {
  const script =
    `import { runMain } from ${JSON.stringify(RUN_MAIN)};\n` +
    `runMain({ main: ${mainSource} }, ${JSON.stringify(argv)});\n`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr, stdout: r.stdout };
}

describe('bin/run-main.mjs', () => {
  it('exits with the code main resolves to, and says nothing of its own', () => {
    const r = launch(`async (argv) => { console.log(argv.join(' ')); return 3; }`);
    assert.equal(r.status, 3);
    assert.equal(r.stdout, 'build x\n');
    assert.equal(r.stderr, '');
  });

  it('exits 0 after main resolves 0 even when work it started is still pending', () => {
    // A timer left running after main settled keeps the process alive; the exit is not a stall.
    const r = launch(`async () => { setTimeout(() => {}, 50); return 0; }`);
    assert.equal(r.status, 0);
    assert.equal(r.stderr, '');
  });

  it('reports a command whose work stalled (nothing left to wait for) as an internal error, exit 70', () => {
    // A promise nothing will settle, as a stream whose consumer and producer wait on each other.
    const r = launch(`() => new Promise(() => {})`);
    assert.equal(r.status, 70);
    assert.match(r.stderr, /internal error: the command stopped before it finished/);
  });

  it('with --json, a stall or a main that throws still prints one document on stdout', () => {
    const stalled = launch(`() => new Promise(() => {})`, ['build', 'x', '--json']);
    assert.equal(stalled.status, 70);
    assert.equal(JSON.parse(stalled.stdout).error.code, 'INTERNAL');
    const thrown = launch(`async () => { throw new Error('boom'); }`, ['verify', 'x', '--json']);
    assert.equal(thrown.status, 1);
    assert.deepEqual(JSON.parse(thrown.stdout).error, { code: 'INTERNAL', message: 'boom' });
  });

  it('reports a stall after some asynchronous work, too', () => {
    const r = launch(
      `async () => { await new Promise((r) => setTimeout(r, 20)); await new Promise(() => {}); }`,
    );
    assert.equal(r.status, 70);
    assert.match(r.stderr, /stopped before it finished/);
  });

  it('reports a main that throws as an internal error, exit 1', () => {
    const r = launch(`async () => { throw new Error('boom'); }`);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /internal error: Error: boom/);
  });
});
