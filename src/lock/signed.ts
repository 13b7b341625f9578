// Is every locked package one its archive signed? A lock is an input people edit and review: with a
// package's sha256 and size (and its source's URL) changed to name another .deb, the build would
// fetch that file, find the edited hash, and install it. So before a build trusts a lock's packages,
// each is looked up in the Packages index of the Release the lock pins, verified with the source's
// keyring, as `imprint lock` found it. A success is recorded in the cache under the hash of
// everything it depended on, so later builds of the same lock skip the check (and never load OpenPGP).

import type { Archive, ArchiveSource } from '../debian/archive.js';
import type { PackageRecord } from '../debian/packages-index.js';
import type { ReleaseInfo } from '../debian/release.js';
import { PackageUniverse, resolvePackages } from '../debian/resolve.js';
import { compareVersions } from '../debian/version.js';
import { errorText, ImprintError, isImprintError } from '../errors.js';
import { mapLimit } from '../net/concurrency.js';
import type { Fetcher } from '../net/http.js';
import type { LoadedSpec } from '../spec/index.js';
import { readRecord, recordKey, writeRecord } from './signed-record.js';
import { archiveRoots, lockSources } from './signed-sources.js';
import type { LockFile, LockPackage } from './types.js';

/** What checkLockSigned checks, and with what. */
export interface SignedCheckRequest {
  loaded: LoadedSpec;
  lock: LockFile;
  /** The lock's path, for messages. */
  lockFile: string;
  /** The OCI platform (`linux/amd64`) and its dpkg architecture. */
  platform: string;
  arch: string;
  /** The platform's locked packages. */
  packages: readonly LockPackage[];
  cacheDir: string;
  /** Created on demand (only when the check is not recorded yet). */
  fetcher?: () => Promise<Fetcher>;
  offline?: boolean;
  /** The caller's clock, for key validity. */
  now: Date;
  /** The spec's fetch templates: those that name an archive root may keep the pinned Release. */
  templates: readonly string[];
  /** Host root for apt sources and keyrings (default '/'). */
  aptRoot?: string;
  signal?: AbortSignal;
}

/**
 * LOCK_INVALID unless every package is listed, with the same name, version, architecture, filename,
 * size and sha256, in the signed index of the suite the lock says it comes from. The lock's Release
 * is used when it is cached or still served (at the source URL or a `fetch.sources` archive root);
 * when the archive has moved on, its current Release must list the packages instead, else
 * LOCK_UNVERIFIED. A source whose URL differs from the spec's is LOCK_INVALID. Cost when recorded:
 * reading the apt configuration and keyrings (milliseconds); else one Release and the suite's
 * Packages indexes (from the cache after `imprint lock`; about a second to download bookworm's).
 */
export async function checkLockSigned(req: SignedCheckRequest): Promise<string[]> {
  if (req.packages.length === 0) return [];
  const sources = await lockSources(req, false);
  const groups = packagesBySource(req.lock, req.packages, req.lockFile, req.platform);
  const key = recordKey(req.arch, req.lock, sources, groups);
  const recorded = await readRecord(req.cacheDir, key);
  if (recorded !== undefined) return recorded.warnings ?? [];

  const parsed = await lockSources(req, true);
  const verified: Array<{ url: string; suite: string; release: string; pinned: boolean }> = [];
  // Every source serving the platform is read for every locked name: its own packages must be
  // there, and the others' newer versions count for which version `imprint lock` would choose.
  const seen: PackageRecord[] = [];
  let allPinned = true;
  // Every source's Release and indexes are fetched at once (a cold build waits for the last of them);
  // the results are then taken in source order, so the checks and the first error do not depend on
  // which download ended first.
  const opened = await mapLimit(parsed, Math.max(1, parsed.length), async (source, index) => {
    const packages = groups.get(index);
    const restrict = req.loaded.spec.sources[source.sourceIndex]?.architectures;
    if (packages === undefined && restrict !== undefined && !restrict.includes(req.arch)) return undefined;
    const { archive, pinned } = await openLocked(req, source, index);
    if (
      packages === undefined &&
      archive.release.architectures.length > 0 &&
      !archive.release.architectures.includes(req.arch)
    )
      return undefined;
    const lists = await indexLists(archive, req.arch, req.packages);
    return { source, packages, archive, pinned, lists, index };
  });
  for (const o of opened) {
    if (o === undefined) continue;
    const { source, packages, archive, pinned, lists, index } = o;
    if (pinned) checkReleaseDate(req, archive, index);
    for (const p of packages ?? []) checkPackage(req, archive, lists, p, pinned);
    for (const list of lists.values()) seen.push(...list);
    allPinned &&= pinned;
    verified.push({ url: source.url, suite: source.suite, release: archive.releaseSha256, pinned });
  }
  // Signed is not enough: an older version the archive still lists (a downgrade) is signed too. Over
  // the pinned Releases' records of the locked names, the spec must resolve to the locked versions.
  // (Against a newer Release the archive moved on, and with a base image the resolution needs the
  // base's packages: then membership is what is checked.)
  if (allPinned && req.loaded.spec.base === undefined) checkChosen(req, seen);
  const moved = verified.filter((v) => !v.pinned).map((v) => `${v.url} ${v.suite}`);
  const warnings =
    moved.length === 0
      ? []
      : [
          `${req.lockFile} (${req.platform}): ${moved.join(', ')} no longer serve${moved.length === 1 ? 's' : ''} the Release the lock pins, so the locked packages were checked against the current Releases (which still list them), and not for downgrades; add a snapshot of the archive at the lock's date to fetch.sources (<snapshot URL>/{filename}) for the full check`,
        ];
  await writeRecord(req.cacheDir, key, {
    warnings,
    platform: req.platform,
    packages: req.packages.length,
    sources: verified,
  });
  return warnings;
}

