// Deterministic tar writer and safe tar reader (see README.md).

export {
  encodeEntryHeaders,
  PAX_HEADER_DIR,
  padding,
  paxHeaderName,
  splitUstarPath,
  TYPEFLAG,
} from './entry-header.js';
export * from './header.js';
export { symlinkEscapes, writePathProblem } from './paths.js';
export * from './pax.js';
export { DEFAULT_MAX_PATH_BYTES, DEFAULT_MAX_PAX_BYTES, readTar } from './reader.js';
export type { TarEntry, TarEntryType, TarReadEntry, TarReadLimits, TarWriteEntry } from './types.js';
export { bodyNow, type TarBodyMark, tarChunks, tarParts, tarStream } from './writer.js';
