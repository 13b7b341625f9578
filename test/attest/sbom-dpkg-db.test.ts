// The SBOM also lists the packages of dpkg's classic database (/var/lib/dpkg/status), as images built on
// Debian base images carry it: installed entries only.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, it } from 'node:test';
import { imageSbom } from '../../src/attest/sbom.js';
import { sha256 } from '../../src/digest/index.js';
import { MediaType } from '../../src/oci/media-types.js';
import { BlobStore } from '../../src/store/index.js';
import { type TarWriteEntry, tarStream } from '../../src/tar/index.js';

const STATUS = `Package: libc6
Status: install ok installed
Architecture: amd64
Version: 2.36-9+deb12u4
Maintainer: GNU Libc Maintainers <debian-glibc@lists.debian.org>
Source: glibc

Package: oldpkg
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0

Package: tzdata
Status: install ok installed
Architecture: all
Version: 2024a-0+deb12u1
`;

const work = await mkdtemp(join(tmpdir(), 'imprint-sbom-db-'));
after(() => rm(work, { recursive: true, force: true }));

it('lists the installed packages of /var/lib/dpkg/status', async () => {
  const store = new BlobStore(work);
  const body = Buffer.from(STATUS);
  const entries: TarWriteEntry[] = [
    {
      path: 'var/lib/dpkg/status',
      type: 'file',
      mode: 0o644,
      uid: 0,
      gid: 0,
      mtime: 0,
      size: body.length,
      body: () => Readable.from([body]),
    },
  ];
  const chunks: Buffer[] = [];
  for await (const c of tarStream(entries)) chunks.push(c as Buffer);
  const tar = Buffer.concat(chunks);
  await store.putBytes(tar);
  const layer = { mediaType: MediaType.ociLayer, digest: sha256(tar), size: tar.length };
  const doc = (await imageSbom({
    blobs: store,
    manifest: { mediaType: MediaType.ociManifest, digest: sha256(Buffer.from('m')), size: 1 },
    platform: 'linux/amd64',
    layers: [layer],
    epoch: 0,
    version: 'test',
  })) as { packages: Array<{ name: string; versionInfo: string; sourceInfo?: string }> };
  const debs = doc.packages.filter((p) => p.name !== 'image linux/amd64');
  assert.deepEqual(
    debs.map((p) => [p.name, p.versionInfo]),
    [
      ['libc6', '2.36-9+deb12u4'],
      ['tzdata', '2024a-0+deb12u1'],
    ],
  );
  assert.equal(debs[0]?.sourceInfo, 'built from Debian source package glibc');
});
