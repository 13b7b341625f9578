// Public library API: re-exports only.
export * from './errors.js';
export * from './digest/index.js';
export * from './oci/canonical-json.js';
export * from './oci/media-types.js';
export * from './oci/platform.js';
export type * from './oci/types.js';
export type * from './oci/image-set.js';
