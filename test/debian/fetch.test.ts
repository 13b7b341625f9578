import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import {
  checkTemplates,
  expandTemplate,
  type FetchablePackage,
  type FetchProgress,
  fetchPackages,
} from '../../src/debian/fetch.js';
import { isImprintError } from '../../src/errors.js';
import { createFetcher, type Fetcher } from '../../src/net/http.js';
import { BlobStore } from '../../src/store/index.js';
import { createDebRepo, type DebRepo } from '../helpers/debrepo.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const fetcher = createFetcher({ backoffMs: 1, random: () => 0.5 });
const tempDir = tempDirs('imprint-fetch-');

/** Incompressible but reproducible bytes (a sha256 chain), so the .deb is as large as its content. */
function noise(size: number): Uint8Array {
  const out = Buffer.alloc(size);
  let block = createHash('sha256').update('seed').digest();
  for (let o = 0; o < size; o += block.length) {
    block.copy(out, o);
    block = createHash('sha256').update(block).digest();
  }
  return out;
}

function newStore(): BlobStore {
  return new BlobStore(tempDir('imprint-fetch-store-'));
}

/** Files in the store's blob and temp directories (nothing else may appear). */
function storeFiles(store: BlobStore): { blobs: string[]; tmp: string[] } {
  const list = (d: string): string[] => {
    try {
      return readdirSync(d).sort();
    } catch {
      return [];
    }
  };
  return { blobs: list(join(store.root, 'blobs', 'sha256')), tmp: list(store.tmpDir) };
}

