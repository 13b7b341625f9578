import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { canonicalJson } from '../../src/oci/canonical-json.js';
import type { ImageSet } from '../../src/oci/image-set.js';
import { Annotation } from '../../src/oci/media-types.js';
import { BlobStore } from '../../src/store/index.js';
import { parseReference, readImageSet, writeImageSet } from '../../src/transport/index.js';
import { failingReader, makeImage, readBack, rejectsWith } from './fixtures.js';

let dir: string;
let store: BlobStore;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'imprint-transport-'));
  store = new BlobStore(join(dir, 'store'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('oci: layout directories', () => {
  it('writes a valid layout and reads back the same set', async () => {
    const img = await makeImage(store);
    const out = join(dir, 'oci1');
    await writeImageSet(parseReference(`oci:${out}`), img.set);
    assert.deepEqual(JSON.parse(await readFile(join(out, 'oci-layout'), 'utf8')), {
      imageLayoutVersion: '1.0.0',
    });
    assert.equal(await readFile(join(out, 'oci-layout'), 'utf8'), '{"imageLayoutVersion":"1.0.0"}');
    assert.deepEqual(await readFile(join(out, 'index.json')), canonicalJson(img.set.index));
    const back = await readBack(`oci:${out}`);
    assert.deepEqual(back.index, img.set.index);
    // only imprint's three names, no temporary files left
    assert.deepEqual((await readdir(out)).sort(), ['blobs', 'index.json', 'oci-layout']);
    // the image index, manifest, config and layer, and nothing else
    assert.deepEqual(
      (await readdir(join(out, 'blobs', 'sha256'))).sort(),
      [img.root, ...img.images.flatMap((i) => [i.manifest, i.config, ...i.layers])]
        .map((d) => d.digest.slice(7))
        .sort(),
    );
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
    await Promise.all([
      writeImageSet(parseReference(`oci:${out}:a`), a.set),
      writeImageSet(parseReference(`oci:${out}:b`), b.set),
    ]);
    const back = await readBack(`oci:${out}`);
    assert.ok(back.index.manifests.length >= 1);
    assert.deepEqual((await readdir(out)).sort(), ['blobs', 'index.json', 'oci-layout']);
  });

  it('concurrent writes with different tags keep every tag, into a new layout and an existing one', async () => {
    const images = await Promise.all(
      [0, 1, 2, 3, 4, 5].map((i) => makeImage(store, { marker: `tags-${i}` })),
    );
    for (const name of ['oci-tags-new', 'oci-tags-existing']) {
      const out = join(dir, name);
      if (name.endsWith('existing')) await writeImageSet(parseReference(`oci:${out}:base`), images[0]!.set);
      await Promise.all(images.map((img, i) => writeImageSet(parseReference(`oci:${out}:v${i}`), img.set)));
      const tags = (await readBack(`oci:${out}`)).index.manifests
        .map((m) => m.annotations?.[Annotation.refName])
        .sort();
      const expected = [
        'v0',
        'v1',
        'v2',
        'v3',
        'v4',
        'v5',
        ...(name.endsWith('existing') ? ['base'] : []),
      ].sort();
      assert.deepEqual(tags, expected, name);
      assert.deepEqual(
        (await readdir(out)).sort(),
        ['blobs', 'index.json', 'oci-layout'],
        'the lock is gone',
      );
    }
  });

  it('fails, naming the directory, where it cannot be made (never loops)', async () => {
    const img = await makeImage(store, { marker: 'proc' });
    // procfs refuses new directories with ENOENT, which sends a recursive mkdir round in circles.
    await rejectsWith(writeImageSet(parseReference('oci:/proc/imprint-test-out/x'), img.set), 'IO');
    const file = join(dir, 'a-file');
    await writeFile(file, 'x');
    await rejectsWith(writeImageSet(parseReference(`oci:${join(file, 'sub')}`), img.set), 'IO');
  });

  it('tags entries, selects by tag, and keeps other tags of an existing layout', async () => {
    const a = await makeImage(store, { marker: 'a' });
    const b = await makeImage(store, { marker: 'b' });
    const out = join(dir, 'oci-tags');
    await writeImageSet(parseReference(`oci:${out}:one`), a.set);
    await writeImageSet(parseReference(`oci:${out}`), b.set, { tag: 'two' });
    const index = JSON.parse(await readFile(join(out, 'index.json'), 'utf8'));
    assert.deepEqual(
      index.manifests.map((m: { digest: string; annotations: Record<string, string> }) => [
        m.digest,
        m.annotations[Annotation.refName],
      ]),
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
    await writeImageSet(
      parseReference(`oci:${out}`),
      await readImageSet(parseReference(`oci-archive:${fromArchive}`)),
    );
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

  it('a new layout whose first write failed is completed by the next write, not refused', async () => {
    const img = await makeImage(store, { marker: 'first-write' });
    const out = join(dir, 'oci-first-fails');
    const layer = img.images[0]?.layers[0];
    assert.ok(layer);
    const broken: ImageSet = { index: img.set.index, blobs: failingReader(store, layer.digest) };
    await assert.rejects(writeImageSet(parseReference(`oci:${out}:t`), broken), /injected failure/);
    assert.ok((await readdir(out)).includes('oci-layout'), 'oci-layout is written before the blobs');
    await writeImageSet(parseReference(`oci:${out}:t`), img.set);
    assert.deepEqual((await readBack(`oci:${out}:t`)).index, img.set.index);
  });

  it('refuses an index.json that is a device or FIFO, and a blobs directory that is a symlink', async () => {
    const odd = join(dir, 'oci-devzero');
    await mkdir(odd, { recursive: true });
    await writeFile(join(odd, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    await symlink('/dev/zero', join(odd, 'index.json'));
    await rejectsWith(readImageSet(parseReference(`oci:${odd}`)), 'INVALID_IMAGE');
    const img = await makeImage(store, { marker: 'linked-blobs' });
    const linked = join(dir, 'oci-linked-blobs');
    await mkdir(join(dir, 'elsewhere'), { recursive: true });
    await mkdir(linked, { recursive: true });
    await symlink(join(dir, 'elsewhere'), join(linked, 'blobs'));
    await rejectsWith(writeImageSet(parseReference(`oci:${linked}`), img.set), 'OUTPUT_EXISTS');
    assert.deepEqual(await readdir(join(dir, 'elsewhere')), [], 'nothing written through the link');
  });

  it('says when a layout path does not exist, or is a file (an archive read with oci:), instead of a missing oci-layout or ENOTDIR', async () => {
    await assert.rejects(readImageSet(parseReference(`oci:${join(dir, 'no-such-layout')}`)), {
      code: 'INVALID_IMAGE',
      message: `OCI layout ${join(dir, 'no-such-layout')}: ${join(dir, 'no-such-layout')} does not exist`,
    });
    const archive = join(dir, 'an-archive.tar');
    await writeFile(archive, 'not a directory');
    await assert.rejects(readImageSet(parseReference(`oci:${archive}`)), {
      code: 'INVALID_IMAGE',
      message: `OCI layout ${archive}: ${archive} is a file, not a directory`,
      hint: /oci-archive:FILE/,
    });
    const empty = join(dir, 'empty-layout');
    await mkdir(empty, { recursive: true });
    await assert.rejects(readImageSet(parseReference(`oci:${empty}`)), {
      code: 'INVALID_IMAGE',
      message: `OCI layout ${empty} has no oci-layout`,
    });
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
