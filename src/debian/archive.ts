import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import type { Digest } from '../digest/index.js';
import { ImprintError } from '../errors.js';
import { type Fetcher, isNotFound } from '../net/http.js';
import { BlobStore, writeFileAtomic } from '../store/index.js';
import { mkdirp } from '../store/mkdirp.js';
import { loadPackages } from './archive-index.js';
import type { Keyring } from './keyring.js';
import { withSignerKeyringHint } from './keyring-hint.js';
import type { PackageRecord } from './packages-index.js';
import {
  checkReleaseDate,
  checkValidUntil,
  parseRelease,
  type ReleaseInfo,
  verifyDetached,
  verifyInRelease,
} from './release.js';

/** One suite of one archive, resolved: where it is and which keys sign it. */
export interface ArchiveSource {
  /** Position of the source in the spec's `sources` list (recorded in every record's RepoRef). */
  sourceIndex: number;
  /** The archive base URL (http:, https: or file:), without a trailing slash. */
  url: string;
  suite: string;
  components: string[];
  keyring: Keyring;
  /** False for snapshot archives, whose Release has long expired (default true). */
  checkValidUntil?: boolean;
  /** False to take a Release dated in the future (apt's Check-Date=no; default true). */
  checkDate?: boolean;
}

export interface OpenArchiveOptions {
  /** Root of the content-addressed cache (a BlobStore root: `blobs/sha256/<hex>`, plus `debian/`). */
  cacheDir: string;
  fetcher: Fetcher;
  /** Make no network request: use the cached Release and indexes, or fail with OFFLINE. */
  offline?: boolean;
  /** The caller's clock: key validity and Valid-Until are judged at this time. */
  now: Date;
  /** Use exactly this Release (sha256 of the signed file, e.g. from a lock) when it is cached. */
  releaseSha256?: string;
  /**
   * With `releaseSha256`: use that Release or none. Uncached, it is looked for at the source URL and
   * then at each of `mirrors`; one that serves other bytes is RELEASE_CHANGED. Valid-Until is not
   * checked (a lock pins a past state on purpose), the signing key is judged at the signature's
   * time rather than `now` (see VerifyOptions.atSigningTime), and the per-suite pointer is left alone.
   */
  pinned?: boolean;
  /**
   * Judge the Release's Date and Valid-Until at `now` (default true; see checkReleaseDate and
   * checkValidUntil, each also off per source). False when the Release only proves what a lock
   * pinned was signed: a build with a lock does not depend on the clock for that.
   */
  checkDates?: boolean;
  /** Archive roots (like `url`) that may keep an older Release, e.g. snapshot archives; see `pinned`. */
  mirrors?: readonly string[];
  /** Searched for a keyring holding the signers when the source's keyring lacks them (default apt's). */
  keyringDirs?: readonly string[];
  signal?: AbortSignal;
}

/** An opened, verified archive suite. */
export interface Archive {
  readonly source: ArchiveSource;
  readonly release: ReleaseInfo;
  /** sha256 (hex) of the signed file as fetched: InRelease, or Release in the detached form. */
  readonly releaseSha256: string;
  /** Fingerprints of the keyring keys whose signatures verified. */
  readonly signers: string[];
  /** The index of one component and architecture, verified against the Release (memoized). */
  packages(arch: string, component: string): Promise<PackageRecord[]>;
  /**
   * The records of `names` in the index of one component and architecture, verified against the
   * Release, found without scanning the whole index (not memoized; see LoadPackagesArgs.names).
   */
  lookup(arch: string, component: string, names: ReadonlySet<string>): Promise<PackageRecord[]>;
  /** The URL of a file of the archive, e.g. a record's `filename`. */
  fileUrl(path: string): string;
  /**
   * The same verified suite with nothing memoized: its indexes are loaded again on use, and the
   * records this one holds can be collected once it is dropped. No request, no verification.
   */
  fresh(): Archive;
}

/** Upper bound for InRelease/Release/Release.gpg bodies (the largest real ones are a few hundred KB). */
const MAX_RELEASE_BYTES = 64 * 1024 * 1024;

interface Pointer {
  url: string;
  suite: string;
  /** sha256 hex of the signed file. */
  sha256: string;
  /** sha256 hex of Release.gpg, in the detached form. */
  signature?: string;
  /** The Release's Date (ISO 8601), so that an older one served later is seen for a replay. */
  date?: string;
}

