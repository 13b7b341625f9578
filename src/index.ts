// Public library API: re-exports only. The CLI (src/cli) uses nothing else.

export { attestBuild } from './attest/attest-build.js';
export {
  type BuildEvent,
  type BuildRequest,
  type BuildResult,
  type BuiltImage,
  buildImage,
} from './build/build.js';
export { type EpochResolution, resolveEpoch } from './build/epoch.js';
export { type GitInfo, gitInfo } from './build/git.js';
export { VERSION } from './cli/version.js';
export * from './compress/index.js';
export { type FetchPackagesOptions, fetchPackages } from './debian/fetch.js';
export { type InstallResult, installPackages } from './debian/install.js';
export { dpkgArch, PackageUniverse, resolvePackages } from './debian/resolve.js';
export { diffImageSets } from './diff/index.js';
export * from './digest/index.js';
export * from './errors.js';
export { createLock, type LockRequest, type LockResult, loadFreshLock, lockPath } from './lock/create.js';
export * from './lock/index.js';
export * from './oci/canonical-json.js';
export type * from './oci/image-set.js';
export * from './oci/media-types.js';
export * from './oci/platform.js';
export * from './oci/select.js';
export type * from './oci/types.js';
export * from './oci/validate.js';
export * from './spec/index.js';
export * from './store/index.js';
export * from './tar/index.js';
export * from './transport/index.js';
export { verifyImage } from './verify/verify.js';
export * from './vfs/index.js';
