import { ImprintError } from '../errors.js';
import {
  type Alternatives,
  type MultiArch,
  type PackageRecord,
  PackagesParser,
  parsePackages,
  parseRelationList,
  type Relation,
  RelationCache,
  type RepoRef,
} from './packages-index.js';

// A Packages index read lazily: one pass over the bytes finds the paragraphs, each one's Package
// and Provides (what PackageUniverse indexes every record by); the other fields of a record are
// parsed, by the same PackagesParser and with the same checks as readPackagesIndex, the first time
// one of them is read. Resolving a few dozen packages reads a few hundred of bookworm's 63,440
// records, so a warm lock no longer pays for parsing all of them.

/** The bytes of one index, where its paragraphs are, and what parses them; shared by its records. */
interface Source {
  readonly bytes: Buffer;
  readonly scan: PackagesScan;
  readonly parser: PackagesParser;
  readonly what: string;
}

/**
 * A record of a scanned index: `name`, `provides` and `repo` are set; every other field parses the
 * record's paragraph on first use (a malformed paragraph throws DEB822_PARSE from that read).
 */
class ScannedRecord implements PackageRecord {
  readonly name: string;
  readonly provides: readonly Relation[];
  readonly repo: RepoRef;
  readonly #src: Source;
  /** The record's number in the scan. */
  readonly #i: number;
  #full: PackageRecord | undefined;

  constructor(src: Source, i: number) {
    this.name = src.scan.names[i] as string;
    this.provides = src.scan.provides.get(i) ?? EMPTY;
    this.repo = src.parser.repo;
    this.#src = src;
    this.#i = i;
  }

  #record(): PackageRecord {
    if (this.#full !== undefined) return this.#full;
    const src = this.#src;
    const i = this.#i;
    const line = src.scan.lines[i] as number;
    const full = src.parser.parseOne(src.bytes.toString('utf8', src.scan.starts[i], src.scan.ends[i]), line);
    if (full.name !== this.name || !sameRelations(full.provides, this.provides)) {
      // Only a cached scan that is not of these bytes gets here (its checksum held, its content not).
      throw new ImprintError(
        'INTERNAL',
        `${src.what}, line ${line}: the scan says ${this.name} and its Provides, the paragraph says ${full.name}`,
        { hint: 'Remove debian/packages-scan from the cache directory and try again.' },
      );
    }
    this.#full = full;
    return full;
  }

  get version(): string {
    return this.#record().version;
  }
  get architecture(): string {
    return this.#record().architecture;
  }
  get multiArch(): MultiArch {
    return this.#record().multiArch;
  }
  get source(): { readonly name: string; readonly version: string } {
    return this.#record().source;
  }
  get filename(): string {
    return this.#record().filename;
  }
  get size(): number {
    return this.#record().size;
  }
  get sha256(): string {
    return this.#record().sha256;
  }
  get depends(): readonly Alternatives[] {
    return this.#record().depends;
  }
  get preDepends(): readonly Alternatives[] {
    return this.#record().preDepends;
  }
  get conflicts(): readonly Relation[] {
    return this.#record().conflicts;
  }
  get breaks(): readonly Relation[] {
    return this.#record().breaks;
  }
  get replaces(): readonly Relation[] {
    return this.#record().replaces;
  }
  get essential(): boolean {
    return this.#record().essential;
  }
  get priority(): string | undefined {
    return this.#record().priority;
  }
  get section(): string | undefined {
    return this.#record().section;
  }
  get installedSize(): number | undefined {
    return this.#record().installedSize;
  }
  get maintainer(): string | undefined {
    return this.#record().maintainer;
  }
  get description(): string {
    return this.#record().description;
  }
  get raw(): string {
    return this.#record().raw;
  }
}

/**
 * What a scan found: per record (in index order) its Package name, where its paragraph is in the
 * bytes (`start`, `end`: byte offsets; `line`: its first line) and its parsed Provides (only records
 * that have one). Enough to rebuild the records without scanning again (see packages-scan-cache.ts).
 */
export interface PackagesScan {
  names: string[];
  starts: Int32Array;
  ends: Int32Array;
  lines: Int32Array;
  /** Record number → its Provides, for the records that have the field. */
  provides: Map<number, readonly Relation[]>;
}

const NONE = -1;
const PACKAGE = 1;
const PROVIDES = 2;
const OTHER = 3;

/**
 * Reads a Packages index from its decompressed bytes, lazily (see above). The paragraphs, and each
 * one's Package and Provides, are found exactly as readPackagesIndex finds them (blank or
 * whitespace-only lines separate paragraphs, field names are case-insensitive, continuation lines
 * extend a field); a paragraph whose Package or Provides the scan cannot take as is (missing,
 * duplicated, unparsable, a continuation line without a field) is parsed at once, so it fails as it
 * would there. Other malformed fields fail when the record is read. Returns the records and the
 * scan (undefined, and the records parsed eagerly, in the unexpected case of such a paragraph that
 * parses all the same). Cost: one pass over the bytes (bookworm main, 50 MB: ~0.25 s, a third of
 * it the Provides); the records keep `bytes` alive.
 */
