import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { ImprintError } from '../errors.js';
import { archivePathProblem } from './archive-path.js';
import { type Deb822Paragraph, parseDeb822 } from './deb822.js';
import {
  type Alternatives,
  parseDependsField,
  parseRelationList,
  type Relation,
  RelationCache,
} from './relations.js';
import { parseVersion } from './version.js';

export type { Alternatives, Relation } from './relations.js';
export {
  formatRelation,
  parseDependsField,
  parseRelation,
  parseRelationList,
  RelationCache,
} from './relations.js';

/** Which index a record came from. One object per index, shared by all its records. */
export interface RepoRef {
  /** Position of the source in the spec's `sources` list. */
  sourceIndex: number;
  /** The archive's base URL (no trailing slash); `.deb` URLs are `${url}/${filename}`. */
  url: string;
  suite: string;
  component: string;
  /** The architecture of the Packages index (records may still say `all`). */
  arch: string;
  /**
   * apt's pin priority of the suite (ReleaseInfo.priority; absent: 500). The candidate version of a
   * package is the newest of those with the highest priority, so a NotAutomatic suite (backports)
   * gives a package only when nothing else can, or when its version is pinned.
   */
  priority?: number;
}

export type MultiArch = 'no' | 'same' | 'foreign' | 'allowed';

/**
 * One binary package of a Packages index, with its relation fields parsed. Records are immutable:
 * relation lists are frozen and shared between records that spell a field the same way.
 */
export interface PackageRecord {
  readonly name: string;
  readonly version: string;
  readonly architecture: string;
  readonly multiArch: MultiArch;
  /** Source package name and version (defaulting to the binary's, as dpkg does). */
  readonly source: { readonly name: string; readonly version: string };
  /** Path of the .deb relative to the archive URL. */
  readonly filename: string;
  readonly size: number;
  /** Lowercase hex. */
  readonly sha256: string;
  readonly depends: readonly Alternatives[];
  readonly preDepends: readonly Alternatives[];
  readonly provides: readonly Relation[];
  readonly conflicts: readonly Relation[];
  readonly breaks: readonly Relation[];
  readonly replaces: readonly Relation[];
  readonly essential: boolean;
  readonly priority: string | undefined;
  readonly section: string | undefined;
  /** KiB, as in the index. */
  readonly installedSize: number | undefined;
  readonly maintainer: string | undefined;
  /** The first line of Description (the synopsis). */
  readonly description: string;
  /** The record's paragraph exactly as in the index, without the trailing newline; see recordParagraph(). */
  readonly raw: string;
  readonly repo: RepoRef;
}

/** The record's raw paragraph parsed into fields (for status files). Cost: parses `raw`. */
export function recordParagraph(rec: PackageRecord): Deb822Paragraph {
  const ps = parseDeb822(rec.raw, `${rec.name} ${rec.version}`);
  const p = ps[0];
  if (ps.length !== 1 || p === undefined)
    throw new ImprintError('INTERNAL', `record ${rec.name} has ${ps.length} paragraphs`);
  return p;
}

// The fields a record needs, by index into the scanner's offset tables.
const FIELDS = [
  'Package',
  'Version',
  'Architecture',
  'Multi-Arch',
  'Source',
  'Filename',
  'Size',
  'SHA256',
  'Depends',
  'Pre-Depends',
  'Provides',
  'Conflicts',
  'Breaks',
  'Replaces',
  'Essential',
  'Priority',
  'Section',
  'Installed-Size',
  'Maintainer',
  'Description',
] as const;
const F = Object.fromEntries(FIELDS.map((f, i) => [f, i])) as Record<(typeof FIELDS)[number], number>;
const FIELD_INDEX = new Map<string, number>(FIELDS.map((f, i) => [f, i]));
const FIELD_INDEX_LC = new Map<string, number>(FIELDS.map((f, i) => [f.toLowerCase(), i]));
const MULTI_ARCH = new Map<string, MultiArch>([
  ['no', 'no'],
  ['same', 'same'],
  ['foreign', 'foreign'],
  ['allowed', 'allowed'],
]);
const SHA256_RE = /^[0-9a-f]{64}$/;
const EMPTY: readonly never[] = Object.freeze([]);

