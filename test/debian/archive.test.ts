import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { findAptSource } from '../../src/debian/apt-sources.js';
import { type ArchiveSource, type OpenArchiveOptions, openArchive } from '../../src/debian/archive.js';
import { type Keyring, loadKeyring, resolveKeyring } from '../../src/debian/keyring.js';
import { sha256 } from '../../src/digest/index.js';
import { isImprintError } from '../../src/errors.js';
import { createFetcher } from '../../src/net/http.js';
import { createDebRepo, type DebPackageSpec, type DebRepo, generateTestKey } from '../helpers/debrepo.js';

const PACKAGES: DebPackageSpec[] = [
  {
    name: 'hello',
    version: '2.10-3',
    depends: 'libc6 (>= 2.34), base-files',
    files: { '/usr/bin/hello': '#!/bin/sh\necho hello\n' },
  },
  { name: 'libc6', version: '2.36-9', multiArch: 'same', provides: 'libc-any' },
  { name: 'base-files', version: '12.4', architecture: 'all', essential: true },
];

const fetcher = createFetcher({ backoffMs: 1, random: () => 0.5 });
const now = (): Date => new Date();
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function cacheDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'imprint-archive-cache-'));
  dirs.push(d);
  return d;
}

function source(repo: DebRepo, keyring: Keyring, extra: Partial<ArchiveSource> = {}): ArchiveSource {
  return { sourceIndex: 0, url: repo.url, suite: repo.suite, components: ['main'], keyring, ...extra };
}

function options(cache: string, extra: Partial<OpenArchiveOptions> = {}): OpenArchiveOptions {
  return { cacheDir: cache, fetcher, now: now(), ...extra };
}

/** Every file under the cache, relative to it, sorted. */
function cacheFiles(cache: string): string[] {
  return (
    readdirSync(cache, { recursive: true, withFileTypes: true }) as Array<{
      isFile(): boolean;
      parentPath?: string;
      path?: string;
      name: string;
    }>
  )
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath ?? e.path ?? '', e.name).slice(cache.length + 1))
    .sort();
}

