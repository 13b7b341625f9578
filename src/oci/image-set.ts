import type { Readable } from 'node:stream';
import type { Digest } from '../digest/index.js';
import type { Descriptor, ImageIndex } from './types.js';

/** Read access to blobs by digest. Every stream it opens verifies digest and size at its end. */
export interface BlobReader {
  /** Opens a fresh stream of the blob; errors BLOB_NOT_FOUND, or DIGEST_MISMATCH at end of stream. */
  open(desc: Pick<Descriptor, 'digest' | 'size'> | Digest): Promise<Readable>;
  /** Reads a small blob whole (manifests, configs); refuses blobs larger than `maxBytes` (default 4 MiB). */
  readBytes(desc: SmallBlob, maxBytes?: number): Promise<Buffer>;
}

/** A blob read whole: its digest, and its size unless only the digest is known (a base pinned by digest). */
export type SmallBlob = Pick<Descriptor, 'digest'> & { size?: number | undefined };

/**
 * A set of images as transports read and write them: a root index (the layout's `index.json`, whose
 * entries are image indexes, manifests or artifact manifests) plus the blobs it reaches.
 */
export interface ImageSet {
  index: ImageIndex;
  blobs: BlobReader;
}
