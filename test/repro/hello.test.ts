import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { validateImage } from '../../src/oci/validate.js';
import { parseReference, readImageSet } from '../../src/transport/index.js';
import { assertOk, ROOT, runImprint } from '../helpers/cli.js';
import { copyTreeVaried } from '../helpers/tree-copy.js';

const hasFaketime = (() => {
  try {
    execFileSync('faketime', ['-f', '+1d', 'true']);
    return true;
  } catch {
    return false;
  }
})();

/** Commits `dir` as a fresh git repository with fixed identity and dates, so the epoch comes from git. */
function gitCommit(dir: string): void {
  const env = {
    ...process.env,
    GIT_AUTHOR_NAME: 'imprint test',
    GIT_AUTHOR_EMAIL: 'test@invalid',
    GIT_COMMITTER_NAME: 'imprint test',
    GIT_COMMITTER_EMAIL: 'test@invalid',
    GIT_AUTHOR_DATE: '2024-03-01T12:00:00Z',
    GIT_COMMITTER_DATE: '2024-03-01T12:00:00Z',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_CONFIG_SYSTEM: '/dev/null',
  };
  execFileSync('git', ['init', '-q', '-b', 'main', dir], { env });
  execFileSync('git', ['-C', dir, 'add', '-A'], { env });
  execFileSync('git', ['-C', dir, 'commit', '-q', '-m', 'example'], { env });
}

interface BuildJson {
  schemaVersion: number;
  index: string;
  epoch: { epoch: number; source: string };
  images: Array<{ platform: string; manifest: string }>;
}

/**
 * Builds spec `a` (under work/a) and spec `bRelative` (relative to work/b, its cwd) as two hosts would
 * that differ in time zone, locale, umask, working directory and clock (faketime +400 days when
 * installed), each with a cache of its own, into work/out-a and work/out-b.
 */
async function buildOnTwoHosts(
  work: string,
  a: string,
  bRelative: string,
  epoch: string | undefined,
): Promise<[BuildJson, BuildJson]> {
  const build = (cache: string, spec: string, out: string) => [
    '--cache-dir',
    join(work, cache),
    'build',
    spec,
    '-o',
    `oci:${join(work, out)}`,
    '--json',
  ];
  const runA = await runImprint(build('cache-a', a, 'out-a'), {
    cwd: join(work, 'a'),
    env: { TZ: 'UTC', LANG: 'C', LC_ALL: 'C', SOURCE_DATE_EPOCH: epoch },
    umask: 0o022,
  });
  const runB = await runImprint(build('cache-b', bRelative, 'out-b'), {
    cwd: join(work, 'b'),
    env: { TZ: 'Pacific/Chatham', LANG: 'tr_TR.UTF-8', LC_ALL: 'tr_TR.UTF-8', SOURCE_DATE_EPOCH: epoch },
    umask: 0o077,
    ...(hasFaketime ? { wrapper: ['faketime', '-f', '+400d'] } : {}),
  });
  return [
    JSON.parse(assertOk(runA, 'build A').stdout) as BuildJson,
    JSON.parse(assertOk(runB, 'build B').stdout) as BuildJson,
  ];
}

describe('reproducibility: examples/hello', () => {
  const temps: string[] = [];
  after(async () => {
    for (const t of temps) await rm(t, { recursive: true, force: true });
  });

  it('gives the same index and manifest digests under varied host conditions', async () => {
    const work = await mkdtemp(join(tmpdir(), 'imprint-repro-'));
    temps.push(work);
    const a = join(work, 'a', 'hello');
    const b = join(work, 'b', 'deeper', 'hello');
    await copyTreeVaried(join(ROOT, 'examples/hello'), a, { mtimeBase: 1_000_000_000, umask: 0o022 });
    await copyTreeVaried(join(ROOT, 'examples/hello'), b, {
      reverse: true,
      mtimeBase: 1_900_000_000,
      umask: 0o077,
    });
    gitCommit(a);
    gitCommit(b);

    const [ja, jb] = await buildOnTwoHosts(work, a, 'deeper/hello', undefined);
    assert.deepEqual(ja.epoch, { epoch: 1709294400, source: 'git' });
    assert.equal(ja.schemaVersion, 1);
    assert.equal(jb.index, ja.index);
    assert.deepEqual(jb.images, ja.images);
    assert.deepEqual(
      ja.images.map((i) => i.platform),
      ['linux/amd64', 'linux/arm64'],
    );
    // The layouts themselves are identical, index.json included.
    assert.deepEqual(
      await readFile(join(work, 'out-b', 'index.json')),
      await readFile(join(work, 'out-a', 'index.json')),
    );
    await validateImage(await readImageSet(parseReference(`oci:${join(work, 'out-a')}`)));
    if (!hasFaketime) console.log('# faketime not installed: the wall-clock variation was skipped');
  });

  it('gives the same digests for an image built on a base image (layout) under varied host conditions', async () => {
    const work = await mkdtemp(join(tmpdir(), 'imprint-repro-base-'));
    temps.push(work);
    // The base: examples/hello as a layout; the spec that builds on it carries the layout beside it.
    const template = join(work, 'template');
    assertOk(
      await runImprint(
        [
          '--cache-dir',
          join(work, 'cache-0'),
          'build',
          join(ROOT, 'examples/hello'),
          '-o',
          `oci:${join(template, 'base')}`,
          '--no-attest',
        ],
        { env: { SOURCE_DATE_EPOCH: '1700000000' } },
      ),
      'base build',
    );
    await writeFile(join(template, 'note.txt'), 'on top of the base\n');
    await writeFile(
      join(template, 'imprint.yaml'),
      [
        'version: 1',
        'base: oci:base:latest',
        'files: [{source: note.txt, target: /etc/note.txt}]',
        'remove: [/etc/motd]',
        'accounts: {users: [{name: svc, uid: 2000}]}',
        'env: {EXTRA: "1"}',
        '',
      ].join('\n'),
    );
    const a = join(work, 'a', 'app');
    const b = join(work, 'b', 'deeper', 'app');
    await copyTreeVaried(template, a, { mtimeBase: 1_000_000_000, umask: 0o022 });
    await copyTreeVaried(template, b, { reverse: true, mtimeBase: 1_900_000_000, umask: 0o077 });
    const [ja, jb] = await buildOnTwoHosts(work, a, 'deeper/app', '1710000000');
    assert.equal(jb.index, ja.index);
    assert.deepEqual(jb.images, ja.images);
    assert.deepEqual(await readFile(join(b, 'imprint.lock')), await readFile(join(a, 'imprint.lock')));
    await validateImage(await readImageSet(parseReference(`oci:${join(work, 'out-a')}`)));
  });
});
