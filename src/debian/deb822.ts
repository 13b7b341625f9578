import { ImprintError } from '../errors.js';

/**
 * One deb822 paragraph: an ordered list of fields with case-insensitive lookup. Values keep their
 * continuation lines joined with "\n" (leading whitespace of continuation lines kept as written,
 * the first line trimmed), so multi-line fields (Description, SHA256, Conffiles) round-trip.
 */
export class Deb822Paragraph {
  /** Field names in the order they appeared, with their original spelling. */
  readonly names: string[] = [];
  /** Field values, parallel to `names`. */
  readonly values: string[] = [];
  /** Lower-cased names, parallel to `names` (interned by the parser, so cheap). */
  readonly #keys: string[] = [];
  /** 1-based line number of the paragraph's first field in its source, 0 when built in code. */
  readonly line: number;

  constructor(line = 0) {
    this.line = line;
  }

  /** The value of field `name` (case-insensitive), or undefined. Linear in the number of fields. */
  get(name: string): string | undefined {
    const key = name.toLowerCase();
    const keys = this.#keys;
    for (let i = 0; i < keys.length; i++) if (keys[i] === key) return this.values[i];
    return undefined;
  }

  /** True when the paragraph has field `name` (case-insensitive). */
  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  /** Appends a field; a second field of the same name (case-insensitive) is a DEB822_PARSE error. */
  add(name: string, value: string, key: string = name.toLowerCase()): void {
    if (this.#keys.includes(key)) {
      throw new ImprintError('DEB822_PARSE', `duplicate field ${name} in paragraph at line ${this.line}`, {
        details: { field: name, line: this.line },
      });
    }
    this.names.push(name);
    this.values.push(value);
    this.#keys.push(key);
  }

  /** Sets a field, replacing its value in place when present, else appending it. */
  set(name: string, value: string): void {
    const key = name.toLowerCase();
    const i = this.#keys.indexOf(key);
    if (i >= 0) this.values[i] = value;
    else this.add(name, value, key);
  }

  /** Fields as [name, value] pairs in order. */
  entries(): Array<[string, string]> {
    return this.names.map((n, i) => [n, this.values[i] as string]);
  }

  /** Number of fields. */
  get size(): number {
    return this.names.length;
  }
}

const NAME_RE = /^[!-9;-~][!-9;-~]*$/; // printable ASCII except ':' and space; policy forbids leading '#' and '-' too

/** Field-name interning: real indexes repeat the same ~30 names millions of times. */
const internedNames = new Map<string, { name: string; key: string }>();

function intern(name: string): { name: string; key: string } {
  let hit = internedNames.get(name);
  if (hit === undefined) {
    // A fresh copy, so the map does not pin the chunk the name was sliced from.
    const own = Buffer.from(name, 'latin1').toString('latin1');
    hit = { name: own, key: own.toLowerCase() };
    if (internedNames.size < 10_000) internedNames.set(own, hit);
  }
  return hit;
}

export interface Deb822ParseOptions {
  /** Allow `#` comment lines (apt `.sources` files); Packages/Release/status files have none. */
  comments?: boolean;
  /** Line number of `text`'s first line in its file, for error messages (default 1). */
  firstLine?: number;
}

/**
 * Parses deb822 text (Packages, Release, status, `.sources`) into paragraphs. Paragraphs are
 * separated by blank or whitespace-only lines; a field is `Name: value` and continues on lines
 * that begin with a space or tab. PGP armor is not handled here (see release.ts). `what` names
 * the input in DEB822_PARSE errors, which carry the line number. Cost: one pass over `text`.
 */
export function parseDeb822(text: string, what: string, options: Deb822ParseOptions = {}): Deb822Paragraph[] {
  const out: Deb822Paragraph[] = [];
  parseDeb822Into(text, what, options, (p) => out.push(p));
  return out;
}

