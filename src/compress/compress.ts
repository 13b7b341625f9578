import { PassThrough, type Transform } from 'node:stream';
import { ImprintError } from '../errors.js';
import { defaultDeflateWorkers, sharedDeflatePool } from './deflate-pool.js';
import {
  GZIP_ALIGNED_BODY_MIN,
  GZIP_BLOCK_SIZE,
  GZIP_DEFAULT_LEVEL,
  GZIP_MAX_LEVEL,
  GZIP_MIN_LEVEL,
  GzipWriter,
} from './gzip.js';
import { GzipBodyCache } from './gzip-bodies.js';
import { GZIP_OS_UNKNOWN, gzipXfl } from './gzip-member.js';
import { CODEC_CHUNK } from './inner-stream.js';
import { LIBDEFLATE_VERSION } from './libdeflate.js';
import {
  createZstdWriter,
  ZSTD_DEFAULT_LEVEL,
  ZSTD_FRAME_PARAMS,
  ZSTD_MAX_LEVEL,
  ZSTD_MIN_LEVEL,
  zstdLibraryVersion,
} from './zstd.js';

/** Layer compression imprint can write. */
export type Compression = 'gzip' | 'zstd' | 'none';

export interface CompressOptions {
  compression: Compression;
  /** gzip: 1..9, default 6. zstd: 1..19, default 3. Ignored for 'none'. */
  level?: number;
  /**
   * gzip: worker threads compressing deflate blocks; 0 or 1 compress in the calling thread. Default
   * min(available parallelism, 4). The bytes never depend on it, so it is not part of codecDescription.
   */
  workers?: number;
}

/** The level that will be used for `opts`, validated; throws USAGE when out of range. */
export function resolveLevel(opts: CompressOptions): number {
  const range = {
    gzip: [GZIP_MIN_LEVEL, GZIP_MAX_LEVEL, GZIP_DEFAULT_LEVEL],
    zstd: [ZSTD_MIN_LEVEL, ZSTD_MAX_LEVEL, ZSTD_DEFAULT_LEVEL],
    none: [0, 0, 0],
  }[opts.compression];
  if (range === undefined) {
    throw new ImprintError('USAGE', `unknown compression ${JSON.stringify(opts.compression)}`, {
      hint: 'Use gzip, zstd or none.',
    });
  }
  const [min, max, fallback] = range as [number, number, number];
  if (opts.compression === 'none') return 0;
  const level = opts.level ?? fallback;
  if (!Number.isInteger(level) || level < min || level > max) {
    throw new ImprintError(
      'USAGE',
      `${opts.compression} level must be an integer ${min}..${max}, found ${String(level)}`,
      {
        hint: `Omit the level to use ${fallback}.`,
        details: { compression: opts.compression, level },
      },
    );
  }
  return level;
}

/**
 * A Transform that compresses with pinned, host-independent output: gzip is one gzip member per 1 MiB
 * block of input (imprint's fixed header, libdeflate's raw deflate, the block's CRC-32/ISIZE),
 * compressed in parallel in worker threads; zstd uses Node's built-in libzstd
 * (COMPRESSION_UNSUPPORTED without it); 'none' passes bytes through. Cost: CPU-bound, streaming;
 * throws USAGE for a bad level or worker count, COMPRESSION_UNSUPPORTED when the deflate engine
 * is not the pinned one.
 */
export function compressStream(opts: CompressOptions): Transform {
  const level = resolveLevel(opts);
  switch (opts.compression) {
    case 'gzip':
      return new GzipWriter(level, opts.workers === undefined ? {} : { workers: opts.workers });
    case 'zstd':
      return createZstdWriter(level);
    case 'none':
      return new PassThrough({ highWaterMark: CODEC_CHUNK });
  }
}

/**
 * Starts the gzip worker threads a later compressStream(opts) will use, so their start-up overlaps
 * other work (a build calls it before installing packages). No effect for other codecs or inline gzip.
 */
export function prewarmCompression(opts: CompressOptions): void {
  if (opts.compression !== 'gzip') return;
  const workers = opts.workers ?? defaultDeflateWorkers();
  if (workers > 1) sharedDeflatePool(workers).prewarm(resolveLevel(opts));
}

/**
 * A cache of the gzip members of large file bodies to fill while packages unpack (gzip-bodies.ts),
 * or undefined when it would not help: another codec, or compression in the calling thread.
 */
export function bodyCacheFor(opts: CompressOptions): GzipBodyCache | undefined {
  if (opts.compression !== 'gzip') return undefined;
  const workers = opts.workers ?? defaultDeflateWorkers();
  if (workers <= 1) return undefined;
  return new GzipBodyCache(resolveLevel(opts), {
    pool: sharedDeflatePool(workers),
    maxInFlight: 2 * workers,
  });
}

/**
 * Describes the codec exactly enough to record in provenance and cache keys: everything the output
 * bytes depend on besides the input (levels, pinned parameters, library versions).
 */
export function codecDescription(opts: CompressOptions): Record<string, string | number> {
  const level = resolveLevel(opts);
  switch (opts.compression) {
    case 'gzip':
      return {
        compression: 'gzip',
        level,
        // One member per block (gzip.ts, gzip-member.ts), deflated by libdeflate 1.14 (imprint's own
        // WebAssembly build), which gives the same bytes on every host: no worker count or host facts here.
        implementation: 'imprint-gzip-members-2',
        blockSize: GZIP_BLOCK_SIZE,
        // Layers also cut around every file body of at least this size (vfs/layer.ts).
        alignedBodyMin: GZIP_ALIGNED_BODY_MIN,
        engine: `libdeflate ${LIBDEFLATE_VERSION}`,
        header: `mtime=0,xfl=${gzipXfl(level)},os=${GZIP_OS_UNKNOWN}`,
      };
    case 'zstd':
      return {
        compression: 'zstd',
        level,
        implementation: 'node-zlib-zstd',
        zstd: zstdLibraryVersion(),
        checksum: ZSTD_FRAME_PARAMS.checksum,
        contentSize: ZSTD_FRAME_PARAMS.contentSize,
      };
    case 'none':
      return { compression: 'none' };
  }
}
