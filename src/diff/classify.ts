// Severity, ordering and filtering of differences: pure functions over the data.
import type { DiffClass, Difference, DiffKind, DiffOptions, DiffValue, Severity } from './types.js';

/** Every class an `--ignore-*` flag can hide; `--semantic` hides all of them. */
export const IGNORABLE_CLASSES: readonly Exclude<DiffClass, 'substance'>[] = [
  'timestamp',
  'history',
  'file-order',
  'mode-redundant-bits',
  'tar-format',
  'wrapper',
];

const HIGH: ReadonlySet<DiffKind> = new Set<DiffKind>([
  'index',
  'layer-count',
  'entry-added',
  'entry-removed',
  'whiteout',
  'entry-type',
  'content',
  'link-target',
  'device',
  'env',
  'config',
]);

/** The severity of a difference: anything an ignore flag can hide is `low`; then by kind. */
export function severityOf(kind: DiffKind, cls: DiffClass): Severity {
  if (cls !== 'substance') return 'low';
  return HIGH.has(kind) ? 'high' : 'medium';
}

/** Builds a Difference with its severity filled in. */
export function difference(
  kind: DiffKind,
  cls: DiffClass,
  where: { platform?: string; layer?: number; path?: string; field?: string },
  a: DiffValue,
  b: DiffValue,
): Difference {
  // keys in one fixed order (JSON output is stable): kind, class, severity, platform, layer, path, field, a, b
  return {
    kind,
    class: cls,
    severity: severityOf(kind, cls),
    ...(where.platform === undefined ? {} : { platform: where.platform }),
    ...(where.layer === undefined ? {} : { layer: where.layer }),
    ...(where.path === undefined ? {} : { path: where.path }),
    ...(where.field === undefined ? {} : { field: where.field }),
    a,
    b,
  };
}

const SEVERITY_RANK: Record<Severity, number> = { high: 0, medium: 1, low: 2 };

function cmp(a: string | number | undefined, b: string | number | undefined): number {
  if (a === b) return 0;
  if (a === undefined) return -1;
  if (b === undefined) return 1;
  return a < b ? -1 : 1;
}

/** Orders differences most important first, then by platform, layer, path, kind, field (byte order). */
export function sortDifferences(ds: Difference[]): Difference[] {
  return [...ds].sort(
    (x, y) =>
      SEVERITY_RANK[x.severity] - SEVERITY_RANK[y.severity] ||
      cmp(x.platform, y.platform) ||
      cmp(x.layer, y.layer) ||
      cmp(x.path, y.path) ||
      cmp(x.kind, y.kind) ||
      cmp(x.field, y.field),
  );
}

/** Splits differences into those the options keep and counts of those they hide, per class. */
export function applyIgnores(
  ds: Difference[],
  opts: DiffOptions,
): { kept: Difference[]; ignored: Partial<Record<DiffClass, number>> } {
  const kept: Difference[] = [];
  const ignored: Partial<Record<DiffClass, number>> = {};
  for (const d of ds) {
    if (d.class !== 'substance' && opts.ignore?.[d.class] === true)
      ignored[d.class] = (ignored[d.class] ?? 0) + 1;
    else kept.push(d);
  }
  const sorted: Partial<Record<DiffClass, number>> = {};
  for (const c of IGNORABLE_CLASSES) if (ignored[c] !== undefined) sorted[c] = ignored[c];
  return { kept, ignored: sorted };
}

/** The ignore set `--semantic` stands for: every ignorable class. */
export function semanticIgnores(): Record<Exclude<DiffClass, 'substance'>, boolean> {
  return {
    timestamp: true,
    history: true,
    'file-order': true,
    'mode-redundant-bits': true,
    'tar-format': true,
    wrapper: true,
  };
}
