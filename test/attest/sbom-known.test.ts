// The SBOM of a new image takes what its new layers hold from the entries the build wrote them from
// (sbomLayerFiles) instead of reading them back: the facts, and so the document, must be the same
// as reading the layers, over whiteouts, opaque directories, doc-directory links, hard links, files
// replaced by links and links by files, and paths repeated across layers.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { imageSbom, sbomLayerFiles } from '../../src/attest/sbom.js';
import { type LayerFiles, readImageFiles } from '../../src/base/image-files.js';
import type { Descriptor } from '../../src/oci/types.js';
import { BlobStore } from '../../src/store/index.js';
import type { TarWriteEntry } from '../../src/tar/index.js';
import { writeLayer } from '../../src/vfs/layer.js';
import { DEP5_FORMAT } from './fixtures.js';

const head = { mode: 0o644, uid: 0, gid: 0, mtime: 1700000000 };
const dir = (path: string): TarWriteEntry => ({
  ...head,
  mode: 0o755,
  path: `${path}/`,
  type: 'dir',
  size: 0,
});
const link = (path: string, linkname: string): TarWriteEntry => ({
  ...head,
  path,
  type: 'symlink',
  linkname,
  size: 0,
});
const hardlink = (path: string, linkname: string): TarWriteEntry => ({
  ...head,
  path,
  type: 'hardlink',
  linkname,
  size: 0,
});
/** A file whose body is only reachable through a stream (as spooled bodies are), or also synchronously. */
function file(path: string, text: string, sync = false): TarWriteEntry {
  const bytes = Buffer.from(text);
  return {
    ...head,
    path,
    type: 'file',
    size: bytes.length,
    body: () => Readable.from([bytes]),
    ...(sync ? { bodySync: () => bytes } : {}),
  };
}
const status = (name: string, version: string, extra = ''): string =>
  `Package: ${name}\nStatus: install ok installed\nVersion: ${version}\nArchitecture: amd64\nMaintainer: A Team <a@invalid>\n${extra}Description: ${name}\n`;
const copyright = (license: string): string =>
  `Format: ${DEP5_FORMAT}\n\nFiles: *\nCopyright: 2024 Someone\nLicense: ${license}\n`;

const LAYERS: TarWriteEntry[][] = [
  [
    dir('etc'),
    file('etc/os-release', 'ID=debian\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\n', true),
    dir('usr'),
    dir('usr/share'),
    dir('usr/share/doc'),
    dir('usr/share/doc/alpha'),
    file('usr/share/doc/alpha/copyright', copyright('MIT')),
    hardlink('usr/share/doc/alpha/copyright.hard', 'usr/share/doc/alpha/copyright'),
    dir('usr/share/doc/beta'),
    file('usr/share/doc/beta/copyright', copyright('GPL-2+')),
    link('usr/share/doc/gamma', 'beta'),
    dir('usr/share/doc/gone'),
    file('usr/share/doc/gone/copyright', copyright('BSD-3-clause')),
    dir('var'),
    dir('var/lib'),
    dir('var/lib/dpkg'),
    dir('var/lib/dpkg/status.d'),
    file('var/lib/dpkg/status.d/alpha', status('alpha', '1.0-1')),
    file('var/lib/dpkg/status.d/beta', status('beta', '2.0-1', 'Source: betasrc (2.0)\n'), true),
    file('var/lib/dpkg/status.d/gamma', status('gamma', '3.0-1', 'Source: beta\n')),
    file('var/lib/dpkg/status.d/gone', status('gone', '0.1-1')),
  ],
  [
    // Upper layer: a whiteout, an opaque directory, a link replaced by a directory's file, a file by a link.
    dir('usr/share/doc'),
    file('usr/share/doc/.wh.gone', ''),
    dir('usr/share/doc/alpha'),
    file('usr/share/doc/alpha/.wh..wh..opq', ''),
    file('usr/share/doc/alpha/copyright', copyright('Apache-2.0'), true),
    link('usr/share/doc/beta/copyright', '../alpha/copyright'),
    dir('usr/share/doc/delta'),
    file('usr/share/doc/delta/copyright', copyright('Zlib')),
    dir('var/lib/dpkg/status.d'),
    file('var/lib/dpkg/status.d/.wh.gone', ''),
    file('var/lib/dpkg/status.d/delta', status('delta', '4.0-1')),
    file('var/lib/dpkg/status.d/alpha', status('alpha', '1.0-2')),
  ],
];

describe('the SBOM of layers this build wrote', () => {
  const dirs: string[] = [];
  after(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('holds the same facts, and is the same document, as reading the layers back', async () => {
    const work = await mkdtemp(join(tmpdir(), 'imprint-sbom-known-'));
    dirs.push(work);
    const store = new BlobStore(join(work, 'store'));
    const layers: Descriptor[] = [];
    const known = new Map<string, LayerFiles>();
    for (const entries of LAYERS) {
      const written = await writeLayer(entries, { compression: 'gzip', level: 6 }, store);
      layers.push(written.descriptor);
      known.set(written.descriptor.digest, await sbomLayerFiles(entries));
    }
    const wanted = () => true;
    assert.deepEqual(
      await readImageFiles(store, layers, wanted, 1 << 20, undefined, known),
      await readImageFiles(store, layers, wanted, 1 << 20),
    );
    const input = {
      blobs: store,
      manifest: {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        digest: `sha256:${'a'.repeat(64)}` as const,
        size: 1,
      },
      platform: 'linux/amd64',
      layers,
      epoch: 1700000000,
      version: '0.0.0-test',
    };
    const read = (await imageSbom(input)) as { packages: Array<{ name: string; licenseDeclared: string }> };
    assert.deepEqual(await imageSbom({ ...input, known }), read);
    // What the layers say, so the comparison is not between two empty documents.
    assert.deepEqual(
      read.packages.map((p) => `${p.name} ${p.licenseDeclared}`),
      // beta's copyright became a link (not followed), and gamma's doc directory links to beta's
      [
        'image linux/amd64 NOASSERTION',
        'debian NOASSERTION',
        'alpha Apache-2.0',
        'beta NOASSERTION',
        'delta Zlib',
        'gamma NOASSERTION',
      ],
    );
    // Known layers are not opened: a store without their blobs gives the same document.
    const empty = new BlobStore(join(work, 'empty'));
    assert.deepEqual(await imageSbom({ ...input, blobs: empty, known }), read);
  });
});
