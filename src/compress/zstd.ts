import type { Transform } from 'node:stream';
import * as zlib from 'node:zlib';
import { ImprintError } from '../errors.js';
import { CODEC_CHUNK, InnerStreamTransform } from './inner-stream.js';

/** zstd levels imprint accepts (ultra levels 20..22 need large windows and are left out). */
export const ZSTD_MIN_LEVEL = 1;
export const ZSTD_MAX_LEVEL = 19;
export const ZSTD_DEFAULT_LEVEL = 3;

/**
 * Pinned frame parameters. Checksum on: decoders can detect corruption without the digest, and it
 * is what the `zstd` CLI writes. Content size off: a streaming compressor cannot know it, and with
 * the flag on libzstd would write it only when the whole input arrives in one call, which would
 * make the bytes depend on chunking.
 */
export const ZSTD_FRAME_PARAMS = { checksum: 1, contentSize: 0 } as const;

interface ZstdOptions {
  params?: Record<number, number>;
  chunkSize?: number;
}

/** Node's built-in zstd (Node >= 22.15 / 23.8); @types/node 20 does not declare it. */
interface ZlibWithZstd {
  createZstdCompress?: (options?: ZstdOptions) => Transform;
  createZstdDecompress?: (options?: ZstdOptions) => Transform;
  constants: Record<string, number | undefined>;
}

const zlibZstd = zlib as unknown as ZlibWithZstd;

/** True when this Node has a built-in zstd compressor (Node >= 22.15 / 23.8). */
export function zstdAvailable(): boolean {
  return typeof zlibZstd.createZstdCompress === 'function';
}

/** True when this Node has a built-in zstd decompressor (else imprint decodes with fzstd). */
export function nativeZstdDecompressAvailable(): boolean {
  return typeof zlibZstd.createZstdDecompress === 'function';
}

/** The libzstd version Node links, or 'unknown'; output bytes can change with it. */
export function zstdLibraryVersion(): string {
  return process.versions.zstd ?? 'unknown';
}

function constant(name: string): number {
  const value = zlibZstd.constants[name];
  if (value === undefined) {
    throw new ImprintError(
      'COMPRESSION_UNSUPPORTED',
      `zlib.constants.${name} is missing from this Node's zstd support`,
      {
        hint: 'zstd output needs Node >= 22.15; use gzip or upgrade Node.',
      },
    );
  }
  return value;
}

function unsupported(): ImprintError {
  return new ImprintError(
    'COMPRESSION_UNSUPPORTED',
    `zstd compression needs Node's built-in zstd, which Node ${process.version} does not have`,
    {
      hint: 'zstd output needs Node >= 22.15; use gzip or upgrade Node.',
      details: { node: process.version },
    },
  );
}

/** A pass-through wrapper, so the zstd compressor gets the same chunking discipline as gzip. */
class ZstdWriter extends InnerStreamTransform {}

/** A zstd compressor with pinned parameters; throws COMPRESSION_UNSUPPORTED without built-in zstd. */
export function createZstdWriter(level: number): Transform {
  const create = zlibZstd.createZstdCompress;
  if (create === undefined) throw unsupported();
  const params: Record<number, number> = {
    [constant('ZSTD_c_compressionLevel')]: level,
    [constant('ZSTD_c_checksumFlag')]: ZSTD_FRAME_PARAMS.checksum,
    [constant('ZSTD_c_contentSizeFlag')]: ZSTD_FRAME_PARAMS.contentSize,
  };
  // Single-threaded output differs from multi-threaded output; pin it where the knob exists.
  const nbWorkers = zlibZstd.constants.ZSTD_c_nbWorkers;
  if (nbWorkers !== undefined) params[nbWorkers] = 0;
  // InnerStreamTransform never passes data together with the end flag, so libzstd never takes its
  // one-shot path (which would tune parameters to the known input size).
  return new ZstdWriter(create({ params, chunkSize: CODEC_CHUNK }));
}

/** Node's built-in zstd decompressor, or undefined when this Node has none. */
export function createNativeZstdDecompress(): Transform | undefined {
  const create = zlibZstd.createZstdDecompress;
  return create === undefined ? undefined : create({ chunkSize: CODEC_CHUNK });
}
