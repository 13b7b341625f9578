// `imprint copy` between transports, against the real docker-registry on 127.0.0.1 (run as a user would).
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sha256 } from '../../src/digest/index.js';
import { canonicalJson } from '../../src/oci/canonical-json.js';
import { MediaType } from '../../src/oci/media-types.js';
import { hostPlatform } from '../../src/oci/select.js';
import type { Descriptor } from '../../src/oci/types.js';
import { BlobStore } from '../../src/store/index.js';
import { parseReference, readImageSet, writeImageSet } from '../../src/transport/index.js';
import { runImprint } from '../helpers/cli.js';
import {
  canRunRegistry,
  startRegistry,
  type TestRegistry,
  writeCredentialHelper,
} from '../helpers/registry.js';
import { type FixtureImage, hasTool, makeImage, readBack, run } from './fixtures.js';

const skip = !canRunRegistry()
  ? 'docker-registry or python3 is not installed'
  : !hasTool('skopeo')
    ? 'skopeo is not installed'
    : false;

let dir: string;
let store: BlobStore;
let img: FixtureImage;
let att: Descriptor;
let env: NodeJS.ProcessEnv;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'imprint-copy-test-'));
  await mkdir(join(dir, 'tmp'));
  env = { ...process.env, TMPDIR: join(dir, 'tmp') };
  store = new BlobStore(join(dir, 'store'));
  img = await makeImage(store, {
    marker: 'copy',
    platforms: [
      { os: 'linux', architecture: 'amd64' },
      { os: 'linux', architecture: 'arm64' },
    ],
  });
  const empty = { mediaType: MediaType.ociEmpty, ...(await store.putBytes(Buffer.from('{}'))) };
  const statement = {
    mediaType: MediaType.inToto,
    ...(await store.putBytes(Buffer.from('{"_type":"copy-test"}'))),
  };
  const bytes = canonicalJson({
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    artifactType: MediaType.inToto,
    config: empty,
    layers: [statement],
    subject: { mediaType: img.root.mediaType, digest: img.root.digest, size: img.root.size },
  });
  att = { mediaType: MediaType.ociManifest, ...(await store.putBytes(bytes)) };
  await writeImageSet(parseReference(`oci:${join(dir, 'src')}`), {
    index: { ...img.set.index, manifests: [img.root, att] },
    blobs: store,
  });
  await writeImageSet(parseReference(`oci:${join(dir, 'plain')}:v1`), img.set);
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const rawDigest = (ref: string, extra: string[] = []): string =>
  sha256(
    Buffer.from(run('skopeo', ['inspect', '--raw', '--tls-verify=false', ...extra, ref], { env }), 'utf8'),
  );

