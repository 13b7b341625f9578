// Comparing the JSON documents of two images: index and manifest fields, annotations, the config
// (each field, env by variable, labels by key, history by entry).
import { canonicalJsonText } from '../oci/canonical-json.js';
import { Annotation } from '../oci/media-types.js';
import type { HistoryEntry, ImageConfig } from '../oci/types.js';
import { difference } from './classify.js';
import type { Difference, DiffValue } from './types.js';

type Where = { platform?: string };

function same(a: unknown, b: unknown): boolean {
  return canonicalJsonText(a ?? null) === canonicalJsonText(b ?? null);
}

function sortedKeys(...objs: (Record<string, unknown> | undefined)[]): string[] {
  return [...new Set(objs.flatMap((o) => Object.keys(o ?? {})))].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
}

function value(v: unknown): DiffValue {
  return v === undefined ? null : (v as DiffValue);
}

/** Annotation differences, per key; `org.opencontainers.image.created` is a timestamp. */
export function compareAnnotations(
  a: Record<string, string> | undefined,
  b: Record<string, string> | undefined,
  where: Where & { field?: string },
  prefix: string,
): Difference[] {
  const out: Difference[] = [];
  for (const k of sortedKeys(a, b)) {
    const va = a?.[k];
    const vb = b?.[k];
    if (va === vb) continue;
    out.push(
      difference(
        'annotation',
        k === Annotation.created ? 'timestamp' : 'substance',
        { ...where, field: `${prefix}${k}` },
        value(va),
        value(vb),
      ),
    );
  }
  return out;
}

/** Top-level fields of two documents other than `skip`, compared as canonical JSON. */
export function compareFields(
  kind: 'index' | 'manifest' | 'config',
  a: Record<string, unknown>,
  b: Record<string, unknown>,
  skip: ReadonlySet<string>,
  where: Where,
  prefix = '',
): Difference[] {
  const out: Difference[] = [];
  for (const k of sortedKeys(a, b)) {
    if (skip.has(k) || same(a[k], b[k])) continue;
    out.push(difference(kind, 'substance', { ...where, field: `${prefix}${k}` }, value(a[k]), value(b[k])));
  }
  return out;
}

function envMap(env: string[] | undefined): Map<string, string> {
  const m = new Map<string, string>();
  for (const e of env ?? []) {
    const eq = e.indexOf('=');
    m.set(eq < 0 ? e : e.slice(0, eq), eq < 0 ? '' : e.slice(eq + 1));
  }
  return m;
}

/** Every difference between two image configs. rootfs is skipped: layers are compared by content. */
export function compareConfigs(a: ImageConfig, b: ImageConfig, where: Where): Difference[] {
  const out: Difference[] = [];
  if (a.created !== b.created)
    out.push(
      difference('config', 'timestamp', { ...where, field: 'created' }, value(a.created), value(b.created)),
    );
  const top = new Set(['created', 'config', 'rootfs', 'history']);
  out.push(
    ...compareFields(
      'config',
      a as unknown as Record<string, unknown>,
      b as unknown as Record<string, unknown>,
      top,
      where,
    ),
  );
  const ca = (a.config ?? {}) as Record<string, unknown>;
  const cb = (b.config ?? {}) as Record<string, unknown>;
  out.push(...compareFields('config', ca, cb, new Set(['Env', 'Labels']), where, 'config.'));
  const ea = envMap(a.config?.Env);
  const eb = envMap(b.config?.Env);
  for (const k of sortedKeys(Object.fromEntries(ea), Object.fromEntries(eb))) {
    if (ea.get(k) !== eb.get(k))
      out.push(difference('env', 'substance', { ...where, field: k }, value(ea.get(k)), value(eb.get(k))));
  }
  // the same variables in another order
  const orderA = [...ea.keys()].join('\0');
  const orderB = [...eb.keys()].join('\0');
  if (out.every((d) => d.kind !== 'env') && orderA !== orderB) {
    out.push(difference('env', 'substance', { ...where, field: '(order)' }, [...ea.keys()], [...eb.keys()]));
  }
  const la = a.config?.Labels;
  const lb = b.config?.Labels;
  for (const k of sortedKeys(la, lb)) {
    if (la?.[k] !== lb?.[k])
      out.push(difference('label', 'substance', { ...where, field: k }, value(la?.[k]), value(lb?.[k])));
  }
  out.push(...compareHistory(a.history ?? [], b.history ?? [], where));
  return out;
}

const HISTORY_FIELDS = ['created', 'created_by', 'author', 'comment', 'empty_layer'] as const;

/** History compared entry by entry; `created` is a timestamp, every other field is history. */
export function compareHistory(a: HistoryEntry[], b: HistoryEntry[], where: Where): Difference[] {
  const out: Difference[] = [];
  if (a.length !== b.length)
    out.push(difference('history', 'history', { ...where, field: 'length' }, a.length, b.length));
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const ha = a[i]!;
    const hb = b[i]!;
    for (const f of HISTORY_FIELDS) {
      if (!same(ha[f], hb[f])) {
        out.push(
          difference(
            'history',
            f === 'created' ? 'timestamp' : 'history',
            { ...where, field: `history[${i}].${f}` },
            value(ha[f]),
            value(hb[f]),
          ),
        );
      }
    }
    const extra = sortedKeys(ha as Record<string, unknown>, hb as Record<string, unknown>).filter(
      (k) => !(HISTORY_FIELDS as readonly string[]).includes(k),
    );
    for (const k of extra) {
      const va = (ha as Record<string, unknown>)[k];
      const vb = (hb as Record<string, unknown>)[k];
      if (!same(va, vb))
        out.push(
          difference('history', 'history', { ...where, field: `history[${i}].${k}` }, value(va), value(vb)),
        );
    }
  }
  return out;
}