/** Like parseDeb822, but hands each paragraph to `onParagraph` instead of collecting them. */
export function parseDeb822Into(
  text: string,
  what: string,
  options: Deb822ParseOptions,
  onParagraph: (p: Deb822Paragraph) => void,
): void {
  const comments = options.comments === true;
  let lineNo = (options.firstLine ?? 1) - 1;
  let pos = 0;
  const end = text.length;
  let para: Deb822Paragraph | undefined;
  let curName: { name: string; key: string } | undefined;
  let curValue = '';
  let curParts: string[] | undefined; // continuation lines of the current field

  const flushField = (): void => {
    if (curName === undefined || para === undefined) return;
    const value = curParts === undefined ? curValue : `${curValue}\n${curParts.join('\n')}`;
    para.add(curName.name, value, curName.key);
    curName = undefined;
    curParts = undefined;
  };
  const fail = (msg: string): never => {
    throw new ImprintError('DEB822_PARSE', `${what}, line ${lineNo}: ${msg}`, {
      hint: 'deb822 fields look like "Name: value"; continuation lines start with a space or tab.',
      details: { file: what, line: lineNo },
    });
  };

  while (pos < end) {
    let nl = text.indexOf('\n', pos);
    if (nl < 0) nl = end;
    let lineEnd = nl;
    if (lineEnd > pos && text.charCodeAt(lineEnd - 1) === 13) lineEnd--; // tolerate CRLF
    lineNo++;
    const c = text.charCodeAt(pos);
    if (lineEnd === pos || isBlank(text, pos, lineEnd)) {
      // paragraph separator
      if (para !== undefined) {
        flushField();
        onParagraph(para);
        para = undefined;
      }
    } else if (comments && c === 35 /* # */) {
      // comment line: ignored, does not end a field or a paragraph
    } else if (c === 32 || c === 9) {
      if (curName === undefined) fail('continuation line without a field before it');
      curParts ??= [];
      curParts.push(text.slice(pos, lineEnd).trimEnd());
    } else {
      const colon = text.indexOf(':', pos);
      if (colon < 0 || colon >= lineEnd)
        fail(`expected "Name: value", found ${JSON.stringify(text.slice(pos, lineEnd))}`);
      const rawName = text.slice(pos, colon);
      if (!NAME_RE.test(rawName)) fail(`invalid field name ${JSON.stringify(rawName)}`);
      flushField();
      para ??= new Deb822Paragraph(lineNo);
      curName = intern(rawName);
      if (para.has(curName.key)) fail(`duplicate field ${rawName}`);
      curValue = text.slice(colon + 1, lineEnd).trim();
    }
    pos = nl + 1;
  }
  if (para !== undefined) {
    flushField();
    onParagraph(para);
  }
}

function isBlank(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c !== 32 && c !== 9) return false;
  }
  return true;
}

/**
 * Formats one paragraph as deb822 text ending in "\n" (no trailing blank line). Deterministic:
 * fields in the paragraph's order, "Name: value", continuation lines as stored (an empty
 * continuation line is written as " ."). Throws DEB822_PARSE for values that cannot be written.
 */
export function formatDeb822(paragraph: Deb822Paragraph): string {
  let out = '';
  for (let i = 0; i < paragraph.names.length; i++) {
    const name = paragraph.names[i] as string;
    const value = paragraph.values[i] as string;
    const lines = value.split('\n');
    const first = lines[0] as string;
    out += first === '' ? `${name}:\n` : `${name}: ${first}\n`;
    for (let j = 1; j < lines.length; j++) {
      let line = lines[j] as string;
      if (line.trim() === '') line = ' .';
      else if (line[0] !== ' ' && line[0] !== '\t') line = ` ${line}`;
      out += `${line}\n`;
    }
  }
  return out;
}

/** Formats several paragraphs separated by one blank line. */
export function formatDeb822All(paragraphs: readonly Deb822Paragraph[]): string {
  return paragraphs.map(formatDeb822).join('\n');
}

/** Splits a whitespace-separated field value (Architectures, Components, Suites) into words. */
export function splitWords(value: string | undefined): string[] {
  if (value === undefined) return [];
  return value.split(/\s+/).filter((w) => w !== '');
}
