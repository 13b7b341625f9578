// Field-by-field comparison of two entry records, and the bounded evidence for content differences.
import { difference } from './classify.js';
import type { EntryRecord, ReadRecord } from './entries.js';
import type { ContentDetail, Difference, DiffValue } from './types.js';

export interface EntryWhere {
  platform: string;
  layer?: number;
  path: string;
}

/** PAX keys that only carry time. */
const TIME_PAX = new Set(['atime', 'ctime', 'LIBARCHIVE.creationtime']);

function keysOf(a: Record<string, string>, b: Record<string, string>): string[] {
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
}

/** Every difference between two records of the same path. Cost: O(fields). */
export function compareRecords(
  a: EntryRecord,
  b: EntryRecord,
  where: EntryWhere,
  heads?: [ReadRecord['head'], ReadRecord['head']],
): Difference[] {
  const out: Difference[] = [];
  if (a.type !== b.type) {
    out.push(difference('entry-type', 'substance', where, a.type, b.type));
    return out;
  }
  if (a.size !== b.size || a.sha256 !== b.sha256) {
    const d = difference(
      'content',
      'substance',
      where,
      { size: a.size, sha256: a.sha256 },
      { size: b.size, sha256: b.sha256 },
    );
    const detail = heads ? contentDetail(heads[0], heads[1]) : undefined;
    if (detail !== undefined) d.detail = detail;
    out.push(d);
  }
  if (a.mode !== b.mode) {
    // permission bits of a symlink are never used by Linux: redundant
    const cls = a.type === 'symlink' ? 'mode-redundant-bits' : 'substance';
    out.push(difference('mode', cls, { ...where, field: 'mode' }, octal(a.mode), octal(b.mode)));
  }
  for (const f of ['uid', 'gid', 'uname', 'gname'] as const) {
    if (a[f] !== b[f]) out.push(difference('owner', 'substance', { ...where, field: f }, a[f], b[f]));
  }
  if (a.mtime !== b.mtime)
    out.push(difference('mtime', 'timestamp', { ...where, field: 'mtime' }, a.mtime, b.mtime));
  if (a.linkname !== b.linkname)
    out.push(difference('link-target', 'substance', { ...where, field: 'linkname' }, a.linkname, b.linkname));
  for (const f of ['devmajor', 'devminor'] as const) {
    if (a[f] !== b[f]) out.push(difference('device', 'substance', { ...where, field: f }, a[f], b[f]));
  }
  for (const k of keysOf(a.xattrs, b.xattrs)) {
    if (a.xattrs[k] !== b.xattrs[k])
      out.push(
        difference('xattr', 'substance', { ...where, field: k }, a.xattrs[k] ?? null, b.xattrs[k] ?? null),
      );
  }
  for (const k of keysOf(a.pax, b.pax)) {
    if (a.pax[k] !== b.pax[k]) {
      out.push(
        difference(
          'pax',
          TIME_PAX.has(k) ? 'timestamp' : 'tar-format',
          { ...where, field: k },
          a.pax[k] ?? null,
          b.pax[k] ?? null,
        ),
      );
    }
  }
  return out;
}

/** The added/removed difference for a path on one side only (whiteouts get their own kind). */
export function presence(r: EntryRecord, side: 'a' | 'b', where: EntryWhere): Difference {
  const base = r.path.replace(/\/$/, '');
  const isWhiteout = base.slice(base.lastIndexOf('/') + 1).startsWith('.wh.');
  const summary: DiffValue = { type: r.type, size: r.size, sha256: r.sha256 };
  const kind = isWhiteout ? 'whiteout' : side === 'a' ? 'entry-removed' : 'entry-added';
  return side === 'a'
    ? difference(kind, 'substance', where, summary, null)
    : difference(kind, 'substance', where, null, summary);
}

function octal(n: number): string {
  return `0${n.toString(8).padStart(3, '0')}`;
}

function isText(b: Buffer): boolean {
  if (b.includes(0)) return false;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(b);
    return true;
  } catch {
    return false;
  }
}

/** Evidence for differing bodies from their kept heads: both texts, or hex around the first differing byte. */
export function contentDetail(a: ReadRecord['head'], b: ReadRecord['head']): ContentDetail | undefined {
  if (a === undefined || b === undefined) return undefined;
  if (a.complete && b.complete && isText(a.bytes) && isText(b.bytes)) {
    return { text: { a: a.bytes.toString('utf8'), b: b.bytes.toString('utf8') } };
  }
  const n = Math.min(a.bytes.length, b.bytes.length);
  let offset = 0;
  while (offset < n && a.bytes[offset] === b.bytes[offset]) offset++;
  if (offset === n && !(a.complete && b.complete)) return undefined; // first difference beyond the kept heads
  const start = Math.max(0, offset - 16);
  return {
    bytes: {
      offset,
      start,
      a: a.bytes.subarray(start, start + 64).toString('hex'),
      b: b.bytes.subarray(start, start + 64).toString('hex'),
    },
  };
}
