// Source policy (`imprint build --policy FILE`): BuildKit's ALLOW / DENY / CONVERT rules over image
// references and package source URLs, evaluated before anything is fetched.

export {
  type BuildSources,
  type CheckedImage,
  type CheckedSources,
  type CheckedUrl,
  checkSources,
} from './check.js';
export {
  type Conversion,
  DENIED_HINT,
  describeDenial,
  type EvaluateOptions,
  enforcePolicy,
  evaluatePolicy,
  MAX_CONVERSIONS,
  type PolicyDecision,
  policyDenied,
  type RuleRef,
} from './evaluate.js';
export {
  type IdentifierKind,
  IMAGE_SCHEMES,
  type ImageIdentifierOptions,
  identifierKind,
  imageIdentifier,
  parseImageIdentifier,
  parseImageInput,
  sourceUrlIdentifier,
  URL_SCHEMES,
} from './identifiers.js';
export {
  loadPolicy,
  MAX_POLICY_BYTES,
  type NormalizePolicyOptions,
  normalizePolicy,
  type Policy,
  type PolicyRule,
  parsePolicy,
  policyInvalid,
} from './load.js';
export type { CompiledSelector, MatchType } from './match.js';
export { MATCH_TYPES, POLICY_ACTIONS, type PolicyAction, type PolicyFile, policySchema } from './schema.js';
