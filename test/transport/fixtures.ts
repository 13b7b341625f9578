// Test fixtures for transports: small valid images built in the test, stored in a BlobStore.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { type Digest, sha256 } from '../../src/digest/index.js';
import { type ImprintError, isImprintError } from '../../src/errors.js';
import { canonicalJson } from '../../src/oci/canonical-json.js';
import type { BlobReader, ImageSet } from '../../src/oci/image-set.js';
import { MediaType } from '../../src/oci/media-types.js';
import type { Descriptor, ImageIndex, Platform } from '../../src/oci/types.js';
import { validateImage } from '../../src/oci/validate.js';
import type { BlobStore } from '../../src/store/index.js';
import { readBounded } from '../../src/store/index.js';
import { readTar, type TarWriteEntry, tarStream } from '../../src/tar/index.js';
import { parseReference, readImageSet } from '../../src/transport/index.js';

export interface FixtureImage {
  set: ImageSet;
  /** Per platform: the manifest descriptor, config and layer descriptors. */
  images: { manifest: Descriptor; config: Descriptor; layers: Descriptor[]; diffIds: Digest[] }[];
  /** The root entry (an image index when `wrap`, else the single manifest). */
  root: Descriptor;
}

export interface FixtureOptions {
  platforms?: Platform[];
  /** Wrap the manifests in an image index (as imprint builds do). Default true. */
  wrap?: boolean;
  /** Makes the content differ between fixtures. */
  marker?: string;
}

function file(path: string, mode: number, content: string): TarWriteEntry {
  const body = Buffer.from(content);
  return {
    path,
    type: 'file',
    mode,
    uid: 0,
    gid: 0,
    mtime: 0,
    size: body.length,
    body: () => Readable.from([body]),
  };
}

function dir(path: string): TarWriteEntry {
  return { path, type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 0, size: 0 };
}

/** The uncompressed layer tar of a fixture: a script (0755), a private file (0600), a data file (0644). */
export async function layerTar(marker: string, arch: string): Promise<Buffer> {
  const entries = [
    dir('etc/'),
    file('etc/motd', 0o644, `hello from ${marker} on ${arch}\n`),
    file('etc/secret', 0o600, `secret ${marker}\n`),
    dir('usr/'),
    dir('usr/bin/'),
    file('usr/bin/hello', 0o755, '#!/bin/sh\necho hello\n'),
  ];
  return readBounded(tarStream(entries), 1 << 20, 'fixture layer');
}

/** Builds a small valid image (one gzip layer per platform) into `store`. */
export async function makeImage(store: BlobStore, opts: FixtureOptions = {}): Promise<FixtureImage> {
  const platforms = opts.platforms ?? [{ os: 'linux', architecture: 'amd64' }];
  const marker = opts.marker ?? 'fixture';
  const images: FixtureImage['images'] = [];
  for (const platform of platforms) {
    const tar = await layerTar(marker, platform.architecture);
    const gz = gzipSync(tar, { level: 6 });
    const layer = { mediaType: MediaType.ociLayerGzip, ...(await store.putBytes(gz)) };
    const diffId = sha256(tar);
    const configBytes = canonicalJson({
      architecture: platform.architecture,
      os: platform.os,
      ...(platform.variant ? { variant: platform.variant } : {}),
      created: '1970-01-01T00:00:00Z',
      config: { Cmd: ['/usr/bin/hello'], Env: ['PATH=/usr/bin:/bin'] },
      rootfs: { type: 'layers', diff_ids: [diffId] },
      history: [{ created: '1970-01-01T00:00:00Z', created_by: `fixture ${marker}` }],
    });
    const config = { mediaType: MediaType.ociConfig, ...(await store.putBytes(configBytes)) };
    const manifestBytes = canonicalJson({
      schemaVersion: 2,
      mediaType: MediaType.ociManifest,
      config,
      layers: [layer],
    });
    const manifest: Descriptor = {
      mediaType: MediaType.ociManifest,
      ...(await store.putBytes(manifestBytes)),
      platform,
    };
    images.push({ manifest, config, layers: [layer], diffIds: [diffId] });
  }
  let root: Descriptor;
  if (opts.wrap ?? true) {
    const indexBytes = canonicalJson({
      schemaVersion: 2,
      mediaType: MediaType.ociIndex,
      manifests: images.map((i) => i.manifest),
    });
    root = { mediaType: MediaType.ociIndex, ...(await store.putBytes(indexBytes)) };
  } else {
    const [only] = images;
    if (only === undefined || images.length !== 1) throw new Error('wrap: false needs exactly one platform');
    root = only.manifest;
  }
  const index: ImageIndex = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [root] };
  return { set: { index, blobs: store }, images, root };
}

/** A BlobReader that fails mid-stream when opening `digest` (to test that failed writes leave no trace). */
export function failingReader(inner: BlobReader, digest: Digest): BlobReader {
  return {
    async open(desc) {
      const d = typeof desc === 'string' ? desc : desc.digest;
      if (d !== digest) return inner.open(desc);
      const real = await inner.open(desc);
      return Readable.from(
        (async function* () {
          let sent = 0;
          for await (const chunk of real as AsyncIterable<Buffer>) {
            yield chunk.subarray(0, Math.max(1, chunk.length >> 1));
            sent++;
            if (sent > 0) throw new Error('injected failure in the middle of a blob');
          }
        })(),
      );
    },
    readBytes: (desc, max) => inner.readBytes(desc, max),
  };
}

/** Whether a command is installed (for skipping interop tests with a clear message). */
export function hasTool(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

/** Runs a command; throws with its output unless it exits 0. */
export function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): string {
  const r = spawnSync(cmd, args, {
    encoding: 'utf8',
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    maxBuffer: 64 << 20,
  });
  if (r.status !== 0)
    throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** Asserts that `p` rejects with an ImprintError of `code`, and returns it. */
export async function rejectsWith(p: Promise<unknown>, code: string): Promise<ImprintError> {
  let caught: ImprintError | undefined;
  await assert.rejects(p, (err: unknown) => {
    assert.ok(isImprintError(err), `expected an ImprintError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    caught = err;
    return true;
  });
  return caught as ImprintError;
}

/** sha256 hex of a file (small test files only: reads it whole). */
export const sha256File = async (f: string): Promise<string> =>
  createHash('sha256')
    .update(await readFile(f))
    .digest('hex');

/** Reads every blob of a set (verifying it) and validates the images. */
export async function readBack(text: string): Promise<ImageSet> {
  const set = await readImageSet(parseReference(text));
  await validateImage(set);
  return set;
}

/** Entry names of a tar file in archive order. */
export async function tarNames(file: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of readTar(createReadStream(file), { archive: file })) names.push(e.path);
  return names;
}
