import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline as pipelineCb, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Decompression } from '../compress/index.js';
import { decompressStream } from '../compress/index.js';
import { type Digest, VerifyingStream } from '../digest/index.js';
import { ImprintError, isImprintError } from '../errors.js';
import { type Fetcher, isNotFound } from '../net/http.js';
import { BlobStore, fileSink, tempPath, writeFileAtomic } from '../store/index.js';
import type { Keyring } from './keyring.js';
import { type PackageRecord, type RepoRef, readPackagesIndex } from './packages-index.js';
import {
  checkValidUntil,
  parseRelease,
  type ReleaseEntry,
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
  /** The URL of a file of the archive, e.g. a record's `filename`. */
  fileUrl(path: string): string;
}

/** Upper bound for InRelease/Release/Release.gpg bodies (the largest real ones are a few hundred KB). */
const MAX_RELEASE_BYTES = 64 * 1024 * 1024;

/** Candidate index files, most compact first. */
const INDEX_KINDS: ReadonlyArray<{ suffix: string; kind: Decompression }> = [
  { suffix: '.xz', kind: 'xz' },
  { suffix: '.gz', kind: 'gzip' },
  { suffix: '', kind: 'none' },
];

interface Pointer {
  url: string;
  suite: string;
  /** sha256 hex of the signed file. */
  sha256: string;
  /** sha256 hex of Release.gpg, in the detached form. */
  signature?: string;
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
 * Valid-Until (unless `checkValidUntil` is false) and a Release of another suite, and caches the
 * signed bytes by their sha256. Offline (or with a cached `releaseSha256`) it uses the cached
 * Release, whose signature is verified again on every use: the per-(url, suite) pointer that finds
 * it is a trust-on-first-use input. Cost: one small download online, none offline.
 */
export async function openArchive(source: ArchiveSource, opts: OpenArchiveOptions): Promise<Archive> {
  const store = new BlobStore(opts.cacheDir);
  const base = `${source.url.replace(/\/+$/, '')}/dists/${source.suite}`;
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
  if (loaded === undefined) {
    loaded = await fetchRelease(opts.fetcher, base, opts.signal);
    fetched = true;
  }

  const what = `${base}/${loaded.signature === undefined ? 'InRelease' : 'Release'}`;
  const verified =
    loaded.signature === undefined
      ? await verifyInRelease(loaded.bytes, source.keyring.keys, { what, now: opts.now })
      : await verifyDetached(loaded.bytes, loaded.signature, source.keyring.keys, { what, now: opts.now });
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
  checkValidUntil(release, { now: opts.now, checkValidUntil: source.checkValidUntil, what });

  if (fetched) {
    // Cache only what verified: the signed bytes (and signature) by sha256, then the pointer.
    await store.putBytes(loaded.bytes);
    const pointer: Pointer = { url: source.url, suite: source.suite, sha256: loaded.sha256 };
    if (loaded.signature !== undefined) {
      const sig = await store.putBytes(loaded.signature);
      pointer.signature = sig.digest.slice('sha256:'.length);
      await writeJson(join(opts.cacheDir, 'debian', 'signature', `${loaded.sha256}.json`), {
        signature: pointer.signature,
      });
    }
    await writeJson(pointerFile, pointer);
  }

  const memo = new Map<string, Promise<PackageRecord[]>>();
  const archive: Archive = {
    source,
    release,
    releaseSha256: loaded.sha256,
    signers: verified.signers,
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
  };
  return archive;
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
  const signature = await fetcher.getBytes(`${base}/Release.gpg`, MAX_RELEASE_BYTES, { signal });
  return { bytes, signature, sha256: sha256Hex(bytes) };
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

async function loadCachedRelease(
  store: BlobStore,
  cacheDir: string,
  sha256: string,
): Promise<{ bytes: Uint8Array; signature?: Uint8Array; sha256: string } | undefined> {
  if (!/^[0-9a-f]{64}$/.test(sha256) || !(await store.has(digestOf(sha256)))) return undefined;
  const bytes = await readWhole(await store.open(digestOf(sha256)));
  const side = await readJson<{ signature?: string }>(
    join(cacheDir, 'debian', 'signature', `${sha256}.json`),
  );
  if (side?.signature === undefined) return { bytes, sha256 };
  if (!/^[0-9a-f]{64}$/.test(side.signature) || !(await store.has(digestOf(side.signature))))
    return undefined;
  return { bytes, signature: await readWhole(await store.open(digestOf(side.signature))), sha256 };
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
  await mkdir(dirname(file), { recursive: true });
  await writeFileAtomic(file, new TextEncoder().encode(`${JSON.stringify(value)}\n`));
}

interface LoadPackagesArgs {
  source: ArchiveSource;
  release: ReleaseInfo;
  base: string;
  store: BlobStore;
  opts: OpenArchiveOptions;
  arch: string;
  component: string;
}

/**
 * Loads one Packages index. The cache holds the decompressed index under the sha256 the Release
 * lists for the plain `Packages` (or, when it lists none, the compressed file under its own), so a
 * warm cache needs no network and no decompression. Downloads are verified against the Release
 * before they are decompressed; a mismatch leaves nothing in the cache.
 */
async function loadPackages(a: LoadPackagesArgs): Promise<PackageRecord[]> {
  const { release, component, arch } = a;
  const dir = `${component}/binary-${arch}`;
  const what = `${a.base}/${dir}/Packages`;
  if (release.components.length > 0 && !release.components.includes(component)) {
    throw new ImprintError(
      'INDEX_NOT_FOUND',
      `${a.base}: no component ${component} (the Release lists ${release.components.join(', ')})`,
      {
        hint: 'Fix `components` of the source.',
        details: { component, components: release.components },
      },
    );
  }
  if (release.architectures.length > 0 && !release.architectures.includes(arch)) {
    throw new ImprintError(
      'INDEX_NOT_FOUND',
      `${a.base}: no architecture ${arch} (the Release lists ${release.architectures.join(', ')})`,
      {
        details: { arch, architectures: release.architectures },
      },
    );
  }
  const candidates = INDEX_KINDS.flatMap((k) => {
    const entry = release.sha256.get(`${dir}/Packages${k.suffix}`);
    return entry === undefined ? [] : [{ ...k, path: `${dir}/Packages${k.suffix}`, entry }];
  });
  if (candidates.length === 0) {
    throw new ImprintError('INDEX_NOT_FOUND', `${a.base}/Release lists no ${dir}/Packages index`, {
      details: { component, arch },
    });
  }
  const repo: RepoRef = {
    sourceIndex: a.source.sourceIndex,
    url: a.source.url.replace(/\/+$/, ''),
    suite: a.source.suite,
    component,
    arch,
  };
  const plain = release.sha256.get(`${dir}/Packages`);
  const store = a.store;

  // Warm cache: the decompressed index, or any compressed one, by the Release's hashes.
  if (plain !== undefined && (await store.has(digestOf(plain.sha256)))) {
    return readPackagesIndex(
      await store.open({ digest: digestOf(plain.sha256), size: plain.size }),
      repo,
      what,
    );
  }
  for (const c of candidates) {
    if (c.kind !== 'none' && (await store.has(digestOf(c.entry.sha256)))) {
      const stream = await store.open({ digest: digestOf(c.entry.sha256), size: c.entry.size });
      return readPackagesIndex(decompressed(stream, c.kind, what, plain), repo, what);
    }
  }
  if (a.opts.offline === true) {
    throw new ImprintError('OFFLINE', `offline, and ${what} (Release ${a.base}) is not cached`, {
      hint: 'Run once with the network to fill the cache.',
      details: { url: what },
    });
  }

  let lastNotFound: unknown;
  for (const c of candidates) {
    const urls = indexUrls(a.base, c.path, c.entry, release.acquireByHash);
    for (const url of urls) {
      try {
        if (plain !== undefined) {
          await fetchDecompressedIndex(a, url, c.entry, c.kind, plain, what);
          return readPackagesIndex(
            await store.open({ digest: digestOf(plain.sha256), size: plain.size }),
            repo,
            what,
          );
        }
        const stream = await a.opts.fetcher.get(url, { signal: a.opts.signal, expect: c.entry });
        await store.put(stream, { digest: digestOf(c.entry.sha256), size: c.entry.size });
        const cached = await store.open({ digest: digestOf(c.entry.sha256), size: c.entry.size });
        return readPackagesIndex(decompressed(cached, c.kind, what, undefined), repo, what);
      } catch (err) {
        if (!isNotFound(err)) throw err;
        lastNotFound = err;
      }
    }
  }
  throw new ImprintError(
    'INDEX_NOT_FOUND',
    `${what}: the Release lists it, but no variant (${candidates.map((c) => c.path).join(', ')}) could be downloaded`,
    {
      hint: 'The mirror may be in the middle of an update; try again later.',
      cause: lastNotFound,
      details: { url: what },
    },
  );
}

/** By-hash first when the archive offers it (immune to a concurrent mirror update), then the plain path. */
function indexUrls(base: string, path: string, entry: ReleaseEntry, byHash: boolean): string[] {
  const plainUrl = `${base}/${path}`;
  if (!byHash) return [plainUrl];
  const slash = path.lastIndexOf('/');
  return [`${base}/${path.slice(0, slash)}/by-hash/SHA256/${entry.sha256}`, plainUrl];
}

function decompressed(
  stream: Readable,
  kind: Decompression,
  what: string,
  plain: ReleaseEntry | undefined,
): Readable {
  const d = decompressStream(kind, { what });
  // The callback form returns the last stream; an error of any stage destroys every stage with it,
  // so it surfaces on the stream the parser reads, and an early stop of the reader closes the file.
  if (plain === undefined) return pipelineCb(stream, d, ignore);
  return pipelineCb(
    stream,
    d,
    new VerifyingStream({ digest: digestOf(plain.sha256), size: plain.size }, what),
    ignore,
  );
}

const ignore = (): void => undefined;

/**
 * Downloads a compressed index to a temporary file, verified against the Release before anything
 * decompresses it, then stores the decompressed bytes verified against the plain entry. Failure
 * leaves nothing behind.
 */
async function fetchDecompressedIndex(
  a: LoadPackagesArgs,
  url: string,
  entry: ReleaseEntry,
  kind: Decompression,
  plain: ReleaseEntry,
  what: string,
): Promise<void> {
  const stream = await a.opts.fetcher.get(url, { signal: a.opts.signal, expect: entry });
  if (kind === 'none') {
    await a.store.put(stream, { digest: digestOf(plain.sha256), size: plain.size });
    return;
  }
  const tmpDir = join(a.opts.cacheDir, 'tmp');
  await mkdir(tmpDir, { recursive: true });
  const tmp = tempPath(tmpDir, 'index');
  try {
    const fh = await open(tmp, 'wx', 0o600);
    try {
      await pipeline(stream, fileSink(fh));
    } finally {
      await fh.close();
    }
    await a.store.put(() => decompressed(createReadStream(tmp), kind, what, undefined), {
      digest: digestOf(plain.sha256),
      size: plain.size,
    });
  } catch (err) {
    stream.destroy();
    if (isImprintError(err)) throw err;
    throw new ImprintError('IO', `${what}: ${(err as Error).message}`, { cause: err });
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}