describe('fetchPackages', () => {
  let repo: DebRepo;
  let pkgs: FetchablePackage[];
  const debRequests = (): string[] => repo.requests.filter((r) => r.path.endsWith('.deb')).map((r) => r.path);

  before(async () => {
    repo = await createDebRepo({
      packages: [
        {
          name: 'hello',
          version: '1:2.10-3',
          files: [{ path: '/usr/bin/hello', content: noise(64 * 1024), mode: 0o755 }],
        },
        { name: 'libhello', version: '2.10-3', files: { '/usr/lib/libhello.so': 'lib\n'.repeat(3000) } },
        {
          name: 'hello-data',
          version: '2.10-3',
          architecture: 'all',
          files: { '/usr/share/hello/data': 'data' },
        },
      ],
    });
    pkgs = repo.debs.map((d) => ({
      name: d.name,
      version: d.version,
      architecture: d.architecture,
      filename: d.filename,
      size: d.size,
      sha256: d.sha256,
      url: repo.url,
    }));
  });
  after(() => repo.close());

  it('downloads every package into the store as sha256:<hex>, verified; a second run fetches nothing', async () => {
    const store = newStore();
    const seen: FetchProgress[] = [];
    repo.requests.length = 0;
    const result = await fetchPackages([...pkgs, ...pkgs], {
      store,
      fetcher,
      onProgress: (p) => seen.push(p),
    });
    const totalBytes = pkgs.reduce((n, p) => n + p.size, 0);
    assert.deepEqual(result, { fetched: 3, cached: 0, bytes: totalBytes, warnings: [] });
    assert.equal(debRequests().length, 3);
    for (const p of pkgs) {
      const body = readFileSync(store.path(`sha256:${p.sha256}`));
      assert.ok(body.equals(readFileSync(join(repo.dir, p.filename))), p.name);
    }
    assert.deepEqual(storeFiles(store), { blobs: pkgs.map((p) => p.sha256).sort(), tmp: [] });
    assert.deepEqual(seen[0], { done: 0, total: 3, bytes: 0, totalBytes });
    assert.deepEqual(seen[seen.length - 1], { done: 3, total: 3, bytes: totalBytes, totalBytes });

    repo.requests.length = 0;
    assert.deepEqual(await fetchPackages(pkgs, { store, fetcher }), {
      fetched: 0,
      cached: 3,
      bytes: 0,
      warnings: [],
    });
    assert.deepEqual(repo.requests, []);
  });

  it('fetches again a cached .deb of another size (a truncated file a killed cache copy left)', async () => {
    const store = newStore();
    await fetchPackages(pkgs, { store, fetcher });
    const p = pkgs[0]!;
    const file = store.path(`sha256:${p.sha256}`);
    const whole = readFileSync(file);
    rmSync(file);
    writeFileSync(file, whole.subarray(0, 1000));
    repo.requests.length = 0;
    const result = await fetchPackages(pkgs, { store, fetcher });
    assert.deepEqual([result.fetched, result.cached], [1, 2]);
    assert.deepEqual(debRequests(), [`/${p.filename}`]);
    assert.ok(readFileSync(file).equals(whole));
  });

  it('refuses a .deb whose bytes differ from the lock and leaves nothing in the store', async () => {
    const store = newStore();
    const p = pkgs[0]!;
    const bad = readFileSync(join(repo.dir, p.filename));
    bad[100] = (bad[100] as number) ^ 0xff; // same size, other bytes
    repo.override(`/${p.filename}`, { body: bad });
    try {
      await assert.rejects(fetchPackages([p], { store, fetcher }), (err: unknown) => {
        assert.ok(isImprintError(err, 'DIGEST_MISMATCH'), String(err));
        assert.match(err.message, new RegExp(p.filename.replace(/[+.]/g, '\\$&')));
        return true;
      });
      assert.equal(await store.has(`sha256:${p.sha256}`), false);
      assert.deepEqual(storeFiles(store), { blobs: [], tmp: [] });

      // a shorter file is refused as well (here before its body is read: Content-Length)
      repo.override(`/${p.filename}`, { body: bad.subarray(0, bad.length - 100) });
      await assert.rejects(fetchPackages([p], { store, fetcher }), (err: unknown) =>
        isImprintError(err, 'SIZE_MISMATCH'),
      );
      assert.deepEqual(storeFiles(store), { blobs: [], tmp: [] });
    } finally {
      repo.clearOverrides();
    }
  });

  it('moves on from a source that serves the wrong file, and reports it', async () => {
    const store = newStore();
    const p = pkgs[1]!;
    repo.override(`/mirror/${p.filename}`, { body: readFileSync(join(repo.dir, pkgs[0]!.filename)) });
    try {
      const result = await fetchPackages([p], {
        store,
        fetcher,
        templates: ['{url}/mirror/{filename}', '{url}/{filename}'],
      });
      assert.equal(result.fetched, 1);
      assert.equal(result.warnings.length, 1);
      assert.match(result.warnings[0]!, new RegExp(`${repo.url}/mirror/`));
      assert.match(result.warnings[0]!, /wrong file/);
      assert.equal(await store.has(`sha256:${p.sha256}`), true);
      assert.deepEqual(storeFiles(store).tmp, []);
    } finally {
      repo.clearOverrides();
    }
  });

  it('asks an unreachable source once, not once per package, and warns once', async () => {
    const store = newStore();
    const requests: string[] = [];
    const counting = createFetcher({
      retries: 1,
      backoffMs: 1,
      onRequest: (r) => requests.push(r.url),
      proxy: { noProxy: [] },
    });
    const result = await fetchPackages(pkgs, {
      store,
      fetcher: counting,
      templates: ['http://127.0.0.1:1/{filename}', '{url}/{filename}'],
      concurrency: 1,
    });
    assert.equal(result.fetched, pkgs.length);
    const dead = requests.filter((u) => u.startsWith('http://127.0.0.1:1/'));
    assert.equal(dead.length, 2, 'one package asked it, with one retry; the others skipped it');
    assert.equal(result.warnings.length, 1, result.warnings.join('\n'));
    assert.match(result.warnings[0]!, /fetch source http:\/\/127\.0\.0\.1:1 could not be reached/);
  });

  it('moves on silently from a source that does not have the file (404)', async () => {
    const store = newStore();
    const result = await fetchPackages(pkgs, {
      store,
      fetcher,
      templates: ['{url}/nowhere/{filename}', '{url}/{filename}'],
    });
    assert.deepEqual(result.warnings, []);
    assert.equal(result.fetched, 3);
  });

  it('fails when no source serves the locked bytes, naming every URL tried', async () => {
    const store = newStore();
    const p = pkgs[0]!;
    await assert.rejects(
      fetchPackages([p], { store, fetcher, templates: ['{url}/a/{filename}', '{url}/b/{filename}'] }),
      (err: unknown) => {
        assert.ok(isImprintError(err, 'HTTP_STATUS'), String(err));
        assert.deepEqual(
          (err.details.attempts as Array<{ url: string }>).map((a) => a.url),
          [`${repo.url}/a/${p.filename}`, `${repo.url}/b/${p.filename}`],
        );
        return true;
      },
    );
    // a wrong file anywhere makes it a DIGEST_MISMATCH, whatever the last source said
    repo.override(`/a/${p.filename}`, { body: readFileSync(join(repo.dir, p.filename)).fill(0, 0, 8) });
    try {
      await assert.rejects(
        fetchPackages([p], { store, fetcher, templates: ['{url}/a/{filename}', '{url}/b/{filename}'] }),
        (err: unknown) => isImprintError(err, 'DIGEST_MISMATCH'),
      );
    } finally {
      repo.clearOverrides();
    }
    assert.deepEqual(storeFiles(store), { blobs: [], tmp: [] });
  });

  it('reads a local directory through a file:// template ({filename} and {sha256} layouts), without HTTP', async () => {
    const byHash = tempDir();
    for (const p of pkgs) copyFileSync(join(repo.dir, p.filename), join(byHash, p.sha256));
    repo.requests.length = 0;
    const store = newStore();
    const r1 = await fetchPackages(pkgs, { store, fetcher, templates: [`file://${byHash}/{sha256}`] });
    assert.equal(r1.fetched, 3);
    const store2 = newStore();
    const r2 = await fetchPackages(pkgs, {
      store: store2,
      fetcher,
      templates: [`file://${repo.dir}/{filename}`],
    });
    assert.equal(r2.fetched, 3);
    assert.deepEqual(repo.requests, []);
    assert.deepEqual(storeFiles(store2).blobs, pkgs.map((p) => p.sha256).sort());
  });

  it('offline: everything cached means zero requests; a missing .deb is OFFLINE listing it', async () => {
    const store = newStore();
    await fetchPackages(pkgs.slice(0, 2), { store, fetcher });
    repo.requests.length = 0;
    assert.deepEqual(await fetchPackages(pkgs.slice(0, 2), { store, fetcher, offline: true }), {
      fetched: 0,
      cached: 2,
      bytes: 0,
      warnings: [],
    });
    await assert.rejects(fetchPackages(pkgs, { store, fetcher, offline: true }), (err: unknown) => {
      assert.ok(isImprintError(err, 'OFFLINE'), String(err));
      assert.deepEqual(
        (err.details.missing as Array<{ name: string }>).map((m) => m.name),
        [pkgs[2]!.name],
      );
      return true;
    });
    assert.deepEqual(repo.requests, []);
    // offline still reads a file:// source
    const local = tempDir();
    mkdirSync(join(local, 'debs'));
    copyFileSync(join(repo.dir, pkgs[2]!.filename), join(local, 'debs', pkgs[2]!.sha256));
    const r = await fetchPackages(pkgs, {
      store,
      fetcher,
      offline: true,
      templates: ['{url}/{filename}', `file://${local}/debs/{sha256}`],
    });
    assert.deepEqual(r, { fetched: 1, cached: 2, bytes: pkgs[2]!.size, warnings: [] });
    assert.deepEqual(repo.requests, []);
  });

  it('retries a flaky server with backoff', async () => {
    const store = newStore();
    const p = pkgs[0]!;
    repo.override(`/${p.filename}`, { status: 503, times: 2 });
    repo.requests.length = 0;
    try {
      const result = await fetchPackages([p], { store, fetcher });
      assert.equal(result.fetched, 1);
      assert.deepEqual(result.warnings, []);
      assert.equal(debRequests().length, 3);
    } finally {
      repo.clearOverrides();
    }
    // a body cut in the middle is resumed with a Range request
    const store2 = newStore();
    repo.override(`/${p.filename}`, { truncateAfter: 2000, times: 1 });
    repo.requests.length = 0;
    try {
      assert.equal((await fetchPackages([p], { store: store2, fetcher })).fetched, 1);
      assert.ok(repo.requests.some((r) => r.range === 'bytes=2000-'));
    } finally {
      repo.clearOverrides();
    }
  });

  it('keeps at most `concurrency` downloads in flight', async () => {
    let inFlight = 0;
    let most = 0;
    const counting: Fetcher = {
      getBytes: fetcher.getBytes,
      async get(url, o) {
        inFlight++;
        most = Math.max(most, inFlight);
        await new Promise((r) => setTimeout(r, 20));
        const s: Readable = await fetcher.get(url, o);
        s.once('close', () => inFlight--);
        return s;
      },
    };
    await fetchPackages(pkgs, { store: newStore(), fetcher: counting, concurrency: 2 });
    assert.equal(most, 2);
  });

  it('stops on abort', async () => {
    const controller = new AbortController();
    controller.abort(new Error('stop'));
    await assert.rejects(
      fetchPackages(pkgs, { store: newStore(), fetcher, signal: controller.signal }),
      /stop/,
    );
  });
});

