import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { isImprintError } from '../../src/errors.js';
import { canonicalJson } from '../../src/oci/canonical-json.js';
import type { ImageSet } from '../../src/oci/image-set.js';
import { Annotation, MediaType } from '../../src/oci/media-types.js';
import { validateImage } from '../../src/oci/validate.js';
import { BlobStore, readBounded } from '../../src/store/index.js';
import { readTar, type TarWriteEntry, tarStream } from '../../src/tar/index.js';
import { parseReference, readImageSet, writeImageSet } from '../../src/transport/index.js';
import { failingReader, layerTar, makeImage } from './fixtures.js';

let dir: string;
let store: BlobStore;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'imprint-transport-'));
  store = new BlobStore(join(dir, 'store'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function rejectsWith(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(isImprintError(err), `expected an ImprintError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  });
}

const sha256File = async (f: string): Promise<string> => createHash('sha256').update(await readFile(f)).digest('hex');

/** Reads every blob of a set (verifying it) and validates the images. */
async function readBack(text: string): Promise<ImageSet> {
  const set = await readImageSet(parseReference(text));
  await validateImage(set);
  return set;
}

/** Entry names of a tar file in archive order. */
async function tarNames(file: string): Promise<string[]> {
  const { createReadStream } = await import('node:fs');
  const names: string[] = [];
  for await (const e of readTar(createReadStream(file), { archive: file })) names.push(e.path);
  return names;
}

describe('oci: layout directories', () => {
  it('writes a valid layout and reads back the same set', async () => {
    const img = await makeImage(store);
    const out = join(dir, 'oci1');
    await writeImageSet(parseReference(`oci:${out}`), img.set);
    assert.deepEqual(JSON.parse(await readFile(join(out, 'oci-layout'), 'utf8')), { imageLayoutVersion: '1.0.0' });
    assert.equal(await readFile(join(out, 'oci-layout'), 'utf8'), '{"imageLayoutVersion":"1.0.0"}');
    assert.deepEqual(await readFile(join(out, 'index.json')), canonicalJson(img.set.index));
    const back = await readBack(`oci:${out}`);
    assert.deepEqual(back.index, img.set.index);
    // only imprint's three names, no temporary files left
    assert.deepEqual((await readdir(out)).sort(), ['blobs', 'index.json', 'oci-layout']);
    // the image index, manifest, config and layer, and nothing else
    assert.deepEqual((await readdir(join(out, 'blobs', 'sha256'))).sort(), [img.root, ...img.images.flatMap((i) => [i.manifest, i.config, ...i.layers])].map((d) => d.digest.slice(7)).sort());
  });

  it('hard-links blobs from a BlobStore on the same filesystem', async () => {
    const img = await makeImage(store, { marker: 'linked' });
    const out = join(dir, 'oci-linked');
    await writeImageSet(parseReference(`oci:${out}`), img.set);
    const layer = img.images[0]?.layers[0];
    assert.ok(layer);
    const a = await stat(store.path(layer.digest));
    const b = await stat(join(out, 'blobs', 'sha256', layer.digest.slice(7)));
    assert.equal(b.ino, a.ino);
    assert.equal(b.mode & 0o777, 0o444);
  });

  it('concurrent writes of two images to one layout both succeed and leave a valid layout', async () => {
    const a = await makeImage(store, { marker: 'conc-a' });
    const b = await makeImage(store, { marker: 'conc-b' });
    const out = join(dir, 'oci-concurrent');
    await Promise.all([writeImageSet(parseReference(`oci:${out}:a`), a.set), writeImageSet(parseReference(`oci:${out}:b`), b.set)]);
    const back = await readBack(`oci:${out}`);
    assert.ok(back.index.manifests.length >= 1);
    assert.deepEqual((await readdir(out)).sort(), ['blobs', 'index.json', 'oci-layout']);
  });

  it('tags entries, selects by tag, and keeps other tags of an existing layout', async () => {
    const a = await makeImage(store, { marker: 'a' });
    const b = await makeImage(store, { marker: 'b' });
    const out = join(dir, 'oci-tags');
    await writeImageSet(parseReference(`oci:${out}:one`), a.set);
    await writeImageSet(parseReference(`oci:${out}`), b.set, { tag: 'two' });
    const index = JSON.parse(await readFile(join(out, 'index.json'), 'utf8'));
    assert.deepEqual(
      index.manifests.map((m: { digest: string; annotations: Record<string, string> }) => [m.digest, m.annotations[Annotation.refName]]),
      [
        [a.root.digest, 'one'],
        [b.root.digest, 'two'],
      ],
    );
    assert.deepEqual((await readBack(`oci:${out}:one`)).index, a.set.index);
    assert.deepEqual((await readBack(`oci:${out}:two`)).index, b.set.index);
    // the same tag again replaces its entry
    await writeImageSet(parseReference(`oci:${out}:one`), b.set);
    assert.deepEqual((await readBack(`oci:${out}:one`)).index, b.set.index);
    assert.equal(JSON.parse(await readFile(join(out, 'index.json'), 'utf8')).manifests.length, 2);
    await rejectsWith(readImageSet(parseReference(`oci:${out}:three`)), 'BAD_REFERENCE');
  });

  it('refuses a directory that is not an OCI layout, and accepts an empty one', async () => {
    const img = await makeImage(store);
    const notLayout = join(dir, 'not-layout');
    await mkdir(notLayout);
    await writeFile(join(notLayout, 'notes.txt'), 'mine');
    await rejectsWith(writeImageSet(parseReference(`oci:${notLayout}`), img.set), 'OUTPUT_EXISTS');
    assert.deepEqual(await readdir(notLayout), ['notes.txt']);
    const file = join(dir, 'a-file');
    await writeFile(file, 'x');
    await rejectsWith(writeImageSet(parseReference(`oci:${file}`), img.set), 'OUTPUT_EXISTS');
    const empty = join(dir, 'empty');
    await mkdir(empty);
    await writeImageSet(parseReference(`oci:${empty}`), img.set);
    await readBack(`oci:${empty}`);
  });

  it('streams blobs from a reader that is not a BlobStore', async () => {
    const img = await makeImage(store, { marker: 'streamed' });
    const src = join(dir, 'oci-src');
    await writeImageSet(parseReference(`oci:${src}`), img.set);
    const fromArchive = join(dir, 'from.tar');
    await writeImageSet(parseReference(`oci-archive:${fromArchive}`), img.set);
    const out = join(dir, 'oci-streamed');
    await writeImageSet(parseReference(`oci:${out}`), await readImageSet(parseReference(`oci-archive:${fromArchive}`)));
    assert.deepEqual((await readBack(`oci:${out}`)).index, img.set.index);
  });

  it('a failure in the middle of a blob leaves the previous layout intact', async () => {
    const a = await makeImage(store, { marker: 'keep' });
    const b = await makeImage(store, { marker: 'fail' });
    const out = join(dir, 'oci-atomic');
    await writeImageSet(parseReference(`oci:${out}:t`), a.set);
    const before = await readFile(join(out, 'index.json'));
    const layer = b.images[0]?.layers[0];
    assert.ok(layer);
    const broken: ImageSet = { index: b.set.index, blobs: failingReader(store, layer.digest) };
    await assert.rejects(writeImageSet(parseReference(`oci:${out}:t`), broken), /injected failure/);
    assert.deepEqual(await readFile(join(out, 'index.json')), before);
    assert.deepEqual((await readBack(`oci:${out}:t`)).index, a.set.index);
    assert.deepEqual((await readdir(out)).sort(), ['blobs', 'index.json', 'oci-layout']);
  });

  it('verifies blobs on read', async () => {
    const img = await makeImage(store, { marker: 'tamper' });
    const out = join(dir, 'oci-tamper');
    await writeImageSet(parseReference(`oci:${out}`), img.set);
    const config = img.images[0]?.config;
    assert.ok(config);
    const file = join(out, 'blobs', 'sha256', config.digest.slice(7));
    const bytes = await readFile(file);
    await rm(file, { force: true });
    await writeFile(file, Buffer.from(bytes.toString('utf8').replace('amd64', 'arm64')));
    const set = await readImageSet(parseReference(`oci:${out}`));
    await rejectsWith(set.blobs.readBytes(config), 'DIGEST_MISMATCH');
  });
});

describe('oci-archive: layout tars', () => {
  it('writes a reproducible, sorted archive and reads it back', async () => {
    const img = await makeImage(store, { platforms: [{ os: 'linux', architecture: 'amd64' }, { os: 'linux', architecture: 'arm64' }] });
    const f1 = join(dir, 'a1.tar');
    const f2 = join(dir, 'sub', 'a2.tar');
    await writeImageSet(parseReference(`oci-archive:${f1}:v1`), img.set);
    await writeImageSet(parseReference(`oci-archive:${f2}`), img.set, { tag: 'v1' });
    assert.equal(await sha256File(f1), await sha256File(f2));
    const names = await tarNames(f1);
    assert.deepEqual(names, [...names].sort());
    assert.equal(names[0], 'blobs/');
    assert.equal(names[1], 'blobs/sha256/');
    assert.deepEqual(names.slice(-2), ['index.json', 'oci-layout']);
    assert.equal(names.length, 2 + 7 + 2); // two directories, the index + 2 × (manifest, config, layer), two documents
    assert.deepEqual((await readBack(`oci-archive:${f1}:v1`)).index, img.set.index);
    const untagged = await readBack(`oci-archive:${f1}`);
    assert.equal(untagged.index.manifests[0]?.annotations?.[Annotation.refName], 'v1');
    assert.deepEqual(await readdir(join(dir, 'sub')), ['a2.tar']);
  });

  it('headers are root-owned, mtime 0, 0644 files and 0755 directories', async () => {
    const img = await makeImage(store);
    const f = join(dir, 'modes.tar');
    await writeImageSet(parseReference(`oci-archive:${f}`), img.set);
    const { createReadStream } = await import('node:fs');
    for await (const e of readTar(createReadStream(f), { archive: f })) {
      assert.equal(e.uid, 0);
      assert.equal(e.gid, 0);
      assert.equal(e.mtime, 0);
      assert.equal(e.mode, e.type === 'dir' ? 0o755 : 0o644, e.path);
    }
  });

  it('a failed write leaves the previous archive byte-identical', async () => {
    const a = await makeImage(store, { marker: 'arch-keep' });
    const b = await makeImage(store, { marker: 'arch-fail' });
    const f = join(dir, 'atomic', 'img.tar');
    await writeImageSet(parseReference(`oci-archive:${f}`), a.set);
    const before = await sha256File(f);
    const layer = b.images[0]?.layers[0];
    assert.ok(layer);
    await assert.rejects(writeImageSet(parseReference(`oci-archive:${f}`), { index: b.set.index, blobs: failingReader(store, layer.digest) }));
    assert.equal(await sha256File(f), before);
    assert.deepEqual(await readdir(join(dir, 'atomic')), ['img.tar']);
  });

  it('rejects compressed archives, directories and non-archives with clear codes', async () => {
    const img = await makeImage(store);
    const f = join(dir, 'c.tar');
    await writeImageSet(parseReference(`oci-archive:${f}`), img.set);
    const gz = join(dir, 'c.tar.gz');
    await writeFile(gz, gzipSync(await readFile(f)));
    await rejectsWith(readImageSet(parseReference(`oci-archive:${gz}`)), 'UNSUPPORTED');
    await rejectsWith(writeImageSet(parseReference(`oci-archive:${dir}`), img.set), 'OUTPUT_EXISTS');
    const plain = join(dir, 'plain.tar');
    await writeFile(plain, await readBounded(tarStream([{ path: 'x', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, size: 0 }]), 1 << 20, 't'));
    await rejectsWith(readImageSet(parseReference(`oci-archive:${plain}`)), 'INVALID_IMAGE');
  });
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
      if (!e.path.startsWith('blobs/')) docs[e.path] = JSON.parse((await readBounded(e.body, 1 << 20, e.path)).toString('utf8'));
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
    await assert.rejects(writeImageSet(parseReference(`docker-archive:${f}:app:1`), broken), /injected failure/);
    assert.equal(await sha256File(f), before);
    assert.deepEqual(await readdir(join(dir, 'docker-atomic')), ['img.tar']);
  });

  it('refuses @N and names with a digest when writing', async () => {
    const img = await makeImage(store);
    await rejectsWith(writeImageSet(parseReference(`docker-archive:${join(dir, 'n.tar')}:@0`), img.set), 'BAD_REFERENCE');
    await rejectsWith(writeImageSet(parseReference(`docker-archive:${join(dir, 'n.tar')}`), img.set, { name: `app@sha256:${'0'.repeat(64)}` }), 'BAD_REFERENCE');
    await assert.rejects(stat(join(dir, 'n.tar')));
  });

  it('refuses a multi-platform set', async () => {
    const img = await makeImage(store, { platforms: [{ os: 'linux', architecture: 'amd64' }, { os: 'linux', architecture: 'arm64' }] });
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
      JSON.stringify([{ Config: `${configHex}.json`, RepoTags: ['localhost/legacy:old'], Layers: ['l1/layer.tar', 'l2/layer.tar', 'l3.tar.gz'] }]),
    );
    const entries: TarWriteEntry[] = [
      file(`${configHex}.json`, configBytes),
      { path: 'l1/', type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 0, size: 0 },
      file('l1/layer.tar', tar),
      { path: 'l2/', type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 0, size: 0 },
      { path: 'l2/layer.tar', type: 'symlink', mode: 0o777, uid: 0, gid: 0, mtime: 0, size: 0, linkname: '../l1/layer.tar' },
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

describe('docker:// (registry)', () => {
  it('parses, but reading and writing are UNSUPPORTED for now', async () => {
    const img = await makeImage(store);
    const ref = parseReference('docker://localhost:5000/app:1');
    await rejectsWith(writeImageSet(ref, img.set), 'UNSUPPORTED');
    await rejectsWith(readImageSet(ref), 'UNSUPPORTED');
  });
});

describe('options', () => {
  it('an invalid default tag is BAD_REFERENCE before anything is written', async () => {
    const img = await makeImage(store);
    const out = join(dir, 'bad-tag');
    await rejectsWith(writeImageSet(parseReference(`oci:${out}`), img.set, { tag: 'no spaces' }), 'BAD_REFERENCE');
    await assert.rejects(stat(out));
  });
});