/**
 * Records a platform of a lock `imprint lock` has just made as checked: its packages come from the
 * verified indexes of exactly the Releases it pins, so the build that follows needs no check.
 * `sources` are the archive sources the lock's `sources` were opened from, in the same order.
 */
export async function recordLockSigned(args: {
  cacheDir: string;
  lock: LockFile;
  lockFile: string;
  platform: string;
  arch: string;
  sources: readonly ArchiveSource[];
}): Promise<void> {
  const packages = args.lock.platforms[args.platform] ?? [];
  if (packages.length === 0) return;
  const groups = packagesBySource(args.lock, packages, args.lockFile, args.platform);
  const key = recordKey(args.arch, args.lock, args.sources, groups);
  await writeRecord(args.cacheDir, key, { platform: args.platform, packages: packages.length, locked: true });
}

/** The platform's packages grouped by the index of their lock source (a missing `repo`: the only source). */
function packagesBySource(
  lock: LockFile,
  packages: readonly LockPackage[],
  lockFile: string,
  platform: string,
): Map<number, LockPackage[]> {
  const groups = new Map<number, LockPackage[]>();
  for (const p of packages) {
    const index = p.repo ?? (lock.sources.length === 1 ? 0 : -1);
    if (lock.sources[index] === undefined) {
      throw new ImprintError(
        'LOCK_INVALID',
        `${lockFile}: ${p.name} ${p.version} (${platform}) names source ${p.repo ?? '(none)'}, which the lock does not list`,
        {
          hint: 'Run `imprint lock` to resolve the spec again.',
          details: { file: lockFile, package: p.name, platform },
        },
      );
    }
    const list = groups.get(index) ?? [];
    list.push(p);
    groups.set(index, list);
  }
  return new Map([...groups].sort((a, b) => a[0] - b[0]));
}

/**
 * The source opened at the Release the lock pins (cached, or served by the source or a mirror
 * root), else at its current Release (`pinned: false`) when the archive no longer serves the pinned one.
 */
async function openLocked(
  req: SignedCheckRequest,
  source: ArchiveSource,
  index: number,
): Promise<{ archive: Archive; pinned: boolean }> {
  const { openArchive } = await import('../debian/archive.js');
  const locked = req.lock.sources[index];
  const opts = {
    cacheDir: req.cacheDir,
    fetcher: req.offline === true ? offlineFetcher() : await fetcherOf(req),
    offline: req.offline === true,
    now: req.now,
    signal: req.signal,
  };
  try {
    try {
      const archive = await openArchive(source, {
        ...opts,
        releaseSha256: locked?.release.sha256,
        pinned: true,
        mirrors: archiveRoots(req.templates, source.url),
      });
      return { archive, pinned: true };
    } catch (err) {
      if (!isImprintError(err, 'RELEASE_CHANGED')) throw err;
      // The current Release only shows the locked packages are signed: its Date and Valid-Until
      // are not judged by this machine's clock, so a build with a lock does not depend on it.
      return { archive: await openArchive(source, { ...opts, checkDates: false }), pinned: false };
    }
  } catch (err) {
    throw explainOffline(namingLockSource(err, req, index), req);
  }
}

/** A network failure reaching a lock source, naming the lock's `sources[i]` (its URL is the lock's). */
function namingLockSource(err: unknown, req: SignedCheckRequest, index: number): unknown {
  if (!isImprintError(err, 'NETWORK') && !isImprintError(err, 'HTTP_STATUS')) return err;
  const s = req.lock.sources[index];
  return new ImprintError(
    err.code,
    `${req.lockFile}: sources[${index}] (${s?.url} ${s?.suite}): ${err.message}`,
    {
      hint:
        err.hint ??
        "The lock's archive cannot be reached from here: check the network or proxy, or add a mirror of it to fetch.sources (<mirror URL>/{filename}).",
      cause: err,
      details: { ...err.details, file: req.lockFile, field: `sources[${index}].url` },
    },
  );
}

