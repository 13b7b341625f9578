import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { isImprintError } from '../../src/errors.js';
import {
  createLock,
  type LockRequest,
  loadFreshLock,
  lockPath,
  specLockHash,
} from '../../src/lock/create.js';
import { lockDownloads } from '../../src/lock/create-downloads.js';
import { parseLock, serializeLock, writeLock } from '../../src/lock/index.js';
import { checkLockSigned, type SignedCheckRequest } from '../../src/lock/signed.js';
import type { LockFile } from '../../src/lock/types.js';
import { createFetcher } from '../../src/net/http.js';
import { loadSpec } from '../../src/spec/index.js';
import { createDebRepo, type DebPackageSpec, type DebRepo, generateTestKey } from '../helpers/debrepo.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const fetcher = createFetcher({ backoffMs: 1, random: () => 0.5 });
const tempDir = tempDirs();

/** Architecture-specific packages are built for both amd64 and arm64. */
function bothArchs(p: DebPackageSpec): DebPackageSpec[] {
  return p.architecture === 'all'
    ? [p]
    : [
        { ...p, architecture: 'amd64' },
        { ...p, architecture: 'arm64' },
      ];
}

// Each dependency shape the lock must get right, in one small archive.
const PACKAGES: DebPackageSpec[] = (
  [
    // versioned: >= 2.0 rules out 1.5; the highest version satisfying it wins
    {
      name: 'app',
      version: '1.0-1',
      depends:
        'libfoo (>= 2.0), absent-browser | lynx, interp:any, mail-transport-agent, data-all, impl-a | impl-b',
    },
    { name: 'libfoo', version: '1.5-1', multiArch: 'same' },
    { name: 'libfoo', version: '2.1-1', multiArch: 'same' },
    { name: 'libfoo', version: '2.0-1', multiArch: 'same' },
    // alternatives: the first one does not exist
    { name: 'lynx', version: '2.9-1' },
    // Multi-Arch: `:any` needs Multi-Arch: allowed
    { name: 'interp', version: '3.11-1', multiArch: 'allowed', depends: 'interp-minimal (= 3.11-1)' },
    { name: 'interp-minimal', version: '3.11-1' },
    // virtual package with one provider
    { name: 'tinymta', version: '0.5-1', provides: 'mail-transport-agent' },
    { name: 'data-all', version: '7', architecture: 'all', source: 'data-src (7-2)' },
    // conflicts: impl-a conflicts with a requested package, so impl-b is chosen
    { name: 'impl-a', version: '1-1', conflicts: 'bar' },
    { name: 'impl-b', version: '1-1' },
    { name: 'bar', version: '1-1' },
    { name: 'unrelated', version: '1-1', depends: 'lynx' },
  ] satisfies DebPackageSpec[]
).flatMap(bothArchs);

const EXPECTED = [
  'app',
  'bar',
  'data-all',
  'impl-b',
  'interp',
  'interp-minimal',
  'libfoo',
  'lynx',
  'tinymta',
];

interface SpecOptions {
  packages?: string[];
  platforms?: string[];
  url?: string | null;
  keyring?: string | null;
  components?: string[];
  extra?: string;
}

/** Writes an imprint.yaml for the repo into a fresh directory and loads it. */
async function writeSpec(repo: DebRepo, o: SpecOptions = {}, dir = tempDir('imprint-lock-spec-')) {
  const lines = [
    'version: 1',
    `platforms: [${(o.platforms ?? ['linux/amd64', 'linux/arm64']).join(', ')}]`,
    'sources:',
    `  - suites: [${repo.suite}]`,
  ];
  if (o.url !== null) lines.push(`    url: ${o.url ?? repo.url}`);
  if (o.keyring !== null) lines.push(`    keyring: ${o.keyring ?? repo.keyringPath}`);
  if (o.components !== undefined) lines.push(`    components: [${o.components.join(', ')}]`);
  lines.push(`packages: [${(o.packages ?? ['app', 'bar']).join(', ')}]`);
  if (o.extra !== undefined) lines.push(o.extra);
  writeFileSync(join(dir, 'imprint.yaml'), `${lines.join('\n')}\n`);
  return loadSpec(dir);
}

function request(
  loaded: LockRequest['loaded'],
  cacheDir: string,
  extra: Partial<LockRequest> = {},
): LockRequest {
  return { loaded, cacheDir, fetcher, now: new Date(), ...extra };
}

