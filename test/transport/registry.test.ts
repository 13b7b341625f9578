// Registry transport against the real docker-registry (distribution v2.8) on 127.0.0.1, checked with skopeo.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { type Digest, sha256 } from '../../src/digest/index.js';
import { isImprintError } from '../../src/errors.js';
import { canonicalJson } from '../../src/oci/canonical-json.js';
import type { ImageSet } from '../../src/oci/image-set.js';
import { MediaType } from '../../src/oci/media-types.js';
import type { Descriptor } from '../../src/oci/types.js';
import { validateImage } from '../../src/oci/validate.js';
import { BlobStore, readBounded } from '../../src/store/index.js';
import { tarStream } from '../../src/tar/index.js';
import { parseReference, readImageSet, walkImageSet, writeImageSet } from '../../src/transport/index.js';
import {
  listReferrers,
  RegistryClient,
  type RegistryProgress,
  readRegistry,
  referrersTag,
  writeRegistry,
} from '../../src/transport/registry/index.js';
import {
  canRunRegistry,
  dropProxy,
  listTags,
  referrersProxy,
  selfSignedCert,
  startRegistry,
  type TestRegistry,
  writeCredentialHelper,
} from '../helpers/registry.js';
import { hasTool, makeImage, rejectsWith, run } from './fixtures.js';

const skip = !canRunRegistry()
  ? 'docker-registry or python3 is not installed'
  : !hasTool('skopeo')
    ? 'skopeo is not installed'
    : false;
const FAST = { backoffMs: 10, maxBackoffMs: 50, random: () => 0.5 };

