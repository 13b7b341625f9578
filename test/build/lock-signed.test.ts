// A lock is checked against the signed archive metadata before a build trusts it: a package's
// sha256/size or a source's URL edited to name another .deb is LOCK_INVALID, a keyring that no longer
// trusts the signer is refused, and a lock whose Release the archive no longer serves is checked
// against a snapshot mirror or the current Release (generated signed repositories).
import assert from 'node:assert/strict';
import { cp, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertOk, runImprint } from '../helpers/cli.js';
import { createDebRepo, type DebRepo, generateTestKey, repoSpecYaml } from '../helpers/debrepo.js';

describe('locked packages checked against the signed archive metadata', async () => {
  const work = await mkdtemp(join(tmpdir(), 'imprint-signed-'));
  const spec = join(work, 'spec');
  const lockFile = join(spec, 'imprint.lock');
  let repo: DebRepo;
  let evil: DebRepo;
  let good = '';
  let caches = 0;

  before(async () => {
    const app = (content: string) => ({
      name: 'app',
      version: '1',
      architecture: 'all',
      files: { '/usr/bin/app': content },
    });
    repo = await createDebRepo({ packages: [app('the real app\n')] });
    // Another archive: the same package name and version, other bytes, signed by another key.
    evil = await createDebRepo({ packages: [app('a backdoor\n')], key: generateTestKey('evil <e@invalid>') });
    await mkdir(spec);
    await writeFile(join(spec, 'imprint.yaml'), repoSpecYaml(repo, 'app'));
    assertOk(await runImprint(['--cache-dir', join(work, 'lock-cache'), 'lock', spec]), 'lock');
    good = await readFile(lockFile, 'utf8');
  });
  after(async () => {
    await repo?.close();
    await evil?.close();
    await rm(work, { recursive: true, force: true });
  });

  /** A build with a cache directory of its own unless `cache` is given (a fresh machine). */
  const build = (opts: { cache?: string; args?: string[] } = {}) =>
    runImprint(
      [
        '--cache-dir',
        opts.cache ?? join(work, `cache-${++caches}`),
        'build',
        spec,
        '-o',
        `oci:${join(work, `out-${caches}`)}`,
        ...(opts.args ?? []),
      ],
      { env: { SOURCE_DATE_EPOCH: '1700000000' } },
    );
  const editLock = async (edit: (lock: LockJson) => void) => {
    const lock = JSON.parse(good) as LockJson;
    edit(lock);
    await writeFile(lockFile, `${JSON.stringify(lock, null, 2)}\n`);
  };

  it('builds a lock as imprint lock wrote it, and records the check: the next build reads no metadata', async () => {
    await writeFile(lockFile, good);
    const cache = join(work, 'cache-recorded');
    assertOk(await build({ cache }), 'first build');
    repo.requests.length = 0;
    await rm(join(cache, 'layers'), { recursive: true, force: true });
    assertOk(await build({ cache }), 'second build');
    assert.deepEqual(
      repo.requests.filter((r) => r.path.includes('/dists/')),
      [],
      'the recorded check needs no Release or index',
    );
    // Offline, the record is enough.
    await rm(join(cache, 'layers'), { recursive: true, force: true });
    assertOk(await build({ cache, args: ['--offline'] }), 'offline build');
    // A verifier rebuilds with its own layer cache, but the archive metadata of this cache: offline too.
    assertOk(
      await runImprint([
        '--cache-dir',
        cache,
        'verify',
        `oci:${join(work, 'out-0')}`,
        '--offline',
        '--context',
        spec,
      ]),
      'offline verify',
    );
  });

  it('verify finds a keyring given relative to the spec from --context', async () => {
    const own = join(work, 'relative-keyring');
    await mkdir(own);
    await cp(repo.keyringPath, join(own, 'archive.gpg'));
    await writeFile(
      join(own, 'imprint.yaml'),
      repoSpecYaml(repo, 'app').replace(repo.keyringPath, 'archive.gpg'),
    );
    const cache = join(work, 'cache-relative-keyring');
    const out = join(work, 'out-relative-keyring');
    assertOk(await runImprint(['--cache-dir', cache, 'build', own, '-o', `oci:${out}`]), 'build');
    assertOk(await runImprint(['--cache-dir', cache, 'verify', `oci:${out}`, '--context', own]), 'verify');
    const lost = await runImprint(['--cache-dir', cache, 'verify', `oci:${out}`, '--context', work]);
    assert.equal(lost.code, 1, lost.stderr);
    assert.match(
      lost.stderr,
      /sources\[0\]\.keyring archive\.gpg is a path relative to the spec's directory/,
    );
  });

  it('refuses a lock edited down to an older version the archive still signs', async () => {
    const two = await createDebRepo({
      packages: [
        {
          name: 'tool',
          version: '1.0',
          architecture: 'all',
          files: { '/usr/bin/tool': 'old, vulnerable\n' },
        },
        { name: 'tool', version: '1.1', architecture: 'all', files: { '/usr/bin/tool': 'fixed\n' } },
      ],
    });
    const own = join(work, 'downgrade');
    try {
      await mkdir(own);
      await writeFile(join(own, 'imprint.yaml'), repoSpecYaml(two, 'tool'));
      const cache = join(work, 'cache-downgrade');
      assertOk(await runImprint(['--cache-dir', cache, 'lock', own]), 'lock');
      const lock = JSON.parse(await readFile(join(own, 'imprint.lock'), 'utf8')) as LockJson;
      const locked = lock.platforms['linux/amd64']?.[0] as LockJsonPackage & {
        version: string;
        filename: string;
      };
      assert.equal(locked.version, '1.1');
      const old = two.deb('tool', '1.0');
      Object.assign(locked, { version: '1.0', filename: old.filename, sha256: old.sha256, size: old.size });
      await writeFile(join(own, 'imprint.lock'), `${JSON.stringify(lock, null, 2)}\n`);
      for (const args of [
        ['lock', own, '--check'],
        ['build', own, '-o', `oci:${join(work, 'out-downgrade')}`],
      ]) {
        const r = await runImprint(['--cache-dir', cache, ...args]);
        assert.equal(r.code, 1, `${args[0]}: ${r.stderr}`);
        assert.match(
          r.stderr,
          /tool is locked at 1\.0, but from the Releases the lock pins `imprint lock` chooses 1\.1 \(test\): a downgrade/,
        );
      }
      // Pinned in the spec, the older version is what the lock should say.
      await writeFile(join(own, 'imprint.yaml'), repoSpecYaml(two, '"tool=1.0"'));
      assertOk(await runImprint(['--cache-dir', cache, 'lock', own]), 'lock the pin');
      assertOk(
        await runImprint(['--cache-dir', join(work, 'cache-downgrade-2'), 'lock', own, '--check']),
        'check',
      );
    } finally {
      await two.close();
    }
  });

  it('refuses a lock with a package the spec does not need, also when its layer and check are cached', async () => {
    const pair = await createDebRepo({
      packages: [
        { name: 'tool', version: '1', architecture: 'all', files: { '/usr/bin/tool': 'tool\n' } },
        { name: 'extra', version: '1', architecture: 'all', files: { '/usr/bin/extra': 'extra\n' } },
      ],
    });
    const own = join(work, 'extra-package');
    const cache = join(work, 'cache-extra-package');
    const lockAt = join(own, 'imprint.lock');
    const out = `oci:${join(work, 'out-extra-package')}`;
    try {
      await mkdir(own);
      // Built once with both requested: the layer of both, and the check of their lock, are cached.
      await writeFile(join(own, 'imprint.yaml'), repoSpecYaml(pair, 'tool, extra'));
      assertOk(await runImprint(['--cache-dir', cache, 'build', own, '-o', out]), 'build both');
      const both = JSON.parse(await readFile(lockAt, 'utf8')) as LockJson & { specHash: string };
      // The spec asks for tool alone; the lock keeps extra under the new spec's hash.
      await writeFile(join(own, 'imprint.yaml'), repoSpecYaml(pair, 'tool'));
      assertOk(await runImprint(['--cache-dir', cache, 'lock', own]), 'lock tool');
      const { specHash } = JSON.parse(await readFile(lockAt, 'utf8')) as { specHash: string };
      await writeFile(lockAt, `${JSON.stringify({ ...both, specHash }, null, 2)}\n`);
      for (const [what, args] of [
        ['check', ['--cache-dir', join(work, 'cache-extra-check'), 'lock', own, '--check']],
        ['cached build', ['--cache-dir', cache, 'build', own, '-o', out]],
      ] as const) {
        const r = await runImprint([...args]);
        assert.equal(r.code, 1, `${what}: ${r.stderr}`);
        assert.match(r.stderr, /it lists extra 1, which the spec does not need/, what);
      }
    } finally {
      await pair.close();
    }
  });

  it('a build right after imprint lock, with its cache, reads no metadata: the lock recorded its check', async () => {
    await writeFile(lockFile, good);
    // Without the record the check would need the Release again: take it out of the cache.
    const release = (JSON.parse(good) as { sources: Array<{ release: { sha256: string } }> }).sources[0]
      ?.release.sha256 as string;
    await rm(join(work, 'lock-cache', 'blobs', 'sha256', release));
    repo.requests.length = 0;
    assertOk(await build({ cache: join(work, 'lock-cache') }), 'build');
    assert.deepEqual(
      repo.requests.filter((r) => r.path.includes('/dists/')),
      [],
    );
  });

  it('lock --check passes a lock as imprint lock wrote it, and says what it checked', async () => {
    await writeFile(lockFile, good);
    const r = assertOk(
      await runImprint(['--cache-dir', join(work, 'cache-check'), 'lock', spec, '--check']),
      'check',
    );
    assert.match(r.stdout, /is up to date; all 1 locked packages are in their archives' signed metadata/);
  });

  it("refuses a package whose sha256 and size were edited to another .deb served at the archive's path", async () => {
    const bad = evil.deb('app');
    const real = repo.deb('app');
    repo.override(`/${real.filename}`, { body: await readFile(bad.path) });
    try {
      await editLock((lock) => {
        const p = lock.platforms['linux/amd64']?.[0] as LockJsonPackage;
        p.sha256 = bad.sha256;
        p.size = bad.size;
      });
      const r = await build();
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /LOCK_INVALID|is not what/);
      assert.match(r.stderr, new RegExp(`app 1 all \\(linux/amd64\\) is not what ${repo.url}.* signed`));
      assert.match(r.stderr, new RegExp(`sha256 ${real.sha256}`), 'names what the archive signed');
      assert.match(r.stderr, /Review the change to the lock/);
      await assert.rejects(stat(join(work, `out-${caches}`, 'index.json')), 'no image written');
    } finally {
      repo.clearOverrides();
    }
  });

  it("refuses a lock whose source URL was edited away from the spec's", async () => {
    const other = JSON.parse(good) as LockJson;
    await editLock((lock) => {
      (lock.sources[0] as { url: string }).url = evil.url;
      lock.platforms['linux/amd64'] = (other.platforms['linux/amd64'] ?? []).map((p) => ({
        ...p,
        sha256: evil.deb('app').sha256,
        size: evil.deb('app').size,
      }));
    });
    const r = await build();
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /sources\[0\]\.url is .*, but the spec's sources\[0\] says/);
  });

  it("refuses a lock whose sources were edited: a source beyond the spec's, other components, another Release date", async () => {
    const check = (cache: string) => runImprint(['--cache-dir', cache, 'lock', spec, '--check']);
    const cases: Array<[string, (lock: LockJson) => void, RegExp]> = [
      [
        'extra source',
        (lock) => {
          lock.sources.push({ ...(lock.sources[0] as LockJson['sources'][0]), suite: 'other' });
          (lock.platforms['linux/amd64']?.[0] as LockJsonPackage).repo = 1;
        },
        /sources\[1\] \(.* other\) is none of the spec's sources, which give 1 suite\(s\)/,
      ],
      [
        'components',
        (lock) => {
          (lock.sources[0] as LockJson['sources'][0]).components = ['main', 'contrib'];
        },
        /sources\[0\]\.components are main, contrib, but the spec's sources\[0\] says main/,
      ],
      [
        'date',
        (lock) => {
          (lock.sources[0] as LockJson['sources'][0]).release.date = 'Sat, 10 Jun 2023 08:53:33 UTC';
        },
        /sources\[0\]\.release\.date is "Sat, 10 Jun 2023 08:53:33 UTC", but the Release it pins \(sha256 [0-9a-f]{64}\) is dated "/,
      ],
    ];
    try {
      for (const [what, edit, message] of cases) {
        await editLock(edit);
        // A fresh cache, and the one `imprint lock` recorded its check in: the record must not vouch for the edit.
        for (const cache of [join(work, `cache-sources-${what}`), join(work, 'lock-cache')]) {
          const r = await check(cache);
          assert.equal(r.code, 1, `${what}: ${r.stderr}`);
          assert.match(r.stderr, message, what);
          assert.doesNotMatch(r.stderr, /internal error/, what);
        }
      }
    } finally {
      await writeFile(lockFile, good);
    }
  });

  it('refuses an archive the keyring does not trust, also when an earlier build under another keyring passed', async () => {
    // A lock of the other archive, made with its own keyring: builds.
    const yaml = (keyring: string) => repoSpecYaml(evil, 'app').replace(evil.keyringPath, keyring);
    await writeFile(join(spec, 'imprint.yaml'), yaml(evil.keyringPath));
    const cache = join(work, 'cache-keyring');
    try {
      assertOk(await runImprint(['--cache-dir', cache, 'lock', spec]), 'lock the other archive');
      assertOk(await build({ cache }), 'build with its keyring');
      // The keyring is not part of the lock's spec hash: the lock stays fresh, and the check must run again.
      await writeFile(join(spec, 'imprint.yaml'), yaml(repo.keyringPath));
      const r = await build({ cache });
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /SIGNATURE_INVALID|signature/i);
    } finally {
      await writeFile(join(spec, 'imprint.yaml'), repoSpecYaml(repo, 'app'));
      await writeFile(lockFile, good);
    }
  });

  it('offline with nothing cached: says the metadata is needed once', async () => {
    await writeFile(lockFile, good);
    const cache = join(work, 'cache-offline');
    // The .deb alone is not enough.
    const deb = repo.deb('app');
    await mkdir(join(cache, 'blobs', 'sha256'), { recursive: true });
    await cp(deb.path, join(cache, 'blobs', 'sha256', deb.sha256));
    const r = await build({ cache, args: ['--offline'] });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /offline, and the signed archive metadata .* is not cached/);
    assert.match(r.stderr, /Build once with the network/);
  });

  it('when the archive moved on: the current Release vouches for packages it still lists; else a snapshot root in fetch.sources does', async () => {
    await writeFile(lockFile, good);
    const snapshot = join(work, 'snapshot');
    await cp(repo.dir, snapshot, { recursive: true });
    try {
      // Republished with one more package: the pinned Release is gone, the current one still lists app 1.
      await repo.update({
        packages: [
          { name: 'app', version: '1', architecture: 'all', files: { '/usr/bin/app': 'the real app\n' } },
          { name: 'other', version: '1', architecture: 'all', files: { '/usr/share/other': 'o' } },
        ],
        date: new Date('2024-02-01T00:00:00Z'),
      });
      const current = assertOk(await build(), 'build against the current Release');
      assert.match(
        current.stderr,
        /no longer serves the Release the lock pins, so the locked packages were checked against the current Releases/,
      );

      // Republished without app 1: nothing signed vouches for it any more.
      await repo.update({
        packages: [{ name: 'app', version: '2', architecture: 'all', files: { '/usr/bin/app': 'v2\n' } }],
        date: new Date('2024-03-01T00:00:00Z'),
      });
      const r = await build();
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /cannot check app 1 all \(linux\/amd64\) against signed metadata/);
      assert.match(r.stderr, /the signed index has only 2 all/);
      assert.match(r.stderr, /snapshot/);

      // A snapshot of the archive as it was when locked, as a fetch source: the pinned Release is there.
      await writeFile(
        join(spec, 'imprint.yaml'),
        repoSpecYaml(repo, 'app', [
          'fetch:',
          `  sources: ["file://${snapshot}/{filename}", "{url}/{filename}"]`,
        ]),
      );
      assertOk(await build(), 'build with a snapshot root');
    } finally {
      await writeFile(join(spec, 'imprint.yaml'), repoSpecYaml(repo, 'app'));
    }
  });
});

interface LockJsonPackage {
  name: string;
  sha256: string;
  size: number;
  repo?: number;
}
interface LockJson {
  sources: Array<{ url: string; suite: string; components: string[]; release: { date: string } }>;
  platforms: Record<string, LockJsonPackage[]>;
}