/** checkLockSigned over the lock's linux/amd64 packages, with a cache of its own. */
function checkAmd64(
  loaded: LockRequest['loaded'],
  lock: LockFile,
  extra: Partial<SignedCheckRequest> = {},
): ReturnType<typeof checkLockSigned> {
  return checkLockSigned({
    loaded,
    lock,
    lockFile: 'imprint.lock',
    platform: 'linux/amd64',
    arch: 'amd64',
    packages: lock.platforms['linux/amd64'] ?? [],
    cacheDir: tempDir('imprint-lock-cache-'),
    fetcher: async () => fetcher,
    now: new Date(),
    templates: [],
    ...extra,
  });
}

function names(lock: LockFile, platform: string): string[] {
  return (lock.platforms[platform] ?? []).map((p) => p.name);
}

describe('createLock against a generated signed archive', () => {
  let repo: DebRepo;
  before(async () => {
    repo = await createDebRepo({ packages: PACKAGES, architectures: ['amd64', 'arm64'] });
  });
  after(() => repo.close());

  it('locks the dependency closure per platform, with every field the archive states', async () => {
    const loaded = await writeSpec(repo);
    const { lock, warnings } = await createLock(request(loaded, tempDir('imprint-lock-cache-')));
    assert.deepEqual(warnings, []);
    assert.deepEqual(Object.keys(lock.platforms).sort(), ['linux/amd64', 'linux/arm64']);
    assert.deepEqual(names(lock, 'linux/amd64'), EXPECTED);
    assert.deepEqual(names(lock, 'linux/arm64'), EXPECTED);
    assert.deepEqual(lock.sources, [
      {
        url: repo.url,
        suite: repo.suite,
        components: ['main'],
        release: { sha256: repo.inReleaseSha256(), date: 'Mon, 01 Jan 2024 00:00:00 UTC' },
      },
    ]);
    assert.equal(lock.specHash, specLockHash(loaded.spec));
    for (const platform of ['linux/amd64', 'linux/arm64']) {
      const arch = platform.slice('linux/'.length);
      for (const p of lock.platforms[platform] ?? []) {
        const deb = repo.deb(p.name, p.version);
        const expectArch = p.name === 'data-all' ? 'all' : arch;
        const built = repo.debs.find(
          (d) => d.name === p.name && d.version === p.version && d.architecture === expectArch,
        );
        assert.ok(built, `${p.name} ${p.version} ${expectArch} was built`);
        assert.deepEqual(
          p,
          {
            name: deb.name,
            version: deb.version,
            architecture: expectArch,
            source: p.name === 'data-all' ? 'data-src (7-2)' : p.name,
            filename: built.filename,
            size: built.size,
            sha256: built.sha256,
            repo: 0,
          },
          `${platform} ${p.name}`,
        );
      }
    }
    const libfoo = lock.platforms['linux/amd64']?.find((p) => p.name === 'libfoo');
    assert.equal(libfoo?.version, '2.1-1');
  });

  it('honours a pinned version, and fails with PACKAGE_NOT_FOUND / UNSATISFIABLE naming the package', async () => {
    const cache = tempDir('imprint-lock-cache-');
    const pinned = await createLock(
      request(await writeSpec(repo, { packages: ['libfoo=1.5-1'], platforms: ['linux/amd64'] }), cache),
    );
    assert.deepEqual(
      pinned.lock.platforms['linux/amd64']?.map((p) => `${p.name}=${p.version}`),
      ['libfoo=1.5-1'],
    );
    await assert.rejects(
      createLock(request(await writeSpec(repo, { packages: ['app', 'no-such-package'] }), cache)),
      (err: unknown) =>
        isImprintError(err, 'PACKAGE_NOT_FOUND') &&
        /imprint\.yaml:\d+:\d+: packages\[1\]: package no-such-package not found/.test(err.message) &&
        err.details.field === 'packages[1]',
    );
    await assert.rejects(
      createLock(request(await writeSpec(repo, { packages: ['libfoo=9.9-9'] }), cache)),
      (err: unknown) =>
        isImprintError(err, 'PACKAGE_NOT_FOUND') && /packages\[0\]: .*9\.9-9/.test(err.message),
    );
    await assert.rejects(
      createLock(request(await writeSpec(repo, { packages: ['bar', 'impl-a'] }), cache)),
      (err: unknown) => {
        assert.ok(
          isImprintError(err) && ['PACKAGE_CONFLICT', 'UNSATISFIABLE'].includes(err.code),
          String(err),
        );
        // The requested packages the conflict comes from, with the spec's file and line.
        assert.match(err.message, /^.*imprint\.yaml:\d+:\d+: packages\[[01]\]( and packages\[[01]\])?: /);
        assert.match(err.message, /\(linux\/amd64\)$/);
        assert.match(String(err.details.field), /^packages\[[01]\]/);
        return true;
      },
    );
  });

  it('names the spec field and line of a component the Release lacks, suggesting the nearest', async () => {
    const loaded = await writeSpec(repo, { components: ['main', 'mian'], platforms: ['linux/amd64'] });
    await assert.rejects(createLock(request(loaded, tempDir('imprint-lock-cache-'))), (err: unknown) => {
      assert.ok(isImprintError(err, 'INDEX_NOT_FOUND'), String(err));
      assert.equal(
        err.message,
        `${loaded.file}:7:24: sources[0].components[1]: ${repo.url} ${repo.suite} has no component mian (its Release lists main)`,
      );
      assert.equal(err.hint, 'Did you mean main?');
      assert.equal(err.details.field, 'sources[0].components[1]');
      return true;
    });
  });

  it('names the spec field and line of a source whose archive cannot be reached or is not signed', async () => {
    const gone = await writeSpec(repo, { url: 'http://127.0.0.1:9/gone', platforms: ['linux/amd64'] });
    await assert.rejects(createLock(request(gone, tempDir('imprint-lock-cache-'))), (err: unknown) => {
      assert.ok(isImprintError(err, 'NETWORK'), String(err));
      assert.ok(
        err.message.startsWith(`${gone.file}:4:5: sources[0]: GET http://127.0.0.1:9/gone/`),
        err.message,
      );
      assert.equal(err.details.field, 'sources[0]');
      return true;
    });
    const loaded = await writeSpec(repo, { platforms: ['linux/amd64'] });
    repo.override(`/dists/${repo.suite}/InRelease`, { body: repo.tamperedInRelease() });
    try {
      await assert.rejects(createLock(request(loaded, tempDir('imprint-lock-cache-'))), (err: unknown) => {
        assert.ok(isImprintError(err, 'SIGNATURE_INVALID'), String(err));
        assert.ok(err.message.startsWith(`${loaded.file}:4:5: sources[0]: `), err.message);
        return true;
      });
    } finally {
      repo.clearOverrides();
    }
  });

  it('relocks byte for byte: warm cache, cold cache, and offline with zero requests', async () => {
    const loaded = await writeSpec(repo);
    const cache = tempDir('imprint-lock-cache-');
    const first = serializeLock((await createLock(request(loaded, cache))).lock);
    const warm = serializeLock((await createLock(request(loaded, cache))).lock);
    const cold = serializeLock((await createLock(request(loaded, tempDir('imprint-lock-cache-')))).lock);
    repo.requests.length = 0;
    const offline = serializeLock((await createLock(request(loaded, cache, { offline: true }))).lock);
    assert.deepEqual(repo.requests, []);
    assert.ok(first.equals(warm));
    assert.ok(first.equals(cold));
    assert.ok(first.equals(offline));
    // the bytes parse back to the same lock
    assert.ok(serializeLock(parseLock(first, 'imprint.lock')).equals(first));
  });

  it('relocks the same bytes when the cached index scans are corrupt, foreign or gone', async () => {
    const loaded = await writeSpec(repo);
    const cache = tempDir('imprint-lock-cache-');
    const first = serializeLock((await createLock(request(loaded, cache))).lock);
    const scans = join(cache, 'debian', 'packages-scan');
    const files = readdirSync(scans).sort();
    assert.ok(files.length >= 2 && files.every((f) => f.endsWith('.scan')));
    const entries = files.map((f) => readFileSync(join(scans, f)));
    const relock = async (): Promise<void> => {
      assert.ok(
        serializeLock((await createLock(request(loaded, cache, { offline: true }))).lock).equals(first),
      );
    };
    // a flipped byte anywhere: the entry is ignored, the index scanned again and the entry rewritten
    for (const [i, f] of files.entries()) {
      const bad = Buffer.from(entries[i] as Buffer);
      bad[bad.length >> 1] = (bad[bad.length >> 1] as number) ^ 4;
      writeFileSync(join(scans, f), bad);
    }
    await relock();
    for (const [i, f] of files.entries())
      assert.ok(readFileSync(join(scans, f)).equals(entries[i] as Buffer), f);
    // each entry under another index's name
    for (const [i, f] of files.entries())
      writeFileSync(join(scans, f), entries[(i + 1) % files.length] as Buffer);
    await relock();
    rmSync(scans, { recursive: true });
    await relock();
    assert.deepEqual(readdirSync(scans).sort(), files);
  });

  it('offline with nothing cached is OFFLINE, without a request', async () => {
    const loaded = await writeSpec(repo);
    repo.requests.length = 0;
    await assert.rejects(
      createLock(request(loaded, tempDir('imprint-lock-cache-'), { offline: true })),
      (err: unknown) => isImprintError(err, 'OFFLINE'),
    );
    assert.deepEqual(repo.requests, []);
  });

  it('a requested virtual name with one provider is locked as the provider, and that lock is fresh and passes the signed check', async () => {
    const loaded = await writeSpec(repo, { packages: ['mail-transport-agent'], platforms: ['linux/amd64'] });
    const { lock } = await createLock(request(loaded, tempDir('imprint-lock-cache-')));
    await writeLock(lockPath(loaded), lock);
    assert.deepEqual(names(lock, 'linux/amd64'), ['tinymta']);
    await loadFreshLock(loaded);
    await checkAmd64(loaded, lock);
  });

  it("checks a lock's pinned Release whatever the clock says (a cold cache at 1999 or 2100): its key is judged when it signed", async () => {
    const loaded = await writeSpec(repo, { packages: ['lynx'], platforms: ['linux/amd64'] });
    const { lock } = await createLock(request(loaded, tempDir('imprint-lock-cache-')));
    for (const now of [new Date('1999-01-01T00:00:00Z'), new Date('2100-01-01T00:00:00Z')])
      await checkAmd64(loaded, lock, { now });
  });

  it('LOCK_STALE says what changed: a version pin, a suite, components, a URL; the rest in one phrase', async () => {
    const dir = tempDir('imprint-lock-spec-');
    const loaded = await writeSpec(repo, { packages: ['app', 'bar'] }, dir);
    await writeLock(
      lockPath(loaded),
      (await createLock(request(loaded, tempDir('imprint-lock-cache-')))).lock,
    );
    const stale = async (o: SpecOptions, message: RegExp) => {
      const err = await loadFreshLock(await writeSpec(repo, o, dir)).then(
        () => assert.fail('expected LOCK_STALE'),
        (e: unknown) => e,
      );
      assert.ok(isImprintError(err, 'LOCK_STALE'), String(err));
      assert.match(err.message, message);
      return err;
    };
    await stale(
      { packages: ['app', 'bar', '"libfoo=2.0-1"'] },
      /\(libfoo=2\.0-1 pinned, the lock has 2\.1-1\)$/,
    );
    await stale({ packages: ['app'] }, /\(packages removed or reordered, a version pin or suite dropped/);
    // A suite added, and a package asked for from it (the spec names suites its sources list).
    writeFileSync(
      join(dir, 'imprint.yaml'),
      readFileSync(join(dir, 'imprint.yaml'), 'utf8')
        .replace('suites: [test]', 'suites: [test, other]')
        .replace('packages: [app]', 'packages: [app, bar, libfoo/other]'),
    );
    const both = await loadFreshLock(await loadSpec(dir)).then(
      () => assert.fail('expected LOCK_STALE'),
      (e: unknown) => e,
    );
    assert.ok(isImprintError(both, 'LOCK_STALE'), String(both));
    assert.match(
      both.message,
      /\(libfoo\/other asked for, the lock has it from test; suites added: other\)$/,
    );
    await stale(
      { packages: ['app', 'bar'], components: ['main', 'contrib'] },
      /\(sources\[0\] components of test: main, contrib \(the lock has main\)\)$/,
    );
    await stale(
      { packages: ['app', 'bar'], url: 'http://127.0.0.1:9/debian' },
      new RegExp(
        `\\(sources\\[0\\]\\.url of test: http://127\\.0\\.0\\.1:9/debian \\(the lock has ${repo.url}\\)\\)$`,
      ),
    );
  });

  it('loadFreshLock: LOCK_NOT_FOUND, fresh after lock, LOCK_STALE after a packages change, fresh after relock', async () => {
    const dir = tempDir('imprint-lock-spec-');
    const cache = tempDir('imprint-lock-cache-');
    let loaded = await writeSpec(repo, {}, dir);
    await assert.rejects(
      loadFreshLock(loaded),
      (err: unknown) => isImprintError(err, 'LOCK_NOT_FOUND') && /imprint lock/.test(err.hint ?? ''),
    );
    await writeLock(lockPath(loaded), (await createLock(request(loaded, cache))).lock);
    assert.equal(lockPath(loaded), join(dir, 'imprint.lock'));
    assert.deepEqual(names(await loadFreshLock(loaded), 'linux/amd64'), EXPECTED);

    // Changes that do not affect resolution keep the lock fresh.
    loaded = await writeSpec(
      repo,
      { extra: 'env: { A: "1" }\nfetch: { sources: ["{url}/{filename}"] }' },
      dir,
    );
    await loadFreshLock(loaded);

    loaded = await writeSpec(repo, { packages: ['app', 'bar', 'unrelated'] }, dir);
    await assert.rejects(
      loadFreshLock(loaded),
      (err: unknown) =>
        isImprintError(err, 'LOCK_STALE') &&
        /imprint lock/.test(err.hint ?? '') &&
        /\(packages not in the lock: unrelated\)$/.test(err.message),
    );
    await writeLock(lockPath(loaded), (await createLock(request(loaded, cache))).lock);
    assert.ok(names(await loadFreshLock(loaded), 'linux/amd64').includes('unrelated'));

    loaded = await writeSpec(
      repo,
      { packages: ['app', 'bar', 'unrelated'], platforms: ['linux/amd64'] },
      dir,
    );
    await assert.rejects(
      loadFreshLock(loaded),
      (err: unknown) => isImprintError(err, 'LOCK_STALE') && /platforms removed: /.test(err.message),
    );

    // A lock edited by hand (a named package dropped) is LOCK_INVALID, naming the package: a pinned
    // one as soon as the lock is read, else (it might be a virtual name, locked as its provider)
    // where the spec is resolved over the locked packages.
    loaded = await writeSpec(repo, { packages: ['app', 'bar', 'unrelated'] }, dir);
    const fresh = (await createLock(request(loaded, cache))).lock;
    const edited = { ...fresh, platforms: { ...fresh.platforms } };
    for (const k of Object.keys(edited.platforms))
      edited.platforms[k] = (edited.platforms[k] ?? []).filter((p) => p.name !== 'unrelated');
    await writeLock(lockPath(loaded), edited);
    await loadFreshLock(loaded);
    await assert.rejects(
      checkAmd64(loaded, edited),
      (err: unknown) => isImprintError(err, 'LOCK_INVALID') && /unrelated/.test(err.message),
    );
    // A platform emptied, or dropped, in the lock: refused as soon as the lock is read.
    for (const list of [[], undefined]) {
      const gone = { ...fresh, platforms: { ...fresh.platforms } };
      if (list === undefined) delete gone.platforms['linux/arm64'];
      else gone.platforms['linux/arm64'] = list;
      await writeLock(lockPath(loaded), gone);
      await assert.rejects(
        loadFreshLock(loaded),
        (err: unknown) =>
          isImprintError(err, 'LOCK_INVALID') && /does not have app for linux\/arm64/.test(err.message),
      );
    }
    const pinned = await writeSpec(repo, { packages: ['app', 'bar', 'unrelated=1-1'] }, dir);
    const pinnedLock = (await createLock(request(pinned, cache))).lock;
    for (const k of Object.keys(pinnedLock.platforms))
      pinnedLock.platforms[k] = (pinnedLock.platforms[k] ?? []).filter((p) => p.name !== 'unrelated');
    await writeLock(lockPath(pinned), pinnedLock);
    await assert.rejects(
      loadFreshLock(pinned),
      (err: unknown) =>
        isImprintError(err, 'LOCK_INVALID') &&
        /does not have unrelated=1-1 for linux\/amd64/.test(err.message),
    );

    writeFileSync(lockPath(loaded), '{"version": 1}');
    await assert.rejects(loadFreshLock(loaded), (err: unknown) => isImprintError(err, 'LOCK_INVALID'));
  });

  it('refuses a tampered InRelease (SIGNATURE_INVALID) and caches nothing of it', async () => {
    const loaded = await writeSpec(repo);
    const cache = tempDir('imprint-lock-cache-');
    repo.override(`/dists/${repo.suite}/InRelease`, { body: repo.tamperedInRelease() });
    try {
      await assert.rejects(createLock(request(loaded, cache)), (err: unknown) =>
        isImprintError(err, 'SIGNATURE_INVALID'),
      );
    } finally {
      repo.clearOverrides();
    }
    assert.equal(existsSync(join(cache, 'debian', 'release')), false);
  });

  it('refuses a Packages file that does not match the Release hash (DIGEST_MISMATCH)', async () => {
    const loaded = await writeSpec(repo, { platforms: ['linux/amd64'] });
    const cache = tempDir('imprint-lock-cache-');
    const path = repo.indexPath('main', 'amd64', '.xz');
    const good = readFileSync(join(repo.dir, path));
    const bad = Buffer.from(good);
    bad[bad.length - 20] = (bad[bad.length - 20] as number) ^ 0xff; // same size, other bytes
    repo.override(path, { body: bad });
    try {
      await assert.rejects(createLock(request(loaded, cache)), (err: unknown) =>
        isImprintError(err, 'DIGEST_MISMATCH'),
      );
    } finally {
      repo.clearOverrides();
    }
    // nothing but the verified Release reached the blob store
    const blobs = execFileSync('find', [join(cache, 'blobs'), '-type', 'f'])
      .toString()
      .trim()
      .split('\n');
    assert.deepEqual(
      blobs.map((b) => b.slice(b.lastIndexOf('/') + 1)),
      [repo.inReleaseSha256()],
    );
  });

  it("uses the host's apt source (URL and Signed-By keyring) for a source without url", async () => {
    const root = tempDir('imprint-aptroot-');
    mkdirSync(join(root, 'etc/apt/sources.list.d'), { recursive: true });
    mkdirSync(join(root, 'usr/share/keyrings'), { recursive: true });
    writeFileSync(join(root, 'usr/share/keyrings/test.gpg'), readFileSync(repo.keyringPath));
    writeFileSync(
      join(root, 'etc/apt/sources.list.d/test.sources'),
      `Types: deb\nURIs: ${repo.url}\nSuites: ${repo.suite}\nComponents: main\nSigned-By: /usr/share/keyrings/test.gpg\n`,
    );
    const loaded = await writeSpec(repo, { url: null, keyring: null, platforms: ['linux/amd64'] });
    const { lock } = await createLock(request(loaded, tempDir('imprint-lock-cache-'), { aptRoot: root }));
    assert.equal(lock.sources[0]?.url, repo.url);
    assert.deepEqual(names(lock, 'linux/amd64'), EXPECTED);
    // the spec hash records the spec as written, not the host's URL
    const withUrl = await writeSpec(repo, { platforms: ['linux/amd64'] });
    assert.notEqual(lock.specHash, specLockHash(withUrl.spec));
    await assert.rejects(
      createLock(request(loaded, tempDir('imprint-lock-cache-'), { aptRoot: tempDir('imprint-aptroot-') })),
      (err: unknown) =>
        isImprintError(err, 'APT_SOURCE_NOT_FOUND') &&
        err.message.startsWith(`${loaded.file}:`) &&
        /^[^ ]*imprint\.yaml:\d+:\d+: sources\[0\]: /.test(err.message) &&
        err.details.field === 'sources[0]',
    );
    // Checked against the signed metadata on this host, and on one with no apt source for the suite:
    // there the lock's URL, with the host's Debian archive keyring (else KEYRING_NOT_FOUND).
    const check = (aptRoot: string) => checkAmd64(loaded, lock, { aptRoot });
    await check(root);
    const bare = tempDir('imprint-aptroot-');
    await assert.rejects(check(bare), (err: unknown) => isImprintError(err, 'KEYRING_NOT_FOUND'));
    mkdirSync(join(bare, 'usr/share/keyrings'), { recursive: true });
    writeFileSync(
      join(bare, 'usr/share/keyrings/debian-archive-keyring.gpg'),
      readFileSync(repo.keyringPath),
    );
    await check(bare);
    // Here apt names another mirror for the suite, signed with its own key: that key says nothing
    // about the lock's URL; the Debian archive keyring does.
    mkdirSync(join(bare, 'etc/apt/sources.list.d'), { recursive: true });
    writeFileSync(
      join(bare, 'usr/share/keyrings/corp.gpg'),
      readFileSync(generateTestKey('corp <c@invalid>').keyringPath),
    );
    writeFileSync(
      join(bare, 'etc/apt/sources.list.d/corp.sources'),
      `Types: deb\nURIs: http://127.0.0.1:9/corp-mirror\nSuites: ${repo.suite}\nComponents: main\nSigned-By: /usr/share/keyrings/corp.gpg\n`,
    );
    await check(bare);
    // A lock URL that cannot be reached is named as the lock's sources[i].
    const unreachable = structuredClone(lock);
    (unreachable.sources[0] as { url: string }).url = 'http://127.0.0.1:9/gone';
    await assert.rejects(
      checkAmd64(loaded, unreachable, { aptRoot: bare }),
      (err: unknown) =>
        isImprintError(err, 'NETWORK') &&
        err.message.startsWith('imprint.lock: sources[0] (http://127.0.0.1:9/gone ') &&
        err.details.field === 'sources[0].url',
    );
  });

  it('lockDownloads lists each .deb once with its archive URL', async () => {
    const loaded = await writeSpec(repo);
    const { lock } = await createLock(request(loaded, tempDir('imprint-lock-cache-')));
    const downloads = lockDownloads(lock);
    // data-all is shared by both platforms: one download
    assert.equal(downloads.length, EXPECTED.length * 2 - 1);
    assert.ok(downloads.every((d) => d.url === repo.url));
    assert.deepEqual(
      downloads.map((d) => d.filename),
      downloads.map((d) => d.filename).sort(),
    );
    assert.equal(lockDownloads(lock, ['linux/arm64']).length, EXPECTED.length);
    assert.throws(
      () => lockDownloads(lock, ['linux/s390x']),
      (err: unknown) => isImprintError(err, 'PLATFORM_NOT_FOUND'),
    );
  });
});

describe('architecture all indexes', () => {
  // Debian's Releases list `all` but say its packages are in every arch index too
  // (No-Support-for-Architecture-all: Packages): then neither the lock nor its signed check reads
  // binary-all; without that line both read it beside the native index.
  for (const noSupport of [true, false]) {
    it(`${noSupport ? 'skips' : 'reads'} binary-all when the Release ${noSupport ? 'says' : 'does not say'} the native indexes carry it`, async () => {
      const repo = await createDebRepo({
        packages: [
          { name: 'tool', version: '1.0-1', depends: 'tool-data' },
          { name: 'tool-data', version: '2.0-1', architecture: 'all' },
        ],
        architectures: ['amd64', 'all'],
        noSupportForArchitectureAll: noSupport,
      });
      try {
        const loaded = await writeSpec(repo, { platforms: ['linux/amd64'], packages: ['tool'] });
        const { lock } = await createLock(request(loaded, tempDir('imprint-lock-cache-')));
        assert.deepEqual(names(lock, 'linux/amd64'), ['tool', 'tool-data']);
        const allIndex = () => repo.requests.filter((r) => r.path.includes('/binary-all/')).length;
        assert.equal(allIndex() > 0, !noSupport, 'lock');
        repo.requests.length = 0;
        await checkAmd64(loaded, lock);
        assert.ok(
          repo.requests.some((r) => r.path.includes('/binary-amd64/')),
          'the check read the native index',
        );
        assert.equal(allIndex() > 0, !noSupport, 'signed check');
      } finally {
        repo.close();
      }
    });
  }
});

describe('createLock with a second source', () => {
  it('records which source each package comes from, and the higher version wins across sources', async () => {
    const main = await createDebRepo({
      packages: [
        { name: 'alpha', version: '1', depends: 'beta' },
        { name: 'beta', version: '1' },
      ],
    });
    const extra = await createDebRepo({
      packages: [
        { name: 'beta', version: '2' },
        { name: 'gamma', version: '1' },
      ],
      suite: 'extra',
    });
    try {
      const dir = tempDir('imprint-lock-spec-');
      writeFileSync(
        join(dir, 'imprint.yaml'),
        [
          'version: 1',
          'sources:',
          `  - { url: "${main.url}", suites: [${main.suite}], keyring: "${main.keyringPath}" }`,
          `  - { url: "${extra.url}", suites: [extra], keyring: "${extra.keyringPath}" }`,
          'packages: [alpha, gamma]',
          '',
        ].join('\n'),
      );
      const { lock } = await createLock(request(await loadSpec(dir), tempDir('imprint-lock-cache-')));
      assert.deepEqual(
        lock.platforms['linux/amd64']?.map((p) => `${p.name}=${p.version}@${p.repo}`),
        ['alpha=1@0', 'beta=2@1', 'gamma=1@1'],
      );
      assert.deepEqual(
        lock.sources.map((s) => s.url),
        [main.url, extra.url],
      );
      assert.deepEqual(
        lockDownloads(lock).map((d) => `${d.name}:${d.url === extra.url ? 'extra' : 'main'}`),
        ['alpha:main', 'beta:extra', 'gamma:extra'],
      );
    } finally {
      await main.close();
      await extra.close();
    }
  });
});

// ---- live: the archive configured on this host ----

const live = process.env.IMPRINT_LIVE === '1';
const skipLive = live ? false : 'skipped: set IMPRINT_LIVE=1 to reach the network';

/** What apt-get picks for `packages` on an empty dpkg status, with fresh lists of exactly `suites`. */
function aptSimulate(packages: string[], arch: string, suites: string[]): Map<string, string> {
  const work = tempDir('imprint-apt-');
  for (const d of [
    'lists/partial',
    'cache/archives/partial',
    'etc/sources.list.d',
    'etc/preferences.d',
    'etc/apt.conf.d',
  ]) {
    mkdirSync(join(work, d), { recursive: true });
  }
  writeFileSync(join(work, 'status'), '');
  // The host's own sources for these suites (deb822), so apt and imprint read the same archive.
  const hostSources = readFileSync('/etc/apt/sources.list.d/debian.sources', 'utf8');
  writeFileSync(join(work, 'etc/sources.list.d/debian.sources'), hostSources);
  writeFileSync(join(work, 'etc/sources.list'), '');
  const opts = [
    `-o`,
    `Dir::State::status=${join(work, 'status')}`,
    `-o`,
    `Dir::State::Lists=${join(work, 'lists')}`,
    `-o`,
    `Dir::Cache=${join(work, 'cache')}`,
    `-o`,
    `Dir::Etc::SourceList=${join(work, 'etc/sources.list')}`,
    `-o`,
    `Dir::Etc::SourceParts=${join(work, 'etc/sources.list.d')}`,
    `-o`,
    `Dir::Etc::Preferences=${join(work, 'etc/preferences')}`,
    `-o`,
    `Dir::Etc::PreferencesParts=${join(work, 'etc/preferences.d')}`,
    `-o`,
    `APT::Architecture=${arch}`,
    `-o`,
    `APT::Architectures::=${arch}`,
    `-o`,
    'Acquire::Languages=none',
    `-o`,
    'Debug::NoLocking=1',
  ];
  execFileSync('apt-get', [...opts, '-qq', 'update'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const out = execFileSync(
    'apt-get',
    [...opts, 'install', '--simulate', '--no-install-recommends', '-y', ...packages],
    {
      env: { ...process.env, LC_ALL: 'C' },
    },
  ).toString('utf8');
  const picked = new Map<string, string>();
  for (const m of out.matchAll(/^Inst (\S+) \((\S+) ([^)]*)\)/gm)) {
    const name = (m[1] as string).replace(/:[a-z0-9]+$/, '');
    picked.set(name, m[2] as string);
  }
  assert.ok(suites.length > 0);
  return picked;
}

describe('the host archive [live]', () => {
  it('locks python3 + ca-certificates on bookworm like apt-get --simulate on an empty status, amd64 and arm64 [live]', {
    skip: skipLive,
    timeout: 600_000,
  }, async () => {
    const dir = tempDir('imprint-lock-live-');
    const suites = ['bookworm', 'bookworm-updates', 'bookworm-security'];
    writeFileSync(
      join(dir, 'imprint.yaml'),
      [
        'version: 1',
        'platforms: [linux/amd64, linux/arm64]',
        'sources:',
        '  - suites: [bookworm, bookworm-updates]',
        '  - suites: [bookworm-security]',
        'packages: [python3, ca-certificates]',
        '',
      ].join('\n'),
    );
    const { lock } = await createLock({
      loaded: await loadSpec(dir),
      cacheDir: tempDir('imprint-lock-live-cache-'),
      now: new Date(),
    });
    for (const arch of ['amd64', 'arm64']) {
      const apt = aptSimulate(['python3', 'ca-certificates'], arch, suites);
      const ours = new Map((lock.platforms[`linux/${arch}`] ?? []).map((p) => [p.name, p.version]));
      assert.ok(ours.size > 10, `${arch}: ${ours.size} packages`);
      assert.deepEqual([...ours.entries()].sort(), [...apt.entries()].sort(), `linux/${arch} vs apt-get`);
    }
  });
});
