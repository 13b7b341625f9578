import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GZIP_ALIGNED_BODY_MIN, GZIP_BLOCK_SIZE, GzipBlocks } from '../compress/gzip.js';
import type { GzipBodyCache } from '../compress/gzip-bodies.js';
import { type CompressOptions, compressStream, crc32, resolveLevel } from '../compress/index.js';
import { type Digest, HashingStream } from '../digest/index.js';
import { ImprintError } from '../errors.js';
import { MediaType } from '../oci/media-types.js';
import type { Descriptor } from '../oci/types.js';
import { type TarWriteEntry, tarParts, tarStream } from '../tar/index.js';

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

export interface WriteLayerOptions {
  /** gzip members of large bodies made ahead of time (taken by the bodies' sha256). */
  bodies?: GzipBodyCache | undefined;
}

/**
 * Streams `entries` as a tar through the compressor into `sink`, hashing the uncompressed bytes on the
 * way (diff_id). gzip layers cut a member before and after every file body of at least
 * GZIP_ALIGNED_BODY_MIN bytes (with its padding), and take that body's members from `bodies` when it
 * has them. Memory stays bounded by stream buffers; the entries' bodies are opened one at a time.
 */
export async function writeLayer(
  entries: Iterable<TarWriteEntry> | AsyncIterable<TarWriteEntry>,
  compression: CompressOptions,
  sink: BlobSink,
  options: WriteLayerOptions = {},
): Promise<WrittenLayer> {
  if (compression.compression === 'gzip') return writeGzipLayer(entries, compression, sink, options.bodies);
  const hasher = new HashingStream();
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  const put = sink.put(out);
  put.catch(() => {}); // awaited below
  try {
    await pipeline(tarStream(entries), hasher, compressStream(compression), out);
  } catch (err) {
    throw await sinkFailure(err, put);
  }
  const stored = await put;
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

/**
 * The error to report when writing a layer into `put` failed with `err`: the sink's own when `err` is
 * only the abort its failure caused (a full disk: the store's pipeline ends the layer stream at the
 * failed write, then closes and removes its temporary file and reports ENOSPC), else `err`.
 */
async function sinkFailure(err: unknown, put: Promise<unknown>): Promise<unknown> {
  if ((err as Error | undefined)?.name !== 'AbortError') return err;
  return put.then(
    () => err,
    (sinkErr: unknown) => sinkErr,
  );
}

/** A large body whose members were made ahead: the CRC-32 of each block, checked as its bytes pass. */
interface Precompressed {
  members: Uint8Array[];
  block: number;
  fill: number;
  crc: number;
}

async function writeGzipLayer(
  entries: Iterable<TarWriteEntry> | AsyncIterable<TarWriteEntry>,
  compression: CompressOptions,
  sink: BlobSink,
  bodies: GzipBodyCache | undefined,
): Promise<WrittenLayer> {
  const level = resolveLevel(compression);
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  // Failures are reported by what this function throws; the sink sees the stream end early.
  out.on('error', () => {});
  const stored = sink.put(out);
  stored.catch(() => {}); // awaited below
  const diff = createHash('sha256');
  // The diff_id hashes what goes into blocks a block at a time (as they are handed out, in order:
  // a block is cut before each precompressed body), and precompressed bodies as they pass.
  const blocks = new GzipBlocks(
    level,
    compression.workers === undefined ? {} : { workers: compression.workers },
    async (member) => {
      // A sink that failed (e.g. an unwritable store) stops reading: its error ends the wait.
      if (!out.write(member)) await Promise.race([once(out, 'drain'), stored]);
    },
    (block) => diff.update(block),
  );
  let size = 0;
  let pre: Precompressed | undefined;
  try {
    for await (const part of tarParts(entries, 'layer', { marksFrom: GZIP_ALIGNED_BODY_MIN })) {
      if (Buffer.isBuffer(part)) {
        size += part.length;
        if (pre === undefined) await blocks.write(part);
        else {
          diff.update(part);
          checkBlocks(pre, part);
        }
        continue;
      }
      const { entry } = part;
      if (entry.size < GZIP_ALIGNED_BODY_MIN) continue;
      if (part.body === 'start') {
        await blocks.cut();
        const members =
          bodies !== undefined && bodies.level === level && entry.sha256 !== undefined
            ? await bodies.take(entry.sha256, entry.size)
            : undefined;
        pre = members === undefined ? undefined : { members, block: 0, fill: 0, crc: 0 };
      } else {
        if (pre !== undefined) {
          if (pre.fill > 0) endBlock(pre, entry);
          if (pre.block !== pre.members.length) mismatch(entry);
          await blocks.insert(Promise.resolve(pre.members));
          pre = undefined;
        }
        await blocks.cut();
      }
    }
    await blocks.end();
    out.end();
  } catch (err) {
    out.destroy(err as Error);
    throw await sinkFailure(err, stored);
  }
  const written = await stored;
  return {
    descriptor: { mediaType: MediaType.ociLayerGzip, digest: written.digest, size: written.size },
    diffId: `sha256:${diff.digest('hex')}`,
    uncompressedSize: size,
  };
}

/** Runs the CRC-32 of each block of a precompressed body over `chunk`, checking every block that ends. */
function checkBlocks(pre: Precompressed, chunk: Buffer): void {
  let at = 0;
  while (at < chunk.length) {
    const n = Math.min(chunk.length - at, GZIP_BLOCK_SIZE - pre.fill);
    pre.crc = crc32(chunk.subarray(at, at + n), pre.crc);
    pre.fill += n;
    at += n;
    if (pre.fill === GZIP_BLOCK_SIZE) endBlock(pre, undefined);
  }
}

/** Compares a finished block with its member's CRC-32 and ISIZE trailer. */
function endBlock(pre: Precompressed, entry: TarWriteEntry | undefined): void {
  const member = pre.members[pre.block];
  const trailer =
    member === undefined ? undefined : Buffer.from(member.buffer, member.byteOffset + member.length - 8, 8);
  if (trailer === undefined || trailer.readUInt32LE(0) !== pre.crc || trailer.readUInt32LE(4) !== pre.fill)
    mismatch(entry);
  pre.block++;
  pre.fill = 0;
  pre.crc = 0;
}

function mismatch(entry: TarWriteEntry | undefined): never {
  throw new ImprintError(
    'INTERNAL',
    `layer: the members compressed ahead for ${entry === undefined ? 'a large file' : `/${entry.path}`} do not match its bytes`,
    { hint: 'The build spool changed during the build; build again.' },
  );
}
