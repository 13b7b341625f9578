// Public library API: re-exports only. The CLI (src/cli) uses nothing else.
export * from './errors.js';
export * from './digest/index.js';
export * from './oci/canonical-json.js';
export * from './oci/media-types.js';
export * from './oci/platform.js';
export * from './oci/select.js';
export * from './oci/validate.js';
export type * from './oci/types.js';
export type * from './oci/image-set.js';
export * from './compress/index.js';
export * from './tar/index.js';
export * from './vfs/index.js';
export * from './store/index.js';
export * from './transport/index.js';
export * from './spec/index.js';
export { type BuildEvent, type BuildRequest, type BuildResult, type BuiltImage, buildImage } from './build/build.js';
export { type EpochResolution, resolveEpoch } from './build/epoch.js';
export { type GitInfo, gitInfo } from './build/git.js';
