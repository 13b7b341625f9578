import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { resolveEpoch } from '../../src/build/epoch.js';
import { canonicalRemote, checkoutRoot, gitInfo, gitSearchPath } from '../../src/build/git.js';

const COMMIT_TIME = 1700000000;
const AUTHOR_TIME = 1600000000;

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'imprint-epoch-'));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Runs git for the test fixtures, isolated from the host's git configuration. */
function git(dir: string, ...args: string[]): string {
  return execFileSync(
    'git',
    [
      '-C',
      dir,
      '-c',
      'user.name=Test',
      '-c',
      'user.email=test@invalid',
      '-c',
      'init.defaultBranch=main',
      ...args,
    ],
    {
      encoding: 'utf8',
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_CONFIG_GLOBAL: '/dev/null',
        GIT_AUTHOR_DATE: `@${AUTHOR_TIME} +0000`,
        GIT_COMMITTER_DATE: `@${COMMIT_TIME} +0200`,
      },
    },
  );
}

/** A fresh git repository with one commit; the spec lives in its `spec/` subdirectory. */
async function repo(name: string): Promise<{ top: string; specDir: string }> {
  const top = join(root, name);
  const specDir = join(top, 'spec');
  await mkdir(specDir, { recursive: true });
  await writeFile(join(specDir, 'imprint.yaml'), 'version: 1\n');
  await writeFile(join(top, '.gitignore'), 'ignored.txt\n');
  git(top, 'init', '-q');
  git(top, 'add', '.');
  git(top, 'commit', '-q', '-m', 'first');
  return { top, specDir };
}

async function plainDir(name: string): Promise<string> {
  const dir = join(root, name);
  await mkdir(dir, { recursive: true });
  return dir;
}

describe('resolveEpoch', () => {
  it('takes SOURCE_DATE_EPOCH from the environment first', async () => {
    const { specDir } = await repo('env-first');
    assert.deepEqual(await resolveEpoch({ env: { SOURCE_DATE_EPOCH: '42' }, specEpoch: 7, specDir }), {
      epoch: 42,
      source: 'env',
    });
    assert.deepEqual(await resolveEpoch({ env: { SOURCE_DATE_EPOCH: '0' }, specEpoch: 7, specDir }), {
      epoch: 0,
      source: 'env',
    });
  });

  it('rejects an environment value that is not a non-negative integer', async () => {
    const specDir = await plainDir('bad-env');
    for (const value of [
      '',
      '-1',
      '1.5',
      '1e9',
      ' 12',
      '12 ',
      'abc',
      '0x10',
      '253402300800',
      '99999999999999999999',
    ]) {
      await assert.rejects(
        resolveEpoch({ env: { SOURCE_DATE_EPOCH: value }, specDir }),
        (err: { code: string; details: { value: string } }) => {
          assert.equal(err.code, 'BAD_EPOCH');
          assert.equal(err.details.value, value);
          return true;
        },
      );
    }
  });

  it('takes the spec epoch before git', async () => {
    const { specDir } = await repo('spec-second');
    assert.deepEqual(await resolveEpoch({ env: {}, specEpoch: 7, specDir }), { epoch: 7, source: 'spec' });
    assert.deepEqual(await resolveEpoch({ env: { SOURCE_DATE_EPOCH: undefined }, specEpoch: 0, specDir }), {
      epoch: 0,
      source: 'spec',
    });
  });

  it("uses the committer time of the checkout's HEAD, not the author time", async () => {
    const { specDir } = await repo('git-third');
    assert.deepEqual(await resolveEpoch({ env: {}, specDir }), { epoch: COMMIT_TIME, source: 'git' });
  });

  it('falls back to 0 outside a checkout, and in a checkout without commits', async () => {
    assert.deepEqual(await resolveEpoch({ env: {}, specDir: await plainDir('no-git') }), {
      epoch: 0,
      source: 'default',
    });
    const empty = await plainDir('no-commit');
    git(empty, 'init', '-q');
    assert.deepEqual(await resolveEpoch({ env: {}, specDir: empty }), { epoch: 0, source: 'default' });
  });

  it('uses git facts the caller already has instead of running git', async () => {
    const { specDir } = await repo('given-git');
    assert.deepEqual(await resolveEpoch({ env: {}, specDir, git: null }), { epoch: 0, source: 'default' });
    const given = { commit: 'a'.repeat(40), commitTime: 5, dirty: false };
    assert.deepEqual(await resolveEpoch({ env: {}, specDir, git: given }), { epoch: 5, source: 'git' });
  });
});