let dir: string;
let store: BlobStore;
let env: NodeJS.ProcessEnv;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'imprint-registry-test-'));
  await mkdir(join(dir, 'tmp'));
  env = { ...process.env, TMPDIR: join(dir, 'tmp') };
  store = new BlobStore(join(dir, 'store'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** sha256 of what `skopeo inspect --raw` prints: the manifest bytes the registry serves. */
function skopeoDigest(ref: string, extra: string[] = []): Digest {
  const raw = run('skopeo', ['inspect', '--raw', '--tls-verify=false', ...extra, ref], { env });
  return sha256(Buffer.from(raw, 'utf8'));
}

/** Reads every blob of a set (each stream verified) and validates its images. */
async function readAll(set: ImageSet): Promise<Descriptor[]> {
  const walk = await walkImageSet(set);
  for (const d of walk.blobs) {
    const bytes = await readBounded(await set.blobs.open(d), 64 << 20, d.digest);
    assert.equal(sha256(bytes), d.digest);
  }
  await validateImage(set);
  return walk.blobs;
}

/** An image with one incompressible layer: a tar holding `size` pseudo-random bytes (deterministic). */
async function bigImage(size: number, marker: string): Promise<ImageSet> {
  const parts: Buffer[] = [];
  let seed = createHash('sha256').update(marker).digest();
  for (let n = 0; n < size; n += 32) {
    seed = createHash('sha256').update(seed).digest();
    parts.push(seed);
  }
  const data = Buffer.concat(parts).subarray(0, size);
  const entry = {
    path: 'data.bin',
    type: 'file' as const,
    mode: 0o644,
    uid: 0,
    gid: 0,
    mtime: 0,
    size,
    body: () => Readable.from([data]),
  };
  const tar = await readBounded(tarStream([entry]), 64 << 20, 'big layer');
  const layer = { mediaType: MediaType.ociLayerGzip, ...(await store.putBytes(gzipSync(tar, { level: 1 }))) };
  const config = {
    mediaType: MediaType.ociConfig,
    ...(await store.putBytes(
      canonicalJson({
        architecture: 'amd64',
        os: 'linux',
        rootfs: { type: 'layers', diff_ids: [sha256(tar)] },
      }),
    )),
  };
  const manifest = {
    mediaType: MediaType.ociManifest,
    ...(await store.putBytes(
      canonicalJson({ schemaVersion: 2, mediaType: MediaType.ociManifest, config, layers: [layer] }),
    )),
  };
  return { index: { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [manifest] }, blobs: store };
}

/** An attestation manifest whose subject is `subject` (an in-toto statement, or a `type` document). */
async function attestation(subject: Descriptor, type: string = MediaType.inToto): Promise<Descriptor> {
  const statement = {
    mediaType: type,
    ...(await store.putBytes(Buffer.from(`{"_type":"https://in-toto.io/Statement/v1","t":"${type}"}`))),
  };
  const empty = { mediaType: MediaType.ociEmpty, ...(await store.putBytes(Buffer.from('{}'))) };
  const bytes = canonicalJson({
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    artifactType: type,
    config: empty,
    layers: [statement],
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
  });
  return { mediaType: MediaType.ociManifest, ...(await store.putBytes(bytes)) };
}

const blobPuts = (reg: TestRegistry): string[] =>
  reg.requests().filter((r) => /^PUT \/v2\/.*\/blobs\/uploads\/.*digest=/.test(r));

describe('registry transport without auth', { skip }, () => {
  let reg: TestRegistry;
  before(async () => {
    reg = await startRegistry();
  });
  after(async () => {
    await reg?.stop();
  });

  it('imprint pushes a multi-platform index; skopeo reads the same digest; a second push uploads no blob', async () => {
    const img = await makeImage(store, {
      marker: 'push',
      platforms: [
        { os: 'linux', architecture: 'amd64' },
        { os: 'linux', architecture: 'arm64' },
      ],
    });
    const ref = `docker://${reg.host}/app/push:1`;
    await writeImageSet(parseReference(ref), img.set, { registry: FAST });
    assert.equal(skopeoDigest(ref), img.root.digest);
    for (const i of img.images)
      assert.equal(skopeoDigest(`docker://${reg.host}/app/push@${i.manifest.digest}`), i.manifest.digest);
    const puts = blobPuts(reg).length;
    assert.equal(puts, 4); // two configs, two layers
    const again = await writeRegistry(
      { registry: reg.host, repository: 'app/push', tag: '2' },
      img.set,
      FAST,
    );
    assert.deepEqual(again.uploaded, []);
    assert.equal(again.skipped.length, 4);
    assert.equal(blobPuts(reg).length, puts);
    assert.equal(skopeoDigest(`docker://${reg.host}/app/push:2`), img.root.digest);
  });

  it('skopeo pushes an image; imprint pulls it with the same digest, every blob verified', async () => {
    const img = await makeImage(store, { marker: 'skopeo', wrap: false });
    const layout = join(dir, 'skopeo-src');
    await writeImageSet(parseReference(`oci:${layout}:v1`), img.set);
    run(
      'skopeo',
      ['copy', '--dest-tls-verify=false', `oci:${layout}:v1`, `docker://${reg.host}/from/skopeo:v1`],
      { env },
    );
    const set = await readImageSet(parseReference(`docker://${reg.host}/from/skopeo:v1`));
    assert.equal(set.index.manifests.length, 1);
    assert.equal(set.index.manifests[0]?.digest, skopeoDigest(`docker://${reg.host}/from/skopeo:v1`));
    assert.equal(set.index.manifests[0]?.digest, img.root.digest);
    const blobs = await readAll(set);
    assert.deepEqual(
      blobs.map((b) => b.digest).sort(),
      [img.root.digest, img.images[0]!.config.digest, img.images[0]!.layers[0]!.digest].sort(),
    );
    // by digest too, and a pulled set writes to an OCI layout unchanged
    const byDigest = await readImageSet(
      parseReference(`docker://${reg.host}/from/skopeo@${img.root.digest}`),
    );
    const out = join(dir, 'pulled');
    await writeImageSet(parseReference(`oci:${out}`), byDigest);
    const back = await readImageSet(parseReference(`oci:${out}`));
    assert.equal(back.index.manifests[0]?.digest, img.root.digest);
    await readAll(back);
  });

  it('a missing tag and a missing blob are errors with codes', async () => {
    await rejectsWith(
      readImageSet(parseReference(`docker://${reg.host}/from/skopeo:nope`), { registry: FAST }),
      'REGISTRY',
    );
    const set = await readImageSet(parseReference(`docker://${reg.host}/from/skopeo:v1`));
    await rejectsWith(set.blobs.open(sha256('absent')), 'BLOB_NOT_FOUND');
  });

  it('chunked upload (PATCH) and cross-repository mount', async () => {
    const img = await makeImage(store, { marker: 'chunks', wrap: false });
    const before = reg.requests().length;
    const events: RegistryProgress[] = [];
    const r = await writeRegistry({ registry: reg.host, repository: 'chunked', tag: 'v1' }, img.set, {
      ...FAST,
      chunkSize: 100,
      onProgress: (e) => events.push(e),
    });
    const finished = events.filter((e) => e.type === 'blob' && e.done === e.size).map((e) => e.digest);
    assert.deepEqual(finished.sort(), [...r.uploaded].sort());
    assert.deepEqual(
      events.filter((e) => e.type === 'manifest').map((e) => e.type === 'manifest' && e.reference),
      ['v1'],
    );
    assert.equal(r.uploaded.length, 2);
    const patches = reg
      .requests()
      .slice(before)
      .filter((l) => l.startsWith('PATCH /v2/chunked/blobs/uploads/'));
    const layerSize = img.images[0]!.layers[0]!.size;
    const configSize = img.images[0]!.config.size;
    assert.equal(patches.length, Math.ceil(layerSize / 100) + Math.ceil(configSize / 100));
    assert.equal(skopeoDigest(`docker://${reg.host}/chunked:v1`), img.root.digest);
    await readAll(await readImageSet(parseReference(`docker://${reg.host}/chunked:v1`)));

    const m = await writeRegistry({ registry: reg.host, repository: 'mounted', tag: 'v1' }, img.set, {
      ...FAST,
      mountFrom: ['chunked'],
    });
    assert.deepEqual(m.uploaded, []);
    assert.ok(
      reg.requests().some((l) => /^POST \/v2\/mounted\/blobs\/uploads\/\?mount=.*from=chunked 201$/.test(l)),
    );
    await readAll(await readImageSet(parseReference(`docker://${reg.host}/mounted:v1`)));
  });

  it('attestations with a subject go to the sha256-<hex> fallback tag (v2.8 has no referrers API) and are read back', async () => {
    const img = await makeImage(store, { marker: 'refs' });
    const att = await attestation(img.root);
    const set: ImageSet = { index: { ...img.set.index, manifests: [img.root, att] }, blobs: store };
    await writeRegistry({ registry: reg.host, repository: 'refs', tag: 'v1' }, set, FAST);
    const tagged = `docker://${reg.host}/refs:${referrersTag(img.root.digest)}`;
    const fallback = JSON.parse(
      run('skopeo', ['inspect', '--raw', '--tls-verify=false', tagged], { env }),
    ) as { manifests: Descriptor[] };
    assert.deepEqual(
      fallback.manifests.map((d) => [d.digest, d.artifactType]),
      [[att.digest, MediaType.inToto]],
    );
    // pushing again does not list it twice
    await writeRegistry({ registry: reg.host, repository: 'refs', tag: 'v1' }, set, FAST);
    const client = new RegistryClient(reg.host, 'refs', FAST);
    assert.deepEqual(
      (await listReferrers(client, img.root.digest)).map((d) => d.digest),
      [att.digest],
    );
    const pulled = await readRegistry(
      { registry: reg.host, repository: 'refs', tag: 'v1' },
      { ...FAST, referrers: true },
    );
    assert.deepEqual(
      pulled.index.manifests.map((d) => d.digest),
      [img.root.digest, att.digest],
    );
    await readAll(pulled);
    // the referrers API was asked first (404 from v2.8), then the fallback tag
    assert.ok(reg.requests().includes(`GET /v2/refs/referrers/${img.root.digest} 404`));
    assert.deepEqual(await listTags(reg.host, 'refs'), [referrersTag(img.root.digest), 'v1']);
    assert.deepEqual(await listReferrers(client, img.root.digest, { artifactType: MediaType.spdx }), []);
  });

  it('a registry with the referrers API (proxy): OCI-Subject, no fallback tag, pages and artifactType', async () => {
    const img = await makeImage(store, { marker: 'api' });
    const prov = await attestation(img.root);
    const sbom = await attestation(img.root, MediaType.spdx);
    const set: ImageSet = { index: { ...img.set.index, manifests: [img.root, prov, sbom] }, blobs: store };
    const proxy = await referrersProxy(reg.host, { pageSize: 1 });
    const lax = await referrersProxy(reg.host, { pageSize: 1, filters: false });
    try {
      await writeRegistry({ registry: proxy.host, repository: 'api', tag: 'v1' }, set, FAST);
      // the registry itself (not the proxy) holds no sha256-<hex> tag, and nothing asked for one
      assert.deepEqual(await listTags(reg.host, 'api'), ['v1']);
      assert.ok(!proxy.requests().some((l) => l.includes('/manifests/sha256-')));
      const client = new RegistryClient(proxy.host, 'api', FAST);
      assert.deepEqual(
        (await listReferrers(client, img.root.digest)).map((d) => [d.digest, d.artifactType]),
        [
          [prov.digest, MediaType.inToto],
          [sbom.digest, MediaType.spdx],
        ],
      );
      const pages = proxy.requests().filter((l) => l.startsWith(`GET /v2/api/referrers/${img.root.digest}`));
      assert.deepEqual(pages, [
        `GET /v2/api/referrers/${img.root.digest} 200`,
        `GET /v2/api/referrers/${img.root.digest}?page=1 200`,
      ]);
      assert.deepEqual(
        (await listReferrers(client, img.root.digest, { artifactType: MediaType.spdx })).map((d) => d.digest),
        [sbom.digest],
      );
      // a registry that ignores the filter: applied here
      const laxClient = new RegistryClient(lax.host, 'api', FAST);
      await writeRegistry({ registry: lax.host, repository: 'api', tag: 'v1' }, set, FAST);
      assert.deepEqual(
        (await listReferrers(laxClient, img.root.digest, { artifactType: MediaType.spdx })).map(
          (d) => d.digest,
        ),
        [sbom.digest],
      );
      assert.equal(lax.requests().filter((l) => l.includes('/referrers/')).length, 2);
      const pulled = await readRegistry(
        { registry: proxy.host, repository: 'api', tag: 'v1' },
        { ...FAST, referrers: true },
      );
      assert.deepEqual(
        pulled.index.manifests.map((d) => d.digest),
        [img.root.digest, prov.digest, sbom.digest],
      );
      await readAll(pulled);
      assert.deepEqual(await listTags(reg.host, 'api'), ['v1']);
    } finally {
      await proxy.stop();
      await lax.stop();
    }
  });

  it('a push survives a connection cut in the middle of an upload', async () => {
    const set = await bigImage(1 << 20, 'drop');
    const proxy = await dropProxy(reg.host, 256 * 1024);
    try {
      const r = await writeRegistry({ registry: proxy.host, repository: 'dropped', tag: 'v1' }, set, FAST);
      assert.equal(proxy.cuts(), 1);
      assert.equal(r.uploaded.length, 2);
    } finally {
      await proxy.stop();
    }
    const root = set.index.manifests[0]!;
    assert.equal(skopeoDigest(`docker://${reg.host}/dropped:v1`), root.digest);
    const pulled = await readImageSet(parseReference(`docker://${reg.host}/dropped:v1`));
    await readAll(pulled);
  });
});

describe('registry transport with htpasswd basic auth', { skip }, () => {
  const auth = { user: 'tester', password: 's3cret:pw' };
  let reg: TestRegistry;
  before(async () => {
    reg = await startRegistry({ auth });
  });
  after(async () => {
    await reg?.stop();
  });

  it('pushes with --creds, refuses without, and finds credentials in an auth file', async () => {
    const img = await makeImage(store, { marker: 'auth' });
    const ref = { registry: reg.host, repository: 'secure/app', tag: 'v1' };
    const hinted = (hint: RegExp) => (err: unknown) => {
      assert.ok(isImprintError(err, 'AUTH'), String(err));
      assert.match(err.hint ?? '', hint);
      return true;
    };
    await assert.rejects(
      writeRegistry(ref, img.set, { ...FAST, authFiles: [] }),
      hinted(/^Log in \(skopeo login .*\) or pass --creds/),
    );
    await writeRegistry(ref, img.set, { ...FAST, creds: { username: auth.user, password: auth.password } });
    assert.equal(
      skopeoDigest(`docker://${reg.host}/secure/app:v1`, ['--creds', `${auth.user}:${auth.password}`]),
      img.root.digest,
    );
    const authFile = join(dir, 'auth.json');
    const token = Buffer.from(`${auth.user}:${auth.password}`).toString('base64');
    await writeFile(authFile, JSON.stringify({ auths: { [reg.host]: { auth: token } } }));
    const pulled = await readImageSet(parseReference(`docker://${reg.host}/secure/app:v1`), {
      registry: { ...FAST, authFiles: [join(dir, 'absent.json'), authFile] },
    });
    assert.equal(pulled.index.manifests[0]?.digest, img.root.digest);
    await readAll(pulled);
    // Credentials that were sent and refused: the hint says so, rather than to pass some.
    await assert.rejects(
      readRegistry(ref, { ...FAST, creds: { username: auth.user, password: 'wrong' } }),
      hinted(/refused the credentials given with --creds: check the user name and password\.$/),
    );
    await writeFile(authFile, JSON.stringify({ auths: { [reg.host]: { auth: btoa(`${auth.user}:nope`) } } }));
    await assert.rejects(
      readRegistry(ref, { ...FAST, authFiles: [authFile] }),
      hinted(/refused the credentials stored for .* by a login: .*\(log in again: skopeo login/),
    );
  });

  it('runs docker-credential-<name> from credHelpers and credsStore; a failing helper is AUTH', async () => {
    const img = await makeImage(store, { marker: 'helper', wrap: false });
    const bin = join(dir, 'helper-bin');
    const log = join(dir, 'helper.log');
    writeCredentialHelper(bin, 'test', {
      log,
      answers: { [reg.host]: { Username: auth.user, Secret: auth.password } },
    });
    writeCredentialHelper(bin, 'broken', { log, failures: { [reg.host]: 'the keyring is locked' } });
    writeCredentialHelper(bin, 'empty', { log });
    const env = { PATH: `${bin}:${process.env.PATH}` };
    const config = async (name: string, doc: unknown): Promise<string[]> => {
      await writeFile(join(dir, name), JSON.stringify(doc));
      return [join(dir, name)];
    };
    const ref = { registry: reg.host, repository: 'helper/app', tag: 'v1' };
    // credHelpers names the helper for this registry (another registry's helper is not run)
    const perRegistry = await config('per-registry.json', {
      credHelpers: { [reg.host]: 'test', 'other.example': 'broken' },
    });
    await writeRegistry(ref, img.set, { ...FAST, authFiles: perRegistry, env });
    assert.equal(
      skopeoDigest(`docker://${reg.host}/helper/app:v1`, ['--creds', `${auth.user}:${auth.password}`]),
      img.root.digest,
    );
    // credsStore, the default helper of Docker's config.json
    const pulled = await readRegistry(ref, {
      ...FAST,
      authFiles: await config('store.json', { auths: { [reg.host]: {} }, credsStore: 'test' }),
      env,
    });
    assert.equal(pulled.index.manifests[0]?.digest, img.root.digest);
    await readAll(pulled);
    // asked once per client, with the registry's host:port
    assert.deepEqual((await readFile(log, 'utf8')).split('\n'), [reg.host, reg.host, '']);
    await rejectsWith(
      readRegistry(ref, { ...FAST, authFiles: await config('broken.json', { credsStore: 'broken' }), env }),
      'AUTH',
    );
    // "credentials not found": anonymous, refused by the registry
    const before = reg.requests().length;
    await rejectsWith(
      readRegistry(ref, { ...FAST, authFiles: await config('empty.json', { credsStore: 'empty' }), env }),
      'AUTH',
    );
    assert.ok(
      reg
        .requests()
        .slice(before)
        .some((l) => l.endsWith(' 401')),
    );
  });
});

describe('registry transport over TLS with a test CA', { skip }, () => {
  const auth = { user: 'tls', password: 'pw' };
  let reg: TestRegistry;
  before(async () => {
    reg = await startRegistry({ auth, tls: true });
  });
  after(async () => {
    await reg?.stop();
  });

  it('pushes and pulls over https trusting caFile; an untrusted certificate is NETWORK', async () => {
    const img = await makeImage(store, { marker: 'tls', wrap: false });
    const creds = { username: auth.user, password: auth.password };
    const ref = { registry: reg.host, repository: 'tls/app', tag: 'v1' };
    await writeRegistry(ref, img.set, { ...FAST, creds, caFile: reg.caFile });
    const pulled = await readRegistry(ref, { ...FAST, creds, caFile: reg.caFile });
    assert.equal(pulled.index.manifests[0]?.digest, img.root.digest);
    await readAll(pulled);
    assert.ok(reg.requests().some((l) => l.startsWith('PUT /v2/tls/app/manifests/v1 201')));
    await rejectsWith(readRegistry(ref, { ...FAST, creds, tlsVerify: true }), 'NETWORK');
    const insecure = await readRegistry(ref, { ...FAST, creds, tlsVerify: false });
    assert.equal(insecure.index.manifests[0]?.digest, img.root.digest);
    // The CA where podman, skopeo and Docker keep it: <certs.d>/<host:port>/*.crt.
    const certsDir = await mkdtemp(join(tmpdir(), 'imprint-certs-d-'));
    try {
      await mkdir(join(certsDir, reg.host));
      await copyFile(reg.caFile as string, join(certsDir, reg.host, 'ca.crt'));
      const trusted = await readRegistry(ref, { ...FAST, creds, tlsVerify: true, certsDirs: [certsDir] });
      assert.equal(trusted.index.manifests[0]?.digest, img.root.digest);
      // A --ca-file of another registry's CA adds to certs.d (and the system's): it replaced them.
      const otherCa = join(certsDir, 'other.pem');
      selfSignedCert(join(certsDir, 'other-key.pem'), otherCa, 'other.invalid', 'DNS:other.invalid');
      const both = await readRegistry(ref, {
        ...FAST,
        creds,
        tlsVerify: true,
        certsDirs: [certsDir],
        caFile: otherCa,
      });
      assert.equal(both.index.manifests[0]?.digest, img.root.digest);
      const err = await rejectsWith(
        readRegistry(ref, { ...FAST, creds, tlsVerify: true, certsDirs: [], caFile: otherCa }),
        'NETWORK',
      );
      assert.match(String(err.hint), /Neither the system's CAs nor .*other\.pem signed it/);
      // A CA file without a certificate (the key, by mistake) is named, not silently trusted as nothing.
      const keyOnly = await rejectsWith(
        readRegistry(ref, { ...FAST, creds, tlsVerify: true, caFile: join(certsDir, 'other-key.pem') }),
        'IO',
      );
      assert.match(keyOnly.message, /CA file .*other-key\.pem holds no PEM certificate/);
    } finally {
      await rm(certsDir, { recursive: true, force: true });
    }
  });
});
