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

/** The SBOM of a one-layer image holding `files` (path → text). */
async function sbomOf(files: Record<string, string>): Promise<SbomDoc> {
  const store = new BlobStore(work);
  const entries: TarWriteEntry[] = Object.entries(files).map(([path, text]) => {
    const body = Buffer.from(text);
    return {
      path,
      type: 'file',
      mode: 0o644,
      uid: 0,
      gid: 0,
      mtime: 0,
      size: body.length,
      body: () => Readable.from([body]),
    };
  });
  const chunks: Buffer[] = [];
  for await (const c of tarStream(entries)) chunks.push(c as Buffer);
  const tar = Buffer.concat(chunks);
  await store.putBytes(tar);
  const layer = { mediaType: MediaType.ociLayer, digest: sha256(tar), size: tar.length };
  return (await imageSbom({
    blobs: store,
    manifest: { mediaType: MediaType.ociManifest, digest: sha256(Buffer.from('m')), size: 1 },
    platform: 'linux/amd64',
    layers: [layer],
    epoch: 0,
    version: 'test',
  })) as unknown as SbomDoc;
}

interface SbomDoc {
  packages: Array<{
    SPDXID: string;
    name: string;
    versionInfo?: string;
    sourceInfo?: string;
    primaryPackagePurpose?: string;
  }>;
  relationships: Array<{ spdxElementId: string; relationshipType: string; relatedSpdxElement: string }>;
}

it('lists the installed packages of /var/lib/dpkg/status', async () => {
  const doc = await sbomOf({ 'var/lib/dpkg/status': STATUS });
  const debs = doc.packages.filter((p) => p.SPDXID.startsWith('SPDXRef-Package-deb-'));
  assert.deepEqual(
    debs.map((p) => [p.name, p.versionInfo]),
    [
      ['libc6', '2.36-9+deb12u4'],
      ['tzdata', '2024a-0+deb12u1'],
    ],
  );
  assert.equal(debs[0]?.sourceInfo, 'built from Debian source package glibc');
  // No os-release: no operating-system package.
  assert.equal(doc.packages.filter((p) => p.primaryPackagePurpose === 'OPERATING-SYSTEM').length, 0);
});

it('describes the distribution of os-release as the OPERATING-SYSTEM package Trivy reads', async () => {
  const doc = await sbomOf({
    'usr/lib/os-release':
      'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\n',
    'var/lib/dpkg/status': STATUS,
  });
  const os = doc.packages.filter((p) => p.primaryPackagePurpose === 'OPERATING-SYSTEM');
  assert.deepEqual(
    os.map((p) => [p.SPDXID, p.name, p.versionInfo]),
    [['SPDXRef-OperatingSystem', 'debian', '12']],
  );
  assert.ok(
    doc.relationships.some(
      (r) =>
        r.spdxElementId === 'SPDXRef-Image' &&
        r.relationshipType === 'CONTAINS' &&
        r.relatedSpdxElement === 'SPDXRef-OperatingSystem',
    ),
  );
});