function hex(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

function digestOf(hexValue: string): Digest {
  return `sha256:${hexValue}`;
}

/**
 * Opens one suite of an archive: fetches InRelease (falling back to Release + Release.gpg), verifies
 * the signature against the source's keyring before parsing anything, refuses an expired
 * Valid-Until (unless `checkValidUntil` is false), a Release of another suite and one older than the
 * suite's Release verified before (checkNotOlder), and caches the
 * signed bytes by their sha256. Offline (or with a cached `releaseSha256`) it uses the cached
 * Release, whose signature is verified again on every use: the per-(url, suite) pointer that finds
 * it is a trust-on-first-use input. Cost: one small download online, none offline.
 */
export async function openArchive(source: ArchiveSource, opts: OpenArchiveOptions): Promise<Archive> {
  const store = new BlobStore(opts.cacheDir);
  const suiteBase = (root: string) => `${root.replace(/\/+$/, '')}/dists/${source.suite}`;
  let base = suiteBase(source.url);
  const pinned = opts.pinned === true && opts.releaseSha256 !== undefined;
  const pointerFile = join(
    opts.cacheDir,
    'debian',
    'release',
    `${hex(`${source.url}\n${source.suite}`)}.json`,
  );

  let loaded: { bytes: Uint8Array; signature?: Uint8Array; sha256: string } | undefined;
  if (opts.releaseSha256 !== undefined) {
    loaded = await loadCachedRelease(store, opts.cacheDir, opts.releaseSha256);
  } else if (opts.offline === true) {
    const pointer = await readPointer(pointerFile);
    if (pointer !== undefined) loaded = await loadCachedRelease(store, opts.cacheDir, pointer.sha256);
  }
  if (loaded === undefined && opts.offline === true) {
    throw new ImprintError(
      'OFFLINE',
      `offline, and no Release of ${base} is cached${opts.releaseSha256 === undefined ? '' : ` with sha256 ${opts.releaseSha256}`}`,
      {
        hint: 'Run once with the network (e.g. `imprint lock`) to fill the cache.',
        details: { url: source.url, suite: source.suite },
      },
    );
  }
  let fetched = false;
  if (loaded === undefined && pinned) {
    const roots = [source.url, ...(opts.mirrors ?? [])].map(suiteBase);
    const found = await fetchPinnedRelease(
      opts.fetcher,
      [...new Set(roots)],
      opts.releaseSha256 as string,
      opts.signal,
    );
    loaded = found;
    base = found.base;
    fetched = true;
  }
  if (loaded === undefined) {
    loaded = await fetchRelease(opts.fetcher, base, opts.signal);
    fetched = true;
  }

  const what = `${base}/${loaded.signature === undefined ? 'InRelease' : 'Release'}`;
  const signed = loaded;
  const verified = await (signed.signature === undefined
    ? verifyInRelease(signed.bytes, source.keyring.keys, { what, now: opts.now, atSigningTime: pinned })
    : verifyDetached(signed.bytes, signed.signature, source.keyring.keys, {
        what,
        now: opts.now,
        atSigningTime: pinned,
      })
  ).catch(async (err: unknown) => {
    throw await withSignerKeyringHint(err, source.keyring, opts.keyringDirs);
  });
  const release = parseRelease(verified.text, what);
  if (release.suite !== source.suite && release.codename !== source.suite) {
    throw new ImprintError(
      'RELEASE_INVALID',
      `${what}: expected suite ${source.suite}, found Suite ${release.suite ?? '(none)'} and Codename ${release.codename ?? '(none)'}`,
      {
        hint: 'The archive served the Release of another suite; check the URL and suite.',
        details: { file: what, expected: source.suite, suite: release.suite, codename: release.codename },
      },
    );
  }
  if (!pinned && opts.checkDates !== false) {
    checkReleaseDate(release, { now: opts.now, checkDate: source.checkDate, what });
    checkValidUntil(release, { now: opts.now, checkValidUntil: source.checkValidUntil, what });
  }
  if (fetched && !pinned) await checkNotOlder(release, loaded.sha256, pointerFile, what);

  if (fetched) {
    // Cache only what verified: the signed bytes (and signature) by sha256, then the pointer (to the
    // newest Release of the suite: not to one a lock pins).
    await store.putBytes(loaded.bytes);
    const pointer: Pointer = {
      url: source.url,
      suite: source.suite,
      sha256: loaded.sha256,
      ...(release.date === undefined ? {} : { date: release.date.toISOString() }),
    };
    if (loaded.signature !== undefined) {
      const sig = await store.putBytes(loaded.signature);
      pointer.signature = sig.digest.slice('sha256:'.length);
      await writeJson(join(opts.cacheDir, 'debian', 'signature', `${loaded.sha256}.json`), {
        signature: pointer.signature,
      });
    }
    if (!pinned) await writeJson(pointerFile, pointer);
  }

  return verifiedArchive(source, release, loaded.sha256, verified.signers, { base, store, opts });
}

/** An Archive over a Release that verified, with an empty memo of indexes. */
function verifiedArchive(
  source: ArchiveSource,
  release: ReleaseInfo,
  releaseSha256: string,
  signers: string[],
  where: { base: string; store: BlobStore; opts: OpenArchiveOptions },
): Archive {
  const { base, store, opts } = where;
  const memo = new Map<string, Promise<PackageRecord[]>>();
  return {
    source,
    release,
    releaseSha256,
    signers,
    fileUrl: (path) => `${source.url.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`,
    packages(arch, component) {
      const key = `${component}\n${arch}`;
      let p = memo.get(key);
      if (p === undefined) {
        p = loadPackages({ source, release, base, store, opts, arch, component });
        memo.set(key, p);
        p.catch(() => memo.delete(key));
      }
      return p;
    },
    lookup: (arch, component, names) =>
      loadPackages({ source, release, base, store, opts, arch, component, names }),
    fresh: () => verifiedArchive(source, release, releaseSha256, signers, where),
  };
}

async function fetchRelease(
  fetcher: Fetcher,
  base: string,
  signal: AbortSignal | undefined,
): Promise<{ bytes: Uint8Array; signature?: Uint8Array; sha256: string }> {
  try {
    const bytes = await fetcher.getBytes(`${base}/InRelease`, MAX_RELEASE_BYTES, { signal });
    return { bytes, sha256: sha256Hex(bytes) };
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
  let bytes: Uint8Array;
  try {
    bytes = await fetcher.getBytes(`${base}/Release`, MAX_RELEASE_BYTES, { signal });
  } catch (err) {
    if (!isNotFound(err)) throw err;
    throw new ImprintError('INDEX_NOT_FOUND', `${base}: neither InRelease nor Release exists`, {
      hint: 'Check the source URL and suite: the archive has no such suite.',
      cause: err,
      details: { url: base },
    });
  }
  return { bytes, signature: await fetchSignature(fetcher, base, signal), sha256: sha256Hex(bytes) };
}

/** Release.gpg beside a Release; SIGNATURE_INVALID when there is none (an unsigned archive). */
async function fetchSignature(
  fetcher: Fetcher,
  base: string,
  signal: AbortSignal | undefined,
): Promise<Uint8Array> {
  try {
    return await fetcher.getBytes(`${base}/Release.gpg`, MAX_RELEASE_BYTES, { signal });
  } catch (err) {
    if (!isNotFound(err)) throw err;
    throw new ImprintError(
      'SIGNATURE_INVALID',
      `${base}: the archive is not signed: it has a Release, but neither InRelease nor Release.gpg`,
      {
        hint: "imprint installs only from signed archives. Sign the Release (e.g. `gpg --clearsign -o InRelease Release`) and give the public key as the source's `keyring`.",
        cause: err,
        details: { url: base },
      },
    );
  }
}

/**
 * The Release with sha256 `want`, from the first suite URL (`…/dists/<suite>`) that serves it as
 * InRelease, or as Release (with Release.gpg). A 404 or other bytes move on to the next URL; other
 * failures too, but the first is reported if no URL has it. RELEASE_CHANGED when none has it.
 */
async function fetchPinnedRelease(
  fetcher: Fetcher,
  bases: readonly string[],
  want: string,
  signal: AbortSignal | undefined,
): Promise<{ bytes: Uint8Array; signature?: Uint8Array; sha256: string; base: string }> {
  let failure: unknown;
  const served: string[] = [];
  for (const base of bases) {
    for (const name of ['InRelease', 'Release']) {
      let bytes: Uint8Array;
      try {
        bytes = await fetcher.getBytes(`${base}/${name}`, MAX_RELEASE_BYTES, { signal });
      } catch (err) {
        if (signal?.aborted === true) throw err;
        if (!isNotFound(err)) failure ??= err;
        continue;
      }
      const sha256 = sha256Hex(bytes);
      if (sha256 !== want) {
        served.push(`${base}/${name}`);
        continue;
      }
      if (name === 'InRelease') return { bytes, sha256, base };
      return { bytes, signature: await fetchSignature(fetcher, base, signal), sha256, base };
    }
  }
  if (served.length === 0 && failure !== undefined) throw failure;
  throw new ImprintError(
    'RELEASE_CHANGED',
    `no Release with sha256 ${want} is cached or served at ${bases.join(', ')}${served.length > 0 ? ` (${served.join(', ')} ${served.length === 1 ? 'is' : 'are'} another)` : ''}`,
    {
      hint: 'The archive has published newer metadata since. Add a snapshot archive of that date to `fetch.sources`, or relock.',
      details: { sha256: want, urls: [...bases] },
    },
  );
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

async function loadCachedRelease(
  store: BlobStore,
  cacheDir: string,
  sha256: string,
): Promise<{ bytes: Uint8Array; signature?: Uint8Array; sha256: string } | undefined> {
  // A damaged cached file is removed and reads as not cached, so the Release is downloaded again.
  const cached = async (hex: string) =>
    /^[0-9a-f]{64}$/.test(hex) && (await store.has(digestOf(hex)))
      ? store.useCached(digestOf(hex), async () => readWhole(await store.open(digestOf(hex))))
      : undefined;
  const bytes = await cached(sha256);
  if (bytes === undefined) return undefined;
  const side = await readJson<{ signature?: string }>(
    join(cacheDir, 'debian', 'signature', `${sha256}.json`),
  );
  if (side?.signature === undefined) return { bytes, sha256 };
  const signature = await cached(side.signature);
  return signature === undefined ? undefined : { bytes, signature, sha256 };
}

async function readWhole(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const c of stream) {
    total += (c as Buffer).length;
    if (total > MAX_RELEASE_BYTES) {
      stream.destroy();
      throw new ImprintError('SIZE_MISMATCH', `cached Release is larger than ${MAX_RELEASE_BYTES} bytes`);
    }
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks, total);
}

/**
 * Refuses a Release older (by its Date) than the one of the same URL and suite verified before: a
 * signed but stale Release replayed by a mirror or a man in the middle would hide every later fix.
 * The first Release seen, or one without a Date, has nothing to compare with.
 */
async function checkNotOlder(
  release: ReleaseInfo,
  sha256: string,
  pointerFile: string,
  what: string,
): Promise<void> {
  const before = await readPointer(pointerFile);
  if (before?.date === undefined || before.sha256 === sha256 || release.date === undefined) return;
  const seen = new Date(before.date);
  if (Number.isNaN(seen.getTime()) || release.date.getTime() >= seen.getTime()) return;
  throw new ImprintError(
    'RELEASE_INVALID',
    `${what}: Date ${release.date.toISOString()} is older than ${seen.toISOString()}, the Date of the Release of this suite verified before (sha256 ${before.sha256}): the archive serves stale metadata (an out-of-date mirror, or a replay)`,
    {
      hint: `Try again later, or use another mirror; a lock pins its own Release and is not affected. If the archive was really rolled back, remove ${pointerFile}.`,
      details: {
        file: what,
        date: release.date.toISOString(),
        seen: seen.toISOString(),
        seenSha256: before.sha256,
      },
    },
  );
}

async function readPointer(file: string): Promise<Pointer | undefined> {
  const p = await readJson<Pointer>(file);
  return p !== undefined && typeof p.sha256 === 'string' ? p : undefined;
}

async function readJson<T>(file: string): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined; // a torn or foreign file is as good as none: the Release is verified anyway
  }
}

async function writeJson(file: string, value: unknown): Promise<void> {
  await mkdirp(dirname(file));
  await writeFileAtomic(file, new TextEncoder().encode(`${JSON.stringify(value)}\n`));
}
