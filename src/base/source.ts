import type { Readable } from 'node:stream';
import type { Digest } from '../digest/index.js';
import { ImprintError, isImprintError } from '../errors.js';
import type { BlobReader, ImageSet, SmallBlob } from '../oci/image-set.js';
import { MediaType } from '../oci/media-types.js';
import type { Descriptor } from '../oci/types.js';
import type { BlobStore } from '../store/index.js';
import { formatReference, type ImageRef, readImageSet } from '../transport/index.js';
import { RegistryBlobReader, RegistryClient, type RegistryOptions } from '../transport/registry/index.js';
import type { BaseReference } from './reference.js';

/** How a base image is reached. */
export interface BaseSourceOptions {
  /** Registry connection and credentials (docker:// bases). */
  registry?: RegistryOptions;
  /** Never read the base's own location: everything must be in the store already (else OFFLINE). */
  offline?: boolean;
  /** Where the spec writes the base (`file:line:column: base`), to begin its errors with. */
  field?: string;
}

type BlobRef = Pick<Descriptor, 'digest' | 'size'> | Digest;

/**
 * The blobs of a base image: from the content store when present, else from the base's location
 * (registry, layout or archive), opened on the first miss only. So a build whose base blobs are
 * cached reads nothing remote, and `offline` builds work once the base has been fetched.
 */
export class BaseBlobs implements BlobReader {
  readonly base: BaseReference;
  readonly store: BlobStore;
  readonly #opts: BaseSourceOptions;
  #named: Promise<ImageSet> | undefined;
  #untagged: Promise<ImageSet> | undefined;

  constructor(base: BaseReference, store: BlobStore, opts: BaseSourceOptions = {}) {
    this.base = base;
    this.store = store;
    this.#opts = opts;
  }

  /** `base image <as written>`, after where the spec names it when known: how errors begin. */
  get label(): string {
    const at = this.#opts.field === undefined ? '' : `${this.#opts.field}: `;
    return `${at}base image ${this.base.written}`;
  }

  /** Opens a verified stream of a blob of the base. */
  async open(desc: BlobRef): Promise<Readable> {
    const digest = typeof desc === 'string' ? desc : desc.digest;
    if (await this.store.has(digest)) return this.store.open(desc);
    return (await this.#blobs()).open(desc);
  }

  /** Reads a small blob (manifest, config) whole, verified; one read remotely is kept in the store. */
  async readBytes(desc: SmallBlob, maxBytes?: number): Promise<Buffer> {
    if (await this.store.has(desc.digest)) return this.store.readBytes(desc, maxBytes);
    const bytes = await (await this.#blobs()).readBytes(desc, maxBytes);
    await this.store.putBytes(bytes, { digest: desc.digest });
    return bytes;
  }

  /** Makes sure a blob of the base is in the store (streamed and verified when it is not). */
  async toStore(desc: Descriptor): Promise<void> {
    if (await this.store.has(desc.digest)) return;
    const blobs = await this.#blobs();
    await this.store.put(() => blobs.open(desc), { digest: desc.digest, size: desc.size });
  }

  /** Blob access at the location, independent of the tag (a moved tag does not hide pinned blobs). */
  async #blobs(): Promise<BlobReader> {
    const ref = this.base.ref;
    if (ref.transport === 'docker') {
      // By digest from the repository: neither the tag nor its current manifest matter.
      this.#untagged ??= this.#offline(true).then(() => ({
        index: { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [] },
        blobs: new RegistryBlobReader(
          new RegistryClient(ref.registry, ref.repository, { ...this.#opts.registry }),
        ),
      }));
      return (await this.#untagged).blobs;
    }
    this.#untagged ??= this.#read(
      ref.transport === 'docker-archive'
        ? { transport: ref.transport, path: ref.path }
        : { ...ref, tag: undefined },
    );
    return (await this.#untagged).blobs;
  }

  /** The image set the base's reference names, read once per instance (archives are indexed once). */
  named(): Promise<ImageSet> {
    this.#named ??= this.#read(this.base.ref);
    return this.#named;
  }

  #read(ref: ImageRef): Promise<ImageSet> {
    return this.#offline()
      .then(() => readImageSet(ref, { registry: { ...this.#opts.registry } }))
      .catch((err: unknown) => {
        throw baseError(this.base, err, this.label);
      });
  }

  /** Rejects with OFFLINE when the base's location may not be read; `named`: the message names the base itself (#read's caller adds it otherwise). */
  #offline(named = false): Promise<void> {
    if (this.#opts.offline !== true) return Promise.resolve();
    return Promise.reject(
      new ImprintError(
        'OFFLINE',
        `${named ? `${this.label}: ` : ''}offline, and it is not in the cache (${formatReference(this.base.ref)})`,
        {
          hint: 'Build once without --offline so the base image is fetched into the cache.',
          details: { base: this.base.written },
        },
      ),
    );
  }
}

/** Prefixes a transport error with the base it concerns, `label` as BaseBlobs.label (codes kept). */
function baseError(base: BaseReference, err: unknown, label: string): unknown {
  if (!isImprintError(err)) return err;
  return new ImprintError(err.code, `${label}: ${err.message}`, {
    cause: err,
    ...(err.hint === undefined ? {} : { hint: err.hint }),
    details: { ...err.details, base: base.written },
  });
}
