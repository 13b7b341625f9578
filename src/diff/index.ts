// Structural and file-level comparison of two image sets (see README.md).
export { applyIgnores, IGNORABLE_CLASSES, semanticIgnores, severityOf, sortDifferences } from './classify.js';
export { diffImageSets } from './diff.js';
export { unifiedDiff } from './line-diff.js';
export { renderHtml } from './render-html.js';
export { renderJson, renderText } from './render-text.js';
export type {
  ContentDetail,
  DiffClass,
  Difference,
  DiffKind,
  DiffOptions,
  DiffResult,
  DiffValue,
  Severity,
} from './types.js';
