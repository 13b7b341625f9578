import { pipeline, Transform } from 'node:stream';
import type { Digest } from '../digest/index.js';
import { errorText, ImprintError, isImprintError } from '../errors.js';
import { createFetcher, type Fetcher, isNotFound, largestFirst, mapLimit } from '../net/index.js';
import type { BlobStore } from '../store/index.js';
import { checkTemplates, PLACEHOLDER } from './fetch-template.js';

export { checkTemplates, TEMPLATE_FIELDS } from './fetch-template.js';

/** A `.deb` to fetch: what the lock pins, plus the archive URL its `filename` is relative to. */
export interface FetchablePackage {
  name: string;
  version: string;
  architecture: string;
  /** Path relative to the archive URL (`pool/main/...`). */
  filename: string;
  size: number;
  /** 64 lowercase hex. */
  sha256: string;
  /** The source's archive URL (the `{url}` of templates). */
  url: string;
}

/** Progress of the downloads: counts and bytes of the packages that were not in the store. */
export interface FetchProgress {
  done: number;
  total: number;
  bytes: number;
  totalBytes: number;
}

export interface FetchPackagesOptions {
  store: BlobStore;
  /** URL templates tried in order (spec `fetch.sources` or the CLI's); default DEFAULT_FETCH_TEMPLATES. */
  templates?: readonly string[];
  /** How URLs are read (default: createFetcher(), which retries with backoff and times out). */
  fetcher?: Fetcher;
  /** No network: only `file:` templates are tried; anything else missing is OFFLINE. */
  offline?: boolean;
  /** Downloads in flight at once (default 6). */
  concurrency?: number;
  /** Called when a download starts moving bytes and when one completes. */
  onProgress?: (p: FetchProgress) => void;
  /**
   * Called with a package's sha256 as soon as its verified file is in the store (at once for those
   * already there), so a caller may use it before the other downloads finish.
   */
  onStored?: (sha256: string) => void;
  /**
   * Hash the packages already in the store before counting them as there: a corrupt one is removed
   * and fetched again (`imprint lock --fetch`). A build leaves this off: it verifies each file as it
   * reads it (and removes a corrupt one, see platformTree), so a warm build reads each file once.
   */
  verifyCached?: boolean;
  signal?: AbortSignal;
}

export interface FetchPackagesResult {
  /** Packages downloaded now. */
  fetched: number;
  /** Packages already in the store. */
  cached: number;
  /** Bytes downloaded now (of the files that verified). */
  bytes: number;
  /** Sources that failed or served wrong bytes before another one served the locked file. */
  warnings: string[];
}

/** The one template used when neither the spec nor the CLI names any: the archive's own pool. */
export const DEFAULT_FETCH_TEMPLATES: readonly string[] = ['{url}/{filename}'];

/**
 * The URL a template gives for a package. `{url}` (without trailing slash) and `{filename}` are
 * inserted as they are (archive paths are URL-safe); `{name}`, `{version}` (an epoch's `:` too)
 * and `{arch}` are percent-encoded. Pure.
 */
export function expandTemplate(template: string, pkg: FetchablePackage): string {
  return template.replace(PLACEHOLDER, (whole, field: string) => {
    switch (field) {
      case 'url':
        return pkg.url.replace(/\/+$/, '');
      case 'filename':
        return pkg.filename.replace(/^\/+/, '');
      case 'sha256':
        return pkg.sha256;
      case 'name':
        return encodeURIComponent(pkg.name);
      case 'version':
        return encodeURIComponent(pkg.version);
      case 'arch':
        return encodeURIComponent(pkg.architecture);
      default:
        return whole;
    }
  });
}

interface Attempt {
  url: string;
  error: ImprintError;
}

type Outcome =
  | { kind: 'fetched'; bytes: number; warnings: string[] }
  | { kind: 'missing'; attempts: Attempt[] };

/**
 * Downloads the packages that are not yet in the store, at most `concurrency` at once. For each,
 * the templates are tried in order and the first source whose bytes match the locked size and
 * sha256 wins; a wrong file, a failure or a 404 moves on to the next (all but 404s are reported in
 * `warnings` when a later one succeeds). Bytes are verified while they stream into the store, so a
 * mismatch leaves nothing there. Afterwards every package is blob `sha256:<hex>` in the store.
 * No source serving a package fails with the last failure's code (DIGEST_MISMATCH/SIZE_MISMATCH
 * when any source served wrong bytes), naming every URL tried; offline, the missing ones are OFFLINE.
 * Cost: the missing packages' bytes once over the network (or from the file: sources).
 */
