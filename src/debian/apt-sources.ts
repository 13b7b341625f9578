import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ImprintError } from '../errors.js';
import { parseDeb822 } from './deb822.js';

/** One apt source entry (one deb822 paragraph or one sources.list line). */
export interface AptSourceEntry {
  /** `deb` and/or `deb-src`. */
  types: string[];
  uris: string[];
  suites: string[];
  components: string[];
  /** `Architectures` / `arch=`; empty means the host's. */
  architectures: string[];
  /** Signed-By keyring paths as written (absolute, on the host whose sources these are). */
  signedBy: string[];
  /** An armored key block embedded in Signed-By (deb822 only). */
  signedByKey?: string;
  /** `Check-Valid-Until` / `check-valid-until=`, when set. */
  checkValidUntil?: boolean;
  /** `Check-Date` / `check-date=`, when set. */
  checkDate?: boolean;
  enabled: boolean;
  /** The file and line (1-based) the entry came from. */
  file: string;
  line: number;
}

/** What a spec source without `url` takes from the host's apt configuration. */
export interface AptSourceMatch {
  /** The archive base URL, without a trailing slash. */
  url: string;
  /** The first Signed-By keyring file, under `root`. */
  keyring?: string;
  /** All Signed-By keyring files, under `root`. */
  keyrings: string[];
  /** An armored key block embedded in Signed-By, when the source has one instead of files. */
  keyringArmored?: string;
  components: string[];
  architectures: string[];
  checkValidUntil?: boolean;
  checkDate?: boolean;
  /** Where the entry was found, for messages. */
  file: string;
  line: number;
}

function yesNo(value: string, what: string): boolean {
  const v = value.trim().toLowerCase();
  if (v === 'yes' || v === 'true' || v === 'with' || v === '1') return true;
  if (v === 'no' || v === 'false' || v === 'without' || v === '0') return false;
  throw new ImprintError('DEB822_PARSE', `${what}: expected yes or no, found ${JSON.stringify(value)}`, {
    details: { value },
  });
}

function words(value: string | undefined): string[] {
  return value === undefined ? [] : value.split(/[\s,]+/).filter((w) => w !== '');
}

/** Parses a deb822 `.sources` file (comments allowed). Cost: one pass. */
export function parseSourcesFile(text: string, file: string): AptSourceEntry[] {
  const out: AptSourceEntry[] = [];
  for (const p of parseDeb822(text, file, { comments: true })) {
    const at = `${file}, line ${p.line}`;
    const signed = p.get('Signed-By');
    const entry: AptSourceEntry = {
      types: words(p.get('Types')),
      uris: words(p.get('URIs')),
      suites: words(p.get('Suites')),
      components: words(p.get('Components')),
      architectures: words(p.get('Architectures')),
      signedBy: [],
      enabled: p.get('Enabled') === undefined ? true : yesNo(p.get('Enabled') as string, `${at}: Enabled`),
      file,
      line: p.line,
    };
    if (signed !== undefined) {
      if (signed.includes('-----BEGIN PGP PUBLIC KEY BLOCK-----')) entry.signedByKey = unfoldKeyBlock(signed);
      else entry.signedBy = words(signed).filter((w) => w.startsWith('/')); // fingerprints select keys; not supported
    }
    const cvu = p.get('Check-Valid-Until');
    if (cvu !== undefined) entry.checkValidUntil = yesNo(cvu, `${at}: Check-Valid-Until`);
    const cd = p.get('Check-Date');
    if (cd !== undefined) entry.checkDate = yesNo(cd, `${at}: Check-Date`);
    out.push(entry);
  }
  return out;
}

/** deb822 folds a multi-line value with a leading space per line and " ." for empty lines. */
function unfoldKeyBlock(value: string): string {
  return `${value
    .split('\n')
    .map((l) => {
      const t = l.trim();
      return t === '.' ? '' : t;
    })
    .join('\n')
    .trim()}\n`;
}

/**
 * Splits as apt's ParseQuoteWord does: a word runs to the next white space outside `[...]` and
 * `"..."` (the double quotes dropped), so `cdrom:[Debian GNU/Linux 12.5.0 ...]/` is one URI.
 */
