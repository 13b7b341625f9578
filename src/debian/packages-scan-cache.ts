import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../store/index.js';
import { mkdirp } from '../store/mkdirp.js';
import type { PackagesScan } from './packages-scan.js';
import type { Relation } from './relations.js';
import { isVersionOp, type VersionOp } from './version.js';

// The cache of Packages scans: what scanPackages found in an index, stored under the sha256 of the
// index's (verified, decompressed) bytes, so that a warm lock rebuilds bookworm's 63,440 records
// from ~3 MB instead of scanning 50 MB. An entry is one header line and a body:
//
//   imprint-packages-scan <format> <index sha256> <index size> <records> <names bytes> <provides bytes> <body sha256>\n
//   <names, UTF-8, one per line> <starts, ends, lines: one int32 LE column each> <Provides, UTF-8>
//
// The Provides section has one line per record that has the field: its number, then a tab before
// each relation, written `name` or `name op version` (none of these contain spaces), or as JSON
// when it has more parts (an architecture qualifier). Plain text splits several times faster than
// the same data as JSON parses.
//
// and is used only when every part of that header matches and the body decodes into a well-formed
// scan whose paragraphs lie in order inside the index; anything else (a torn, foreign, corrupt or
// older-format file) is ignored and the index is scanned again. The records still parse their
// fields from the verified index bytes, and check that the name they parse is the name the entry
// gave; the entry only says where the paragraphs are and what their Provides say.

const MAGIC = 'imprint-packages-scan';
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
/** Bump on any change of scanPackages' results or of this encoding. */
const FORMAT = 1;

/** The file of the cached scan of the index with sha256 `indexSha256` (hex). Pure. */
export function packagesScanPath(cacheDir: string, indexSha256: string): string {
  return join(cacheDir, 'debian', 'packages-scan', `${indexSha256}.scan`);
}

/** Encodes a scan of the index with sha256 `indexSha256` and `indexSize` bytes. Pure. */
export function encodePackagesScan(scan: PackagesScan, indexSha256: string, indexSize: number): Buffer {
  const n = scan.names.length;
  const names = Buffer.from(scan.names.join('\n'));
  const spans = Buffer.alloc(12 * n);
  for (const [k, column] of [scan.starts, scan.ends, scan.lines].entries()) {
    Buffer.from(column.buffer, column.byteOffset, 4 * n).copy(spans, 4 * n * k);
  }
  if (!LITTLE_ENDIAN) spans.swap32();
  const provides = Buffer.from(
    [...scan.provides]
      .sort((a, b) => a[0] - b[0])
      .map(([i, rels]) => `${i}\t${rels.map(providesEntry).join('\t')}\n`)
      .join(''),
  );
  const body = Buffer.concat([names, spans, provides]);
  const header = `${MAGIC} ${FORMAT} ${indexSha256} ${indexSize} ${n} ${names.length} ${provides.length} ${sha256Hex(body)}\n`;
  return Buffer.concat([Buffer.from(header), body]);
}

/**
 * Decodes an entry for the index with sha256 `indexSha256` and `indexSize` bytes; undefined unless
 * the header matches (format, index, size, section sizes, body checksum) and the body is a
 * well-formed scan whose paragraphs lie in order inside the index. Pure; cost: a hash of the entry
 * and a parse of its Provides.
 */
export function decodePackagesScan(
  data: Buffer,
  indexSha256: string,
  indexSize: number,
): PackagesScan | undefined {
  const nl = data.indexOf(10);
  if (nl < 0 || nl > 512) return undefined;
  const header = data.toString('latin1', 0, nl).split(' ');
  const body = data.subarray(nl + 1);
  const [magic, format, sha, size, records, namesBytes, jsonBytes, bodySha] = header;
  const n = Number(records);
  const nb = Number(namesBytes);
  const jb = Number(jsonBytes);
  if (
    header.length !== 8 ||
    magic !== MAGIC ||
    format !== String(FORMAT) ||
    sha !== indexSha256 ||
    size !== String(indexSize) ||
    !isCount(n) ||
    !isCount(nb) ||
    !isCount(jb) ||
    nb + 12 * n + jb !== body.length ||
    bodySha !== sha256Hex(body)
  ) {
    return undefined;
  }
  const names = n === 0 ? [] : body.toString('utf8', 0, nb).split('\n');
  if (names.length !== n) return undefined;
  // The three columns, copied to an aligned buffer of their own, in the machine's byte order.
  const spans = Buffer.from(new ArrayBuffer(12 * n));
  body.copy(spans, 0, nb, nb + 12 * n);
  if (!LITTLE_ENDIAN) spans.swap32();
  const scan: PackagesScan = {
    names,
    starts: new Int32Array(spans.buffer, 0, n),
    ends: new Int32Array(spans.buffer, 4 * n, n),
    lines: new Int32Array(spans.buffer, 8 * n, n),
    provides: new Map(),
  };
  const { starts, ends, lines } = scan;
  let end = 0;
  let line = 0;
  for (let i = 0; i < n; i++) {
    const start = starts[i] as number;
    const e = ends[i] as number;
    const l = lines[i] as number;
    // In order, inside the index, non-empty; names too (a split of a well-formed entry has none empty).
    if (start < end || e <= start || e > indexSize || l <= line || names[i] === '') return undefined;
    end = e;
    line = l;
  }
  return withProvides(scan, body.toString('utf8', nb + 12 * n)) ? scan : undefined;
}