export function scanPackages(
  bytes: Buffer,
  repo: RepoRef,
  what: string,
): { records: PackageRecord[]; scan: PackagesScan | undefined } {
  const parser = new PackagesParser(repo, what);
  const cache = new RelationCache();
  const names: string[] = [];
  const starts: number[] = [];
  const ends: number[] = [];
  const lines: number[] = [];
  const provides = new Map<number, readonly Relation[]>();
  let complete = true;
  // Latin-1 maps each byte to one character: offsets in `text` are offsets in `bytes`.
  const text = bytes.toString('latin1');
  const len = text.length;
  let pos = 0;
  let line = 0;
  let paraStart = NONE;
  let paraEnd = 0;
  let paraLine = 0;
  let nameStart = NONE;
  let nameEnd = 0;
  let provStart = NONE;
  let provEnd = 0;
  let cur = NONE;
  let odd = false; // something the scan leaves to the full parser
  const parseWhole = (): void => {
    // Throws what readPackagesIndex would throw for this paragraph (in practice always).
    parser.parseOne(bytes.toString('utf8', paraStart, paraEnd), paraLine);
    complete = false;
  };
  const finish = (): void => {
    if (odd || nameStart === NONE || nameEnd === nameStart) parseWhole();
    else {
      const name = bytes.toString('utf8', nameStart, nameEnd);
      let ok = true;
      if (provStart !== NONE) {
        try {
          const value = bytes.toString('utf8', provStart, provEnd);
          provides.set(names.length, parseRelationList(value, `${what}: ${name}: Provides`, cache));
        } catch (err) {
          if (!(err instanceof ImprintError)) throw err;
          ok = false; // the full parse reports it, or an earlier field, as readPackagesIndex would
        }
      }
      if (ok) {
        names.push(name);
        starts.push(paraStart);
        ends.push(paraEnd);
        lines.push(paraLine);
      } else parseWhole();
    }
    paraStart = NONE;
    nameStart = NONE;
    provStart = NONE;
    cur = NONE;
    odd = false;
  };
  while (pos < len) {
    let nl = text.indexOf('\n', pos);
    if (nl < 0) nl = len;
    line++;
    let lineEnd = nl;
    while (lineEnd > pos && isWs(text.charCodeAt(lineEnd - 1))) lineEnd--;
    const c = text.charCodeAt(pos);
    if (lineEnd === pos) {
      if (paraStart !== NONE) finish();
    } else if (c === 32 || c === 9) {
      // A continuation line before any field: the parser names the line in its error.
      if (paraStart === NONE) parser.parseOne(text.slice(pos, lineEnd), line);
      if (cur === PACKAGE) nameEnd = lineEnd;
      else if (cur === PROVIDES) provEnd = lineEnd;
      paraEnd = lineEnd;
    } else {
      if (paraStart === NONE) {
        paraStart = pos;
        paraLine = line;
      }
      cur = OTHER;
      if (c === 80 || c === 112) {
        // P or p: Package, Provides, or another field (case-insensitive, as the parser reads them)
        const colon = text.indexOf(':', pos);
        if (colon < 0 || colon > lineEnd) odd = true;
        else {
          const field = colon - pos === 7 || colon - pos === 8 ? text.slice(pos, colon).toLowerCase() : '';
          if (field === 'package' || field === 'provides') {
            let vs = colon + 1;
            while (vs < lineEnd && isWs(text.charCodeAt(vs))) vs++;
            if (field === 'package') {
              if (nameStart !== NONE) odd = true;
              nameStart = vs;
              nameEnd = lineEnd;
              cur = PACKAGE;
            } else {
              if (provStart !== NONE) odd = true;
              provStart = vs;
              provEnd = lineEnd;
              cur = PROVIDES;
            }
          }
        }
      }
      paraEnd = lineEnd;
    }
    pos = nl + 1;
  }
  if (paraStart !== NONE) finish();
  // A paragraph the scan could not take, and that parsed all the same: read the index eagerly.
  if (!complete) return { records: parsePackages(bytes.toString('utf8'), repo, what), scan: undefined };
  const scan: PackagesScan = {
    names,
    starts: Int32Array.from(starts),
    ends: Int32Array.from(ends),
    lines: Int32Array.from(lines),
    provides,
  };
  return { records: recordsOfScan(bytes, parser, scan), scan };
}

