// Interop: what imprint writes is read by skopeo, umoci and podman; what skopeo writes is read by imprint.
// Each test is skipped with a message when its tool is missing (CI installs them).
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Descriptor, ImageManifest } from '../../src/oci/types.js';
import { validateImage } from '../../src/oci/validate.js';
import { BlobStore } from '../../src/store/index.js';
import { parseReference, readImageSet, walkImageSet, writeImageSet } from '../../src/transport/index.js';
import { type FixtureImage, hasTool, makeImage, run } from './fixtures.js';

const skopeo = hasTool('skopeo') ? false : 'skopeo is not installed';
const umoci = hasTool('umoci') ? false : 'umoci is not installed';
const podman = hasTool('podman') ? false : 'podman is not installed';

let dir: string;
let img: FixtureImage;
let image: FixtureImage['images'][number];
/** Tools get a private TMPDIR so their big temporary files land in the test's directory. */
let env: NodeJS.ProcessEnv;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'imprint-interop-'));
  await mkdir(join(dir, 'tmp'));
  env = { ...process.env, TMPDIR: join(dir, 'tmp') };
  img = await makeImage(new BlobStore(join(dir, 'store')), { marker: 'interop' });
  const [only] = img.images;
  assert.ok(only);
  image = only;
  await writeImageSet(parseReference(`oci:${join(dir, 'oci')}:v1`), img.set);
  await writeImageSet(parseReference(`oci-archive:${join(dir, 'oci.tar')}:v1`), img.set);
  await writeImageSet(
    parseReference(`docker-archive:${join(dir, 'docker.tar')}:imprint-test/app:v1`),
    img.set,
  );
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface SkopeoInspect {
  Digest: string;
  Architecture: string;
  Os: string;
  Layers: string[];
}

function inspect(ref: string): SkopeoInspect {
  return JSON.parse(run('skopeo', ['inspect', ref], { env })) as SkopeoInspect;
}

/** The one image manifest a set reaches. */
async function onlyImage(text: string): Promise<{ descriptor: Descriptor; manifest: ImageManifest }> {
  const set = await readImageSet(parseReference(text));
  await validateImage(set);
  const walk = await walkImageSet(set);
  assert.equal(walk.images.length, 1);
  const [found] = walk.images;
  assert.ok(found);
  return found;
}

describe('skopeo reads what imprint writes', () => {
  it('oci:DIR:TAG', { skip: skopeo }, () => {
    const r = inspect(`oci:${join(dir, 'oci')}:v1`);
    assert.equal(r.Digest, img.root.digest);
    assert.deepEqual(
      r.Layers,
      image.layers.map((l) => l.digest),
    );
    assert.equal(r.Architecture, 'amd64');
    assert.equal(r.Os, 'linux');
  });

  it('oci-archive:FILE:TAG', { skip: skopeo }, () => {
    const r = inspect(`oci-archive:${join(dir, 'oci.tar')}:v1`);
    assert.equal(r.Digest, img.root.digest);
    assert.deepEqual(
      r.Layers,
      image.layers.map((l) => l.digest),
    );
  });

  it('docker-archive:FILE (skopeo reports uncompressed layer digests)', { skip: skopeo }, () => {
    const r = inspect(`docker-archive:${join(dir, 'docker.tar')}`);
    assert.deepEqual(r.Layers, image.diffIds);
    assert.equal(r.Architecture, 'amd64');
    const raw = JSON.parse(
      run('skopeo', ['inspect', '--raw', `docker-archive:${join(dir, 'docker.tar')}:imprint-test/app:v1`], {
        env,
      }),
    );
    assert.equal(raw.config.digest, image.config.digest);
  });
});

