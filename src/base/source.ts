import type { Readable } from 'node:stream';
import type { Digest } from '../digest/index.js';
import { ImprintError, isImprintError } from '../errors.js';
import type { BlobReader, ImageSet } from '../oci/image-set.js';
import type { Descriptor } from '../oci/types.js';
import type { BlobStore } from '../store/index.js';
import { formatReference, type ImageRef, readImageSet } from '../transport/index.js';
import type { RegistryOptions } from '../transport/registry/index.js';
import type { BaseReference } from './reference.js';

/** How a base image is reached. */
export interface BaseSourceOptions {
  /** Registry connection and credentials (docker:// bases). */
  registry?: RegistryOptions;
  /** Never read the base's own location: everything must be in the store already (else OFFLINE). */
  offline?: boolean;
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
  #remote: Promise<ImageSet> | undefined;

  constructor(base: BaseReference, store: BlobStore, opts: BaseSourceOptions = {}) {
    this.base = base;
    this.store = store;
    this.#opts = opts;
  }

  /** The image set at the base's location as the reference names it (a tag, a name), read once. */
  async named(): Promise<ImageSet> {
    return this.#read(this.base.ref);
  }

  /** Opens a verified stream of a blob of the base. */
  async open(desc: BlobRef): Promise<Readable> {
    const digest = typeof desc === 'string' ? desc : desc.digest;
    if (await this.store.has(digest)) return this.store.open(desc);
    return (await this.#blobs()).open(desc);
  }

  /** Reads a small blob (manifest, config) whole, verified; one read remotely is kept in the store. */
  async readBytes(desc: Pick<Descriptor, 'digest' | 'size'>, maxBytes?: number): Promise<Buffer> {
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
    if (ref.transport === 'docker') return (await this.#read(ref)).blobs;
    const untagged: ImageRef =
      ref.transport === 'docker-archive'
        ? { transport: ref.transport, path: ref.path }
        : { ...ref, tag: undefined };
    return (await this.#read(untagged)).blobs;
  }

  #read(ref: ImageRef): Promise<ImageSet> {
    if (this.#opts.offline === true) {
      return Promise.reject(
        new ImprintError(
          'OFFLINE',
          `offline, and the base image ${this.base.written} is not in the cache (${formatReference(ref)})`,
          {
            hint: 'Build once without --offline so the base image is fetched into the cache.',
            details: { base: this.base.written },
          },
        ),
      );
    }
    if (ref === this.base.ref || ref.transport === 'docker') {
      this.#remote ??= readImageSet(ref, { registry: { ...this.#opts.registry } }).catch((err: unknown) => {
        this.#remote = undefined;
        throw baseError(this.base, err);
      });
      return this.#remote;
    }
    return readImageSet(ref, {}).catch((err: unknown) => {
      throw baseError(this.base, err);
    });
  }
}

/** Prefixes a transport error with the base it concerns (codes kept). */
function baseError(base: BaseReference, err: unknown): unknown {
  if (!isImprintError(err)) return err;
  return new ImprintError(err.code, `base image ${base.written}: ${err.message}`, {
    cause: err,
    ...(err.hint === undefined ? {} : { hint: err.hint }),
    details: { ...err.details, base: base.written },
  });
}