/**
 * The records of the given package names in an index's decompressed bytes, parsed in full (as
 * readPackagesIndex parses them); every other paragraph is skipped unread. A paragraph is found by
 * a line `Package: NAME` (the spelling every archive writes; a record spelled otherwise is not
 * found, which a caller checking a lock reports as missing) and runs between blank lines. For a few
 * lookups in a large index, as checking a lock's packages needs. Cost: one native search over the
 * bytes (bookworm main, 50 MB: tens of milliseconds), no per-record objects.
 */
export function findRecords(
  bytes: Buffer,
  names: ReadonlySet<string>,
  repo: RepoRef,
  what: string,
): PackageRecord[] {
  const found: string[] = [];
  matchParagraphs(bytes.toString('latin1'), names, found);
  return found.length === 0 ? [] : parsePackages(found.join('\n\n'), repo, what);
}

/** Longest run without a paragraph break that findRecordsIn holds: no Packages index has one. */
const MAX_PARAGRAPH = 16 * 1024 * 1024;

/**
 * findRecords over a stream of the decompressed index, holding one chunk and one paragraph at a
 * time instead of the whole index (bookworm main: 50 MB). Errors of the stream (a digest checked at
 * its end) reject. More than 16 MiB without a blank line is DEB822_PARSE.
 */
export async function findRecordsIn(
  input: AsyncIterable<Buffer | string>,
  names: ReadonlySet<string>,
  repo: RepoRef,
  what: string,
): Promise<PackageRecord[]> {
  const found: string[] = [];
  let carry = '';
  for await (const chunk of input) {
    const text = carry + (typeof chunk === 'string' ? chunk : chunk.toString('latin1'));
    const cut = text.lastIndexOf('\n\n');
    if (cut < 0) {
      if (text.length > MAX_PARAGRAPH)
        throw new ImprintError('DEB822_PARSE', `${what}: a paragraph longer than ${MAX_PARAGRAPH} bytes`, {
          hint: 'This is not a Packages index; check the source URL.',
          details: { url: what },
        });
      carry = text;
      continue;
    }
    matchParagraphs(text.slice(0, cut), names, found);
    carry = text.slice(cut + 2);
  }
  if (carry !== '') matchParagraphs(carry, names, found);
  return found.length === 0 ? [] : parsePackages(found.join('\n\n'), repo, what);
}

/**
 * Appends to `out` (as UTF-8 text) each paragraph of `text` (an index's bytes as Latin-1, whole
 * paragraphs) whose `Package: ` line names one of `names`.
 */
function matchParagraphs(text: string, names: ReadonlySet<string>, out: string[]): void {
  const key = '\nPackage: ';
  // `at` is where the `\n` before a `Package: ` line is (-1 for the first line).
  let at = text.startsWith(key.slice(1)) ? -1 : text.indexOf(key);
  if (at === -1 && !text.startsWith(key.slice(1))) return;
  while (at >= -1) {
    const nameStart = at + key.length;
    let lineEnd = text.indexOf('\n', nameStart);
    if (lineEnd < 0) lineEnd = text.length;
    if (names.has(text.slice(nameStart, lineEnd).trim())) {
      const before = at < 0 ? -1 : text.lastIndexOf('\n\n', at);
      let end = text.indexOf('\n\n', lineEnd);
      if (end < 0) end = text.length;
      out.push(Buffer.from(text.slice(before < 0 ? 0 : before + 2, end), 'latin1').toString('utf8'));
    }
    at = text.indexOf(key, lineEnd);
    if (at < 0) break;
  }
}

/**
 * The records of an index from its bytes and an earlier scan of exactly these bytes (e.g. from the
 * cache): no pass over the bytes. Cost: one small object per record.
 */
export function scannedRecords(
  bytes: Buffer,
  repo: RepoRef,
  what: string,
  scan: PackagesScan,
): PackageRecord[] {
  return recordsOfScan(bytes, new PackagesParser(repo, what), scan);
}

function recordsOfScan(bytes: Buffer, parser: PackagesParser, scan: PackagesScan): PackageRecord[] {
  const src: Source = { bytes, scan, parser, what: parser.what };
  const out: PackageRecord[] = new Array(scan.names.length);
  for (let i = 0; i < scan.names.length; i++) out[i] = new ScannedRecord(src, i);
  return out;
}

const EMPTY: readonly never[] = Object.freeze([]);

/** Whether two relation lists say the same (both as parseRelation makes them). */
function sameRelations(a: readonly Relation[], b: readonly Relation[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] as Relation;
    const y = b[i] as Relation;
    if (
      x.name !== y.name ||
      x.archQualifier !== y.archQualifier ||
      x.op !== y.op ||
      x.version !== y.version ||
      JSON.stringify(x.archs) !== JSON.stringify(y.archs) ||
      JSON.stringify(x.profiles) !== JSON.stringify(y.profiles)
    )
      return false;
  }
  return true;
}

function isWs(c: number): boolean {
  return c === 32 || c === 9 || c === 13;
}