describe('imprint copy', { skip }, () => {
  let reg: TestRegistry;
  before(async () => {
    reg = await startRegistry();
  });
  after(async () => {
    await reg?.stop();
  });

  it('oci -> docker:// --all keeps the digest and pushes the attestation as a referrer', async () => {
    const r = await runImprint([
      'copy',
      '--all',
      `oci:${join(dir, 'src')}`,
      `docker://${reg.host}/copy/all:1`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(rawDigest(`docker://${reg.host}/copy/all:1`), img.root.digest);
    const fallback = JSON.parse(
      run(
        'skopeo',
        [
          'inspect',
          '--raw',
          '--tls-verify=false',
          `docker://${reg.host}/copy/all:sha256-${img.root.digest.slice(7)}`,
        ],
        { env },
      ),
    ) as { manifests: Descriptor[] };
    assert.deepEqual(
      fallback.manifests.map((d) => d.digest),
      [att.digest],
    );
  });

  it('docker:// -> docker:// in the same registry mounts blobs; --json lists the manifests', async () => {
    const r = await runImprint([
      'copy',
      '--all',
      '--json',
      `docker://${reg.host}/copy/all:1`,
      `docker://${reg.host}/copy/mounted:1`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { manifests: string[] };
    assert.deepEqual(out.manifests, [img.root.digest, att.digest]);
    assert.equal(rawDigest(`docker://${reg.host}/copy/mounted:1`), img.root.digest);
    const mounts = reg
      .requests()
      .filter((l) => /^POST \/v2\/copy\/mounted\/blobs\/uploads\/\?mount=.*from=copy%2Fall 201$/.test(l));
    assert.equal(mounts.length, 6); // 2 configs, 2 layers, the attestation's config and layer
    const uploads = reg.requests().filter((l) => /^PUT \/v2\/copy\/mounted\/blobs\/uploads\//.test(l));
    assert.deepEqual(uploads, []);
  });

  it('docker:// -> oci: --all reads referrers; without --all one platform is selected', async () => {
    const all = join(dir, 'out-all');
    let r = await runImprint(['copy', '--all', `docker://${reg.host}/copy/all:1`, `oci:${all}`]);
    assert.equal(r.code, 0, r.stderr);
    const set = await readBack(`oci:${all}`);
    assert.deepEqual(
      set.index.manifests.map((d) => d.digest),
      [img.root.digest, att.digest],
    );

    const one = join(dir, 'out-one');
    r = await runImprint(['copy', `docker://${reg.host}/copy/all:1`, `oci:${one}:x`]);
    assert.equal(r.code, 0, r.stderr);
    const host = hostPlatform().architecture;
    const expected = img.images.find((i) => i.manifest.platform?.architecture === host);
    const back = await readImageSet(parseReference(`oci:${one}:x`));
    assert.deepEqual(
      back.index.manifests.map((d) => d.digest),
      expected === undefined ? [] : [expected.manifest.digest],
    );

    r = await runImprint([
      'copy',
      '--platform',
      'linux/arm64',
      `docker://${reg.host}/copy/all:1`,
      `oci:${join(dir, 'out-arm')}`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const arm = await readImageSet(parseReference(`oci:${join(dir, 'out-arm')}`));
    assert.deepEqual(
      arm.index.manifests.map((d) => d.digest),
      [img.images[1]!.manifest.digest],
    );
  });

  it('a bad reference and a bad --tls-verify are usage errors (exit 2)', async () => {
    let r = await runImprint(['copy', 'nowhere', `docker://${reg.host}/x:1`]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown transport|names no transport/);
    r = await runImprint([
      'copy',
      '--tls-verify',
      'maybe',
      `oci:${join(dir, 'plain')}:v1`,
      `docker://${reg.host}/x:1`,
    ]);
    assert.equal(r.code, 2);
  });
});

describe('imprint copy with credentials', { skip }, () => {
  const auth = { user: 'copier', password: 'pw' };
  let reg: TestRegistry;
  before(async () => {
    reg = await startRegistry({ auth });
  });
  after(async () => {
    await reg?.stop();
  });

  it('--dest-creds pushes; the auth file from $REGISTRY_AUTH_FILE pulls; none is exit 1', async () => {
    const dst = `docker://${reg.host}/private/app:v1`;
    const empty = join(dir, 'no-auth.json');
    let r = await runImprint(['copy', `oci:${join(dir, 'plain')}:v1`, dst], {
      env: {
        REGISTRY_AUTH_FILE: empty,
        HOME: join(dir, 'home'),
        XDG_RUNTIME_DIR: join(dir, 'run'),
        DOCKER_CONFIG: join(dir, 'docker'),
      },
    });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /refused access/);
    r = await runImprint([
      'copy',
      '--all',
      '--dest-creds',
      `${auth.user}:${auth.password}`,
      `oci:${join(dir, 'plain')}:v1`,
      dst,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(rawDigest(dst, ['--creds', `${auth.user}:${auth.password}`]), img.root.digest);
    const authFile = join(dir, 'auth.json');
    const { writeFile } = await import('node:fs/promises');
    await writeFile(
      authFile,
      JSON.stringify({
        auths: { [reg.host]: { auth: Buffer.from(`${auth.user}:${auth.password}`).toString('base64') } },
      }),
    );
    r = await runImprint(['copy', '--all', dst, `oci:${join(dir, 'private-out')}`], {
      env: { REGISTRY_AUTH_FILE: authFile },
    });
    assert.equal(r.code, 0, r.stderr);
    const back = await readBack(`oci:${join(dir, 'private-out')}`);
    assert.deepEqual(
      back.index.manifests.map((d) => d.digest),
      [img.root.digest],
    );
  });

  it('credsStore in $DOCKER_CONFIG/config.json runs docker-credential-<name> from $PATH', async () => {
    const bin = join(dir, 'cli-helper-bin');
    writeCredentialHelper(bin, 'cli', {
      log: join(dir, 'cli-helper.log'),
      answers: { [reg.host]: { Username: auth.user, Secret: auth.password } },
    });
    const docker = join(dir, 'docker-helper');
    await mkdir(docker, { recursive: true });
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(docker, 'config.json'), JSON.stringify({ credsStore: 'cli' }));
    const env = {
      REGISTRY_AUTH_FILE: undefined,
      HOME: join(dir, 'home'),
      XDG_RUNTIME_DIR: join(dir, 'run'),
      XDG_CONFIG_HOME: join(dir, 'config'),
      DOCKER_CONFIG: docker,
      PATH: `${bin}:${process.env.PATH}`,
    };
    const dst = `docker://${reg.host}/private/helper:v1`;
    let r = await runImprint(['copy', '--all', `oci:${join(dir, 'plain')}:v1`, dst], { env });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(rawDigest(dst, ['--creds', `${auth.user}:${auth.password}`]), img.root.digest);
    // without the helper on PATH: exit 1, the message names the helper and the file
    r = await runImprint(['copy', dst, `oci:${join(dir, 'helper-out')}`], {
      env: { ...env, PATH: '/usr/bin:/bin' },
    });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /docker-credential-cli/);
    assert.ok(r.stderr.includes(join(docker, 'config.json')), r.stderr);
  });
});
