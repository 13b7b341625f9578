import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type CompressOptions, compressStream } from '../compress/index.js';
import { type Digest, HashingStream } from '../digest/index.js';
import { MediaType } from '../oci/media-types.js';
import type { Descriptor } from '../oci/types.js';
import { type TarWriteEntry, tarStream } from '../tar/index.js';

/** Where layer blobs go: the content store, or anything that can take a stream. */
export interface BlobSink {
  put(src: Readable): Promise<{ digest: Digest; size: number }>;
}

export interface WrittenLayer {
  descriptor: Descriptor;
  diffId: Digest;
  uncompressedSize: number;
}

/** The layer media type for a compression. */
export function layerMediaType(compression: CompressOptions['compression']): string {
  return compression === 'gzip'
    ? MediaType.ociLayerGzip
    : compression === 'zstd'
      ? MediaType.ociLayerZstd
      : MediaType.ociLayer;
}

/**
 * Streams `entries` as a tar through the compressor into `sink`, hashing the uncompressed bytes on the
 * way (diff_id). Memory stays bounded by stream buffers; the entries' bodies are opened one at a time.
 */
export async function writeLayer(
  entries: Iterable<TarWriteEntry> | AsyncIterable<TarWriteEntry>,
  compression: CompressOptions,
  sink: BlobSink,
): Promise<WrittenLayer> {
  const hasher = new HashingStream();
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  const [, stored] = await Promise.all([
    pipeline(tarStream(entries), hasher, compressStream(compression), out),
    sink.put(out),
  ]);
  return {
    descriptor: {
      mediaType: layerMediaType(compression.compression),
      digest: stored.digest,
      size: stored.size,
    },
    diffId: hasher.digest(),
    uncompressedSize: hasher.size,
  };
}
