import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { canonicalJson } from '../../src/oci/canonical-json.js';
import { Annotation, MediaType } from '../../src/oci/media-types.js';
import { BlobStore, readBounded } from '../../src/store/index.js';
import { readTar, type TarWriteEntry, tarStream } from '../../src/tar/index.js';
import { parseReference, readImageSet, writeImageSet } from '../../src/transport/index.js';
import {
  failingReader,
  layerTar,
  makeImage,
  readBack,
  rejectsWith,
  sha256File,
  tarNames,
} from './fixtures.js';

let dir: string;
let store: BlobStore;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'imprint-transport-'));
  store = new BlobStore(join(dir, 'store'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('docker-archive', () => {
  it('writes manifest.json, repositories and an OCI layout, and reads them back', async () => {
    const img = await makeImage(store, { marker: 'docker' });
    const f = join(dir, 'd.tar');
    await writeImageSet(parseReference(`docker-archive:${f}:team/app:1.0`), img.set);
    const names = await tarNames(f);
    assert.deepEqual(names.slice(-4), ['index.json', 'manifest.json', 'oci-layout', 'repositories']);
    assert.deepEqual(names, [...names].sort());
    const { createReadStream } = await import('node:fs');
    const docs: Record<string, unknown> = {};
    for await (const e of readTar(createReadStream(f), { archive: f })) {
      if (!e.path.startsWith('blobs/'))
        docs[e.path] = JSON.parse((await readBounded(e.body, 1 << 20, e.path)).toString('utf8'));
    }
    const image = img.images[0];
    assert.ok(image);
    assert.deepEqual(docs['manifest.json'], [
      {
        Config: `blobs/sha256/${image.config.digest.slice(7)}`,
        Layers: image.layers.map((l) => `blobs/sha256/${l.digest.slice(7)}`),
        RepoTags: ['team/app:1.0'],
      },
    ]);
    assert.deepEqual(docs.repositories, { 'team/app': { '1.0': image.layers[0]?.digest.slice(7) } });
    const index = docs['index.json'] as { manifests: { annotations: Record<string, string> }[] };
    assert.deepEqual(index.manifests[0]?.annotations, {
      [Annotation.containerdImageName]: 'docker.io/team/app:1.0',
      [Annotation.refName]: '1.0',
    });
    assert.deepEqual((await readBack(`docker-archive:${f}:team/app:1.0`)).index, img.set.index);
    assert.deepEqual((await readBack(`docker-archive:${f}:@0`)).index, img.set.index);
    await readBack(`docker-archive:${f}`);
    await rejectsWith(readImageSet(parseReference(`docker-archive:${f}:other:1`)), 'BAD_REFERENCE');
    await rejectsWith(readImageSet(parseReference(`docker-archive:${f}:@1`)), 'BAD_REFERENCE');
  });

  it('is reproducible, and untagged without a name', async () => {
    const img = await makeImage(store, { marker: 'docker-repro' });
    const f1 = join(dir, 'd1.tar');
    const f2 = join(dir, 'd2.tar');
    await writeImageSet(parseReference(`docker-archive:${f1}:app:1`), img.set);
    await writeImageSet(parseReference(`docker-archive:${f2}`), img.set, { name: 'app:1' });
    assert.equal(await sha256File(f1), await sha256File(f2));
    const f3 = join(dir, 'd3.tar');
    await writeImageSet(parseReference(`docker-archive:${f3}`), img.set);
    assert.ok(!(await tarNames(f3)).includes('repositories'));
    assert.deepEqual((await readBack(`docker-archive:${f3}:@0`)).index, img.set.index);
    // Copied unnamed from a layout (its one image tagged latest) or a named archive, the image stays unnamed in index.json too
    // (podman load would name it localhost/latest:latest, or by the old name manifest.json no longer has).
    await writeImageSet(parseReference(`oci:${join(dir, 'tagged')}:latest`), img.set);
    for (const from of [`oci:${join(dir, 'tagged')}`, `docker-archive:${f1}`]) {
      const f4 = join(dir, 'd4.tar');
      await writeImageSet(parseReference(`docker-archive:${f4}`), await readImageSet(parseReference(from)));
      const { createReadStream } = await import('node:fs');
      for await (const e of readTar(createReadStream(f4), { archive: f4 })) {
        const body = await readBounded(e.body, 1 << 20, e.path);
        if (e.path !== 'index.json') continue;
        const index = JSON.parse(body.toString('utf8')) as { manifests: { annotations?: object }[] };
        assert.equal(index.manifests[0]?.annotations, undefined, from);
      }
    }
  });

  it('a failed write leaves the previous archive byte-identical', async () => {
    const a = await makeImage(store, { marker: 'docker-keep' });
    const b = await makeImage(store, { marker: 'docker-fail' });
    const f = join(dir, 'docker-atomic', 'img.tar');
    await writeImageSet(parseReference(`docker-archive:${f}:app:1`), a.set);
    const before = await sha256File(f);
    const layer = b.images[0]?.layers[0];
    assert.ok(layer);
    const broken = { index: b.set.index, blobs: failingReader(store, layer.digest) };
    await assert.rejects(
      writeImageSet(parseReference(`docker-archive:${f}:app:1`), broken),
      /injected failure/,
    );
    assert.equal(await sha256File(f), before);
    assert.deepEqual(await readdir(join(dir, 'docker-atomic')), ['img.tar']);
  });

  it('refuses @N and names with a digest when writing', async () => {
    const img = await makeImage(store);
    await rejectsWith(
      writeImageSet(parseReference(`docker-archive:${join(dir, 'n.tar')}:@0`), img.set),
      'BAD_REFERENCE',
    );
    await rejectsWith(
      writeImageSet(parseReference(`docker-archive:${join(dir, 'n.tar')}`), img.set, {
        name: `app@sha256:${'0'.repeat(64)}`,
      }),
      'BAD_REFERENCE',
    );
    await assert.rejects(stat(join(dir, 'n.tar')));
  });

  it('refuses a multi-platform set', async () => {
    const img = await makeImage(store, {
      platforms: [
        { os: 'linux', architecture: 'amd64' },
        { os: 'linux', architecture: 'arm64' },
      ],
    });
    const f = join(dir, 'multi.tar');
    await rejectsWith(writeImageSet(parseReference(`docker-archive:${f}:app:1`), img.set), 'UNSUPPORTED');
    await assert.rejects(stat(f));
  });

  it('reads a legacy docker-archive (no OCI layout) by synthesising manifests', async () => {
    // The layout `docker save` < 25 and `podman save` write: <config hex>.json, <id>/layer.tar
    // (uncompressed), a symlinked duplicate layer, manifest.json.
    const tar = await layerTar('legacy', 'arm64');
    const gz = gzipSync(tar);
    const diffId = createHash('sha256').update(tar).digest('hex');
    const configBytes = canonicalJson({
      architecture: 'arm64',
      os: 'linux',
      variant: 'v8',
      rootfs: { type: 'layers', diff_ids: [`sha256:${diffId}`, `sha256:${diffId}`, `sha256:${diffId}`] },
      history: [{ created_by: 'a' }, { created_by: 'b' }, { created_by: 'c' }],
    });
    const configHex = createHash('sha256').update(configBytes).digest('hex');
    const { Readable } = await import('node:stream');
    const file = (path: string, body: Buffer): TarWriteEntry => ({
      path,
      type: 'file',
      mode: 0o644,
      uid: 0,
      gid: 0,
      mtime: 0,
      size: body.length,
      body: () => Readable.from([body]),
    });
    const manifestJson = Buffer.from(
      JSON.stringify([
        {
          Config: `${configHex}.json`,
          RepoTags: ['localhost/legacy:old'],
          Layers: ['l1/layer.tar', 'l2/layer.tar', 'l3.tar.gz'],
        },
      ]),
    );
    const entries: TarWriteEntry[] = [
      file(`${configHex}.json`, configBytes),
      { path: 'l1/', type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 0, size: 0 },
      file('l1/layer.tar', tar),
      { path: 'l2/', type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 0, size: 0 },
      {
        path: 'l2/layer.tar',
        type: 'symlink',
        mode: 0o777,
        uid: 0,
        gid: 0,
        mtime: 0,
        size: 0,
        linkname: '../l1/layer.tar',
      },
      file('l3.tar.gz', gz),
      file('manifest.json', manifestJson),
    ];
    const f = join(dir, 'legacy.tar');
    await writeFile(f, await readBounded(tarStream(entries), 1 << 24, 'legacy'));
    const set = await readBack(`docker-archive:${f}:localhost/legacy:old`);
    assert.equal(set.index.manifests.length, 1);
    const root = set.index.manifests[0];
    assert.ok(root);
    assert.deepEqual(root.platform, { architecture: 'arm64', os: 'linux', variant: 'v8' });
    const manifest = JSON.parse((await set.blobs.readBytes(root)).toString('utf8'));
    assert.deepEqual(
      manifest.layers.map((l: { mediaType: string; digest: string }) => [l.mediaType, l.digest]),
      [
        [MediaType.ociLayer, `sha256:${diffId}`],
        [MediaType.ociLayer, `sha256:${diffId}`],
        [MediaType.ociLayerGzip, `sha256:${createHash('sha256').update(gz).digest('hex')}`],
      ],
    );
    assert.equal(manifest.config.digest, `sha256:${configHex}`);
    assert.deepEqual((await readBack(`docker-archive:${f}`)).index, set.index);
  });
});
