// Pushing an image set to a registry: blobs (skipped, mounted, monolithic or chunked), manifests, referrers.
import type { Readable } from 'node:stream';
import type { Digest } from '../../digest/index.js';
import { errorText, ImprintError, isImprintError } from '../../errors.js';
import { mapLimit } from '../../net/concurrency.js';
import type { ImageSet } from '../../oci/image-set.js';
import { INDEX_TYPES, MANIFEST_TYPES } from '../../oci/media-types.js';
import type { Descriptor } from '../../oci/types.js';
import { parseIndex } from '../layout-docs.js';
import { walkImageSet } from '../walk.js';
import type { RegistryClient } from './client.js';
import { counted, drain } from './http.js';
import { addReferrer } from './referrers.js';

export interface PushTarget {
  tag?: string | undefined;
  digest?: Digest | undefined;
}

/** What a push did. */
export interface PushResult {
  /** The digest of the manifest or index the reference now names. */
  digest: Digest;
  /** Blobs sent (config and layer blobs), sorted. */
  uploaded: Digest[];
  /** Blobs the registry had already, or mounted from another repository, sorted. */
  skipped: Digest[];
}

const BLOB_CONCURRENCY = 3;

/**
 * Pushes `set` to the client's repository. The set's root must hold exactly one entry without a
 * `subject` (the one the tag or digest names); root entries with a `subject` (attestations) are
 * pushed by digest and announced through the referrers API, or the `sha256-<hex>` fallback tag when
 * the registry does not process subjects. Config and layer blobs first (HEAD skips those present,
 * `mountFrom` repositories are tried with a cross-repository mount), then manifests children first,
 * the tagged one last. Cost: streams each missing blob once (again after a dropped connection).
 */
export async function pushImageSet(
  client: RegistryClient,
  target: PushTarget,
  set: ImageSet,
  mountFrom: string[] = [],
): Promise<PushResult> {
  const what = `docker://${client.name}`;
  const main: Descriptor[] = [];
  const referrers: Descriptor[] = [];
  const subjects = new Map<string, Descriptor>();
  for (const d of set.index.manifests) {
    const subject = await subjectOf(set, d);
    if (subject === undefined) main.push(d);
    else {
      referrers.push(d);
      subjects.set(d.digest, subject);
    }
  }
  const [root] = main;
  if (root === undefined || main.length !== 1) {
    throw new ImprintError(
      'UNSUPPORTED',
      `${what}: a registry reference names one image, the set has ${main.length} root entries without a subject`,
      { hint: 'Select one image (e.g. read oci:DIR:TAG) before pushing.', details: { entries: main.length } },
    );
  }
  if (target.digest !== undefined && target.digest !== root.digest) {
    throw new ImprintError(
      'DIGEST_MISMATCH',
      `${what}@${target.digest}: the image to push has digest ${root.digest}`,
      {
        hint: 'Push by tag, or name the digest the image has.',
        details: { expected: target.digest, found: root.digest },
      },
    );
  }
  for (const repo of mountFrom) client.extraPull.add(repo);
  const walk = await walkImageSet(set);
  const isManifest = (d: Descriptor): boolean =>
    INDEX_TYPES.includes(d.mediaType) || MANIFEST_TYPES.includes(d.mediaType);
  const uploaded: Digest[] = [];
  const skipped: Digest[] = [];
  const manifestDigests = new Set(walk.blobs.filter(isManifest).map((d) => d.digest));
  const blobs = walk.blobs.filter((d) => !manifestDigests.has(d.digest));
  await mapLimit(blobs, BLOB_CONCURRENCY, async (d) => {
    const how = await ensureBlob(client, set, d, mountFrom);
    (how === 'uploaded' ? uploaded : skipped).push(d.digest);
  });
  const pushed = new Set<string>();
  const pushTree = async (d: Descriptor, reference: string | undefined): Promise<string | undefined> => {
    const bytes = await set.blobs.readBytes(d);
    if (INDEX_TYPES.includes(d.mediaType)) {
      const index = parseIndex(bytes, `image index ${d.digest}`);
      for (const child of index.manifests) if (isManifest(child)) await pushTree(child, undefined);
    }
    if (reference === undefined && pushed.has(d.digest)) return undefined;
    if (reference === undefined && (await manifestExists(client, d.digest))) {
      pushed.add(d.digest);
      return undefined;
    }
    const res = await client.request({
      method: 'PUT',
      path: `manifests/${reference ?? d.digest}`,
      headers: { 'content-type': d.mediaType },
      body: bytes,
      access: 'push',
    });
    if (res.status !== 201) throw await client.fail(res, `${what}: PUT manifest ${reference ?? d.digest}`);
    drain(res);
    pushed.add(d.digest);
    client.options.onProgress?.({ type: 'manifest', digest: d.digest, reference: reference ?? d.digest });
    const subject = res.headers['oci-subject'];
    return typeof subject === 'string' ? subject : undefined;
  };
  await pushTree(root, target.tag ?? root.digest);
  for (const r of referrers) {
    const subject = subjects.get(r.digest) as Descriptor;
    const accepted = await pushTree(r, r.digest);
    // Registries that process `subject` answer OCI-Subject: <its digest>; the others get the fallback tag.
    if (accepted !== subject.digest)
      await addReferrer(client, subject.digest, r, await set.blobs.readBytes(r));
  }
  return { digest: root.digest, uploaded: uploaded.sort(), skipped: skipped.sort() };
}