describe('openArchive', () => {
  let repo: DebRepo;
  let keyring: Keyring;

  before(async () => {
    repo = await createDebRepo({ packages: PACKAGES, architectures: ['amd64', 'arm64'] });
    keyring = await loadKeyring(repo.keyringPath);
  });
  after(() => repo.close());

  it('verifies InRelease, then reads and caches the Packages indexes', async () => {
    const cache = cacheDir();
    repo.requests.length = 0;
    const archive = await openArchive(source(repo, keyring), options(cache));
    assert.equal(archive.releaseSha256, repo.inReleaseSha256());
    assert.deepEqual(archive.signers, [repo.key.fingerprint]);
    assert.equal(archive.release.suite, repo.suite);
    const amd64 = await archive.packages('amd64', 'main');
    assert.deepEqual(
      amd64.map((r) => `${r.name}/${r.architecture}`),
      ['hello/amd64', 'libc6/amd64', 'base-files/all'],
    );
    const hello = amd64[0];
    assert.equal(hello?.sha256, repo.deb('hello').sha256);
    assert.equal(archive.fileUrl(hello?.filename ?? ''), `${repo.url}/${repo.deb('hello').filename}`);
    assert.deepEqual(hello?.repo, {
      sourceIndex: 0,
      url: repo.url,
      suite: repo.suite,
      component: 'main',
      arch: 'amd64',
    });
    assert.equal(await archive.packages('amd64', 'main'), amd64, 'memoized');
    const arm64 = await archive.packages('arm64', 'main');
    assert.deepEqual(
      arm64.map((r) => r.name),
      ['base-files'],
    );
    assert.deepEqual(
      repo.requests.map((r) => r.path),
      [
        `/dists/${repo.suite}/InRelease`,
        repo.indexPath('main', 'amd64', '.xz'),
        repo.indexPath('main', 'arm64', '.xz'),
      ],
    );
    // Cached: the verified InRelease by its hash, the decompressed indexes by the Release's hashes,
    // and the scan of each index under the same hash.
    const plain = archive.release.sha256.get('main/binary-amd64/Packages');
    const files = cacheFiles(cache);
    assert.ok(files.includes(`blobs/sha256/${archive.releaseSha256}`));
    assert.ok(files.includes(`blobs/sha256/${plain?.sha256}`));
    assert.ok(files.includes(`debian/packages-scan/${plain?.sha256}.scan`));
    assert.equal(files.filter((f) => f.includes('tmp')).length, 0);

    // fresh(): the same verified suite, nothing memoized, no request
    repo.requests.length = 0;
    const again = archive.fresh();
    assert.equal(again.releaseSha256, archive.releaseSha256);
    assert.equal(again.release, archive.release);
    const reloaded = await again.packages('amd64', 'main');
    assert.notEqual(reloaded, amd64);
    assert.deepEqual(
      reloaded.map((r) => `${r.name} ${r.version} ${r.sha256}`),
      amd64.map((r) => `${r.name} ${r.version} ${r.sha256}`),
    );
    assert.deepEqual(repo.requests, []);
  });

  it('works offline from a warm cache without a single request, and fails OFFLINE from a cold one', async () => {
    const cache = cacheDir();
    const online = await openArchive(source(repo, keyring), options(cache));
    await online.packages('amd64', 'main');
    repo.requests.length = 0;
    const offline = await openArchive(source(repo, keyring), options(cache, { offline: true }));
    assert.equal(offline.releaseSha256, online.releaseSha256);
    assert.equal((await offline.packages('amd64', 'main')).length, 3);
    await assert.rejects(offline.packages('arm64', 'main'), (e) => isImprintError(e, 'OFFLINE'));
    const pinned = await openArchive(
      source(repo, keyring),
      options(cache, { offline: true, releaseSha256: online.releaseSha256 }),
    );
    assert.equal(pinned.releaseSha256, online.releaseSha256);
    await assert.rejects(
      openArchive(source(repo, keyring), options(cache, { offline: true, releaseSha256: 'f'.repeat(64) })),
      (e) => isImprintError(e, 'OFFLINE'),
    );
    await assert.rejects(openArchive(source(repo, keyring), options(cacheDir(), { offline: true })), (e) =>
      isImprintError(e, 'OFFLINE'),
    );
    assert.equal(repo.requests.length, 0);
  });

  it('removes a damaged cached Packages index and fetches it again; offline, OFFLINE says it was removed', async () => {
    const cache = cacheDir();
    const online = await openArchive(source(repo, keyring), options(cache));
    await online.packages('amd64', 'main');
    const plain = online.release.sha256.get('main/binary-amd64/Packages');
    const file = join(cache, 'blobs', 'sha256', plain?.sha256 ?? '');
    const bytes = readFileSync(file);
    bytes[10] = (bytes[10] as number) ^ 0xff; // same size: a writer would take it as present
    rmSync(file);
    writeFileSync(file, bytes);
    const offline = await openArchive(source(repo, keyring), options(cache, { offline: true }));
    await assert.rejects(
      offline.packages('amd64', 'main'),
      (e) => isImprintError(e, 'OFFLINE') && /no longer matched the Release and was removed/.test(e.message),
    );
    assert.equal(existsSync(file), false);
    writeFileSync(file, bytes); // damaged again; online it is fetched again
    const again = await openArchive(source(repo, keyring), options(cache));
    assert.equal((await again.packages('amd64', 'main')).length, 3);
    assert.equal(sha256(readFileSync(file)), `sha256:${plain?.sha256}`);
  });

  it('removes a damaged cached Release and fetches the pinned one again; offline it is not cached', async () => {
    const cache = cacheDir();
    const online = await openArchive(source(repo, keyring), options(cache));
    const file = join(cache, 'blobs', 'sha256', online.releaseSha256);
    const bytes = readFileSync(file);
    bytes[100] = (bytes[100] as number) ^ 0xff;
    rmSync(file);
    writeFileSync(file, bytes);
    const pinned = { releaseSha256: online.releaseSha256, pinned: true };
    await assert.rejects(
      openArchive(source(repo, keyring), options(cache, { offline: true, ...pinned })),
      (e) => isImprintError(e, 'OFFLINE'),
    );
    assert.equal(existsSync(file), false);
    writeFileSync(file, bytes);
    const again = await openArchive(source(repo, keyring), options(cache, pinned));
    assert.equal(again.releaseSha256, online.releaseSha256);
    assert.equal(sha256(readFileSync(file)), `sha256:${online.releaseSha256}`);
  });

  it('re-verifies the cached Release on every use: a swapped pointer does not make unsigned bytes trusted', async () => {
    const cache = cacheDir();
    await openArchive(source(repo, keyring), options(cache));
    const pointerDir = join(cache, 'debian', 'release');
    const [pointerName] = readdirSync(pointerDir);
    const pointerFile = join(pointerDir, pointerName as string);
    const unsigned = readFileSync(join(repo.dir, 'dists', repo.suite, 'Release'));
    const hex = sha256(unsigned).slice(7);
    writeFileSync(join(cache, 'blobs', 'sha256', hex), unsigned);
    writeFileSync(
      pointerFile,
      JSON.stringify({ ...JSON.parse(readFileSync(pointerFile, 'utf8')), sha256: hex }),
    );
    await assert.rejects(openArchive(source(repo, keyring), options(cache, { offline: true })), (e) =>
      isImprintError(e, 'SIGNATURE_INVALID'),
    );
    // And the keyring is consulted again: another keyring refuses the genuine cached InRelease.
    const genuine = await openArchive(source(repo, keyring), options(cache));
    const other = await loadKeyring(generateTestKey('imprint other <o@invalid>').keyringPath);
    await assert.rejects(
      openArchive(
        source(repo, other),
        options(cache, { offline: true, releaseSha256: genuine.releaseSha256 }),
      ),
      (e) => isImprintError(e, 'SIGNATURE_INVALID'),
    );
  });

  it('refuses a tampered InRelease and a wrong key with SIGNATURE_INVALID, caching nothing', async () => {
    const cache = cacheDir();
    repo.override(`/dists/${repo.suite}/InRelease`, { body: repo.tamperedInRelease() });
    try {
      await assert.rejects(openArchive(source(repo, keyring), options(cache)), (e) =>
        isImprintError(e, 'SIGNATURE_INVALID'),
      );
    } finally {
      repo.clearOverrides();
    }
    const wrong = await loadKeyring(generateTestKey('imprint wrong <w@invalid>').keyringPath);
    await assert.rejects(openArchive(source(repo, wrong), options(cache)), (e) =>
      isImprintError(e, 'SIGNATURE_INVALID'),
    );
    assert.deepEqual(cacheFiles(cache), []);
  });

  it('names the host keyring that holds an unknown signer (a trixie Release with only bookworm keys), else says where to get it', async () => {
    const wrong = await loadKeyring(generateTestKey('imprint wrong <w@invalid>').keyringPath);
    const hostDir = cacheDir();
    writeFileSync(join(hostDir, 'unrelated.gpg'), readFileSync(generateTestKey().keyringPath));
    writeFileSync(join(hostDir, 'not-a-keyring.gpg'), 'junk');
    cpSync(repo.keyringPath, join(hostDir, 'archive-2025.gpg'));
    await assert.rejects(
      openArchive(
        source(repo, wrong),
        options(cacheDir(), { keyringDirs: [hostDir, join(hostDir, 'none')] }),
      ),
      (e) =>
        isImprintError(e, 'SIGNATURE_INVALID') &&
        (e.hint ?? '').includes(`set \`keyring: ${join(hostDir, 'archive-2025.gpg')}\` on the source`) &&
        (e.hint ?? '').includes('imprint test <test@invalid>') &&
        !(e.hint ?? '').includes('unrelated') &&
        (e.details.keyringsHolding as string[]).length === 1,
    );
    rmSync(join(hostDir, 'archive-2025.gpg'));
    await assert.rejects(
      openArchive(source(repo, wrong), options(cacheDir(), { keyringDirs: [hostDir] })),
      (e) =>
        isImprintError(e, 'SIGNATURE_INVALID') &&
        /neither .* nor any keyring in .* holds/.test(e.hint ?? '') &&
        (e.hint ?? '').includes('set `keyring:` on the source'),
    );
  });

  it('falls back to Release + Release.gpg when there is no InRelease', async () => {
    const cache = cacheDir();
    repo.override(`/dists/${repo.suite}/InRelease`, { status: 404 });
    repo.requests.length = 0;
    try {
      const archive = await openArchive(source(repo, keyring), options(cache));
      const release = readFileSync(join(repo.dir, 'dists', repo.suite, 'Release'));
      assert.equal(archive.releaseSha256, sha256(release).slice(7));
      assert.deepEqual(
        repo.requests.map((r) => r.path),
        [
          `/dists/${repo.suite}/InRelease`,
          `/dists/${repo.suite}/Release`,
          `/dists/${repo.suite}/Release.gpg`,
        ],
      );
      // The detached form works offline too (the signature is cached beside it).
      await archive.packages('amd64', 'main');
      const offline = await openArchive(source(repo, keyring), options(cache, { offline: true }));
      assert.equal(offline.releaseSha256, archive.releaseSha256);
      // A Release that does not match Release.gpg is refused.
      repo.override(`/dists/${repo.suite}/Release`, {
        body: release.toString('utf8').replace('Imprint Test', 'Imprint Tesu'),
      });
      await assert.rejects(openArchive(source(repo, keyring), options(cacheDir())), (e) =>
        isImprintError(e, 'SIGNATURE_INVALID'),
      );
      // An unsigned archive (a Release, nothing signed) says so, rather than reporting a 404.
      repo.clearOverrides();
      repo.override(`/dists/${repo.suite}/InRelease`, { status: 404 });
      repo.override(`/dists/${repo.suite}/Release.gpg`, { status: 404 });
      await assert.rejects(
        openArchive(source(repo, keyring), options(cacheDir())),
        (e) =>
          isImprintError(e, 'SIGNATURE_INVALID') &&
          /is not signed/.test(e.message) &&
          /keyring/.test(e.hint ?? ''),
      );
      repo.override(`/dists/${repo.suite}/Release`, { status: 404 });
      await assert.rejects(openArchive(source(repo, keyring), options(cacheDir())), (e) =>
        isImprintError(e, 'INDEX_NOT_FOUND'),
      );
    } finally {
      repo.clearOverrides();
    }
  });

  it('refuses a Release of another suite', async () => {
    cpSync(join(repo.dir, 'dists', repo.suite), join(repo.dir, 'dists', 'elsewhere'), { recursive: true });
    await assert.rejects(
      openArchive(source(repo, keyring, { suite: 'elsewhere' }), options(cacheDir())),
      (e) => isImprintError(e, 'RELEASE_INVALID'),
    );
    const byCodename = join(repo.dir, 'dists', repo.codename);
    cpSync(join(repo.dir, 'dists', repo.suite), byCodename, { recursive: true });
    await openArchive(source(repo, keyring, { suite: repo.codename }), options(cacheDir()));
  });

  it('refuses a Packages index that does not match the Release with DIGEST_MISMATCH, leaving nothing in the cache', async () => {
    const cache = cacheDir();
    const archive = await openArchive(source(repo, keyring), options(cache));
    const before = cacheFiles(cache);
    const xz = readFileSync(join(repo.dir, repo.indexPath('main', 'amd64', '.xz')));
    const flipped = Buffer.from(xz);
    const mid = flipped.length >> 1;
    flipped[mid] = (flipped[mid] as number) ^ 0x01; // same size, other bytes
    repo.override(repo.indexPath('main', 'amd64', '.xz'), { body: flipped });
    try {
      await assert.rejects(archive.packages('amd64', 'main'), (e) => isImprintError(e, 'DIGEST_MISMATCH'));
      assert.deepEqual(cacheFiles(cache), before);
      repo.override(repo.indexPath('main', 'amd64', '.xz'), { body: Buffer.concat([xz, Buffer.from('x')]) });
      await assert.rejects(archive.packages('amd64', 'main'), (e) => isImprintError(e, 'SIZE_MISMATCH'));
      assert.deepEqual(cacheFiles(cache), before);
    } finally {
      repo.clearOverrides();
    }
    assert.equal((await archive.packages('amd64', 'main')).length, 3, 'a failed load is not memoized');
  });

  it('falls back from Packages.xz to Packages.gz, and reports INDEX_NOT_FOUND when no variant exists', async () => {
    const archive = await openArchive(source(repo, keyring), options(cacheDir()));
    repo.override(repo.indexPath('main', 'amd64', '.xz'), { status: 404 });
    repo.requests.length = 0;
    try {
      assert.equal((await archive.packages('amd64', 'main')).length, 3);
      assert.deepEqual(
        repo.requests.map((r) => r.path),
        [repo.indexPath('main', 'amd64', '.xz'), repo.indexPath('main', 'amd64', '.gz')],
      );
      repo.override(repo.indexPath('main', 'arm64', '.xz'), { status: 404 });
      repo.override(repo.indexPath('main', 'arm64', '.gz'), { status: 404 });
      await assert.rejects(archive.packages('arm64', 'main'), (e) => isImprintError(e, 'INDEX_NOT_FOUND'));
      await assert.rejects(archive.packages('i386', 'main'), (e) => isImprintError(e, 'INDEX_NOT_FOUND'));
      await assert.rejects(archive.packages('amd64', 'contrib'), (e) => isImprintError(e, 'INDEX_NOT_FOUND'));
    } finally {
      repo.clearOverrides();
    }
  });

  it('retries a flaky first response', async () => {
    repo.override(`/dists/${repo.suite}/InRelease`, { status: 503, times: 1 });
    repo.requests.length = 0;
    try {
      const archive = await openArchive(source(repo, keyring), options(cacheDir()));
      assert.equal(archive.releaseSha256, repo.inReleaseSha256());
      assert.equal(repo.requests.filter((r) => r.path.endsWith('/InRelease')).length, 2);
    } finally {
      repo.clearOverrides();
    }
  });

  it('sees a republished suite online, while a pinned releaseSha256 keeps reading the old one from the cache', async () => {
    const own = await createDebRepo({ packages: PACKAGES });
    try {
      const keys = await loadKeyring(own.keyringPath);
      const cache = cacheDir();
      const first = await openArchive(source(own, keys), options(cache));
      await first.packages('amd64', 'main');
      await own.update({ packages: [...PACKAGES, { name: 'hello', version: '2.10-4' }] });
      const second = await openArchive(source(own, keys), options(cache));
      assert.notEqual(second.releaseSha256, first.releaseSha256);
      assert.deepEqual(
        (await second.packages('amd64', 'main')).filter((r) => r.name === 'hello').map((r) => r.version),
        ['2.10-3', '2.10-4'],
      );
      own.requests.length = 0;
      const pinned = await openArchive(
        source(own, keys),
        options(cache, { releaseSha256: first.releaseSha256 }),
      );
      assert.equal((await pinned.packages('amd64', 'main')).length, 3);
      assert.equal(own.requests.length, 0);
      const latest = await openArchive(source(own, keys), options(cache, { offline: true }));
      assert.equal(latest.releaseSha256, second.releaseSha256);
    } finally {
      await own.close();
    }
  });

  it('refuses a signed Release older than the one of the suite seen before (a replay), and caches nothing of it', async () => {
    const own = await createDebRepo({ packages: PACKAGES, date: new Date('2024-02-01T00:00:00Z') });
    try {
      const keys = await loadKeyring(own.keyringPath);
      const cache = cacheDir();
      const current = await openArchive(source(own, keys), options(cache));
      // The older state of the suite, as validly signed as it was then.
      await own.update({ packages: PACKAGES.slice(1), date: new Date('2024-01-15T00:00:00Z') });
      await assert.rejects(
        openArchive(source(own, keys), options(cache)),
        (e: unknown) =>
          isImprintError(e, 'RELEASE_INVALID') &&
          e.message.startsWith(
            `${own.url}/dists/${own.suite}/InRelease: Date 2024-01-15T00:00:00.000Z is older than 2024-02-01T00:00:00.000Z`,
          ) &&
          e.message.includes(current.releaseSha256),
      );
      const offline = await openArchive(source(own, keys), options(cache, { offline: true }));
      assert.equal(offline.releaseSha256, current.releaseSha256, 'the pointer still names the newer Release');
      // A lock that pins the older Release by its sha256 still reads it.
      const older = own.inReleaseSha256();
      const pinned = await openArchive(
        source(own, keys),
        options(cache, { releaseSha256: older, pinned: true }),
      );
      assert.equal(pinned.releaseSha256, older);
      // The archive moving on is fine.
      await own.update({ packages: PACKAGES, date: new Date('2024-03-01T00:00:00Z') });
      const newer = await openArchive(source(own, keys), options(cache));
      assert.equal(newer.releaseSha256, own.inReleaseSha256());
    } finally {
      await own.close();
    }
  });

  it('pinned: uses exactly the pinned Release, from the source or a mirror root, else RELEASE_CHANGED; looks names up', async () => {
    const own = await createDebRepo({ packages: PACKAGES });
    const mirror = mkdtempSync(join(tmpdir(), 'imprint-mirror-'));
    try {
      const keys = await loadKeyring(own.keyringPath);
      const first = await openArchive(source(own, keys), options(cacheDir()));
      cpSync(own.dir, mirror, { recursive: true });
      const pin = { releaseSha256: first.releaseSha256, pinned: true };
      // Still served: found at the source, and a lookup reads just the names asked for.
      const pinned = await openArchive(source(own, keys), options(cacheDir(), pin));
      assert.equal(pinned.releaseSha256, first.releaseSha256);
      assert.deepEqual(
        (await pinned.lookup('amd64', 'main', new Set(['hello', 'nope']))).map(
          (r) => `${r.name} ${r.version}`,
        ),
        ['hello 2.10-3'],
      );
      await own.update({ packages: [...PACKAGES, { name: 'hello', version: '2.10-4' }] });
      // Republished: not at the source any more, RELEASE_CHANGED naming where it looked ...
      await assert.rejects(
        openArchive(source(own, keys), options(cacheDir(), pin)),
        (e) => isImprintError(e, 'RELEASE_CHANGED') && e.message.includes(first.releaseSha256),
      );
      // ... but a mirror root keeps it, and its indexes come from there.
      const cache = cacheDir();
      const fromMirror = await openArchive(
        source(own, keys),
        options(cache, { ...pin, mirrors: [`file://${mirror}`] }),
      );
      assert.equal(fromMirror.releaseSha256, first.releaseSha256);
      assert.deepEqual(
        (await fromMirror.lookup('amd64', 'main', new Set(['hello']))).map((r) => r.version),
        ['2.10-3'],
      );
      // The suite's pointer still names the newest Release seen (none here: the pinned one is not it).
      await assert.rejects(openArchive(source(own, keys), options(cache, { offline: true })), (e) =>
        isImprintError(e, 'OFFLINE'),
      );
    } finally {
      await own.close();
      rmSync(mirror, { recursive: true, force: true });
    }
  });

  it('reads a file: archive URL', async () => {
    const archive = await openArchive(
      source(repo, keyring, { url: `file://${repo.dir}` }),
      options(cacheDir()),
    );
    const recs = await archive.packages('amd64', 'main');
    assert.equal(recs[0]?.repo.url, `file://${repo.dir}`);
    assert.equal(archive.fileUrl('pool/x.deb'), `file://${repo.dir}/pool/x.deb`);
  });
});

