// Content-addressed blob store: public surface of src/store/.
export {
  cacheNotWritableHint,
  fileSink,
  isDeniedCode,
  TEMP_PREFIX,
  tempPath,
  writeFileAtomic,
} from './atomic-file.js';
export {
  type BlobExpectation,
  type BlobSource,
  BlobStore,
  type BlobStoreOptions,
  type StoredBlob,
} from './blob-store.js';
export { defaultCacheDir } from './cache-dir.js';
export { CHECKED_SUFFIX, readCheckedFile, writeCheckedFile } from './checked-file.js';
export { removeStaleTemps } from './stale-temps.js';
export {
  DEFAULT_MAX_BLOB_BYTES,
  openTarget,
  readBounded,
  readSmallBlob,
  tooLarge,
  verifiedStream,
} from './streams.js';
