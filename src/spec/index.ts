// The imprint.yaml spec: one zod schema gives the types, the validator and the published JSON Schema.

export type { SpecIssue } from './issues.js';
export { JSON_SCHEMA_PATH, specJsonSchema, specJsonSchemaText } from './json-schema.js';
export {
  type LoadedSpec,
  loadSpec,
  MAX_SPEC_BYTES,
  type NormalizeOptions,
  normalizeSpec,
  parseSpec,
  SPEC_FILE_NAME,
  type SpecLocation,
  specField,
} from './load.js';
export { formatPath, type Locator, type PathSegment, type SourcePosition } from './locate.js';
export {
  DEFAULT_LEVEL,
  MAX_EPOCH,
  MAX_ID,
  type Spec,
  type SpecAccounts,
  type SpecFile,
  type SpecGroup,
  type SpecInput,
  type SpecPackage,
  type SpecSource,
  type SpecUser,
  specSchema,
} from './schema.js';
export { editDistance, nearest } from './suggest.js';