describe('fetch templates', () => {
  const pkg: FetchablePackage = {
    name: 'libc6',
    version: '1:2.36-9+deb12u1',
    architecture: 'amd64',
    filename: 'pool/main/g/glibc/libc6_2.36-9+deb12u1_amd64.deb',
    size: 1,
    sha256: 'ab'.repeat(32),
    url: 'http://127.0.0.1:1/debian/',
  };

  it('expands every placeholder', () => {
    assert.equal(
      expandTemplate('{url}/{filename}', pkg),
      'http://127.0.0.1:1/debian/pool/main/g/glibc/libc6_2.36-9+deb12u1_amd64.deb',
    );
    assert.equal(
      expandTemplate('http://127.0.0.1:2/by-hash/{sha256}', pkg),
      `http://127.0.0.1:2/by-hash/${'ab'.repeat(32)}`,
    );
    assert.equal(
      expandTemplate('file:///srv/{name}_{version}_{arch}.deb', pkg),
      'file:///srv/libc6_1%3A2.36-9%2Bdeb12u1_amd64.deb',
    );
  });

  it('refuses unknown placeholders and other schemes (SPEC_INVALID)', () => {
    checkTemplates(['{url}/{filename}', 'https://127.0.0.1/{sha256}', 'file:///x/{name}']);
    assert.throws(
      () => checkTemplates(['{url}/{file}']),
      (err: unknown) => isImprintError(err, 'SPEC_INVALID'),
    );
    assert.throws(
      () => checkTemplates(['ftp://127.0.0.1/{filename}']),
      (err: unknown) => isImprintError(err, 'SPEC_INVALID'),
    );
    assert.throws(
      () => checkTemplates(['/srv/{filename}']),
      (err: unknown) => isImprintError(err, 'SPEC_INVALID'),
    );
  });
});