/**
 * A Packages parser for one index: a line scanner that records where the fields it needs are and
 * slices only those, so a record holds small strings that share the index text. Relation fields
 * are parsed once per distinct spelling (RelationCache). Not reentrant; use one per index.
 */
export class PackagesParser {
  readonly #repo: RepoRef;
  readonly #what: string;
  readonly #cache = new RelationCache();
  readonly #strings = new Map<string, string>(); // interning of repetitive values (arch, section, maintainer)
  readonly #start = new Int32Array(FIELDS.length).fill(-1);
  readonly #end = new Int32Array(FIELDS.length);
  readonly records: PackageRecord[] = [];

  constructor(repo: RepoRef, what: string) {
    this.#repo = repo;
    this.#what = what;
  }

  /** The index every record of this parser comes from. */
  get repo(): RepoRef {
    return this.#repo;
  }

  /** What the index is called in errors. */
  get what(): string {
    return this.#what;
  }

  /**
   * Parses `text`, one paragraph whose first line is line `firstLine` of the index, into its record
   * without adding it to `records` (for indexes read lazily, see packages-scan.ts).
   */
  parseOne(text: string, firstLine: number): PackageRecord {
    const before = this.records.length;
    this.parse(text, firstLine);
    const added = this.records.splice(before);
    const rec = added[0];
    if (added.length !== 1 || rec === undefined) {
      throw new ImprintError(
        'INTERNAL',
        `${this.#what}, line ${firstLine}: expected one paragraph, found ${added.length}`,
      );
    }
    return rec;
  }

  /**
   * Parses complete paragraphs from `text` (which must end at a paragraph boundary); returns the
   * number of lines it read.
   */
  parse(text: string, firstLine = 1): number {
    const start = this.#start;
    const end = this.#end;
    const len = text.length;
    let pos = 0;
    let line = firstLine - 1;
    let paraStart = -1;
    let paraEnd = -1;
    let paraLine = 0;
    let cur = -1; // field whose continuation lines we are on: >= 0 known, -2 unknown, -1 none
    while (pos < len) {
      let nl = text.indexOf('\n', pos);
      if (nl < 0) nl = len;
      line++;
      const c = text.charCodeAt(pos);
      let lineEnd = nl;
      while (lineEnd > pos && isWs(text.charCodeAt(lineEnd - 1))) lineEnd--;
      if (lineEnd === pos) {
        if (paraStart >= 0) {
          this.#finish(text, paraStart, paraEnd, paraLine);
          paraStart = -1;
          cur = -1;
        }
      } else if (c === 32 || c === 9) {
        if (cur === -1) this.#fail(line, 'continuation line without a field before it');
        if (cur >= 0) end[cur] = lineEnd;
        paraEnd = lineEnd;
      } else {
        const colon = text.indexOf(':', pos);
        if (colon <= pos || colon > lineEnd)
          this.#fail(line, `expected "Name: value", found ${JSON.stringify(text.slice(pos, lineEnd))}`);
        if (paraStart < 0) {
          paraStart = pos;
          paraLine = line;
        }
        const name = text.slice(pos, colon);
        const idx = FIELD_INDEX.get(name) ?? FIELD_INDEX_LC.get(name.toLowerCase()) ?? -2;
        if (idx >= 0) {
          if (start[idx] !== -1) this.#fail(line, `duplicate field ${name}`);
          let vs = colon + 1;
          while (vs < lineEnd && isWs(text.charCodeAt(vs))) vs++;
          start[idx] = vs;
          end[idx] = lineEnd;
        }
        cur = idx;
        paraEnd = lineEnd;
      }
      pos = nl + 1;
    }
    if (paraStart >= 0) this.#finish(text, paraStart, paraEnd, paraLine);
    return line - (firstLine - 1);
  }

