import { ImprintError } from '../errors.js';

/**
 * Normalises an image path to its tree key: no leading or trailing '/', no '.' components, single
 * separators; '' is the root. Rejects '..' components and NUL with VFS_INVALID_PATH: a tree path never
 * climbs, whatever the source claims.
 */
export function normalizeImagePath(path: string, what = 'path'): string {
  // Already normal (the common case: every path of a package's data.tar after its './'): no copy.
  if (!NEEDS_NORMALISING.test(path)) return path;
  // Absolute and otherwise normal (how effects and specs name paths): the key is the rest.
  if (path.charCodeAt(0) === 0x2f) {
    const rest = path.slice(1);
    if (!NEEDS_NORMALISING.test(rest)) return rest;
  }
  if (path.includes('\0')) throw invalid(path, what, 'contains a NUL byte');
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') throw invalid(path, what, "has a '..' component");
    parts.push(part);
  }
  return parts.join('/');
}

/** True when `key` is one of `roots` or lies below one of them. Cost O(depth). */
export function withinAny(key: string, roots: ReadonlySet<string>): boolean {
  for (let k = key; k !== ''; k = parentPath(k)) if (roots.has(k)) return true;
  return false;
}

/** The parent key of a tree key ('' for top-level entries). */
export function parentPath(key: string): string {
  const i = key.lastIndexOf('/');
  return i < 0 ? '' : key.slice(0, i);
}

/** Anything normalizeImagePath would change or refuse: empty, '.', '..' or NUL parts, outer slashes. */
const NEEDS_NORMALISING = /^$|^\/|\/$|\/\/|(^|\/)\.\.?(\/|$)|\0/;

/**
 * Byte order of the UTF-8 encodings, independent of locale and of UTF-16 surrogates. Compares UTF-16
 * code units while they are below U+D800 (where their order is the code points' and so UTF-8's);
 * from the first difference involving a surrogate or U+E000..U+FFFF, compares the encodings.
 */
export function compareBytes(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    if (x < 0xd800 && y < 0xd800) return x - y;
    // From the start of the character: the shared high surrogate of a pair, if i is inside one.
    const from = i > 0 && (a.charCodeAt(i - 1) & 0xfc00) === 0xd800 ? i - 1 : i;
    return Buffer.compare(Buffer.from(a.slice(from), 'utf8'), Buffer.from(b.slice(from), 'utf8'));
  }
  return a.length - b.length;
}

/** Code units from U+D800 up: only where one of these differs do UTF-16 order and UTF-8 order part. */
const WIDE_UNITS = /[\ud800-\uffff]/;

/**
 * Sorts `strings` in place into compareBytes order and returns them. Where no string has a code unit
 * from U+D800 up (paths almost always), Array.prototype.sort's own order, by UTF-16 code units, is
 * that order, and runs natively without calling a comparator: ~5x faster on a package layer's keys.
 */
export function sortBytes(strings: string[]): string[] {
  for (const s of strings) if (WIDE_UNITS.test(s)) return strings.sort(compareBytes);
  return strings.sort();
}

/**
 * Resolves a symlink target against the directory holding the link, as seen inside the image root
 * (absolute targets start at the root; '..' at the root stays at the root, as the kernel does in a
 * chroot). Returns a tree key.
 */
export function resolveLinkTarget(linkKey: string, target: string): string {
  const parts = target.startsWith('/')
    ? []
    : parentPath(linkKey)
        .split('/')
        .filter((p) => p !== '');
  for (const part of target.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return parts.join('/');
}

function invalid(path: string, what: string, why: string): ImprintError {
  return new ImprintError('VFS_INVALID_PATH', `${what} ${JSON.stringify(path)} ${why}`, {
    hint: 'Image paths are absolute or relative to the image root and may not climb out of it.',
    details: { path },
  });
}
