// Reading from a registry: the named manifest becomes the set's root entry; blobs stream verified.
import { Readable } from 'node:stream';
import { type Digest, digestMismatch, sha256 } from '../../digest/index.js';
import { ImprintError } from '../../errors.js';
import type { BlobReader, ImageSet } from '../../oci/image-set.js';
import { INDEX_TYPES, MANIFEST_TYPES, MediaType } from '../../oci/media-types.js';
import type { Descriptor, ImageIndex } from '../../oci/types.js';
import { DEFAULT_MAX_BLOB_BYTES, readSmallBlob, verifiedStream } from '../../store/index.js';
import { parseJson } from '../layout-docs.js';
import { walkImageSet } from '../walk.js';
import type { RegistryClient } from './client.js';
import { counted, drain, readBody } from './http.js';
import { listReferrers } from './referrers.js';

const ACCEPT = [
  MediaType.ociIndex,
  MediaType.ociManifest,
  MediaType.dockerManifestList,
  MediaType.dockerManifest,
].join(', ');
const MAX_MANIFEST = 4 * 1024 * 1024;

type BlobRef = Pick<Descriptor, 'digest' | 'size'> | Digest;

/**
 * Serves a repository's blobs and manifests by digest. Manifests fetched once are kept in memory
 * (they are small); a digest is looked up as a manifest when its descriptor says so or when it was
 * listed by an index, else as a blob (then as a manifest on 404). Every stream is verified.
 */
export class RegistryBlobReader implements BlobReader {
  readonly client: RegistryClient;
  readonly #manifests = new Map<string, Buffer>();
  readonly #manifestDigests = new Set<string>();

  constructor(client: RegistryClient) {
    this.client = client;
  }

  /** Fetches a manifest by tag or digest, verifying a digest reference; returns its descriptor and bytes. */
  async manifest(reference: string): Promise<{ descriptor: Descriptor; bytes: Buffer }> {
    const what = `docker://${this.client.name}${reference.startsWith('sha256:') ? '@' : ':'}${reference}`;
    const cached = this.#manifests.get(reference);
    const res =
      cached === undefined
        ? await this.client.request({
            method: 'GET',
            path: `manifests/${reference}`,
            headers: { accept: ACCEPT },
          })
        : undefined;
    if (res !== undefined && res.status === 404) {
      const err = await this.client.fail(res, what);
      throw new ImprintError('REGISTRY', `${what}: the registry has no such manifest`, {
        hint: 'Check the repository and tag (skopeo list-tags lists the tags).',
        details: { ...err.details },
      });
    }
    if (res !== undefined && res.status !== 200) throw await this.client.fail(res, `GET ${what}`);
    const bytes = cached ?? (await readBody(res!, MAX_MANIFEST, `manifest ${what}`));
    const digest = sha256(bytes);
    if (reference.startsWith('sha256:') && digest !== reference)
      throw digestMismatch(`manifest ${what}`, reference as Digest, digest);
    const doc = parseJson(bytes, `manifest ${what}`) as {
      mediaType?: unknown;
      manifests?: unknown;
      config?: unknown;
    };
    const header =
      String(res?.headers['content-type'] ?? '')
        .split(';')[0]
        ?.trim() ?? '';
    const mediaType =
      typeof doc.mediaType === 'string'
        ? doc.mediaType
        : [...INDEX_TYPES, ...MANIFEST_TYPES].includes(header)
          ? header
          : Array.isArray(doc.manifests)
            ? MediaType.ociIndex
            : MediaType.ociManifest;
    this.#remember(digest, bytes);
    return { descriptor: { mediaType, digest, size: bytes.length }, bytes };
  }