  #fail(line: number, msg: string): never {
    throw new ImprintError('DEB822_PARSE', `${this.#what}, line ${line}: ${msg}`, {
      details: { file: this.#what, line },
    });
  }

  #value(text: string, i: number): string | undefined {
    const s = this.#start[i] as number;
    return s < 0 ? undefined : text.slice(s, this.#end[i]);
  }

  #interned(text: string, i: number): string | undefined {
    const v = this.#value(text, i);
    if (v === undefined) return undefined;
    const hit = this.#strings.get(v);
    if (hit !== undefined) return hit;
    this.#strings.set(v, v);
    return v;
  }

  #finish(text: string, paraStart: number, paraEnd: number, paraLine: number): void {
    try {
      this.records.push(this.#build(text, paraStart, paraEnd));
    } catch (err) {
      if (err instanceof ImprintError && err.details.line === undefined) err.details.line = paraLine;
      throw err;
    } finally {
      this.#start.fill(-1);
    }
  }

  #build(text: string, paraStart: number, paraEnd: number): PackageRecord {
    const what = this.#what;
    const name = this.#value(text, F.Package);
    if (name === undefined || name === '') throw missing(what, '(unnamed)', 'Package');
    const where = `${what}: ${name}`;
    const version = this.#need(text, F.Version, where);
    parseVersion(version, `${where}: Version`);
    const sizeText = this.#need(text, F.Size, where);
    const size = Number(sizeText);
    if (!isDecimal(sizeText) || !Number.isSafeInteger(size)) throw invalid(where, 'Size', sizeText);
    const sha256 = this.#need(text, F.SHA256, where).toLowerCase();
    if (!SHA256_RE.test(sha256)) throw invalid(where, 'SHA256', sha256);
    const maText = this.#value(text, F['Multi-Arch']);
    const multiArch = maText === undefined ? 'no' : MULTI_ARCH.get(maText.toLowerCase());
    if (multiArch === undefined) throw invalid(where, 'Multi-Arch', maText as string);
    const isText = this.#value(text, F['Installed-Size']);
    if (isText !== undefined && !isDecimal(isText)) throw invalid(where, 'Installed-Size', isText);
    const description = this.#value(text, F.Description) ?? '';
    const nl = description.indexOf('\n');
    const cache = this.#cache;
    return {
      name,
      version,
      architecture: this.#interned(text, F.Architecture) ?? throwMissing(where, 'Architecture'),
      multiArch,
      source: parseSourceField(this.#value(text, F.Source), name, version, where),
      filename: archivePath(this.#need(text, F.Filename, where), what, name),
      size,
      sha256,
      depends: this.#deps(text, F.Depends, where, 'Depends', cache),
      preDepends: this.#deps(text, F['Pre-Depends'], where, 'Pre-Depends', cache),
      provides: this.#list(text, F.Provides, where, 'Provides', cache),
      conflicts: this.#list(text, F.Conflicts, where, 'Conflicts', cache),
      breaks: this.#list(text, F.Breaks, where, 'Breaks', cache),
      replaces: this.#list(text, F.Replaces, where, 'Replaces', cache),
      essential: (this.#value(text, F.Essential) ?? '').toLowerCase() === 'yes',
      priority: this.#interned(text, F.Priority),
      section: this.#interned(text, F.Section),
      installedSize: isText === undefined ? undefined : Number(isText),
      maintainer: this.#interned(text, F.Maintainer),
      description: nl < 0 ? description : description.slice(0, nl),
      raw: text.slice(paraStart, paraEnd),
      repo: this.#repo,
    };
  }

  #need(text: string, i: number, where: string): string {
    const v = this.#value(text, i);
    if (v === undefined || v === '') throw missing(this.#what, where, FIELDS[i] as string);
    return v;
  }

  #deps(
    text: string,
    i: number,
    where: string,
    field: string,
    cache: RelationCache,
  ): readonly Alternatives[] {
    const v = this.#value(text, i);
    return v === undefined ? EMPTY : parseDependsField(v, `${where}: ${field}`, cache);
  }

  #list(text: string, i: number, where: string, field: string, cache: RelationCache): readonly Relation[] {
    const v = this.#value(text, i);
    return v === undefined ? EMPTY : parseRelationList(v, `${where}: ${field}`, cache);
  }
}

