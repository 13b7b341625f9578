import { lstat, readdir, readFile, realpath, stat } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { type Digest, sha256 } from '../digest/index.js';
import { errorText, ImprintError } from '../errors.js';
import { type SpecIssue, specInvalid, specIssues, where } from './issues.js';
import { formatPath, type Locator, type PathSegment, parseYamlText } from './locate.js';
import { issueMessage } from './messages.js';
import { type Spec, specSchema } from './schema.js';

/** File name looked up when loadSpec is given a directory. */
export const SPEC_FILE_NAME = 'imprint.yaml';
/** Largest spec file read (a spec is configuration, not content). */
export const MAX_SPEC_BYTES = 1024 * 1024;

/** What names a spec in errors: its file and, when known, where each field is written. */
export interface SpecLocation {
  /** Absolute path of the spec file. */
  file: string;
  /** Maps field paths to positions in the spec file (absent for a spec not read from a file). */
  locate?: Locator | undefined;
}

/**
 * Names a field of a spec as every error does: `file:line:column: files[2].target`, or
 * `file: files[2].target` when positions are unknown. Pure.
 */
export function specField(spec: SpecLocation, segments: readonly PathSegment[]): string {
  const pos = spec.locate?.(segments) ?? { line: undefined, column: undefined };
  return `${where(spec.file, pos)}: ${formatPath(segments)}`;
}

/** A spec as read from disk: the normalised Spec plus what identifies its source. */
export interface LoadedSpec extends SpecLocation {
  spec: Spec;
  /** Absolute path of the spec file. */
  file: string;
  /** Absolute directory of the spec file; `files[].source` paths are relative to it. */
  dir: string;
  /** The exact bytes read. */
  raw: Uint8Array;
  /** sha256 of `raw`. */
  digest: Digest;
}

/** Options of normalizeSpec. */
export interface NormalizeOptions {
  /** Names the spec in errors. */
  file?: string;
  /** Maps field paths to positions in the source text, for error messages. */
  locate?: Locator;
}

/** Validates and normalises a parsed spec value (all defaults applied); SPEC_INVALID lists every problem. Pure. */
export function normalizeSpec(raw: unknown, options: NormalizeOptions = {}): Spec {
  const result = specSchema.safeParse(raw, { error: issueMessage, reportInput: true });
  if (result.success) return result.data;
  throw specInvalid(
    options.file ?? '(inline spec)',
    specIssues(result.error.issues, specSchema, options.locate),
  );
}

/** Parses imprint.yaml text; SPEC_PARSE for YAML errors (including duplicate keys), SPEC_INVALID for schema errors. Pure. */
export function parseSpec(text: string, file: string): Spec {
  return parseSpecText(text, file).spec;
}

/** parseSpec, also returning the locator of the parsed text (for later errors about the same spec). */
export function parseSpecText(text: string, file: string): { spec: Spec; locate: Locator } {
  const { problems, toData, locate } = parseYamlText(text);
  if (problems.length > 0) {
    const issues = problems.map((p) => ({
      path: '(document)',
      segments: [] as PathSegment[],
      line: p.line,
      column: p.column,
      message: p.message,
      yamlCode: p.code,
    }));
    const first = issues[0]!;
    const list = issues.map((i) => `  ${where(file, i)}: ${i.message}`).join('\n');
    throw new ImprintError('SPEC_PARSE', `${file} is not valid YAML:\n${list}`, {
      hint: 'Check indentation and quoting at the line shown; each key may appear only once per mapping.',
      details: { file, line: first.line, column: first.column, issues },
    });
  }
  let value: unknown;
  try {
    value = toData();
  } catch (err) {
    throw new ImprintError('SPEC_PARSE', `${file} could not be read as data: ${errorText(err)}`, {
      cause: err,
      details: { file },
    });
  }
  return { spec: normalizeSpec(value, { file, locate }), locate };
}

/**
 * Reads, validates and normalises a spec: `pathOrDir` is the spec file or a directory holding imprint.yaml.
 * Checks that every `files[].source` exists and (after symlinks) stays inside the spec's directory.
 * Reads the whole spec file (at most 1 MiB) and stats each source.
 */