async function fetcherOf(req: SignedCheckRequest): Promise<Fetcher> {
  if (req.fetcher !== undefined) return req.fetcher();
  const { createFetcher } = await import('../net/index.js');
  return createFetcher();
}

/** Offline, openArchive makes no request; a fetcher that says so if it ever did. */
function offlineFetcher(): Fetcher {
  const refuse = (): never => {
    throw new ImprintError('OFFLINE', 'offline: no request may be made');
  };
  return { get: refuse, getBytes: refuse } as unknown as Fetcher;
}

function explainOffline(err: unknown, req: SignedCheckRequest): unknown {
  if (!isImprintError(err, 'OFFLINE')) return err;
  return new ImprintError(
    'OFFLINE',
    `${req.lockFile}: offline, and the signed archive metadata its packages for ${req.platform} were locked from is not cached, so they cannot be checked: ${err.message}`,
    {
      hint: 'Build once with the network (or run `imprint lock --check`) with this cache directory.',
      cause: err,
      details: { ...err.details, file: req.lockFile, platform: req.platform },
    },
  );
}

/** Per name, the records of the indexes the packages can be in (the platform's and `all`'s, every component). */
async function indexLists(
  archive: Archive,
  arch: string,
  packages: readonly LockPackage[],
): Promise<Map<string, PackageRecord[]>> {
  const { release, source } = archive;
  const archs = [arch];
  // As `imprint lock` reads them (a cold build of examples/python skips bookworm's 5.7 MB `all` index).
  if (packages.some((p) => p.architecture === 'all') && hasOwnAllIndex(release)) archs.push('all');
  const wanted = new Set(packages.map((p) => p.name));
  const byName = new Map<string, PackageRecord[]>();
  const jobs = source.components.flatMap((component) => archs.map((a) => ({ component, a })));
  const lists = await mapLimit(jobs, Math.max(1, jobs.length), ({ component, a }) =>
    archive.lookup(a, component, wanted).catch((err: unknown) => {
      // `all` is optional: where the Release lists it but keeps no index, the native one has them.
      if (a === 'all' && isImprintError(err, 'INDEX_NOT_FOUND')) return [];
      throw err;
    }),
  );
  for (const list of lists) {
    for (const r of list) {
      const same = byName.get(r.name);
      if (same === undefined) byName.set(r.name, [r]);
      else same.push(r);
    }
  }
  return byName;
}

/**
 * LOCK_INVALID unless resolving the spec over `records` (every version the pinned Releases list of
 * the locked names) chooses exactly the locked packages at the locked versions: what `imprint lock`
 * chose from them.
 */
function checkChosen(req: SignedCheckRequest, records: readonly PackageRecord[]): void {
  const spec = req.loaded.spec;
  let chosen: PackageRecord[];
  try {
    chosen = resolvePackages(new PackageUniverse(dedupe(records)), {
      names: spec.packages.map((p) => ({
        name: p.name,
        version: p.version,
        suite: p.suite,
        ...(p.dependencies === false ? { dependencies: false as const } : {}),
      })),
      arch: req.arch,
      includeEssential: false,
    }).packages;
  } catch (err) {
    throw lockInvalid(
      req,
      `the spec does not resolve over its packages as the archives signed them (${errorText(err)})`,
    );
  }
  const want = new Map(chosen.map((r) => [`${r.name}:${r.architecture}`, r]));
  // A package added to the lock by hand: installed, and (its layer cached) not caught by the
  // build's closure check, which runs only on an install.
  const extra = req.packages.filter((p) => !want.has(`${p.name}:${p.architecture}`));
  if (extra.length > 0)
    throw lockInvalid(
      req,
      `it lists ${extra.map((p) => `${p.name} ${p.version}`).join(', ')}, which the spec does not need`,
    );
  for (const p of req.packages) {
    const r = want.get(`${p.name}:${p.architecture}`);
    if (r === undefined || r.version === p.version) continue;
    throw lockInvalid(
      req,
      `${p.name} is locked at ${p.version}, but from the Releases the lock pins \`imprint lock\` chooses ${r.version} (${r.repo.suite})${compareVersions(p.version, r.version) < 0 ? ': a downgrade' : ''}`,
    );
  }
}