  #remember(digest: Digest, bytes: Buffer): void {
    this.#manifests.set(digest, bytes);
    try {
      const doc = JSON.parse(bytes.toString('utf8')) as { manifests?: { digest?: string }[] };
      for (const m of doc.manifests ?? [])
        if (typeof m.digest === 'string') this.#manifestDigests.add(m.digest);
    } catch {
      // not JSON: the caller's parser reports it
    }
  }

  /** Opens a verified stream of a blob or manifest; BLOB_NOT_FOUND when the registry has neither. */
  async open(desc: BlobRef): Promise<Readable> {
    const { digest, size } = typeof desc === 'string' ? { digest: desc, size: undefined } : desc;
    const mediaType = typeof desc === 'string' ? undefined : (desc as Partial<Descriptor>).mediaType;
    const asManifest =
      this.#manifests.has(digest) ||
      this.#manifestDigests.has(digest) ||
      (mediaType !== undefined && (INDEX_TYPES.includes(mediaType) || MANIFEST_TYPES.includes(mediaType)));
    if (asManifest) return this.#openManifest(digest, size);
    const res = await this.client.request({ method: 'GET', path: `blobs/${digest}` });
    if (res.status === 404) {
      drain(res);
      return this.#openManifest(digest, size);
    }
    if (res.status !== 200)
      throw await this.client.fail(res, `GET docker://${this.client.name} blob ${digest}`);
    const length = res.headers['content-length'];
    if (size !== undefined && length !== undefined && Number(length) !== size) {
      res.body.destroy();
      throw new ImprintError(
        'SIZE_MISMATCH',
        `docker://${this.client.name} blob ${digest}: expected ${size} bytes, the registry announced ${length}`,
        {
          details: { expected: size, found: Number(length) },
        },
      );
    }
    const verified = verifiedStream(
      res.body,
      { digest, size },
      `docker://${this.client.name} blob ${digest}`,
    );
    const onProgress = this.client.options.onProgress;
    if (onProgress === undefined || size === undefined) return verified;
    return counted(verified, (done) => onProgress({ type: 'blob', digest, size, done }));
  }

  async #openManifest(digest: Digest, size: number | undefined): Promise<Readable> {
    let bytes = this.#manifests.get(digest);
    if (bytes === undefined) {
      try {
        bytes = (await this.manifest(digest)).bytes;
      } catch (err) {
        if (err instanceof ImprintError && err.details.status === 404) {
          throw new ImprintError(
            'BLOB_NOT_FOUND',
            `docker://${this.client.name} has no blob or manifest ${digest}`,
            {
              details: { digest },
            },
          );
        }
        throw err;
      }
    }
    return verifiedStream(
      Readable.from([bytes]),
      { digest, size },
      `docker://${this.client.name} manifest ${digest}`,
    );
  }

  /** Reads a small blob or manifest whole, verified; refuses more than `maxBytes` (default 4 MiB). */
  async readBytes(
    desc: Pick<Descriptor, 'digest' | 'size'>,
    maxBytes = DEFAULT_MAX_BLOB_BYTES,
  ): Promise<Buffer> {
    return readSmallBlob(
      () => this.open(desc),
      desc,
      maxBytes,
      `docker://${this.client.name} blob ${desc.digest}`,
    );
  }
}

export interface PullOptions {
  /** Also list, as extra root entries, the manifests that refer to any manifest of the image. */
  referrers?: boolean | undefined;
}

/**
 * Reads the image a tag or digest names: the root index holds its one descriptor (an image index or
 * manifest, bytes and digest exactly as the registry serves them). Cost: one manifest request; more
 * with `referrers` (one or two requests per manifest).
 */
export async function pullImageSet(
  client: RegistryClient,
  reference: string,
  opts: PullOptions = {},
): Promise<ImageSet> {
  const reader = new RegistryBlobReader(client);
  const { descriptor } = await reader.manifest(reference);
  const index: ImageIndex = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [descriptor] };
  const set: ImageSet = { index, blobs: reader };
  if (opts.referrers) {
    const walk = await walkImageSet(set);
    const seen = new Set<string>([descriptor.digest]);
    const queue = walk.blobs.filter(
      (d) => INDEX_TYPES.includes(d.mediaType) || MANIFEST_TYPES.includes(d.mediaType),
    );
    for (let i = 0; i < queue.length; i++) {
      const d = queue[i] as Descriptor;
      for (const r of await listReferrers(client, d.digest)) {
        if (seen.has(r.digest)) continue;
        seen.add(r.digest);
        index.manifests.push(r);
        queue.push(r); // referrers of referrers (signatures of attestations)
      }
    }
  }
  return set;
}
