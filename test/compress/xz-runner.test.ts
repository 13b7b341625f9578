import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, test } from 'node:test';
import { findXzTool } from '../../src/compress/xz-native.js';
import { spawnXz, XzHelper, type XzProcess } from '../../src/compress/xz-runner.js';
import { textBytes } from './corpus.js';
import { runTool } from './tools.js';

const skip = findXzTool() === undefined ? 'no XZ Utils xz on PATH' : false;

async function run(
  proc: XzProcess,
  input: Buffer,
): Promise<{ out: Buffer; code: number | null; stderr: string }> {
  proc.stdin.on('error', () => {});
  proc.stdin.end(input);
  const parts: Buffer[] = [];
  for await (const c of proc.stdout) parts.push(c as Buffer);
  const exit = await proc.exited;
  return { out: Buffer.concat(parts), code: exit.code, stderr: exit.stderr };
}

describe('xz runner', { skip }, () => {
  const data = textBytes(300_000, 71);

  test('the helper and a direct spawn run xz with the same result, several at once', async () => {
    const packed = await runTool('xz', ['-c', '-T1'], data);
    const helper = new XzHelper('xz', ['-dc']);
    const results = await Promise.all([
      ...Array.from({ length: 4 }, async () => run(await helper.start(), packed)),
      run(await spawnXz('xz', ['-dc']), packed),
    ]);
    for (const r of results) {
      assert.equal(r.code, 0);
      assert.ok(r.out.equals(data));
    }
    const bad = await run(await helper.start(), Buffer.from('not xz'));
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /File format not recognized/);
  });

  test('a command that cannot start reports its exit status instead of hanging', async () => {
    const helper = new XzHelper('/nonexistent/xz', []);
    const r = await run(await helper.start(), Buffer.from('x'));
    assert.equal(r.code, 127);
    assert.equal(r.out.length, 0);
  });

  test('an idle helper does not keep the process alive, and removes its directory', () => {
    const script = `
      import { XzHelper } from ${JSON.stringify(new URL('../../src/compress/xz-runner.ts', import.meta.url).href)};
      const h = new XzHelper('cat', []);
      const p = await h.start();
      p.stdin.end('hello');
      let out = '';
      for await (const c of p.stdout) out += c;
      console.log(out, (await p.exited).code, h.dir);`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    assert.equal(r.status, 0, r.stderr);
    const [out, code, dir] = r.stdout.trim().split(' ');
    assert.deepEqual([out, code], ['hello', '0']);
    assert.ok(dir?.startsWith(tmpdir()));
    // The helper removes its directory once its input closes (the process has exited by now).
    for (let i = 0; i < 100 && existsSync(dir as string); i++) spawnSync('sleep', ['0.1']);
    assert.equal(existsSync(dir as string), false);
  });

  test('when the process dies, the helper stops every command it started', () => {
    // A command that never exits by itself on end of input; a unique duration finds it.
    const duration = `${30 + Math.floor(Math.random() * 1000) / 1000}`;
    const script = `
      import { XzHelper } from ${JSON.stringify(new URL('../../src/compress/xz-runner.ts', import.meta.url).href)};
      const h = new XzHelper('sleep', [${JSON.stringify(duration)}]);
      await h.start();
      process.kill(process.pid, 'SIGKILL');`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 20_000,
    });
    assert.equal(r.signal, 'SIGKILL', r.stderr);
    const alive = () => spawnSync('pgrep', ['-f', `sleep ${duration}`]).status === 0;
    for (let i = 0; i < 50 && alive(); i++) spawnSync('sleep', ['0.1']);
    const left = alive();
    if (left) spawnSync('pkill', ['-f', `sleep ${duration}`]);
    assert.equal(left, false, 'the command outlived the process that started it');
  });
});