describe('imprint reads what skopeo copies', () => {
  it('skopeo copy oci:DIR oci:OTHER keeps every digest', { skip: skopeo }, async () => {
    const other = join(dir, 'copied-oci');
    run('skopeo', ['copy', '--all', `oci:${join(dir, 'oci')}:v1`, `oci:${other}:x`], { env });
    const set = await readImageSet(parseReference(`oci:${other}:x`));
    await validateImage(set);
    assert.equal(set.index.manifests[0]?.digest, img.root.digest);
    assert.deepEqual((await onlyImage(`oci:${other}:x`)).descriptor.digest, image.manifest.digest);
  });

  it('skopeo copy to oci-archive', { skip: skopeo }, async () => {
    const f = join(dir, 'copied-oci.tar');
    run('skopeo', ['copy', '--all', `oci:${join(dir, 'oci')}:v1`, `oci-archive:${f}:y`], { env });
    const found = await onlyImage(`oci-archive:${f}:y`);
    assert.equal(found.descriptor.digest, image.manifest.digest);
    assert.equal(
      (await readImageSet(parseReference(`oci-archive:${f}`))).index.manifests[0]?.digest,
      img.root.digest,
    );
  });

  it('skopeo copy to docker-archive (uncompressed layers, synthesised manifest)', {
    skip: skopeo,
  }, async () => {
    const f = join(dir, 'copied-docker.tar');
    run('skopeo', ['copy', `oci:${join(dir, 'oci')}:v1`, `docker-archive:${f}:copied/app:z`], { env });
    const found = await onlyImage(`docker-archive:${f}:copied/app:z`);
    assert.equal(found.manifest.config.digest, image.config.digest);
    assert.deepEqual(
      found.manifest.layers.map((l) => l.digest),
      image.diffIds,
    );
    assert.equal(found.descriptor.platform?.architecture, 'amd64');
    await onlyImage(`docker-archive:${f}`);
  });

  it('skopeo copy docker-archive → oci (skopeo rewrites the config; the file system layers stay)', {
    skip: skopeo,
  }, async () => {
    const out = join(dir, 'from-docker');
    run('skopeo', ['copy', `docker-archive:${join(dir, 'docker.tar')}`, `oci:${out}:d`], { env });
    const found = await onlyImage(`oci:${out}:d`);
    const set = await readImageSet(parseReference(`oci:${out}:d`));
    const config = JSON.parse((await set.blobs.readBytes(found.manifest.config)).toString('utf8'));
    assert.deepEqual(config.rootfs.diff_ids, image.diffIds);
    assert.equal(config.architecture, 'amd64');
  });
});

describe('umoci unpacks what imprint writes', () => {
  it('umoci unpack --rootless keeps file modes and content', { skip: umoci }, async () => {
    const bundle = join(dir, 'bundle');
    run('umoci', ['unpack', '--rootless', '--image', `${join(dir, 'oci')}:v1`, bundle], { env });
    const mode = async (p: string) => (await stat(join(bundle, 'rootfs', p))).mode & 0o7777;
    assert.equal(await mode('etc/motd'), 0o644);
    assert.equal(await mode('etc/secret'), 0o600);
    assert.equal(await mode('usr/bin/hello'), 0o755);
    assert.equal(await mode('usr/bin'), 0o755);
    assert.equal(await readFile(join(bundle, 'rootfs', 'etc/motd'), 'utf8'), 'hello from interop on amd64\n');
    const config = JSON.parse(await readFile(join(bundle, 'config.json'), 'utf8'));
    assert.deepEqual(config.process.args, ['/usr/bin/hello']);
  });
});

describe('podman loads what imprint writes', () => {
  it('podman load -i docker-archive names the image and keeps the config digest', {
    skip: podman,
  }, async () => {
    // A private store and state directories: the test leaves nothing in the host's podman storage.
    const state = join(dir, 'podman');
    const flags = ['root', 'runroot', 'tmpdir', 'network-config-dir'].flatMap((f) => [
      `--${f}`,
      join(state, f),
    ]);
    for (let i = 1; i < flags.length; i += 2) await mkdir(flags[i] as string, { recursive: true });
    const podmanArgs = [
      ...flags,
      '--storage-driver',
      'vfs',
      '--events-backend',
      'none',
      '--cgroup-manager',
      'cgroupfs',
    ];
    try {
      const out = run('podman', [...podmanArgs, 'load', '-i', join(dir, 'docker.tar')], { env });
      assert.match(out, /imprint-test\/app:v1/);
      const images = run(
        'podman',
        [...podmanArgs, 'images', '--no-trunc', '--format', '{{.Repository}}:{{.Tag}} {{.ID}}'],
        { env },
      );
      assert.equal(images.trim(), `docker.io/imprint-test/app:v1 ${image.config.digest}`);
      const layers = run(
        'podman',
        [...podmanArgs, 'image', 'inspect', '--format', '{{json .RootFS.Layers}}', 'imprint-test/app:v1'],
        { env },
      );
      assert.deepEqual(JSON.parse(layers), image.diffIds);
    } finally {
      // vfs layers are plain directories; unmount nothing, just remove the private state
      await rm(state, { recursive: true, force: true });
    }
  });
});
