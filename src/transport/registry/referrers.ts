// Referrers (distribution-spec 1.1): the referrers API, and the `sha256-<hex>` fallback tag otherwise.
import { type Digest, digestHex } from '../../digest/index.js';
import { canonicalJson } from '../../oci/canonical-json.js';
import { MediaType } from '../../oci/media-types.js';
import type { Descriptor, ImageIndex } from '../../oci/types.js';
import { parseIndex } from '../layout-docs.js';
import type { RegistryClient } from './client.js';
import { drain, readBody } from './http.js';

/** The fallback tag of the referrers of `subject`: `sha256-<hex>`. */
export function referrersTag(subject: Digest): string {
  return `sha256-${digestHex(subject)}`;
}

/** The descriptor a referrers index lists for manifest `d` (artifactType and annotations lifted from it). */
export function referrerDescriptor(d: Descriptor, bytes: Buffer): Descriptor {
  const doc = JSON.parse(bytes.toString('utf8')) as {
    artifactType?: string;
    config?: { mediaType?: string };
    annotations?: Record<string, string>;
  };
  const out: Descriptor = { mediaType: d.mediaType, digest: d.digest, size: d.size };
  const artifactType = doc.artifactType ?? doc.config?.mediaType;
  if (artifactType !== undefined) out.artifactType = artifactType;
  if (doc.annotations !== undefined) out.annotations = doc.annotations;
  return out;
}

async function fallbackIndex(client: RegistryClient, subject: Digest): Promise<ImageIndex | undefined> {
  const res = await client.request({
    method: 'GET',
    path: `manifests/${referrersTag(subject)}`,
    headers: { accept: MediaType.ociIndex },
  });
  if (res.status === 404) {
    drain(res);
    return undefined;
  }
  if (res.status !== 200)
    throw await client.fail(res, `GET docker://${client.name}:${referrersTag(subject)}`);
  return parseIndex(
    await readBody(res, 4 << 20, 'referrers index'),
    `referrers tag ${referrersTag(subject)}`,
  );
}

/**
 * Adds manifest `d` (whose bytes are `bytes`) to the fallback referrers index of `subject`, tag
 * `sha256-<hex>`: read, add unless listed, write back. Cost: one GET and one PUT of a small index.
 */
export async function addReferrer(
  client: RegistryClient,
  subject: Digest,
  d: Descriptor,
  bytes: Buffer,
): Promise<void> {
  const existing = await fallbackIndex(client, subject);
  const manifests = existing?.manifests ?? [];
  if (manifests.some((m) => m.digest === d.digest)) return;
  const index: ImageIndex = {
    schemaVersion: 2,
    mediaType: MediaType.ociIndex,
    manifests: [...manifests, referrerDescriptor(d, bytes)],
  };
  const res = await client.request({
    method: 'PUT',
    path: `manifests/${referrersTag(subject)}`,
    headers: { 'content-type': MediaType.ociIndex },
    body: canonicalJson(index),
    access: 'push',
  });
  if (res.status !== 201)
    throw await client.fail(res, `PUT docker://${client.name}:${referrersTag(subject)}`);
  drain(res);
}

/**
 * The manifests that refer to `subject`: from `GET /v2/<repo>/referrers/<digest>` when the registry
 * implements it, else from the fallback tag. Cost: one or two small requests.
 */
export async function listReferrers(client: RegistryClient, subject: Digest): Promise<Descriptor[]> {
  const res = await client.request({
    method: 'GET',
    path: `referrers/${subject}`,
    headers: { accept: MediaType.ociIndex },
  });
  const type = String(res.headers['content-type'] ?? '');
  if (res.status === 200 && type.startsWith(MediaType.ociIndex)) {
    return parseIndex(await readBody(res, 4 << 20, 'referrers response'), `referrers of ${subject}`)
      .manifests;
  }
  drain(res);
  return (await fallbackIndex(client, subject))?.manifests ?? [];
}
