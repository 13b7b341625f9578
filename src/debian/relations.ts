import { ImprintError } from '../errors.js';
import { isVersionOp, parseVersion, type VersionOp } from './version.js';

/** One package reference in a relation field: `name[:arch] [(op version)] [[archs]] [<profiles>]`. */
export interface Relation {
  name: string;
  /** The `:any`, `:native` or `:<arch>` qualifier, when written. */
  archQualifier?: string;
  /** The version constraint, when written. */
  op?: VersionOp;
  version?: string;
  /** `[amd64 !i386]` restriction list (Build-Depends only); kept as written, in order. */
  archs?: string[];
  /** `<!nocheck> <stage1>` build-profile groups (Build-Depends only), each a list of terms. */
  profiles?: string[][];
}

/** Alternatives: any one of them satisfies the dependency (`a | b`). */
export type Alternatives = Relation[];

const NAME_RE = /^[a-z0-9][a-z0-9+.-]*$/;

/**
 * Memo of parsed relation fields, keyed by their exact text. Real indexes spell the same fields
 * thousands of times ("libc6 (>= 2.34)"), so sharing parsed (frozen) lists saves most of the
 * parsing time and memory. Use one per index or per batch of indexes.
 */
export class RelationCache {
  readonly depends = new Map<string, readonly Alternatives[]>();
  readonly groups = new Map<string, Alternatives>();
  readonly lists = new Map<string, readonly Relation[]>();
}

/**
 * Parses a relation field with alternatives (Depends, Pre-Depends, Recommends, Build-Depends):
 * a comma-separated list of `|`-separated alternatives. `what` names the field and package in
 * DEB822_PARSE errors. Empty entries (a trailing comma) are skipped, as dpkg does. The result is
 * frozen (and shared, when `cache` is given).
 */
export function parseDependsField(
  value: string,
  what: string,
  cache?: RelationCache,
): readonly Alternatives[] {
  const hit = cache?.depends.get(value);
  if (hit !== undefined) return hit;
  const out: Alternatives[] = [];
  let from = 0;
  while (from <= value.length) {
    let comma = value.indexOf(',', from);
    if (comma < 0) comma = value.length;
    const part = value.slice(from, comma);
    from = comma + 1;
    if (isBlankStr(part)) continue;
    let alts = cache?.groups.get(part);
    if (alts === undefined) {
      alts = part.includes('|')
        ? part.split('|').map((alt) => parseRelation(alt, what))
        : [parseRelation(part, what)];
      Object.freeze(alts);
      cache?.groups.set(part, alts);
    }
    out.push(alts);
  }
  Object.freeze(out);
  cache?.depends.set(value, out);
  return out;
}

/**
 * Parses a relation field without alternatives (Provides, Conflicts, Breaks, Replaces); a `|`
 * in it is a DEB822_PARSE error, as in dpkg. The result is frozen (and shared with `cache`).
 */
export function parseRelationList(value: string, what: string, cache?: RelationCache): readonly Relation[] {
  const hit = cache?.lists.get(value);
  if (hit !== undefined) return hit;
  const out: Relation[] = [];
  for (const part of value.split(',')) {
    if (isBlankStr(part)) continue;
    if (part.includes('|'))
      fail(what, `alternatives ("|") are not allowed here: ${JSON.stringify(part.trim())}`);
    out.push(parseRelation(part, what));
  }
  Object.freeze(out);
  cache?.lists.set(value, out);
  return out;
}

function isBlankStr(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c !== 32 && c !== 9 && c !== 10) return false;
  }
  return true;
}

function fail(what: string, msg: string): never {
  throw new ImprintError('DEB822_PARSE', `${what}: ${msg}`, {
    hint: 'Relations look like "name[:arch] [(op version)]", separated by "," and "|".',
    details: { field: what },
  });
}

/** Parses one relation (`libc6:any (>= 2.36) [amd64] <!nocheck>`). */
export function parseRelation(text: string, what: string): Relation {
  const s = text.trim();
  let i = 0;
  const n = s.length;
  while (i < n && !isSep(s.charCodeAt(i))) i++;
  let name = s.slice(0, i);
  const rel: Relation = { name };
  const colon = name.indexOf(':');
  if (colon >= 0) {
    const q = name.slice(colon + 1);
    name = name.slice(0, colon);
    if (q === '') fail(what, `empty architecture qualifier in ${JSON.stringify(s)}`);
    rel.name = name;
    rel.archQualifier = q;
  }
  if (!NAME_RE.test(name)) fail(what, `invalid package name in ${JSON.stringify(s)}`);
  i = skipWs(s, i);
  if (s.charCodeAt(i) === 40 /* ( */) {
    const close = s.indexOf(')', i);
    if (close < 0) fail(what, `unclosed "(" in ${JSON.stringify(s)}`);
    const inner = s.slice(i + 1, close).trim();
    const m = /^(<<|<=|>=|>>|=|<|>)\s*(\S+)$/.exec(inner);
    if (m === null) fail(what, `expected "(op version)", found ${JSON.stringify(`(${inner})`)}`);
    const op = m[1] as string;
    if (!isVersionOp(op)) fail(what, `unknown operator ${op}`);
    const version = m[2] as string;
    parseVersion(version, `${what}: version of ${name}`);
    rel.op = op;
    rel.version = version;
    i = skipWs(s, close + 1);
  }
  if (s.charCodeAt(i) === 91 /* [ */) {
    const close = s.indexOf(']', i);
    if (close < 0) fail(what, `unclosed "[" in ${JSON.stringify(s)}`);
    rel.archs = s
      .slice(i + 1, close)
      .split(/\s+/)
      .filter((a) => a !== '');
    i = skipWs(s, close + 1);
  }
  while (s.charCodeAt(i) === 60 /* < */) {
    const close = s.indexOf('>', i);
    if (close < 0) fail(what, `unclosed "<" in ${JSON.stringify(s)}`);
    rel.profiles ??= [];
    rel.profiles.push(
      s
        .slice(i + 1, close)
        .split(/\s+/)
        .filter((t) => t !== ''),
    );
    i = skipWs(s, close + 1);
  }
  if (i < n) fail(what, `unexpected ${JSON.stringify(s.slice(i))} in ${JSON.stringify(s)}`);
  return Object.freeze(rel);
}

function isSep(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 40 || c === 91 || c === 60;
}

function skipWs(s: string, i: number): number {
  while (
    i < s.length &&
    isSep(s.charCodeAt(i)) &&
    s.charCodeAt(i) !== 40 &&
    s.charCodeAt(i) !== 91 &&
    s.charCodeAt(i) !== 60
  )
    i++;
  return i;
}

/** Formats a relation back to control-file syntax (`name:q (op version) [archs] <profiles>`). */
export function formatRelation(r: Relation): string {
  let out = r.archQualifier === undefined ? r.name : `${r.name}:${r.archQualifier}`;
  if (r.op !== undefined) out += ` (${r.op} ${r.version})`;
  if (r.archs !== undefined) out += ` [${r.archs.join(' ')}]`;
  for (const p of r.profiles ?? []) out += ` <${p.join(' ')}>`;
  return out;
}
