// A lock edited by hand cannot build a broken image: the build resolves the spec again over the
// locked packages' own control data, so a dropped dependency or an added package is LOCK_INVALID.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertOk, runImprint } from '../helpers/cli.js';
import { createDebRepo, type DebRepo, repoSpecYaml } from '../helpers/debrepo.js';

describe('lock closure at build time (generated signed repository)', async () => {
  const work = await mkdtemp(join(tmpdir(), 'imprint-closure-'));
  const spec = join(work, 'spec');
  const lockFile = join(spec, 'imprint.lock');
  let repo: DebRepo;
  let good = '';
  let extraEntry: { name: string };

  before(async () => {
    repo = await createDebRepo({
      packages: [
        {
          name: 'app',
          version: '1',
          architecture: 'all',
          depends: 'libthing (>= 2) | libalt',
          files: { '/usr/bin/app': 'a' },
        },
        {
          name: 'libthing',
          version: '2.1',
          architecture: 'all',
          depends: 'base-data',
          files: { '/usr/lib/thing': 't' },
        },
        { name: 'base-data', version: '1', architecture: 'all', files: { '/usr/share/base-data': 'b' } },
        { name: 'unrelated', version: '1', architecture: 'all', files: { '/usr/share/unrelated': 'u' } },
      ],
    });
    await mkdir(spec);
    await writeFile(join(spec, 'imprint.yaml'), repoSpecYaml(repo, 'app'));
    assertOk(await runImprint(['--cache-dir', join(work, 'cache'), 'lock', spec]), 'lock');
    good = await readFile(lockFile, 'utf8');
    // The locked entry of a package this spec does not need, from a spec that names it.
    const other = join(work, 'other');
    await mkdir(other);
    await writeFile(join(other, 'imprint.yaml'), repoSpecYaml(repo, 'unrelated'));
    assertOk(await runImprint(['--cache-dir', join(work, 'cache'), 'lock', other]), 'lock other');
    extraEntry = JSON.parse(await readFile(join(other, 'imprint.lock'), 'utf8')).platforms['linux/amd64'][0];
  });
  after(async () => {
    await repo?.close();
    await rm(work, { recursive: true, force: true });
  });

  const build = () =>
    runImprint(['--cache-dir', join(work, 'cache'), 'build', spec, '-o', `oci:${join(work, 'out')}`], {
      env: { SOURCE_DATE_EPOCH: '1700000000' },
    });
  const editLock = async (edit: (pkgs: Array<{ name: string }>) => Array<{ name: string }>) => {
    const lock = JSON.parse(good);
    lock.platforms['linux/amd64'] = edit(lock.platforms['linux/amd64']);
    await writeFile(lockFile, `${JSON.stringify(lock, null, 2)}\n`);
  };

  it('builds with the lock as imprint lock wrote it; build --update over the same archive leaves it unchanged', async () => {
    await writeFile(lockFile, good);
    assertOk(await build(), 'build');
    const update = assertOk(
      await runImprint(
        ['--cache-dir', join(work, 'cache'), 'build', spec, '--update', '-o', `oci:${join(work, 'out')}`],
        {
          env: { SOURCE_DATE_EPOCH: '1700000000' },
        },
      ),
      'build --update',
    );
    assert.match(update.stderr, /imprint\.lock is unchanged/);
    assert.doesNotMatch(update.stderr, /updated/);
  });

  it('refuses a lock with a dependency dropped, naming it', async () => {
    await editLock((pkgs) => pkgs.filter((p) => p.name !== 'base-data'));
    const r = await build();
    assert.equal(r.code, 1, r.stderr);
    assert.match(
      r.stderr,
      // The signed check (over the archive's records) or the closure check (over the .debs' own
      // control data, when the pinned Releases are not at hand) finds it.
      /imprint\.lock \(linux\/amd64\): (its packages do not satisfy the spec's dependencies|the spec does not resolve over its packages)/,
    );
    assert.match(r.stderr, /base-data/);
    assert.match(r.stderr, /imprint lock/);
  });

  it('refuses a lock that names another version for the same .deb, also when its layers are cached', async () => {
    await writeFile(lockFile, good);
    assertOk(await build(), 'build (fills the layer cache)');
    await editLock((pkgs) => pkgs.map((p) => (p.name === 'base-data' ? { ...p, version: '0.9-edited' } : p)));
    const r = await build();
    assert.equal(r.code, 1, r.stderr);
    // The signed metadata knows no such version (the install's check of the control data is the
    // second line of defence: test/debian/install.test.ts).
    assert.match(
      r.stderr,
      /base-data 0\.9-edited all \(linux\/amd64\) is not what .* signed: the signed index has only 1 all/,
    );
    assert.match(r.stderr, /run `imprint lock`/);
  });

  it('refuses a lock with a package the spec does not need', async () => {
    await editLock((pkgs) => [...pkgs, extraEntry].sort((a, b) => (a.name < b.name ? -1 : 1)));
    const r = await build();
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /it lists unrelated 1, which the spec does not need/);
  });
});