describe('openArchive with Valid-Until and Acquire-By-Hash', () => {
  it('refuses an expired Valid-Until unless check-valid-until is false', async () => {
    const repo = await createDebRepo({
      packages: PACKAGES,
      date: new Date('2024-01-01T00:00:00Z'),
      validUntil: new Date('2024-01-08T00:00:00Z'),
    });
    try {
      const keyring = await loadKeyring(repo.keyringPath);
      const cache = cacheDir();
      await assert.rejects(openArchive(source(repo, keyring), options(cache)), (e) =>
        isImprintError(e, 'RELEASE_EXPIRED'),
      );
      assert.deepEqual(cacheFiles(cache), []);
      const snapshot = await openArchive(source(repo, keyring, { checkValidUntil: false }), options(cache));
      assert.equal(snapshot.release.validUntil?.toISOString(), '2024-01-08T00:00:00.000Z');
      // Offline use judges Valid-Until again, at the caller's `now`.
      await assert.rejects(openArchive(source(repo, keyring), options(cache, { offline: true })), (e) =>
        isImprintError(e, 'RELEASE_EXPIRED'),
      );
    } finally {
      await repo.close();
    }
  });

  it('refuses a Release dated in the future unless check-date is false, and a pinned one whatever its dates', async () => {
    const date = new Date(Math.floor(Date.now() / 1000) * 1000 + 2 * 86_400_000);
    const repo = await createDebRepo({ packages: PACKAGES, date });
    try {
      const keyring = await loadKeyring(repo.keyringPath);
      const cache = cacheDir();
      await assert.rejects(openArchive(source(repo, keyring), options(cache)), (e) =>
        isImprintError(e, 'RELEASE_NOT_YET_VALID'),
      );
      assert.deepEqual(cacheFiles(cache), []);
      const ahead = await openArchive(source(repo, keyring, { checkDate: false }), options(cache));
      assert.equal(ahead.release.date?.toISOString(), date.toISOString());
      // Judged again offline, at the caller's `now`; not for a Release a lock pins, nor with checkDates false.
      await assert.rejects(openArchive(source(repo, keyring), options(cache, { offline: true })), (e) =>
        isImprintError(e, 'RELEASE_NOT_YET_VALID'),
      );
      const pin = { releaseSha256: ahead.releaseSha256, pinned: true };
      await openArchive(source(repo, keyring), options(cache, pin));
      await openArchive(source(repo, keyring), options(cache, { offline: true, checkDates: false }));
    } finally {
      await repo.close();
    }
  });

  it('uses by-hash URLs when the Release offers Acquire-By-Hash, falling back to the plain path', async () => {
    const repo = await createDebRepo({ packages: PACKAGES, acquireByHash: true, indexFiles: ['gz'] });
    try {
      const keyring = await loadKeyring(repo.armoredKeyringPath);
      const archive = await openArchive(source(repo, keyring), options(cacheDir()));
      assert.equal(archive.release.acquireByHash, true);
      repo.requests.length = 0;
      assert.equal((await archive.packages('amd64', 'main')).length, 3);
      const gz = archive.release.sha256.get('main/binary-amd64/Packages.gz');
      assert.deepEqual(
        repo.requests.map((r) => r.path),
        [`/dists/${repo.suite}/main/binary-amd64/by-hash/SHA256/${gz?.sha256}`],
      );

      const again = await openArchive(source(repo, keyring), options(cacheDir()));
      repo.override(`/dists/${repo.suite}/main/binary-amd64/by-hash/SHA256/${gz?.sha256}`, { status: 404 });
      repo.requests.length = 0;
      assert.equal((await again.packages('amd64', 'main')).length, 3);
      assert.deepEqual(
        repo.requests.map((r) => r.path),
        [
          `/dists/${repo.suite}/main/binary-amd64/by-hash/SHA256/${gz?.sha256}`,
          repo.indexPath('main', 'amd64', '.gz'),
        ],
      );
    } finally {
      await repo.close();
    }
  });

  it('reads an empty index', async () => {
    const repo = await createDebRepo({ packages: PACKAGES, components: ['main', 'contrib'] });
    try {
      const archive = await openArchive(
        source(repo, await loadKeyring(repo.keyringPath)),
        options(cacheDir()),
      );
      assert.deepEqual(await archive.packages('amd64', 'contrib'), []);
      assert.equal(archive.release.sha256.get('contrib/binary-amd64/Packages')?.size, 0);
    } finally {
      await repo.close();
    }
  });

  it('accepts a security-style Release whose Components say updates/main', async () => {
    const repo = await createDebRepo({ packages: PACKAGES, releaseComponents: ['updates/main'] });
    try {
      const archive = await openArchive(
        source(repo, await loadKeyring(repo.keyringPath)),
        options(cacheDir()),
      );
      assert.deepEqual(archive.release.components, ['updates/main']);
      assert.equal((await archive.packages('amd64', 'main')).length, 3);
      await assert.rejects(archive.packages('amd64', 'contrib'), (e) => isImprintError(e, 'INDEX_NOT_FOUND'));
    } finally {
      await repo.close();
    }
  });

  it('serves an uncompressed-only archive', async () => {
    const repo = await createDebRepo({ packages: PACKAGES, indexFiles: ['plain'] });
    try {
      const archive = await openArchive(
        source(repo, await loadKeyring(repo.keyringPath)),
        options(cacheDir()),
      );
      assert.equal((await archive.packages('amd64', 'main')).length, 3);
    } finally {
      await repo.close();
    }
  });
});