async function subjectOf(set: ImageSet, d: Descriptor): Promise<Descriptor | undefined> {
  if (!INDEX_TYPES.includes(d.mediaType) && !MANIFEST_TYPES.includes(d.mediaType)) return undefined;
  const doc = JSON.parse((await set.blobs.readBytes(d)).toString('utf8')) as { subject?: Descriptor };
  return doc.subject;
}

async function manifestExists(client: RegistryClient, digest: Digest): Promise<boolean> {
  const res = await client.request({
    method: 'HEAD',
    path: `manifests/${digest}`,
    headers: { accept: ACCEPT_ALL },
  });
  drain(res);
  return res.status === 200;
}

const ACCEPT_ALL = [...INDEX_TYPES, ...MANIFEST_TYPES].join(', ');

async function blobExists(client: RegistryClient, d: Descriptor): Promise<boolean> {
  const res = await client.request({ method: 'HEAD', path: `blobs/${d.digest}`, access: 'push' });
  drain(res);
  if (res.status === 404) return false;
  if (res.status !== 200) throw await client.fail(res, `HEAD docker://${client.name} blob ${d.digest}`);
  return Number(res.headers['content-length']) === d.size;
}

function retryable(err: unknown): boolean {
  if (isImprintError(err, 'NETWORK')) return true;
  if (!isImprintError(err, 'REGISTRY')) return false;
  const status = err.details.status as number;
  return status === 408 || status === 429 || status >= 500;
}

/** Makes sure the registry has blob `d`; says whether it was uploaded or already there / mounted. */
async function ensureBlob(
  client: RegistryClient,
  set: ImageSet,
  d: Descriptor,
  mountFrom: string[],
): Promise<'uploaded' | 'skipped'> {
  if (await blobExists(client, d)) {
    client.options.onProgress?.({ type: 'skip', digest: d.digest, size: d.size, why: 'exists' });
    return 'skipped';
  }
  let session: string | undefined;
  for (const from of mountFrom) {
    const res = await client.request({
      method: 'POST',
      path: `blobs/uploads/?mount=${encodeURIComponent(d.digest)}&from=${encodeURIComponent(from)}`,
      access: 'push',
    });
    drain(res);
    if (res.status === 201) {
      client.options.onProgress?.({ type: 'skip', digest: d.digest, size: d.size, why: 'mounted' });
      return 'skipped';
    }
    if (res.status === 202 && typeof res.headers.location === 'string') {
      session = await client.resolve(res.headers.location);
      break;
    }
  }
  const retries = client.options.retries ?? 4;
  for (let attempt = 0; ; attempt++) {
    try {
      await uploadOnce(client, set, d, session);
      return 'uploaded';
    } catch (err) {
      session = undefined;
      if (!retryable(err) || attempt >= retries) throw err;
      await new Promise((r) =>
        setTimeout(
          r,
          Math.min((client.options.backoffMs ?? 500) * 2 ** attempt, client.options.maxBackoffMs ?? 20_000),
        ),
      );
      // the failed attempt may have completed on the server before the connection dropped
      if (await blobExists(client, d)) return 'uploaded';
    }
  }
}

