// mkdirp: `mkdir -p` one level at a time, which fails (instead of looping) where the file system
// refuses new directories, as /proc does.
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { mkdirp } from '../../src/store/mkdirp.js';

describe('mkdirp', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'imprint-mkdirp-'));
  after(() => rm(dir, { recursive: true, force: true }));

  it('creates missing parents, accepts an existing directory, and concurrent callers', async () => {
    const deep = join(dir, 'a', 'b', 'c');
    await Promise.all([mkdirp(deep), mkdirp(deep), mkdirp(join(dir, 'a', 'b'))]);
    assert.ok(statSync(deep).isDirectory());
    await mkdirp(deep);
  });

  it('rejects a path under a regular file (ENOTDIR) and under /proc (no endless loop)', async () => {
    await writeFile(join(dir, 'file'), 'x');
    await assert.rejects(mkdirp(join(dir, 'file', 'sub')), { code: 'ENOTDIR' });
    await assert.rejects(mkdirp('/proc/imprint-no-such-dir/sub'), (err: NodeJS.ErrnoException) => {
      assert.ok(err.code === 'ENOENT' || err.code === 'EACCES' || err.code === 'EPERM', String(err.code));
      return true;
    });
  });
});
