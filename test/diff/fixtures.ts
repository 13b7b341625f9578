// Small images for diff tests, built from a declarative spec so one field can be changed at a time.
import { mkdtempSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after } from 'node:test';
import { compressStream } from '../../src/compress/index.js';
import { sha256 } from '../../src/digest/index.js';
import { canonicalJson } from '../../src/oci/canonical-json.js';
import type { ImageSet } from '../../src/oci/image-set.js';
import { MediaType } from '../../src/oci/media-types.js';
import type { Descriptor, HistoryEntry } from '../../src/oci/types.js';
import { validateImage } from '../../src/oci/validate.js';
import { BlobStore, readBounded } from '../../src/store/index.js';
import { type TarWriteEntry, tarStream } from '../../src/tar/index.js';

export interface LayerSpec {
  entries: TarWriteEntry[];
  gzipLevel?: number;
  /** Zero bytes appended after the end-of-archive marker (as tar tools pad to a 10240-byte record). */
  trailingZeros?: number;
}

export interface ImageSpec {
  layers: LayerSpec[];
  env?: string[];
  labels?: Record<string, string>;
  history?: HistoryEntry[];
  created?: string;
  annotations?: Record<string, string>;
}

/** A regular file entry. */
export function file(
  path: string,
  content: string | Buffer,
  over: Partial<TarWriteEntry> = {},
): TarWriteEntry {
  const body = Buffer.from(content);
  return {
    path,
    type: 'file',
    mode: 0o644,
    uid: 0,
    gid: 0,
    mtime: 1000,
    size: body.length,
    body: () => Readable.from([body]),
    ...over,
  };
}

/** A directory entry. */
export function dir(path: string, over: Partial<TarWriteEntry> = {}): TarWriteEntry {
  return { path, type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 1000, size: 0, ...over };
}

/** A symlink entry. */
export function symlink(path: string, target: string, over: Partial<TarWriteEntry> = {}): TarWriteEntry {
  return {
    path,
    type: 'symlink',
    mode: 0o777,
    uid: 0,
    gid: 0,
    mtime: 1000,
    size: 0,
    linkname: target,
    ...over,
  };
}

/** The base image of the matrix: one layer with a directory, text and binary files, a symlink, a device. */
export function baseSpec(): ImageSpec {
  return {
    layers: [
      {
        entries: [
          dir('etc/'),
          file('etc/motd', 'line one\nline two\nline three\n'),
          file('etc/blob.bin', Buffer.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 255])),
          symlink('etc/link', 'motd'),
          {
            path: 'etc/null',
            type: 'char',
            mode: 0o666,
            uid: 0,
            gid: 0,
            mtime: 1000,
            size: 0,
            devmajor: 1,
            devminor: 3,
          },
          dir('usr/'),
          file('usr/tool', '#!/bin/sh\necho hi\n', { mode: 0o755 }),
        ],
      },
    ],
    env: ['PATH=/usr/bin:/bin', 'LANG=C.UTF-8'],
    labels: { 'org.example.team': 'core' },
    history: [{ created: '2024-01-01T00:00:00Z', created_by: 'COPY . /' }],
    created: '2024-01-01T00:00:00Z',
    annotations: { 'org.opencontainers.image.created': '2024-01-01T00:00:00Z', 'org.example.note': 'base' },
  };
}

/** A fresh content store in a temporary directory. */
export async function tempStore(): Promise<{ dir: string; store: BlobStore }> {
  const dir = await mkdtemp(join(tmpdir(), 'imprint-diff-'));
  return { dir, store: new BlobStore(join(dir, 'store')) };
}

/** A store in a temporary directory for the calling test file, removed after its tests. */
export function fileStore(): BlobStore {
  const dir = mkdtempSync(join(tmpdir(), 'imprint-diff-'));
  after(() => rm(dir, { recursive: true, force: true }));
  return new BlobStore(join(dir, 'store'));
}

/** Builds the image a spec describes into `store` (gzip layers, a one-entry index); validated. */
export async function buildImage(store: BlobStore, spec: ImageSpec): Promise<ImageSet> {
  const layers: Descriptor[] = [];
  const diffIds: string[] = [];
  for (const l of spec.layers) {
    const tar = Buffer.concat([
      await readBounded(tarStream(l.entries), 64 << 20, 'test layer'),
      Buffer.alloc(l.trailingZeros ?? 0),
    ]);
    const gz = await readBounded(
      Readable.from([tar]).pipe(compressStream({ compression: 'gzip', level: l.gzipLevel ?? 6, workers: 0 })),
      64 << 20,
      'test layer gz',
    );
    layers.push({ mediaType: MediaType.ociLayerGzip, ...(await store.putBytes(gz)) });
    diffIds.push(sha256(tar));
  }
  const config = canonicalJson({
    architecture: 'amd64',
    os: 'linux',
    ...(spec.created ? { created: spec.created } : {}),
    config: { Env: spec.env ?? [], Labels: spec.labels ?? {} },
    rootfs: { type: 'layers', diff_ids: diffIds },
    history: spec.layers.map(
      (_, i) => spec.history?.[i] ?? { created: '2024-01-01T00:00:00Z', created_by: `layer ${i}` },
    ),
  });
  const configDesc = { mediaType: MediaType.ociConfig, ...(await store.putBytes(config)) };
  const manifest = canonicalJson({
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    config: configDesc,
    layers,
    ...(spec.annotations ? { annotations: spec.annotations } : {}),
  });
  const manifestDesc: Descriptor = {
    mediaType: MediaType.ociManifest,
    ...(await store.putBytes(manifest)),
    platform: { os: 'linux', architecture: 'amd64' },
  };
  const index = canonicalJson({ schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [manifestDesc] });
  const root = { mediaType: MediaType.ociIndex, ...(await store.putBytes(index)) };
  const set: ImageSet = {
    index: { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [root] },
    blobs: store,
  };
  await validateImage(set);
  return set;
}
