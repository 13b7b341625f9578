// Reading from a registry: the named manifest becomes the set's root entry; blobs stream verified.
import { pipeline, Readable, Transform } from 'node:stream';
import { type Digest, digestMismatch, sha256 } from '../../digest/index.js';
import { ImprintError } from '../../errors.js';
import { ResponseBody } from '../../net/http-body.js';
import type { BlobReader, ImageSet, SmallBlob } from '../../oci/image-set.js';
import { INDEX_TYPES, MANIFEST_TYPES, MediaType } from '../../oci/media-types.js';
import type { Descriptor, ImageIndex } from '../../oci/types.js';
import { DEFAULT_MAX_BLOB_BYTES, openTarget, readSmallBlob, verifiedStream } from '../../store/index.js';
import { parseJson } from '../layout-docs.js';
import { walkImageSet } from '../walk.js';
import { type RegistryClient, sleep } from './client.js';
import { counted, drain, type HttpResponse, readBody } from './http.js';
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
    const res = cached === undefined ? await this.#fetchManifest(reference, what) : undefined;
    const bytes = cached ?? (res?.bytes as Buffer);
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

  /** GET of a manifest, read whole; a body that breaks or stalls is asked for again, as often as the client retries. */
  async #fetchManifest(
    reference: string,
    what: string,
  ): Promise<{ bytes: Buffer; headers: HttpResponse['headers'] }> {
    const retries = this.client.options.retries ?? 4;
    for (let attempt = 0; ; attempt++) {
      const res = await this.client.request({
        method: 'GET',
        path: `manifests/${reference}`,
        headers: { accept: ACCEPT },
      });
      if (res.status === 404) {
        const err = await this.client.fail(res, what);
        throw new ImprintError('REGISTRY', `${what}: the registry has no such manifest`, {
          hint: 'Check the repository and tag (skopeo list-tags lists the tags).',
          details: { ...err.details },
        });
      }
      if (res.status !== 200) throw await this.client.fail(res, `GET ${what}`);
      try {
        return { bytes: await readBody(res, MAX_MANIFEST, `manifest ${what}`), headers: res.headers };
      } catch (err) {
        if (!(err instanceof ImprintError && err.code === 'NETWORK') || attempt >= retries) throw err;
        await sleep(this.client.retryDelay(attempt));
      }
    }
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
      this.#resumable(res, digest),
      { digest, size },
      `docker://${this.client.name} blob ${digest}`,
    );
    const onProgress = this.client.options.onProgress;
    if (onProgress === undefined || size === undefined) return verified;
    return counted(verified, (done) => onProgress({ type: 'blob', digest, size, done }));
  }

  /**
   * A blob's body that, when it breaks or stalls, continues with `Range: bytes=<received>-` (the
   * whole blob again when nothing arrived), as often as the client retries. A registry that answers
   * the range with the whole blob is read past what arrived before. Every response watches its own
   * pace (`send`); the digest check at the end makes any splice safe.
   */
  #resumable(res: HttpResponse, digest: Digest): Readable {
    const { client } = this;
    const path = `blobs/${digest}`;
    const url = `docker://${client.name}/${path}`;
    return new ResponseBody(res.body, {
      url,
      idleTimeoutMs: 0,
      maxResumes: client.options.retries ?? 4,
      resume: async (received, resumes) => {
        await sleep(client.retryDelay(resumes));
        const headers: Record<string, string> = received === 0 ? {} : { range: `bytes=${received}-` };
        const next = await client.request({ method: 'GET', path, headers });
        const range = String(next.headers['content-range'] ?? '');
        if (next.status === 200) return received === 0 ? next.body : skipBytes(next.body, received);
        if (next.status === 206 && range.startsWith(`bytes ${received}-`)) return next.body;
        drain(next);
        throw new ImprintError(
          'NETWORK',
          `GET ${url}: the download broke after ${received} bytes and could not be resumed (status ${next.status}, Content-Range ${JSON.stringify(range)})`,
          { hint: 'Try again.', details: { url, received, status: next.status } },
        );
      },
    });
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
  async readBytes(desc: SmallBlob, maxBytes = DEFAULT_MAX_BLOB_BYTES): Promise<Buffer> {
    return readSmallBlob(
      () => this.open(openTarget(desc)),
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

/** `src` without its first `n` bytes (a whole body sent again where the rest was asked for). */
function skipBytes(src: Readable, n: number): Readable {
  let left = n;
  const rest = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      if (left >= chunk.length) {
        left -= chunk.length;
        cb();
        return;
      }
      const tail = left > 0 ? chunk.subarray(left) : chunk;
      left = 0;
      cb(null, tail);
    },
  });
  return pipeline(src, rest, () => undefined);
}
