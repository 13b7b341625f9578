import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline as pipelineCb, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Decompression } from '../compress/index.js';
import { type Digest, VerifyingStream } from '../digest/index.js';
import { ImprintError, isImprintError } from '../errors.js';
import { isNotFound } from '../net/http.js';
import { type BlobStore, fileSink, readBounded, tempPath } from '../store/index.js';
import { mkdirp } from '../store/mkdirp.js';
import type { ArchiveSource, OpenArchiveOptions } from './archive.js';
import type { PackageRecord, RepoRef } from './packages-index.js';
import {
  findRecords,
  findRecordsIn,
  type PackagesScan,
  scannedRecords,
  scanPackages,
} from './packages-scan.js';
import { readPackagesScan, writePackagesScan } from './packages-scan-cache.js';
import type { ReleaseEntry, ReleaseInfo } from './release.js';

// Loading one Packages index of an opened archive: cache lookup, download, verification, parsing.

/** Candidate index files, most compact first. */
const INDEX_KINDS: ReadonlyArray<{ suffix: string; kind: Decompression }> = [
  { suffix: '.xz', kind: 'xz' },
  { suffix: '.gz', kind: 'gzip' },
  { suffix: '', kind: 'none' },
];

/**
 * For a lookup, quickest to decode first: bookworm main's gzip index is 40 % larger than its xz
 * one (12 MB against 9 MB), but decodes in a third of the CPU time (0.2 s against 0.6 s), and a
 * build checking its lock shares the cores with the install.
 */
const LOOKUP_KINDS: ReadonlyArray<{ suffix: string; kind: Decompression }> = [
  { suffix: '.gz', kind: 'gzip' },
  { suffix: '.xz', kind: 'xz' },
  { suffix: '', kind: 'none' },
];

/** Upper bound for an index read whole (bookworm's main amd64 index is ~50 MB decompressed). */
const MAX_INDEX_BYTES = 1 << 30;

function digestOf(hexValue: string): Digest {
  return `sha256:${hexValue}`;
}

export interface LoadPackagesArgs {
  source: ArchiveSource;
  release: ReleaseInfo;
  base: string;
  store: BlobStore;
  opts: OpenArchiveOptions;
  arch: string;
  component: string;
  /**
   * Only these packages' records are wanted: unless a scan of the index is cached, the index is
   * searched for them instead of scanned, nothing is scanned or cached beyond the index file as
   * downloaded (the compressed one, decoded in memory), and the gzip variant is preferred.
   */
  names?: ReadonlySet<string>;
}

/**
 * Whether `release` has `component` (or lists no components). A security archive lists `updates/main`
 * and keeps the files under `main/`; apt accepts either spelling.
 */
export function releaseHasComponent(release: ReleaseInfo, component: string): boolean {
  return (
    release.components.length === 0 ||
    release.components.some((c) => c === component || c.endsWith(`/${component}`))
  );
}

/**
 * Loads one Packages index. The cache holds the decompressed index under the sha256 the Release
 * lists for the plain `Packages` (or, when it lists none, the compressed file under its own), so a
 * warm cache needs no network and no decompression, and the scan of the index under the same hash
 * (packages-scan-cache.ts). Downloads are verified against the Release before they are
 * decompressed; a mismatch leaves nothing in the cache. The index is read whole and verified, and
 * its records parse their fields on first use (packages-scan.ts). Cost, warm: reading and hashing
 * the index (bookworm main: 50 MB, ~0.07 s) and its cached scan (~3 MB).
 */