describe('the host archive [live]', () => {
  const live = process.env.IMPRINT_LIVE === '1';
  it("fetches and verifies bookworm's InRelease and main/amd64 Packages through the host apt source and keyring [live]", {
    skip: live ? false : 'skipped: set IMPRINT_LIVE=1 to reach the network',
    timeout: 600_000,
  }, async () => {
    const apt = await findAptSource('bookworm');
    const keyring = await resolveKeyring({ aptKeyrings: apt.keyrings, aptArmoredKey: apt.keyringArmored });
    const cache = cacheDir();
    const archive = await openArchive(
      {
        sourceIndex: 0,
        url: apt.url,
        suite: 'bookworm',
        components: ['main'],
        keyring,
        checkValidUntil: apt.checkValidUntil ?? true,
      },
      { cacheDir: cache, fetcher: createFetcher(), now: new Date() },
    );
    assert.ok(archive.signers.length >= 1);
    const recs = await archive.packages('amd64', 'main');
    assert.ok(recs.length > 50_000, `only ${recs.length} records`);
    assert.ok(recs.some((r) => r.name === 'base-files' && r.essential));
    assert.ok(existsSync(join(cache, 'blobs', 'sha256', archive.releaseSha256)));
    // The security suite lives elsewhere and spells its components `updates/main`.
    const secApt = await findAptSource('bookworm-security');
    const security = await openArchive(
      {
        sourceIndex: 1,
        url: secApt.url,
        suite: 'bookworm-security',
        components: ['main'],
        keyring: await resolveKeyring({ aptKeyrings: secApt.keyrings, aptArmoredKey: secApt.keyringArmored }),
        checkValidUntil: secApt.checkValidUntil ?? true,
      },
      { cacheDir: cache, fetcher: createFetcher(), now: new Date() },
    );
    assert.ok((await security.packages('amd64', 'main')).length > 100);
  });
});