function quotedWords(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/(?:\[[^\]]*\]|"[^"]*"|[^\s"[])+/g)) out.push(m[0].replace(/"/g, ''));
  return out;
}

/**
 * Parses one-line sources.list syntax: `deb [opt=v,v opt2=v] uri suite [component...]`.
 * Comments start with `#`. Unknown options are ignored, as apt does for most of them.
 */
export function parseSourcesList(text: string, file: string): AptSourceEntry[] {
  const out: AptSourceEntry[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const hash = (lines[i] as string).indexOf('#');
    const line = (hash >= 0 ? (lines[i] as string).slice(0, hash) : (lines[i] as string)).trim();
    if (line === '') continue;
    const at = `${file}, line ${i + 1}`;
    const m = /^(\S+)\s*(?:\[([^\]]*)\])?\s*(.*)$/.exec(line);
    const type = m?.[1] as string;
    if (m === null || (type !== 'deb' && type !== 'deb-src')) {
      throw new ImprintError(
        'DEB822_PARSE',
        `${at}: expected "deb [options] uri suite [components]", found ${JSON.stringify(line)}`,
        {
          details: { file, line: i + 1 },
        },
      );
    }
    const [uri, suite, ...components] = quotedWords(m[3] as string);
    if (uri === undefined || suite === undefined) {
      throw new ImprintError('DEB822_PARSE', `${at}: expected a URI and a suite after "${type}"`, {
        details: { file, line: i + 1 },
      });
    }
    const entry: AptSourceEntry = {
      types: [type],
      uris: [uri],
      suites: [suite],
      components,
      architectures: [],
      signedBy: [],
      enabled: true,
      file,
      line: i + 1,
    };
    for (const opt of (m[2] ?? '').split(/\s+/).filter((w) => w !== '')) {
      const om = /^([A-Za-z-]+)([+-]?)=(.*)$/.exec(opt);
      if (om === null) continue;
      const key = (om[1] as string).toLowerCase();
      const mode = om[2] as string;
      const value = om[3] as string;
      if (mode === '-') continue;
      if (key === 'arch') entry.architectures.push(...words(value));
      else if (key === 'signed-by') entry.signedBy.push(...words(value).filter((w) => w.startsWith('/')));
      else if (key === 'check-valid-until') entry.checkValidUntil = yesNo(value, `${at}: check-valid-until`);
      else if (key === 'check-date') entry.checkDate = yesNo(value, `${at}: check-date`);
    }
    out.push(entry);
  }
  return out;
}

const byteOrder = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Reads the host's apt sources under `root` (default '/'): `etc/apt/sources.list`, then
 * `etc/apt/sources.list.d/*.list` and `*.sources` in byte order of their names (apt's order).
 * Missing files are skipped. Cost: reads a few small files.
 */
export async function readAptSources(root = '/'): Promise<AptSourceEntry[]> {
  const out: AptSourceEntry[] = [];
  const main = join(root, 'etc/apt/sources.list');
  const text = await readOptional(main);
  if (text !== undefined) out.push(...parseSourcesList(text, main));
  const dir = join(root, 'etc/apt/sources.list.d');
  let names: string[] = [];
  try {
    names = await readdir(dir);
  } catch {
    names = [];
  }
  names = names.filter((n) => n.endsWith('.list') || n.endsWith('.sources')).sort(byteOrder);
  for (const n of names) {
    const file = join(dir, n);
    const t = await readOptional(file);
    if (t === undefined) continue;
    out.push(...(n.endsWith('.sources') ? parseSourcesFile(t, file) : parseSourcesList(t, file)));
  }
  return out;
}

async function readOptional(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new ImprintError('IO', `cannot read ${file}: ${(err as Error).message}`, {
      cause: err,
      details: { file },
    });
  }
}

export interface FindAptSourceOptions {
  /** The host root to read apt's configuration (and the keyrings it names) from; default '/'. */
  root?: string;
  /** Already-read entries (skips reading the files). */
  entries?: readonly AptSourceEntry[];
}

/** A URL with its user information replaced by `***`, for messages. */
function redact(uri: string): string {
  return uri.replace(/^([a-z]+:\/\/)[^/@]*@/i, '$1***@');
}

/** apt's `copy:` method reads local files as `file:` does. */
function fetchableUri(uri: string): string | undefined {
  if (/^(https?|file):/.test(uri)) return uri;
  if (uri.startsWith('copy:')) return `file:${uri.slice('copy:'.length)}`;
  return undefined;
}

/**
 * The mirror a local mirror list (`mirror+file:PATH`, as Debian's cloud images write
 * `mirror+file:///etc/apt/mirrors/debian.list`) names for `suite`: of the http(s)/file mirrors
 * (a line's URI, then tab-separated `key:value` metadata), those without `priority` come last, the
 * lowest `priority` first, ties in the list's order; a mirror limited to some files (`type:`,
 * `arch:`, `component:`, `lang:`) only when no full one is listed, and one limited to other suites
 * (`suite:`, `codename:`) never. apt picks at random among equals; a lock needs one URL.
 */