async function startUpload(client: RegistryClient): Promise<string> {
  const res = await client.request({ method: 'POST', path: 'blobs/uploads/', access: 'push' });
  drain(res);
  const location = res.headers.location;
  if (res.status !== 202 || typeof location !== 'string')
    throw await client.fail(res, `POST docker://${client.name} blob upload`);
  return client.resolve(location);
}

function withDigest(location: string, digest: Digest): string {
  const url = new URL(location);
  url.searchParams.set('digest', digest);
  return url.toString();
}

async function uploadOnce(
  client: RegistryClient,
  set: ImageSet,
  d: Descriptor,
  session: string | undefined,
): Promise<void> {
  let location = session ?? (await startUpload(client));
  const chunkSize = client.options.chunkSize ?? 32 * 1024 * 1024;
  const progress = (done: number): void =>
    client.options.onProgress?.({ type: 'blob', digest: d.digest, size: d.size, done });
  if (d.size <= chunkSize) {
    const res = await client.request({
      method: 'PUT',
      url: withDigest(location, d.digest),
      headers: { 'content-type': 'application/octet-stream' },
      body: async () => counted(await set.blobs.open(d), progress),
      bodyLength: d.size,
      retry: false,
      access: 'push',
    });
    if (res.status !== 201) throw await client.fail(res, `PUT docker://${client.name} blob ${d.digest}`);
    drain(res);
    return;
  }
  let offset = 0;
  const stream: Readable = await set.blobs.open(d);
  try {
    for await (const chunk of chunks(stream, chunkSize)) {
      const res = await client.request({
        method: 'PATCH',
        url: location,
        headers: {
          'content-type': 'application/octet-stream',
          'content-range': `${offset}-${offset + chunk.length - 1}`,
        },
        body: chunk,
        retry: false,
        access: 'push',
      });
      const next = res.headers.location;
      if (res.status !== 202 || typeof next !== 'string')
        throw await client.fail(res, `PATCH docker://${client.name} blob ${d.digest} at ${offset}`);
      drain(res);
      location = await client.resolve(next);
      offset += chunk.length;
      progress(offset);
    }
  } catch (err) {
    if (err instanceof ImprintError) throw err;
    throw new ImprintError('IO', `reading blob ${d.digest} to upload: ${errorText(err)}`, { cause: err });
  } finally {
    stream.destroy();
  }
  const res = await client.request({
    method: 'PUT',
    url: withDigest(location, d.digest),
    retry: false,
    access: 'push',
  });
  if (res.status !== 201)
    throw await client.fail(res, `PUT docker://${client.name} blob ${d.digest} (end of chunked upload)`);
  drain(res);
}

/** Re-cuts a stream into buffers of exactly `size` bytes (the last one shorter). Memory: one chunk. */
async function* chunks(stream: Readable, size: number): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let have = 0;
  for await (const data of stream) {
    let buf = data as Buffer;
    while (have + buf.length >= size) {
      const take = size - have;
      parts.push(buf.subarray(0, take));
      yield Buffer.concat(parts, size);
      buf = buf.subarray(take);
      parts = [];
      have = 0;
    }
    if (buf.length > 0) {
      parts.push(buf);
      have += buf.length;
    }
  }
  if (have > 0) yield Buffer.concat(parts, have);
}
