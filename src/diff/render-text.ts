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

/** A short one-line form of a value. */
export function showValue(v: DiffValue): string {
  const s = printable(v === null ? '-' : typeof v === 'string' ? v : JSON.stringify(v));
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
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
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
