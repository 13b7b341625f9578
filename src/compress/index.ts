// Compression codecs: reproducible gzip (libdeflate) and pinned zstd output, guarded gzip/xz/zstd decoders. See README.md.
export {
  bodyCacheFor,
  type Compression,
  type CompressOptions,
  codecDescription,
  compressStream,
  prewarmCompression,
  resolveLevel,
} from './compress.js';
export { crc32 } from './crc32.js';
export { type DecompressOptions, decompressStream, openDecompressed } from './decompress.js';
export type { GzipBodyCache } from './gzip-bodies.js';
export { DEFAULT_MAX_RATIO, DEFAULT_RATIO_GRACE_BYTES, type DecompressLimits } from './limits.js';
export { type Decompression, sniffCompression } from './sniff.js';
export { zstdAvailable } from './zstd.js';