/** Records listed twice (a package in its native and in the `all` index of one suite) once. */
function dedupe(records: readonly PackageRecord[]): PackageRecord[] {
  const seen = new Set<string>();
  return records.filter((r) => {
    const k = `${r.repo.sourceIndex} ${r.repo.url} ${r.repo.suite} ${r.name} ${r.architecture} ${r.version} ${r.sha256}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function lockInvalid(req: SignedCheckRequest, why: string): ImprintError {
  return new ImprintError(
    'LOCK_INVALID',
    `${req.lockFile} (${req.platform}): ${why}. The lock was edited or is damaged`,
    {
      hint: 'Review the change to the lock; run `imprint lock` to resolve the spec again from the signed metadata.',
      details: { file: req.lockFile, platform: req.platform },
    },
  );
}

/**
 * LOCK_INVALID unless the lock's `release.date` of source `index` is the pinned Release's `Date`,
 * verbatim as `imprint lock` wrote it: a reviewer (and the snapshot hint) go by that date.
 */
function checkReleaseDate(req: SignedCheckRequest, archive: Archive, index: number): void {
  const locked = req.lock.sources[index]?.release.date;
  const signed = archive.release.paragraph.get('Date')?.trim();
  if (locked === signed) return;
  throw new ImprintError(
    'LOCK_INVALID',
    `${req.lockFile}: sources[${index}].release.date is ${JSON.stringify(locked)}, but the Release it pins (sha256 ${archive.releaseSha256}) is dated ${JSON.stringify(signed ?? '')}: the lock was edited or is damaged`,
    {
      hint: 'Review the change to the lock; run `imprint lock` to resolve the spec again from the signed metadata.',
      details: { file: req.lockFile, field: `sources[${index}].release.date` },
    },
  );
}

/** LOCK_INVALID (or LOCK_UNVERIFIED, against a newer Release) unless the index lists `p` exactly. */
function checkPackage(
  req: SignedCheckRequest,
  archive: Archive,
  lists: ReadonlyMap<string, readonly PackageRecord[]>,
  p: LockPackage,
  pinned: boolean,
): void {
  const candidates = lists.get(p.name) ?? [];
  const sameVersion = candidates.filter((r) => r.version === p.version && r.architecture === p.architecture);
  const match = sameVersion.find(
    (r) => r.sha256 === p.sha256 && r.size === p.size && r.filename === p.filename,
  );
  if (match !== undefined && (p.architecture === req.arch || p.architecture === 'all')) return;
  const where = `${archive.source.url} ${archive.source.suite} (Release sha256 ${archive.releaseSha256})`;
  const what = `${p.name} ${p.version} ${p.architecture}`;
  const found =
    p.architecture !== req.arch && p.architecture !== 'all'
      ? `its architecture is neither ${req.arch} nor all`
      : sameVersion.length > 0
        ? `the signed index lists it as ${sameVersion.map((r) => `${r.filename}, ${r.size} bytes, sha256 ${r.sha256}`).join('; ')}, not ${p.filename}, ${p.size} bytes, sha256 ${p.sha256}`
        : candidates.length > 0
          ? `the signed index has only ${candidates.map((r) => `${r.version} ${r.architecture}`).join(', ')}`
          : 'the signed index does not list it';
  const details = {
    file: req.lockFile,
    platform: req.platform,
    package: p.name,
    url: archive.source.url,
    suite: archive.source.suite,
  };
  if (!pinned) {
    throw new ImprintError(
      'LOCK_UNVERIFIED',
      `${req.lockFile}: cannot check ${what} (${req.platform}) against signed metadata: the Release the lock pins is neither cached nor served any more, and the current one of ${where} does not list it as locked (${found})`,
      {
        hint: "Add a snapshot of the archive at the lock's date to `fetch.sources` as an archive root (`<snapshot URL>/{filename}`), build with the cache that made the lock, or relock with `imprint lock`.",
        details,
      },
    );
  }
  throw new ImprintError(
    'LOCK_INVALID',
    `${req.lockFile}: ${what} (${req.platform}) is not what ${where} signed: ${found}. The lock was edited or is damaged`,
    {
      hint: 'Review the change to the lock; run `imprint lock` to resolve the spec again from the signed metadata.',
      details,
    },
  );
}

/**
 * Whether `all` packages have an index of their own to read beside the native ones: the Release
 * lists `all` and does not say the native indexes carry those packages (Debian's
 * `No-Support-for-Architecture-all: Packages`). `imprint lock` and its signed check read the same (here, not in
 * debian/release.ts, which loads OpenPGP: a warm build loads this module, never OpenPGP).
 */
export function hasOwnAllIndex(
  release: Pick<ReleaseInfo, 'architectures' | 'noSupportForArchitectureAll'>,
): boolean {
  return release.architectures.includes('all') && !release.noSupportForArchitectureAll;
}
