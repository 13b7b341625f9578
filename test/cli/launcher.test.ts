// bin/imprint's sh part sizes libuv's thread pool before Node starts: set from inside the JavaScript,
// the variable came too late (Node 20's module loader had started the pool with its default 4
// threads), whatever the machine's cores.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ROOT } from '../helpers/cli.js';

const BIN = join(ROOT, 'bin', 'imprint');

describe('bin/imprint launcher', () => {
  const dir = mkdtempSync(join(tmpdir(), 'imprint-launcher-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  /** A directory holding a `node` that prints the pool size it was started with. */
  const fakeNode = (name: string): string => {
    const bin = join(dir, name);
    mkdirSync(bin);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: an sh parameter expansion
    writeFileSync(join(bin, 'node'), '#!/bin/sh\necho "${UV_THREADPOOL_SIZE-unset}"\n');
    chmodSync(join(bin, 'node'), 0o755);
    return bin;
  };
  const fake = fakeNode('bin');
  const poolSize = (env: Record<string, string>, path = `${fake}:/usr/bin:/bin`): string => {
    const r = spawnSync(BIN, ['--version'], { env: { PATH: path, ...env }, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.trim();
  };

  it('gives the pool two threads a core, at least 4', () => {
    // nproc, like availableParallelism, counts the CPUs this process may run on.
    assert.equal(poolSize({}), String(Math.max(4, 2 * availableParallelism())));
  });

  it("keeps the caller's UV_THREADPOOL_SIZE", () => {
    assert.equal(poolSize({ UV_THREADPOOL_SIZE: '5' }), '5');
  });

  it('counts one core where nproc is missing', () => {
    // A PATH with the fake node alone: no nproc.
    assert.equal(poolSize({}, fakeNode('bare')), '4');
  });
});