export async function loadPackages(a: LoadPackagesArgs): Promise<PackageRecord[]> {
  const { release, component, arch } = a;
  const dir = `${component}/binary-${arch}`;
  const what = `${a.base}/${dir}/Packages`;
  if (!releaseHasComponent(release, component)) {
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
  const names = a.names;
  const candidates = (names === undefined ? INDEX_KINDS : LOOKUP_KINDS).flatMap((k) => {
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
    ...(release.priority === 500 ? {} : { priority: release.priority }),
  };
  const plain = release.sha256.get(`${dir}/Packages`);
  const store = a.store;

  const cacheDir = a.opts.cacheDir;
  // Warm cache: the decompressed index, or any compressed one, by the Release's hashes. A cached
  // file that fails to read and no longer hashes right was damaged: it is removed and fetched again.
  let damaged = false;
  if (plain !== undefined && (await store.has({ digest: digestOf(plain.sha256), size: plain.size }))) {
    const found = await store.useCached({ digest: digestOf(plain.sha256), size: plain.size }, async () => {
      // The cached scan is read and decoded while the index is read and hashed (in the thread pool).
      const [bytes, scan] = await Promise.all([
        store.readBytes({ digest: digestOf(plain.sha256), size: plain.size }, MAX_INDEX_BYTES),
        readPackagesScan(cacheDir, plain.sha256, plain.size),
      ]);
      if (names !== undefined && scan === undefined) return findRecords(bytes, names, repo, what);
      const records = await indexRecords(cacheDir, bytes, plain.sha256, repo, what, scan);
      return names === undefined ? records : records.filter((r) => names.has(r.name));
    });
    if (found !== undefined) return found;
    damaged = true;
  }
  const fromCompressed = async (c: (typeof candidates)[number]): Promise<PackageRecord[]> => {
    const stream = await store.open({ digest: digestOf(c.entry.sha256), size: c.entry.size });
    const plainStream = await decompressed(stream, c.kind, what, plain);
    if (names !== undefined) return findRecordsIn(plainStream, names, repo, what);
    const bytes = await readBounded(plainStream, MAX_INDEX_BYTES, what);
    return indexRecords(cacheDir, bytes, plain?.sha256 ?? sha256Hex(bytes), repo, what);
  };
  for (const c of candidates) {
    const desc = { digest: digestOf(c.entry.sha256), size: c.entry.size };
    if (c.kind === 'none' || !(await store.has(desc))) continue;
    const found = await store.useCached(desc, () => fromCompressed(c));
    if (found !== undefined) return found;
    damaged = true;
  }
  if (a.opts.offline === true) {
    throw new ImprintError(
      'OFFLINE',
      `offline, and ${what} (Release ${a.base}) is not cached${damaged ? ' (its cached copy no longer matched the Release and was removed)' : ''}`,
      {
        hint: 'Run once with the network to fill the cache.',
        details: { url: what },
      },
    );
  }

  let lastNotFound: unknown;
  for (const c of candidates) {
    const urls = indexUrls(a.base, c.path, c.entry, release.acquireByHash);
    for (const url of urls) {
      try {
        if (names !== undefined && c.kind !== 'none') {
          // Kept as downloaded (verified against the Release), decoded in memory.
          const stream = await a.opts.fetcher.get(url, { signal: a.opts.signal, expect: c.entry });
          await store.put(stream, { digest: digestOf(c.entry.sha256), size: c.entry.size });
          return await fromCompressed(c);
        }
        if (plain !== undefined) {
          await fetchDecompressedIndex(a, url, c.entry, c.kind, plain, what);
          const bytes = await store.readBytes(
            { digest: digestOf(plain.sha256), size: plain.size },
            MAX_INDEX_BYTES,
          );
          if (names !== undefined) return findRecords(bytes, names, repo, what);
          return indexRecords(cacheDir, bytes, plain.sha256, repo, what);
        }
        const stream = await a.opts.fetcher.get(url, { signal: a.opts.signal, expect: c.entry });
        await store.put(stream, { digest: digestOf(c.entry.sha256), size: c.entry.size });
        const cached = await store.open({ digest: digestOf(c.entry.sha256), size: c.entry.size });
        const bytes = await readBounded(
          await decompressed(cached, c.kind, what, undefined),
          MAX_INDEX_BYTES,
          what,
        );
        if (names !== undefined) return findRecords(bytes, names, repo, what);
        return indexRecords(cacheDir, bytes, sha256Hex(bytes), repo, what);
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

/**
 * The records of an index from its bytes: rebuilt from the cached scan of these bytes (`sha256`)
 * when there is a usable one (`scanned`, or read here), else scanned, and the scan cached for the next run. A cache that
 * cannot be written (e.g. read-only) only costs the next run a scan.
 */
async function indexRecords(
  cacheDir: string,
  bytes: Buffer,
  sha256: string,
  repo: RepoRef,
  what: string,
  scanned?: PackagesScan,
): Promise<PackageRecord[]> {
  const cached = scanned ?? (await readPackagesScan(cacheDir, sha256, bytes.length));
  if (cached !== undefined) return scannedRecords(bytes, repo, what, cached);
  const { records, scan } = scanPackages(bytes, repo, what);
  if (scan !== undefined)
    await writePackagesScan(cacheDir, sha256, bytes.length, scan).catch(() => undefined);
  return records;
}

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** By-hash first when the archive offers it (immune to a concurrent mirror update), then the plain path. */
function indexUrls(base: string, path: string, entry: ReleaseEntry, byHash: boolean): string[] {
  const plainUrl = `${base}/${path}`;
  if (!byHash) return [plainUrl];
  const slash = path.lastIndexOf('/');
  return [`${base}/${path.slice(0, slash)}/by-hash/SHA256/${entry.sha256}`, plainUrl];
}

async function decompressed(
  stream: Readable,
  kind: Decompression,
  what: string,
  plain: ReleaseEntry | undefined,
): Promise<Readable> {
  // Loaded on first use: a warm cache holds indexes decompressed, and never needs the codecs.
  const { decompressStream } = await import('../compress/index.js');
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
  await mkdirp(tmpDir);
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
