import { ImprintError } from '../errors.js';

/** A Debian version split into its parts: `[epoch:]upstream[-revision]`. */
export interface DebianVersion {
  epoch: number;
  upstream: string;
  /** '' when the version has no revision (which compares equal to "0"). */
  revision: string;
}

/** Relation operators as written in control files; `<` and `>` are the obsolete forms of `<=`/`>=`. */
export type VersionOp = '<<' | '<=' | '=' | '>=' | '>>' | '<' | '>';

const UPSTREAM_RE = /^[0-9][A-Za-z0-9.+~:-]*$/;
const REVISION_RE = /^[A-Za-z0-9.+~]+$/;
const EPOCH_RE = /^[0-9]+$/;

/**
 * Parses a version string the way dpkg does, but strictly: an empty version, whitespace, a
 * non-numeric or too large epoch, an empty upstream or revision, an upstream that does not start
 * with a digit, or characters outside policy's set are VERSION_INVALID. `what` names the source.
 */
export function parseVersion(s: string, what = 'version'): DebianVersion {
  if (s.length === 0) return badVersion(s, what, 'it is empty');
  let epoch = 0;
  let rest = s;
  const colon = s.indexOf(':');
  if (colon >= 0) {
    const e = s.slice(0, colon);
    if (!EPOCH_RE.test(e)) return badVersion(s, what, 'the epoch is not a number');
    epoch = Number(e);
    if (epoch > 2147483647) return badVersion(s, what, 'the epoch is too large');
    rest = s.slice(colon + 1);
  }
  let upstream = rest;
  let revision = '';
  const hyphen = rest.lastIndexOf('-');
  if (hyphen >= 0) {
    upstream = rest.slice(0, hyphen);
    revision = rest.slice(hyphen + 1);
    if (revision === '') return badVersion(s, what, 'the revision is empty');
    if (!REVISION_RE.test(revision))
      return badVersion(s, what, 'the revision has a character outside [A-Za-z0-9.+~]');
  }
  if (upstream === '') return badVersion(s, what, 'the upstream version is empty');
  if (!UPSTREAM_RE.test(upstream)) {
    const why = isDigit(upstream.charCodeAt(0))
      ? 'the upstream version has an invalid character'
      : 'the upstream version does not start with a digit';
    return badVersion(s, what, why);
  }
  return { epoch, upstream, revision };
}

function badVersion(s: string, what: string, why: string): never {
  throw new ImprintError('VERSION_INVALID', `${what} ${JSON.stringify(s)} is not a Debian version: ${why}`, {
    hint: 'Debian versions look like [epoch:]upstream[-revision], e.g. 1:2.3.4-5.',
    details: { version: s },
  });
}

/** dpkg's character weight: '~' sorts before everything, even the end; letters before non-letters. */
function order(c: number): number {
  if (c >= 48 && c <= 57) return 0; // digit (only reached for the end of a non-digit run)
  if ((c >= 65 && c <= 90) || (c >= 97 && c <= 122)) return c;
  if (c === 126) return -1; // ~
  if (Number.isNaN(c)) return 0; // end of string
  return c + 256;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** dpkg's verrevcmp: alternating non-digit runs (by `order`) and digit runs (numerically, any length). */
function compareFragment(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let firstDiff = 0;
    while ((i < a.length && !isDigit(a.charCodeAt(i))) || (j < b.length && !isDigit(b.charCodeAt(j)))) {
      const ac = order(a.charCodeAt(i));
      const bc = order(b.charCodeAt(j));
      if (ac !== bc) return ac - bc;
      i++;
      j++;
    }
    while (a.charCodeAt(i) === 48) i++;
    while (b.charCodeAt(j) === 48) j++;
    while (isDigit(a.charCodeAt(i)) && isDigit(b.charCodeAt(j))) {
      if (firstDiff === 0) firstDiff = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (isDigit(a.charCodeAt(i))) return 1;
    if (isDigit(b.charCodeAt(j))) return -1;
    if (firstDiff !== 0) return firstDiff;
  }
  return 0;
}

/** Compares two parsed versions: -1, 0 or 1. */
export function compareParsed(a: DebianVersion, b: DebianVersion): -1 | 0 | 1 {
  if (a.epoch !== b.epoch) return a.epoch < b.epoch ? -1 : 1;
  const u = compareFragment(a.upstream, b.upstream);
  if (u !== 0) return u < 0 ? -1 : 1;
  const r = compareFragment(a.revision, b.revision);
  return r === 0 ? 0 : r < 0 ? -1 : 1;
}

/**
 * Compares two version strings with dpkg's algorithm (epochs, `~`, revisions): -1, 0 or 1.
 * Throws VERSION_INVALID for malformed versions. Cost: linear in the strings' length.
 */
export function compareVersions(a: string, b: string): -1 | 0 | 1 {
  if (a === b) {
    parseVersion(a);
    return 0;
  }
  return compareParsed(parseVersion(a), parseVersion(b));
}

/** True when `op` is one of the relation operators of control files. */
export function isVersionOp(op: string): op is VersionOp {
  return op === '<<' || op === '<=' || op === '=' || op === '>=' || op === '>>' || op === '<' || op === '>';
}

/** True when `version op ref` holds (`<`/`>` are the obsolete spellings of `<=`/`>=`). */
export function satisfies(version: string, op: VersionOp, ref: string): boolean {
  const c = compareVersions(version, ref);
  switch (op) {
    case '<<':
      return c < 0;
    case '<=':
    case '<':
      return c <= 0;
    case '=':
      return c === 0;
    case '>=':
    case '>':
      return c >= 0;
    case '>>':
      return c > 0;
  }
}

/** Formats a parsed version back to its canonical string (no epoch when 0, no revision when ''). */
export function formatVersion(v: DebianVersion): string {
  return `${v.epoch !== 0 ? `${v.epoch}:` : ''}${v.upstream}${v.revision !== '' ? `-${v.revision}` : ''}`;
}
