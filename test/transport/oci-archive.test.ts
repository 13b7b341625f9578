import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { Annotation } from '../../src/oci/media-types.js';
import { BlobStore, readBounded } from '../../src/store/index.js';
import { readTar, tarStream } from '../../src/tar/index.js';
import { parseReference, readImageSet, writeImageSet } from '../../src/transport/index.js';
import { failingReader, makeImage, readBack, rejectsWith, sha256File, tarNames } from './fixtures.js';

let dir: string;
let store: BlobStore;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'imprint-transport-'));
  store = new BlobStore(join(dir, 'store'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('oci-archive: layout tars', () => {
  it('writes a reproducible, sorted archive and reads it back', async () => {
    const img = await makeImage(store, {
      platforms: [
        { os: 'linux', architecture: 'amd64' },
        { os: 'linux', architecture: 'arm64' },
      ],
    });
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
    await assert.rejects(
      writeImageSet(parseReference(`oci-archive:${f}`), {
        index: b.set.index,
        blobs: failingReader(store, layer.digest),
      }),
    );
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
    await writeFile(
      plain,
      await readBounded(
        tarStream([{ path: 'x', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, size: 0 }]),
        1 << 20,
        't',
      ),
    );
    await rejectsWith(readImageSet(parseReference(`oci-archive:${plain}`)), 'INVALID_IMAGE');
  });
});