export async function loadSpec(pathOrDir: string): Promise<LoadedSpec> {
  const file = await specFilePath(resolve(pathOrDir));
  const dir = dirname(file);
  const info = await stat(file);
  if (info.size > MAX_SPEC_BYTES) {
    throw new ImprintError(
      'SPEC_PARSE',
      `${file} is ${info.size} bytes; expected a spec of at most ${MAX_SPEC_BYTES} bytes`,
      { details: { file } },
    );
  }
  const raw = await readFile(file).catch((err: unknown) => {
    throw new ImprintError('IO', `cannot read ${file}: ${errorText(err)}`, { cause: err, details: { file } });
  });
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch (err) {
    throw new ImprintError('SPEC_PARSE', `${file} is not valid UTF-8 text`, {
      cause: err,
      details: { file },
    });
  }
  const { spec, locate } = parseSpecText(text, file);
  await checkSources(spec, file, dir, locate);
  return {
    spec,
    file,
    locate,
    dir,
    raw: new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength),
    digest: sha256(raw),
  };
}

async function specFilePath(abs: string): Promise<string> {
  const info = await stat(abs).catch((err: unknown) => notFound(abs, err));
  if (!info.isDirectory()) return abs;
  const file = join(abs, SPEC_FILE_NAME);
  await stat(file).catch(async (err: unknown) => notFound(file, err, await yamlFilesIn(abs)));
  return file;
}

/** The YAML files a directory holds (`imprint.yml`, `app.yaml`), sorted: what a spec may be named instead. */
async function yamlFilesIn(dir: string): Promise<string[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  return names.filter((n) => /\.ya?ml$/i.test(n)).sort();
}

function notFound(path: string, err: unknown, others: readonly string[] = []): never {
  if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') {
    // A directory with imprint.yml or app.yaml: only imprint.yaml is looked up there, others are named.
    const shown = others.slice(0, 3).map((n) => join(dirname(path), n));
    const also = others.length > shown.length ? ` (and ${others.length - shown.length} more)` : '';
    throw new ImprintError('SPEC_NOT_FOUND', `expected a spec file at ${path}, found nothing there`, {
      hint:
        shown.length === 0
          ? `Pass the path of an ${SPEC_FILE_NAME} or of the directory that holds it.`
          : `A directory's spec is its ${SPEC_FILE_NAME}; it holds ${shown.join(', ')}${also}: pass the spec's file path, or rename it to ${SPEC_FILE_NAME}.`,
      cause: err,
      details: { file: path },
    });
  }
  throw new ImprintError('IO', `cannot read ${path}: ${errorText(err)}`, {
    cause: err,
    details: { file: path },
  });
}

type SourceIssue = SpecIssue & { resolved: string };

async function checkSources(spec: Spec, file: string, dir: string, locate: Locator): Promise<void> {
  const realDir = await realpath(dir);
  const inside = realDir.endsWith(sep) ? realDir : realDir + sep;
  const missing: SourceIssue[] = [];
  const escaping: SourceIssue[] = [];
  for (const [i, entry] of spec.files.entries()) {
    const segments: PathSegment[] = ['files', i, 'source'];
    const resolved = join(dir, entry.source);
    const pos = locate(segments);
    const base = { path: `files[${i}].source`, segments, line: pos.line, column: pos.column, resolved };
    const exists = await lstat(resolved).then(
      () => true,
      (err: NodeJS.ErrnoException) => {
        if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return false;
        throw new ImprintError('IO', `cannot read ${resolved} (files[${i}].source): ${errorText(err)}`, {
          cause: err,
          details: { file, resolved },
        });
      },
    );
    if (!exists) {
      missing.push({ ...base, message: `expected a file or directory at ${resolved}, found nothing` });
      continue;
    }
    let loop = false;
    const real = await realpath(resolved).catch((err: NodeJS.ErrnoException) => {
      loop = err.code === 'ELOOP';
      return undefined;
    });
    if (real === undefined) {
      const why = loop ? 'that leads back to itself (a loop of links)' : 'whose target does not exist';
      missing.push({ ...base, message: `${resolved} is a symbolic link ${why}` });
    } else if (real !== realDir && !real.startsWith(inside)) {
      escaping.push({
        ...base,
        message: `expected a path inside ${realDir}, found ${resolved}, which resolves to ${real}`,
      });
    }
  }
  if (missing.length > 0) {
    const first = missing[0]!;
    const list = missing.map((m) => `  ${where(file, m)}: ${m.path}: ${m.message}`).join('\n');
    throw new ImprintError(
      'SPEC_SOURCE_MISSING',
      `${file}: ${missing.length === 1 ? 'a source is' : 'sources are'} missing:\n${list}`,
      {
        hint: "Source paths are relative to the spec file's directory.",
        details: {
          file,
          path: first.path,
          resolved: first.resolved,
          line: first.line,
          column: first.column,
          issues: missing,
        },
      },
    );
  }
  if (escaping.length > 0) throw specInvalid(file, escaping);
}