async function mirrorFromList(
  listUri: string,
  suite: string,
  root: string,
): Promise<{ uri: string } | { why: string }> {
  const path = listUri.replace(/^mirror\+(file|copy):(\/\/(?=\/))?/, '');
  const file = join(root, path);
  const text = await readOptional(file);
  if (text === undefined) return { why: `its mirror list ${file} does not exist` };
  const mirrors: Array<{ uri: string; priority: number; partial: boolean; order: number }> = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const [uri = '', ...meta] = line.split(/\s+/);
    const fetchable = fetchableUri(uri);
    if (fetchable === undefined) continue;
    let priority = Number.POSITIVE_INFINITY;
    let partial = false;
    const suites: string[] = [];
    for (const m of meta) {
      const [key = '', value = ''] = m.split(/:(.*)/);
      if (key === 'priority' && /^\d+$/.test(value)) priority = Number(value);
      else if (key === 'suite' || key === 'codename') suites.push(value);
      else if (key === 'type' || key === 'arch' || key === 'component' || key === 'lang') partial = true;
    }
    if (suites.length === 0 || suites.includes(suite))
      mirrors.push({ uri: fetchable, priority, partial, order: mirrors.length });
  }
  mirrors.sort(
    (a, b) => Number(a.partial) - Number(b.partial) || a.priority - b.priority || a.order - b.order,
  );
  const first = mirrors[0];
  return first === undefined ? { why: `its mirror list ${file} names no http, https or file mirror` } : first;
}

/**
 * Finds the first enabled binary (`deb`) apt source that serves `suite` over http(s), file: (or
 * copy:), or a local mirror list (mirror+file:, its first mirror), and returns its URL and Signed-By
 * keyring(s) (paths under `root`). None is APT_SOURCE_NOT_FOUND, naming the entries that serve the
 * suite by a method imprint cannot use (cdrom:, a mirror list on a server, tor+http:, ...).
 */
export async function findAptSource(suite: string, opts: FindAptSourceOptions = {}): Promise<AptSourceMatch> {
  const root = opts.root ?? '/';
  const entries = opts.entries ?? (await readAptSources(root));
  const unusable: string[] = [];
  for (const e of entries) {
    if (!e.enabled || !e.types.includes('deb') || !e.suites.includes(suite)) continue;
    const at = `${e.file}, line ${e.line}`;
    let uri = e.uris.map(fetchableUri).find((u) => u !== undefined);
    const list = e.uris.find((u) => /^mirror\+(file|copy):/.test(u));
    if (uri === undefined && list !== undefined) {
      const mirror = await mirrorFromList(list, suite, root);
      if ('why' in mirror) {
        unusable.push(`${list} (${at}): ${mirror.why}`);
        continue;
      }
      uri = mirror.uri;
    }
    if (uri === undefined) {
      unusable.push(`${e.uris.join(' ')} (${at}): a method imprint cannot fetch from`);
      continue;
    }
    if (/^[a-z]+:\/\/[^/@]*@/i.test(uri)) {
      // As a spec's url may not: the lock and the provenance would carry the password.
      unusable.push(
        `${redact(uri)} (${at}): credentials in the URL, which the lock and provenance would record`,
      );
      continue;
    }
    const keyrings = e.signedBy.map((k) => join(root, k));
    const match: AptSourceMatch = {
      url: uri.replace(/\/+$/, ''),
      keyrings,
      components: e.components,
      architectures: e.architectures,
      file: e.file,
      line: e.line,
    };
    if (keyrings[0] !== undefined) match.keyring = keyrings[0];
    if (e.signedByKey !== undefined) match.keyringArmored = e.signedByKey;
    if (e.checkValidUntil !== undefined) match.checkValidUntil = e.checkValidUntil;
    if (e.checkDate !== undefined) match.checkDate = e.checkDate;
    return match;
  }
  const known = [
    ...new Set(entries.filter((e) => e.enabled && e.types.includes('deb')).flatMap((e) => e.suites)),
  ].sort(byteOrder);
  const message =
    unusable.length > 0
      ? `no apt source on this host that serves suite ${JSON.stringify(suite)} can be used (imprint fetches over http, https, file, copy and a mirror+file list, without credentials): ${unusable.join('; ')}`
      : `no apt source on this host serves suite ${JSON.stringify(suite)} (host suites: ${known.join(', ') || 'none'})`;
  throw new ImprintError('APT_SOURCE_NOT_FOUND', message, {
    hint: 'Set `url` on the source to the archive that serves this suite.',
    details: { suite, knownSuites: known },
  });
}
