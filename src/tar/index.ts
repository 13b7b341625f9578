// Deterministic tar writer and safe tar reader (see README.md).
export type { TarEntry, TarEntryType, TarReadEntry, TarReadLimits, TarWriteEntry } from './types.js';
export * from './header.js';
export * from './pax.js';
export { encodeEntryHeaders, padding, paxHeaderName, splitUstarPath, TYPEFLAG, PAX_HEADER_DIR } from './entry-header.js';
export { symlinkEscapes, writePathProblem } from './paths.js';
export { tarStream, tarChunks } from './writer.js';
export { readTar, DEFAULT_MAX_PAX_BYTES, DEFAULT_MAX_PATH_BYTES } from './reader.js';