describe('gitInfo', () => {
  it('reads HEAD, its committer time, and a clean work tree', async () => {
    const { top, specDir } = await repo('clean');
    const info = await gitInfo(specDir);
    assert.deepEqual(info, {
      commit: git(top, 'rev-parse', 'HEAD').trim(),
      commitTime: COMMIT_TIME,
      dirty: false,
    });
  });

  it('is undefined outside a checkout and when git cannot be found', async () => {
    assert.equal(await gitInfo(await plainDir('not-a-repo')), undefined);
    const { specDir } = await repo('no-git-binary');
    assert.equal(await gitInfo(specDir, { path: join(root, 'empty-path') }), undefined);
  });

  it('sees modified, staged and untracked files as dirty, ignored files as clean', async () => {
    const { top, specDir } = await repo('dirty');
    await writeFile(join(top, 'ignored.txt'), 'x');
    assert.equal((await gitInfo(specDir))?.dirty, false);

    await writeFile(join(top, 'untracked.txt'), 'x');
    assert.equal((await gitInfo(specDir))?.dirty, true);
    await rm(join(top, 'untracked.txt'));

    await writeFile(join(specDir, 'imprint.yaml'), 'version: 1\nepoch: 1\n');
    assert.equal((await gitInfo(specDir))?.dirty, true);
    git(top, 'add', '.');
    assert.equal((await gitInfo(specDir))?.dirty, true);
    git(top, 'commit', '-q', '-m', 'second');
    assert.equal((await gitInfo(specDir))?.dirty, false);
  });

  it('with inputs, only changes to them make it dirty (an untracked output directory does not)', async () => {
    const { top, specDir } = await repo('inputs');
    await mkdir(join(specDir, 'app'));
    await writeFile(join(specDir, 'app', 'a.txt'), 'a');
    git(top, 'add', '.');
    git(top, 'commit', '-q', '-m', 'app');
    const inputs = [join(specDir, 'imprint.yaml'), join(specDir, 'imprint.lock'), join(specDir, 'app')];
    const dirty = async () => (await gitInfo(specDir, { inputs }))?.dirty;
    await mkdir(join(specDir, 'out'));
    await writeFile(join(specDir, 'out', 'index.json'), '{}');
    await writeFile(join(top, 'notes.txt'), 'x');
    await writeFile(join(top, '.gitignore'), 'ignored.txt\nmore\n'); // tracked, but not an input
    assert.equal(await dirty(), false);
    assert.equal((await gitInfo(specDir))?.dirty, true, 'without inputs, the whole checkout counts');
    await writeFile(join(specDir, 'app', 'new.txt'), 'n'); // untracked, inside an input directory
    assert.equal(await dirty(), true);
    await rm(join(specDir, 'app', 'new.txt'));
    await writeFile(join(specDir, 'imprint.lock'), '{}'); // an untracked lock is an input too
    assert.equal(await dirty(), true);
    await rm(join(specDir, 'imprint.lock'));
    await writeFile(join(specDir, 'app', 'a.txt'), 'changed');
    assert.equal(await dirty(), true);
    git(top, 'checkout', '-q', '--', '.');
    assert.equal(await dirty(), false);
    await writeFile(join(top, '.gitignore'), 'ignored.txt\nmore\ngen.txt\n');
    await writeFile(join(specDir, 'app', 'gen.txt'), 'generated'); // git-ignored, but in the image
    assert.equal(await dirty(), true, 'an ignored file inside an input');
  });

  it('tells a checkout git cannot read from no checkout (checkoutRoot)', async () => {
    const { top, specDir } = await repo('root-of');
    assert.equal(checkoutRoot(specDir), top);
    assert.equal(checkoutRoot(await plainDir('no-checkout-here')), undefined);
    assert.equal(await gitInfo(specDir, { path: join(root, 'empty-path') }), undefined);
    assert.equal(gitSearchPath('/home/u/bin'), '/home/u/bin:/usr/local/bin:/usr/bin:/bin');
    assert.equal(gitSearchPath(undefined), '/usr/local/bin:/usr/bin:/bin');
  });

  it("is not fooled by the repository's own config", async () => {
    const { top, specDir } = await repo('local-config');
    git(top, 'config', 'status.showUntrackedFiles', 'no');
    git(top, 'config', 'log.showSignature', 'true');
    git(top, 'config', 'color.ui', 'always');
    await writeFile(join(top, 'untracked.txt'), 'x');
    const info = await gitInfo(specDir);
    assert.equal(info?.commitTime, COMMIT_TIME);
    assert.equal(info?.dirty, true);
  });

  it("ignores the caller's GIT_DIR and related variables", async () => {
    const { top, specDir } = await repo('env-isolated');
    const other = await repo('env-other');
    git(other.top, 'commit', '-q', '--allow-empty', '-m', 'more');
    const saved = process.env.GIT_DIR;
    process.env.GIT_DIR = join(other.top, '.git');
    try {
      const info = await gitInfo(specDir);
      assert.equal(info?.commit, git(top, 'rev-parse', 'HEAD').trim());
      assert.notEqual(info?.commit, git(other.top, 'rev-parse', 'HEAD').trim());
    } finally {
      if (saved === undefined) delete process.env.GIT_DIR;
      else process.env.GIT_DIR = saved;
    }
  });

  it('reports the origin URL without credentials', async () => {
    const { top, specDir } = await repo('remote');
    git(top, 'remote', 'add', 'origin', 'https://builder:s3cret@git.example/org/app.git');
    const info = await gitInfo(specDir);
    assert.equal(info?.remoteUrl, 'https://git.example/org/app');
    assert.ok(!JSON.stringify(info).includes('s3cret'));
  });
});

describe('canonicalRemote', () => {
  it('gives every clone URL of one repository the same https form, without credentials', () => {
    const same = [
      'https://user:pa@ss@git.example/o/r.git',
      'https://ghp_token@Git.Example/o/r/',
      'ssh://git@git.example:22/o/r.git',
      'git@git.example:o/r.git',
      'git://git.example/o/r',
      'http://git.example/o/r.git',
    ];
    for (const url of same) assert.equal(canonicalRemote(url), 'https://git.example/o/r', url);
    assert.equal(canonicalRemote('https://git.example/o/r@v1'), 'https://git.example/o/r@v1');
  });

  it('leaves out local paths, which name a directory of one machine', () => {
    for (const url of ['/srv/git/r.git', '../r', 'file:///srv/git/r.git', './r'])
      assert.equal(canonicalRemote(url), undefined, url);
  });
});
