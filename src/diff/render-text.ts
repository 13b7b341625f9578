// The default output: one summary line, then a table of differences, most important first.
import type { Difference, DiffResult, DiffValue } from './types.js';

const MAX_CELL = 60;

/**
 * `text` with control characters (C0, DEL, C1) shown as \xHH: an image's file names and values must
 * not drive the terminal (escape sequences) or break the table (newlines). Pure.
 */
export function printable(text: string): string {
  let out = '';
  for (const ch of text) {
    const code = ch.charCodeAt(0);
    out += code < 0x20 || (code >= 0x7f && code <= 0x9f) ? `\\x${code.toString(16).padStart(2, '0')}` : ch;
  }
  return out;
}

/** A full sha256 digest, shown by its first 12 hex digits (the JSON output keeps it whole). */
const DIGEST = /^sha256:([0-9a-f]{12})[0-9a-f]{52}$/;

/** `key=value` pairs, digests short; a digest field shows as the digest alone. */
function compact(v: DiffValue): string {
  if (v === null) return '-';
  // an empty value (buildah's base.digest "" from scratch) is not an absent one, shown as -
  if (v === '') return '""';
  if (typeof v === 'string') {
    const m = DIGEST.exec(v);
    return m === null ? v : `sha256:${m[1]}…`;
  }
  if (typeof v !== 'object') return String(v);
  if (Array.isArray(v)) return `[${v.map(compact).join(', ')}]`;
  return Object.entries(v)
    .filter(([, x]) => x !== null)
    .map(([k, x]) =>
      (k === 'sha256' || k === 'digest') && typeof x === 'string'
        ? compact(x)
        : k === 'mediaType' && typeof x === 'string'
          ? shortMediaType(x)
          : `${k}=${compact(x)}`,
    )
    .join(' ');
}

/**
 * A media type without its `application/vnd.` prefix and key, so that what tells two apart (its
 * compression suffix, index or manifest) fits the cell: `oci.image.layer.v1.tar+gzip`.
 */
function shortMediaType(mediaType: string): string {
  return mediaType.replace(/^application\/vnd\./, '');
}

/** A short one-line form of a value: digests by their first 12 hex digits, objects as key=value. */
export function showValue(v: DiffValue): string {
  const s = printable(compact(v));
  return s.length > MAX_CELL ? `${s.slice(0, MAX_CELL - 1)}…` : s;
}

function location(d: Difference): string {
  const parts: string[] = [];
  if (d.layer !== undefined) parts.push(`layer ${d.layer}`);
  if (d.path !== undefined) parts.push(`/${printable(d.path)}`);
  if (d.field !== undefined) parts.push(d.path === undefined ? d.field : `(${d.field})`);
  return parts.join(' ') || '-';
}

/** Renders a result as a plain-text table (no colour). Cost: O(differences). */
export function renderText(r: DiffResult): string {
  const lines: string[] = [];
  const hidden = Object.entries(r.ignored)
    .map(([k, n]) => `${n} ${k}`)
    .join(', ');
  const head = r.identical
    ? `${printable(r.a)} and ${printable(r.b)} are the same`
    : `${printable(r.a)} and ${printable(r.b)} differ: ${r.differences.length} difference${r.differences.length === 1 ? '' : 's'}`;
  lines.push(`${head}${hidden ? ` (ignored: ${hidden})` : ''}`);
  if (r.differences.length === 0) return `${lines.join('\n')}\n`;
  const rows = r.differences.map((d) => [
    d.severity,
    d.kind,
    d.platform ?? '-',
    location(d),
    showValue(d.a),
    showValue(d.b),
  ]);
  const header = ['SEVERITY', 'KIND', 'PLATFORM', 'WHERE', 'A', 'B'];
  // A long path does not widen every row: columns stop at MAX_CELL, and a longer cell overflows its own row.
  const widths = header.map((h, i) =>
    Math.max(h.length, Math.min(MAX_CELL, Math.max(...rows.map((row) => row[i]!.length)))),
  );
  const fmt = (row: string[]) =>
    row
      .map((c, i) => (i === row.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  lines.push('', fmt(header), ...rows.map(fmt));
  return `${lines.join('\n')}\n`;
}

/** Renders a result as JSON (the schema in README.md), two-space indented, keys in a fixed order. */
export function renderJson(r: DiffResult): string {
  return `${JSON.stringify(r, null, 2)}\n`;
}