function isWs(c: number): boolean {
  return c === 32 || c === 9 || c === 13;
}

function isDecimal(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

function missing(what: string, where: string, field: string): ImprintError {
  return new ImprintError('DEB822_PARSE', `${where}: missing field ${field}`, {
    details: { file: what, field },
  });
}

function throwMissing(where: string, field: string): never {
  throw new ImprintError('DEB822_PARSE', `${where}: missing field ${field}`, { details: { field } });
}

function invalid(where: string, field: string, value: string): ImprintError {
  return new ImprintError('DEB822_PARSE', `${where}: invalid ${field} ${JSON.stringify(value)}`, {
    details: { field, value },
  });
}

/**
 * `path` when it is a path inside the archive (archivePathProblem), else DEB822_PARSE naming the
 * index, the package and the field: the .deb would be fetched from outside the archive.
 */
function archivePath(path: string, what: string, name: string): string {
  const problem = archivePathProblem(path);
  if (problem === undefined) return path;
  throw new ImprintError(
    'DEB822_PARSE',
    `${what}: ${name}: invalid Filename ${JSON.stringify(path)}: ${problem}, so the .deb would not be fetched from inside the archive`,
    {
      hint: "The archive's signed Packages index names a file outside the archive: nothing was fetched. Check the source's URL; report the index to the archive's maintainers.",
      details: { file: what, package: name, field: 'Filename', value: path },
    },
  );
}

/** `Source: name` or `Source: name (version)`; absent means the binary's own name and version. */
function parseSourceField(
  value: string | undefined,
  name: string,
  version: string,
  where: string,
): { name: string; version: string } {
  if (value === undefined) return { name, version };
  const m = /^([^\s(]+)(?:\s*\(([^)\s]+)\))?$/.exec(value);
  if (m === null) throw invalid(where, 'Source', value);
  const srcVersion = m[2] ?? version;
  if (m[2] !== undefined) parseVersion(srcVersion, `${where}: Source version`);
  return { name: m[1] as string, version: srcVersion };
}

/** Parses a whole Packages text in memory. `what` names it in errors. Cost: one pass. */
export function parsePackages(text: string, repo: RepoRef, what: string): PackageRecord[] {
  const parser = new PackagesParser(repo, what);
  parser.parse(text);
  return parser.records;
}

/**
 * Parses a Packages index from a stream of (decompressed) bytes, holding the records and one
 * partial chunk in memory. Cost: one pass; the bookworm main index (~50 MB) takes about a second.
 */
export async function readPackagesIndex(
  input: Readable,
  repo: RepoRef,
  what: string,
): Promise<PackageRecord[]> {
  const parser = new PackagesParser(repo, what);
  const decoder = new StringDecoder('utf8');
  let carry = '';
  let line = 1;
  for await (const chunk of input) {
    const text = carry + (typeof chunk === 'string' ? chunk : decoder.write(chunk as Buffer));
    // Parse up to the last paragraph boundary; the rest waits for more input.
    const cut = text.lastIndexOf('\n\n');
    if (cut < 0) {
      carry = text;
      continue;
    }
    line += parser.parse(text.slice(0, cut + 1), line) + 1;
    carry = text.slice(cut + 2);
  }
  const rest = carry + decoder.end();
  if (rest !== '') parser.parse(rest, line);
  return parser.records;
}
