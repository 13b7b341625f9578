// How a lock treats the spellings of its sources: one archive URL written in several ways is one
// source, for `lock`, `lock --check` and locks written by earlier versions.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { normalizeSourceUrl } from '../../src/debian/source-url.js';
import { isImprintError } from '../../src/errors.js';
import { createLock, lockSpecInput } from '../../src/lock/create.js';
import { lockSpecHash, parseLock, serializeLock } from '../../src/lock/index.js';
import { loadSpec } from '../../src/spec/index.js';
import { assertOk, runImprint } from '../helpers/cli.js';
import { createDebRepo, type DebRepo } from '../helpers/debrepo.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const tempDir = tempDirs();

describe('lock sources', () => {
  let repo: DebRepo;
  let cache: string;
  before(async () => {
    repo = await createDebRepo({ packages: [{ name: 'hello', version: '1.0-1', architecture: 'all' }] });
    cache = tempDir('imprint-lock-sources-cache-');
  });
  after(() => repo.close());

  const imprint = (...args: string[]) =>
    runImprint(['--cache-dir', cache, ...args], { env: { NO_COLOR: '1' } });
  const writeSpec = (dir: string, sources: string[]): void =>
    writeFileSync(
      join(dir, 'imprint.yaml'),
      ['version: 1', 'sources:', ...sources, 'packages: [hello]', ''].join('\n'),
    );
  const source = (url: string, extra = '') =>
    `  - {url: "${url}", suites: [${repo.suite}], keyring: "${repo.keyringPath}"${extra}}`;

  it('normalizeSourceUrl: one spelling per archive, identity on canonical URLs', () => {
    for (const same of ['http://127.0.0.1:8080/debian', 'file:///srv/debian', 'https://host/debian'])
      assert.equal(normalizeSourceUrl(same), same);
    assert.equal(normalizeSourceUrl('http://127.0.0.1:8080/debian/'), 'http://127.0.0.1:8080/debian');
    assert.equal(normalizeSourceUrl('HTTP://Host:80/debian//'), 'http://host/debian');
    assert.equal(normalizeSourceUrl('http://127.0.0.1:8080/'), 'http://127.0.0.1:8080');
    assert.equal(normalizeSourceUrl('file:///srv/debian/'), 'file:///srv/debian');
  });

  it('a trailing / on a source url is the same source: the lock stays fresh and its bytes the same', async () => {
    const dir = tempDir('imprint-lock-slash-');
    writeSpec(dir, [source(repo.url)]);
    assertOk(await imprint('lock', dir), 'lock');
    const first = readFileSync(join(dir, 'imprint.lock'));
    for (const url of [`${repo.url}/`, `${repo.url.replace('http:', 'HTTP:')}//`]) {
      writeSpec(dir, [source(url)]);
      assertOk(await imprint('lock', '--check', dir), `lock --check with ${url}`);
      const relock = assertOk(await imprint('lock', dir), `lock with ${url}`);
      assert.match(relock.stdout, /unchanged/);
      assert.deepEqual(readFileSync(join(dir, 'imprint.lock')), first);
    }
  });

  it('a lock written for the spec URL as spelt, by an earlier imprint, is still fresh', async () => {
    const dir = tempDir('imprint-lock-legacy-');
    writeSpec(dir, [source(`${repo.url}/`)]);
    assertOk(await imprint('lock', dir), 'lock');
    const path = join(dir, 'imprint.lock');
    const loaded = await loadSpec(dir);
    const old = lockSpecHash(lockSpecInput(loaded.spec, true));
    assert.notEqual(old, parseLock(readFileSync(path), path).specHash);
    writeFileSync(path, serializeLock({ ...parseLock(readFileSync(path), path), specHash: old }));
    assertOk(await imprint('lock', '--check', dir), 'lock --check of the earlier lock');
  });

  it('a source url with a ?query or #fragment is SPEC_INVALID naming the field', async () => {
    const dir = tempDir('imprint-lock-query-');
    writeSpec(dir, [source(`${repo.url}/?x=1`)]);
    const r = await imprint('lock', dir);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /imprint\.yaml:3:\d+: sources\[0\]\.url: expected an archive URL without \?query/);
  });

  it('the same suite listed twice is SPEC_INVALID naming both entries and their lines', async () => {
    const dir = tempDir('imprint-lock-twice-');
    writeSpec(dir, [source(repo.url), source(`${repo.url}/`, ', components: [contrib]')]);
    const r = await imprint('lock', dir);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /imprint\.yaml:4:\d+: sources\[1\]\.suites\[0\]: suite test of http:\/\/127\.0\.0\.1:\d+ is listed again: first in sources\[0\]\.suites\[0\] \(line 3\); .* with components: \[main, contrib\]/,
    );
  });

  it('a suite and its codename (one Release under two names) are SPEC_INVALID naming the field', async () => {
    // The archive serves the suite under its codename too, as Debian's dists/bookworm and dists/stable.
    symlinkSync(repo.suite, join(repo.dir, 'dists', repo.codename));
    const dir = tempDir('imprint-lock-codename-');
    writeSpec(dir, [
      `  - {url: "${repo.url}", suites: [${repo.suite}, ${repo.codename}], keyring: "${repo.keyringPath}"}`,
    ]);
    const r = await imprint('lock', dir);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /imprint\.yaml:3:\d+: sources\[0\]\.suites\[1\]: suite test-codename of http:\/\/127\.0\.0\.1:\d+ is the Release of suite test \(sources\[0\]\): Suite test, Codename test-codename/,
    );
  });

  it("a source without url that this host's apt resolves to another entry's URL is SPEC_INVALID", async () => {
    const root = tempDir('imprint-lock-aptroot-');
    mkdirSync(join(root, 'etc/apt/sources.list.d'), { recursive: true });
    mkdirSync(join(root, 'usr/share/keyrings'), { recursive: true });
    writeFileSync(join(root, 'usr/share/keyrings/test.gpg'), readFileSync(repo.keyringPath));
    writeFileSync(
      join(root, 'etc/apt/sources.list.d/test.sources'),
      `Types: deb\nURIs: ${repo.url}/\nSuites: ${repo.suite}\nComponents: main\nSigned-By: /usr/share/keyrings/test.gpg\n`,
    );
    const dir = tempDir('imprint-lock-twice-apt-');
    writeSpec(dir, [source(repo.url), `  - {suites: [${repo.suite}]}`]);
    const loaded = await loadSpec(dir);
    await assert.rejects(
      createLock({ loaded, cacheDir: cache, now: new Date(), aptRoot: root }),
      (err: unknown) =>
        isImprintError(err, 'SPEC_INVALID') &&
        /imprint\.yaml:4:\d+: sources\[1\]: suite test of http:\/\/127\.0\.0\.1:\d+ is also sources\[0\] \([^)]*imprint\.yaml:3:\d+: sources\[0\]\)/.test(
          err.message,
        ),
    );
  });

  it("a source without url locks through the host's mirror+file list; a host URL with credentials is not recorded", async () => {
    const root = tempDir('imprint-lock-aptcloud-');
    mkdirSync(join(root, 'etc/apt/sources.list.d'), { recursive: true });
    mkdirSync(join(root, 'etc/apt/mirrors'), { recursive: true });
    mkdirSync(join(root, 'usr/share/keyrings'), { recursive: true });
    writeFileSync(join(root, 'usr/share/keyrings/test.gpg'), readFileSync(repo.keyringPath));
    const hostSources = (uri: string) =>
      writeFileSync(
        join(root, 'etc/apt/sources.list.d/debian.sources'),
        `Types: deb deb-src\nURIs: ${uri}\nSuites: ${repo.suite}\nComponents: main\nSigned-By: /usr/share/keyrings/test.gpg\n`,
      );
    hostSources('mirror+file:///etc/apt/mirrors/debian.list');
    writeFileSync(join(root, 'etc/apt/mirrors/debian.list'), `${repo.url}/\n`);
    const dir = tempDir('imprint-lock-mirror-list-');
    writeSpec(dir, [`  - {suites: [${repo.suite}]}`]);
    const loaded = await loadSpec(dir);
    const { lock } = await createLock({ loaded, cacheDir: cache, now: new Date(), aptRoot: root });
    assert.equal(lock.sources[0]?.url, repo.url);

    hostSources(repo.url.replace('http://', 'http://user:secret@'));
    await assert.rejects(
      createLock({ loaded, cacheDir: cache, now: new Date(), aptRoot: root }),
      (err: unknown) =>
        isImprintError(err, 'APT_SOURCE_NOT_FOUND') &&
        /sources\[0\]: .*http:\/\/\*\*\*@127\.0\.0\.1:\d+ \(.*debian\.sources, line 1\): credentials in the URL/.test(
          err.message,
        ) &&
        !err.message.includes('secret'),
    );
  });

  it('an index whose Filename leaves the archive fails the lock naming package, index and field, and nothing is fetched', async () => {
    const evil = await createDebRepo({
      packages: [
        { name: 'hello', version: '1.0-1', architecture: 'all', indexFilename: '../../../etc/hello.deb' },
      ],
    });
    try {
      const dir = tempDir('imprint-lock-filename-');
      for (const [filename, why] of [
        ['../../../etc/hello.deb', 'it has a ".." segment'],
        ['http://127.0.0.1:9/hello.deb', 'it has a URL scheme'],
      ] as const) {
        if (filename !== '../../../etc/hello.deb')
          await evil.update({
            packages: [{ name: 'hello', version: '1.0-1', architecture: 'all', indexFilename: filename }],
          });
        writeFileSync(
          join(dir, 'imprint.yaml'),
          `version: 1\nsources:\n  - {url: "${evil.url}", suites: [${evil.suite}], keyring: "${evil.keyringPath}"}\npackages: [hello]\n`,
        );
        const r = await imprint('lock', '--fetch', dir);
        assert.equal(r.code, 1, r.stderr);
        assert.ok(
          r.stderr.includes(
            `/dists/${evil.suite}/main/binary-amd64/Packages: hello: invalid Filename ${JSON.stringify(filename)}: ${why}`,
          ),
          r.stderr,
        );
      }
      assert.deepEqual(
        evil.requests.filter((q) => q.path.endsWith('.deb')),
        [],
      );
    } finally {
      await evil.close();
    }
  });

  it('lock refuses a Release dated ahead of the clock (check-date: false takes it); a locked check never judges dates', async () => {
    const ahead = new Date(Math.floor(Date.now() / 1000) * 1000 + 2 * 86_400_000);
    const future = await createDebRepo({
      packages: [{ name: 'hello', version: '1.0-1', architecture: 'all' }],
      date: ahead,
    });
    try {
      const dir = tempDir('imprint-lock-future-');
      const spec = (extra: string) =>
        writeFileSync(
          join(dir, 'imprint.yaml'),
          `version: 1\nsources:\n  - {url: "${future.url}", suites: [${future.suite}], keyring: "${future.keyringPath}"${extra}}\npackages: [hello]\n`,
        );
      spec('');
      const r = await imprint('lock', dir);
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        /InRelease is not valid yet: its Date is .*, 1d 23h \d+min( \d+s)? after this machine's time/,
      );
      assert.match(r.stderr, /check-date: false/);
      spec(', check-date: false');
      assertOk(await imprint('lock', dir), 'lock with check-date: false');
      // The archive moves on to a Release that has expired: a check of the lock from an empty cache
      // reads that Release (the pinned one is gone) only for membership, so the clock does not count.
      await future.update({
        date: new Date('2024-01-01T00:00:00Z'),
        validUntil: new Date('2024-01-02T00:00:00Z'),
      });
      spec('');
      const check = assertOk(
        await runImprint(['--cache-dir', tempDir('imprint-lock-future-cache-'), 'lock', '--check', dir], {
          env: { NO_COLOR: '1' },
        }),
        'lock --check against the moved archive',
      );
      assert.match(check.stderr, /no longer serves the Release the lock pins/);
    } finally {
      await future.close();
    }
  });
});