export async function fetchPackages(
  pkgs: readonly FetchablePackage[],
  opts: FetchPackagesOptions,
): Promise<FetchPackagesResult> {
  const templates =
    opts.templates === undefined || opts.templates.length === 0 ? DEFAULT_FETCH_TEMPLATES : opts.templates;
  checkTemplates(templates);
  const offline = opts.offline === true;
  const unique = new Map<string, FetchablePackage>();
  for (const p of pkgs) if (!unique.has(p.sha256)) unique.set(p.sha256, p);

  const candidates = [...unique.values()];
  const present = await Promise.all(
    candidates.map(async (p) => {
      const there =
        opts.verifyCached === true
          ? await opts.store.hasIntact({ digest: digestOf(p), size: p.size })
          : await opts.store.has({ digest: digestOf(p), size: p.size });
      if (there) opts.onStored?.(p.sha256);
      return there;
    }),
  );
  const missing = candidates.filter((_, i) => !present[i]);
  const cached = candidates.length - missing.length;
  if (offline && missing.length > 0 && !templates.some((t) => t.startsWith('file:')))
    throw offlineError(missing, []);

  const fetcher = opts.fetcher ?? createFetcher();
  const progress: FetchProgress = {
    done: 0,
    total: missing.length,
    bytes: 0,
    totalBytes: missing.reduce((n, p) => n + p.size, 0),
  };
  const report = (): void => opts.onProgress?.({ ...progress });
  if (missing.length > 0) report();

  // A source host that cannot be reached at all (after the fetcher's retries) is not asked again
  // for the other packages: a dead mirror in fetch.sources costs one round of retries, not one per package.
  const unreachable = new Map<string, ImprintError>();
  const fetchOne = async (pkg: FetchablePackage): Promise<Outcome> => {
    const attempts: Attempt[] = [];
    for (const template of templates) {
      const url = expandTemplate(template, pkg);
      if (offline && !url.startsWith('file:')) continue;
      const host = originOf(url);
      const dead = host === undefined ? undefined : unreachable.get(host);
      if (dead !== undefined) {
        attempts.push({ url, error: dead });
        continue;
      }
      let received = 0;
      try {
        // Only the size goes to the fetcher (a contradicting Content-Length fails before any byte);
        // the store hashes and verifies size and sha256 while the bytes stream into it.
        const stream = await fetcher.get(url, { signal: opts.signal, expect: { size: pkg.size } });
        const counter = new Transform({
          transform(chunk: Buffer, _enc, done) {
            received += chunk.length;
            progress.bytes += chunk.length;
            report();
            done(null, chunk);
          },
        });
        // The callback form returns the last stream; a failure of either destroys both.
        const counted = pipeline(stream, counter, () => undefined);
        await opts.store.put(counted, { digest: digestOf(pkg), size: pkg.size });
        opts.onStored?.(pkg.sha256);
        progress.done++;
        report();
        return { kind: 'fetched', bytes: pkg.size, warnings: attemptWarnings(pkg, attempts, url) };
      } catch (err) {
        progress.bytes -= received;
        if (opts.signal?.aborted) throw opts.signal.reason ?? err;
        const error = asImprintError(err, url);
        attempts.push({ url, error });
        if (error.code === 'NETWORK' && host !== undefined && received === 0) unreachable.set(host, error);
      }
    }
    if (offline) return { kind: 'missing', attempts };
    throw noSourceError(pkg, attempts);
  };

  // Largest first, the order the install starts unpacking them in (install.ts), so
  // the first unpacks of a cold build wait for downloads started first; outcomes back in lock order.
  const order = largestFirst(missing);
  const sorted = await mapLimit(
    order.map((i) => missing[i] as FetchablePackage),
    opts.concurrency ?? 6,
    fetchOne,
  );
  const outcomes: Outcome[] = [];
  order.forEach((i, k) => {
    outcomes[i] = sorted[k] as Outcome;
  });
  const stillMissing = missing.filter((_, i) => outcomes[i]?.kind === 'missing');
  if (stillMissing.length > 0) {
    throw offlineError(
      stillMissing,
      outcomes.flatMap((o) => (o.kind === 'missing' ? o.attempts : [])),
    );
  }
  let fetched = 0;
  let bytes = 0;
  const warnings: string[] = [];
  for (const o of outcomes) {
    if (o.kind !== 'fetched') continue;
    fetched++;
    bytes += o.bytes;
    warnings.push(...o.warnings.filter((w) => !unreachableWarning(w, unreachable)));
  }
  for (const [host, error] of unreachable)
    warnings.push(
      `fetch source ${host} could not be reached (${error.message}); the other sources served the packages`,
    );
  return { fetched, cached, bytes, warnings };
}