/** Reads the cached scan of an index; undefined when there is none or it is not usable. */
export async function readPackagesScan(
  cacheDir: string,
  indexSha256: string,
  indexSize: number,
): Promise<PackagesScan | undefined> {
  let data: Buffer;
  try {
    data = await readFile(packagesScanPath(cacheDir, indexSha256));
  } catch {
    return undefined;
  }
  return decodePackagesScan(data, indexSha256, indexSize);
}

/** Writes the scan of an index into the cache, atomically (temporary file, fsync, rename). */
export async function writePackagesScan(
  cacheDir: string,
  indexSha256: string,
  indexSize: number,
  scan: PackagesScan,
): Promise<void> {
  const file = packagesScanPath(cacheDir, indexSha256);
  await mkdirp(dirname(file));
  await writeFileAtomic(file, encodePackagesScan(scan, indexSha256, indexSize));
}

function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Adds the decoded Provides section to `scan`; false when it is not well formed. */
function withProvides(scan: PackagesScan, text: string): boolean {
  const n = scan.names.length;
  let last = -1;
  let pos = 0;
  while (pos < text.length) {
    const eol = text.indexOf('\n', pos);
    if (eol < 0) return false;
    let tab = text.indexOf('\t', pos);
    if (tab < 0 || tab >= eol) return false;
    const number = text.slice(pos, tab);
    const i = Number(number);
    if (!isCount(i) || i <= last || i >= n || String(i) !== number) return false;
    last = i;
    const rels: Relation[] = [];
    while (tab < eol) {
      let next = text.indexOf('\t', tab + 1);
      if (next < 0 || next > eol) next = eol;
      const rel = relationOf(text, tab + 1, next);
      if (rel === undefined) return false;
      rels.push(rel);
      tab = next;
    }
    scan.provides.set(i, Object.freeze(rels));
    pos = eol + 1;
  }
  return true;
}

/** A word that can stand for itself in the Provides section: no whitespace, not starting like JSON. */
const PLAIN = /^[^\s{]\S*$/;

/** The text of a relation in the Provides section (see above). */
function providesEntry(r: Relation): string {
  const keys = Object.keys(r).length;
  if (keys === 1 && PLAIN.test(r.name)) return r.name;
  if (
    keys === 3 &&
    r.op !== undefined &&
    r.version !== undefined &&
    PLAIN.test(r.name) &&
    PLAIN.test(r.version)
  )
    return `${r.name} ${r.op} ${r.version}`;
  return JSON.stringify(r);
}

const RELATION_KEYS = new Set(['name', 'archQualifier', 'op', 'version', 'archs', 'profiles']);

/** The Relation of the Provides entry text[from, to), as parseRelation makes it (frozen, only its keys), or undefined. */
function relationOf(text: string, from: number, to: number): Relation | undefined {
  if (text.charCodeAt(from) === 123 /* { */) {
    let v: unknown;
    try {
      v = JSON.parse(text.slice(from, to));
    } catch {
      return undefined;
    }
    return relationObject(v);
  }
  const sp = text.indexOf(' ', from);
  if (sp < 0 || sp >= to) return to === from ? undefined : Object.freeze({ name: text.slice(from, to) });
  const sp2 = text.indexOf(' ', sp + 1);
  if (sp === from || sp2 < 0 || sp2 >= to - 1) return undefined;
  const op = opAt(text, sp + 1, sp2);
  const extra = text.indexOf(' ', sp2 + 1);
  if (op === undefined || (extra >= 0 && extra < to)) return undefined;
  return Object.freeze({ name: text.slice(from, sp), op, version: text.slice(sp2 + 1, to) });
}

/** The relation operator spelled by text[from, to), as a constant, or undefined. */
function opAt(text: string, from: number, to: number): VersionOp | undefined {
  const a = text.charCodeAt(from);
  if (to - from === 1) return a === 61 ? '=' : a === 60 ? '<' : a === 62 ? '>' : undefined;
  if (to - from !== 2) return undefined;
  const b = text.charCodeAt(from + 1);
  if (a === 60) return b === 60 ? '<<' : b === 61 ? '<=' : undefined;
  if (a === 62) return b === 62 ? '>>' : b === 61 ? '>=' : undefined;
  return undefined;
}

/** A Relation written as JSON, when it has only parseRelation's keys with their types. */
function relationObject(v: unknown): Relation | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
  const r = v as Record<string, unknown>;
  for (const k of Object.keys(r)) if (!RELATION_KEYS.has(k)) return undefined;
  if (typeof r.name !== 'string' || r.name === '') return undefined;
  if (r.archQualifier !== undefined && typeof r.archQualifier !== 'string') return undefined;
  if ((r.op === undefined) !== (r.version === undefined)) return undefined;
  if (r.op !== undefined && (typeof r.op !== 'string' || !isVersionOp(r.op) || typeof r.version !== 'string'))
    return undefined;
  if (r.archs !== undefined && !isStrings(r.archs)) return undefined;
  if (r.profiles !== undefined && !(Array.isArray(r.profiles) && r.profiles.every(isStrings)))
    return undefined;
  return Object.freeze(r) as unknown as Relation;
}

function isStrings(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((s) => typeof s === 'string');
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}
