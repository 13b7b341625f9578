// Referrers (distribution-spec 1.1): the referrers API, and the `sha256-<hex>` fallback tag otherwise.
import { type Digest, digestHex } from '../../digest/index.js';
import { ImprintError } from '../../errors.js';
import { canonicalJson } from '../../oci/canonical-json.js';
import { MediaType } from '../../oci/media-types.js';
import type { Descriptor, ImageIndex } from '../../oci/types.js';
import { parseIndex } from '../layout-docs.js';
import type { RegistryClient } from './client.js';
import { drain, type HttpResponse, readBody } from './http.js';

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

/** Filters of `listReferrers`. */
export interface ReferrersQuery {
  /** Only referrers of this artifact type (sent as `?artifactType=`, and applied here too). */
  artifactType?: string | undefined;
}

/** Statuses of a registry without the referrers API (distribution 2.8 answers 404 "page not found"). */
const NO_API = new Set([400, 404, 405, 406, 501]);
const MAX_PAGES = 1000;

/** The `rel="next"` target of a Link header, resolved against `base`. */
export function nextLink(header: string | string[] | undefined, base: string): string | undefined {
  for (const part of (Array.isArray(header) ? header.join(',') : (header ?? '')).split(/,(?=\s*<)/)) {
    const m = /^\s*<([^>]*)>(.*)$/.exec(part);
    if (m === null) continue;
    const rels = /;\s*rel="?([^";]*)"?/i.exec(m[2] ?? '')?.[1]?.split(/\s+/) ?? [];
    if (rels.includes('next')) return new URL(m[1] ?? '', base).toString();
  }
  return undefined;
}

function isIndex(res: HttpResponse): boolean {
  const type = String(res.headers['content-type'] ?? '')
    .split(';')[0]
    ?.trim();
  return res.status === 200 && type === MediaType.ociIndex;
}

/**
 * The manifests that refer to `subject`: from `GET /v2/<repo>/referrers/<digest>` when the registry
 * implements it (every page, following `Link: <…>; rel="next"`), else (400, 404, 405, 406, 501, or a 200
 * that is not an OCI index) from the `sha256-<hex>` fallback tag. `artifactType` is sent to the
 * registry and applied again here (a registry may ignore it). Listed once per digest, in the order
 * served. Cost: one small request per page, two without the API.
 */
export async function listReferrers(
  client: RegistryClient,
  subject: Digest,
  query: ReferrersQuery = {},
): Promise<Descriptor[]> {
  const filter = query.artifactType;
  const what = `referrers of docker://${client.name}@${subject}`;
  const headers = { accept: MediaType.ociIndex };
  let url = await client.resolve(
    `/v2/${client.repository}/referrers/${subject}${filter === undefined ? '' : `?artifactType=${encodeURIComponent(filter)}`}`,
  );
  let res = await client.request({ method: 'GET', url, headers });
  let found: Descriptor[];
  if (!isIndex(res)) {
    if (res.status !== 200 && !NO_API.has(res.status)) throw await client.fail(res, `GET ${what}`);
    drain(res);
    found = (await fallbackIndex(client, subject))?.manifests ?? [];
  } else {
    found = [];
    for (let page = 1; ; page++) {
      found.push(...parseIndex(await readBody(res, 4 << 20, what), `${what} (page ${page})`).manifests);
      const next = nextLink(res.headers.link, url);
      if (next === undefined) break;
      if (page >= MAX_PAGES || new URL(next).origin !== new URL(url).origin) {
        throw new ImprintError(
          'REGISTRY',
          `${what}: expected at most ${MAX_PAGES} pages on the registry's origin, found a link to ${next} after page ${page}`,
          { details: { registry: client.registry, next, page } },
        );
      }
      url = next;
      res = await client.request({ method: 'GET', url, headers });
      if (!isIndex(res)) throw await client.fail(res, `GET ${what} (page ${page + 1})`);
    }
  }
  const seen = new Set<string>();
  return found.filter((d) => {
    if (seen.has(d.digest) || (filter !== undefined && d.artifactType !== filter)) return false;
    seen.add(d.digest);
    return true;
  });
}