/** scheme://host[:port] of an http(s) URL; undefined for file: and unparsable ones. */
function originOf(url: string): string | undefined {
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.origin : undefined;
  } catch {
    return undefined;
  }
}

/** A per-package warning about a host already reported once as unreachable. */
function unreachableWarning(warning: string, unreachable: ReadonlyMap<string, ImprintError>): boolean {
  return [...unreachable.keys()].some((host) => warning.startsWith(`fetch source ${host}/`));
}

function digestOf(p: FetchablePackage): Digest {
  return `sha256:${p.sha256}`;
}

function label(p: FetchablePackage): string {
  return `${p.name} ${p.version} (${p.architecture})`;
}

function isMismatch(err: ImprintError): boolean {
  return err.code === 'DIGEST_MISMATCH' || err.code === 'SIZE_MISMATCH';
}

function asImprintError(err: unknown, url: string): ImprintError {
  if (isImprintError(err)) return err;
  return new ImprintError('NETWORK', `GET ${url}: ${errorText(err)}`, { cause: err, details: { url } });
}

/** Warnings for the sources that failed (other than by not having the file) before `used` served it. */
function attemptWarnings(pkg: FetchablePackage, attempts: Attempt[], used: string): string[] {
  return attempts
    .filter((a) => !isNotFound(a.error))
    .map((a) =>
      isMismatch(a.error)
        ? `fetch source ${a.url} served the wrong file for ${label(pkg)} (${reason(a)}); used ${used}`
        : `fetch source ${a.url} failed for ${label(pkg)} (${reason(a)}); used ${used}`,
    );
}

/** An attempt's error message without the URL it starts with (the caller names the URL). */
function reason(a: Attempt): string {
  for (const prefix of [`GET ${a.url}: `, `${a.url}: `]) {
    if (a.error.message.startsWith(prefix)) return a.error.message.slice(prefix.length);
  }
  return a.error.message;
}

function noSourceError(pkg: FetchablePackage, attempts: Attempt[]): ImprintError {
  const mismatch = attempts.find((a) => isMismatch(a.error));
  const last = attempts[attempts.length - 1];
  const code = mismatch?.error.code ?? last?.error.code ?? 'INTERNAL';
  const list = attempts.map((a) => `\n  ${a.url}: ${reason(a)}`).join('');
  return new ImprintError(
    code,
    `${label(pkg)}: expected ${pkg.size} bytes with sha256 ${pkg.sha256}; no fetch source served them:${list}`,
    {
      hint: mismatch
        ? 'A source serves other bytes than the lock pins: the archive changed or the source is wrong. Add a snapshot or by-hash source to fetch.sources, or run `imprint lock` again.'
        : attempts.length > 0 && attempts.every((a) => isCacheWriteError(a.error))
          ? 'The package arrived but the cache could not store it (permissions, space or a read-only file system): fix the cache directory, or pass --cache-dir DIR (or set IMPRINT_CACHE_DIR).'
          : 'Check the network and the fetch sources; snapshot archives keep old packages (add one to fetch.sources).',
      cause: (mismatch ?? last)?.error,
      details: {
        package: pkg.name,
        version: pkg.version,
        filename: pkg.filename,
        expected: pkg.sha256,
        attempts: attempts.map((a) => ({ url: a.url, code: a.error.code, message: a.error.message })),
      },
    },
  );
}

/** A failure to write into the local store (not the source's fault): every source would fail alike. */
function isCacheWriteError(err: ImprintError): boolean {
  return err.code === 'IO' && /\b(EACCES|EPERM|EROFS|ENOSPC|EDQUOT)\b/.test(err.message);
}

function offlineError(missing: FetchablePackage[], attempts: Attempt[]): ImprintError {
  const list = missing.map((p) => `\n  ${label(p)} ${p.filename}`).join('');
  return new ImprintError(
    'OFFLINE',
    `offline, and ${missing.length} locked .deb file(s) are not in the store:${list}`,
    {
      hint: 'Run once with the network (e.g. `imprint lock --fetch`) to fill the store, or add a file:// fetch source that has them.',
      details: {
        missing: missing.map((p) => ({
          name: p.name,
          version: p.version,
          architecture: p.architecture,
          filename: p.filename,
          sha256: p.sha256,
        })),
        attempts: attempts.map((a) => ({ url: a.url, code: a.error.code, message: a.error.message })),
      },
    },
  );
}
