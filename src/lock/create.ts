import type { BaseBlobs } from '../base/source.js';
import { type Archive, type ArchiveSource, openArchive } from '../debian/archive.js';
import { releaseHasComponent } from '../debian/archive-index.js';
import type { PackageRecord } from '../debian/packages-index.js';
import { dpkgArch, type InstalledPackage, PackageUniverse, resolvePackages } from '../debian/resolve.js';
import { resolveSourceSpec } from '../debian/sources.js';
import { ImprintError, isImprintError } from '../errors.js';
import { createFetcher, type Fetcher, mapLimit } from '../net/index.js';
import { formatPlatform } from '../oci/platform.js';
import { type LoadedSpec, type Spec, specField } from '../spec/index.js';
import { nearest } from '../spec/suggest.js';
import type { RegistryOptions } from '../transport/registry/index.js';
import { lockPath, specLockHash } from './fresh.js';
import { hasOwnAllIndex, recordLockSigned } from './signed.js';
import { LOCK_VERSION, type LockBase, type LockFile, type LockPackage, type LockSource } from './types.js';

export { loadFreshLock, lockPath, lockSpecInput, specLockHash } from './fresh.js';

/** What `createLock` resolves. */
export interface LockRequest {
  loaded: LoadedSpec;
  /** Root of the content-addressed cache (a BlobStore root); Release and Packages files are cached there. */
  cacheDir: string;
  /** How URLs are read (default: createFetcher()). */
  fetcher?: Fetcher;
  /** Make no network request: cached metadata only, else OFFLINE. */
  offline?: boolean;
  /** The caller's clock, for key validity and Valid-Until; never read here. */
  now: Date;
  /** Host root for apt sources and the default keyring (default '/'; tests point it at a fixture). */
  aptRoot?: string;
  signal?: AbortSignal;
  /** How a registry base image is reached (credentials, TLS). */
  registry?: RegistryOptions;
}

/** A resolved lock and what the caller should be told about it. */
export interface LockResult {
  lock: LockFile;
  /** Things that did not stop the lock (e.g. a source without an index for a platform's architecture). */
  warnings: string[];
}

/** How many Release/Packages files are opened at once. */
const METADATA_CONCURRENCY = 4;

/**
 * Resolves a spec into a lock: opens every suite of every source (verified InRelease, cached by
 * hash), then per platform builds the package universe from the native (and, where the archive
 * keeps them apart, `all`) Packages indexes of every source and component, and resolves the
 * requested packages. Same metadata and spec give the same lock, byte for byte. Cost: one Release
 * download per suite; Packages indexes download once and are then read from the cache (bookworm's
 * main index: ~0.1 s and ~60 MB per platform warm, its records parsed only when resolution reads
 * them; platforms go one at a time).
 */
export async function createLock(req: LockRequest): Promise<LockResult> {
  const { spec, dir } = req.loaded;
  const fetcher = req.fetcher ?? createFetcher();
  const warnings: string[] = [];
  if (spec.packages.length > 0 && spec.sources.length === 0) {
    throw new ImprintError('SPEC_INVALID', `${req.loaded.file}: packages are listed, but no sources`, {
      hint: 'Add a `sources` entry (suites, and a url unless the host has an apt source for the suite).',
      details: { file: req.loaded.file },
    });
  }

  const archiveSources: ArchiveSource[] = [];
  for (const [i, s] of spec.sources.entries()) {
    try {
      archiveSources.push(
        ...(await resolveSourceSpec(s, { sourceIndex: i, baseDir: dir, root: req.aptRoot ?? '/' })),
      );
    } catch (err) {
      throw namingSpecSource(err, req.loaded, i);
    }
  }
  refuseDuplicateSources(archiveSources, req.loaded);
  const base = {
    cacheDir: req.cacheDir,
    fetcher,
    offline: req.offline === true,
    now: req.now,
    signal: req.signal,
  };
  const opened = await mapLimit(archiveSources, METADATA_CONCURRENCY, (src) =>
    openArchive(src, base).catch((err: unknown) => {
      throw atSpecSource(err, req.loaded, src.sourceIndex);
    }),
  );
  for (const a of opened) refuseMissingComponents(a, req.loaded);
  refuseSameRelease(opened, req.loaded);
  const sources: LockSource[] = opened.map((a) => ({
    url: a.source.url,
    suite: a.source.suite,
    components: [...a.source.components],
    release: { sha256: a.releaseSha256, date: releaseDate(a) },
  }));

  // With a base image, its installed packages satisfy dependencies (only what it lacks is locked).
  const blobs = spec.base === undefined ? undefined : await baseBlobs(req, spec.base);
  const baseImage = blobs === undefined ? undefined : await lockBase(req, blobs);
  const names = spec.packages.map((p) => ({
    name: p.name,
    version: p.version,
    suite: p.suite,
    ...(p.dependencies === false ? { dependencies: false as const } : {}),
  }));
  const platforms: Record<string, LockPackage[]> = {};
  for (const platform of spec.platforms) {
    const key = formatPlatform(platform);
    const arch = dpkgArch(platform);
    if (names.length === 0) {
      platforms[key] = [];
      continue;
    }
    // A fresh Archive per platform (the Release verified above, nothing memoized) lets the previous
    // platform's indexes be collected: only one platform's records are held at a time.
    const archives = opened.map((a) => a.fresh());
    const records = await platformRecords(archives, arch, key, spec, warnings);
    const installed =
      blobs === undefined || baseImage === undefined ? undefined : await baseInstalled(blobs, baseImage, key);
    let resolution: ReturnType<typeof resolvePackages>;
    try {
      resolution = resolvePackages(new PackageUniverse(records), {
        names,
        arch,
        includeEssential: false,
        installed,
      });
    } catch (err) {
      throw namingSpecPackage(err, req.loaded, key);
    }
    platforms[key] = resolution.packages.map((r) => lockPackage(r, sourceIndexOf(r, opened)));
  }
  const lock: LockFile = {
    version: LOCK_VERSION,
    specHash: specLockHash(spec),
    sources,
    platforms,
    ...(baseImage === undefined ? {} : { base: baseImage }),
  };
  // Every package came from the verified indexes of the Releases the lock pins: the build that
  // follows need not check them again.
  for (const platform of spec.platforms) {
    await recordLockSigned({
      cacheDir: req.cacheDir,
      lock,
      lockFile: lockPath(req.loaded),
      platform: formatPlatform(platform),
      arch: dpkgArch(platform),
      sources: opened.map((a) => a.source),
    });
  }
  return { lock, warnings };
}

/**
 * SPEC_INVALID when two spec sources resolve to the same suite of the same archive (the spec's
 * schema refuses the duplicates it can see; this finds an entry without `url` that this host's apt
 * source resolves to the URL another entry names).
 */
function refuseDuplicateSources(sources: readonly ArchiveSource[], loaded: LoadedSpec): void {
  sources.forEach((s, k) => {
    const first = sources.findIndex((o) => o.url === s.url && o.suite === s.suite);
    if (first === k) return;
    const other = sources[first] as ArchiveSource;
    throw new ImprintError(
      'SPEC_INVALID',
      `${specField(loaded, ['sources', s.sourceIndex])}: suite ${s.suite} of ${s.url} is also sources[${other.sourceIndex}] (${specField(loaded, ['sources', other.sourceIndex])}), through this host's apt source: one archive suite is one source`,
      {
        hint: 'List the suite in one entry of `sources`, with all the components it needs.',
        details: { file: loaded.file, field: `sources[${s.sourceIndex}]`, url: s.url, suite: s.suite },
      },
    );
  });
}

/**
 * SPEC_INVALID when two suites of one archive are one Release: a suite and its codename (`stable`
 * and `bookworm`), which the archive serves under both names.
 */
function refuseSameRelease(opened: readonly Archive[], loaded: LoadedSpec): void {
  opened.forEach((a, k) => {
    const first = opened.findIndex(
      (o) => o.source.url === a.source.url && o.releaseSha256 === a.releaseSha256,
    );
    if (first === k) return;
    const o = (opened[first] as Archive).source;
    const s = a.source;
    const j = loaded.spec.sources[s.sourceIndex]?.suites.indexOf(s.suite) ?? 0;
    throw new ImprintError(
      'SPEC_INVALID',
      `${specField(loaded, ['sources', s.sourceIndex, 'suites', j])}: suite ${s.suite} of ${s.url} is the Release of suite ${o.suite} (sources[${o.sourceIndex}]): Suite ${a.release.suite ?? '(none)'}, Codename ${a.release.codename ?? '(none)'}, sha256 ${a.releaseSha256}`,
      {
        hint: 'List one of the two names, once.',
        details: {
          file: loaded.file,
          field: `sources[${s.sourceIndex}].suites[${j}]`,
          url: s.url,
          suite: s.suite,
        },
      },
    );
  });
}

/** The spec's base image resolved to digests (its manifests and configs kept in the store). */
async function lockBase(req: LockRequest, blobs: BaseBlobs): Promise<LockBase> {
  const { resolveBase } = await import('../base/resolve.js');
  return resolveBase(blobs, req.loaded.spec.platforms);
}

/** The packages the locked base image of `platform` has installed (its layers fetched into the store). */
async function baseInstalled(
  blobs: BaseBlobs,
  base: LockBase,
  platform: string,
): Promise<InstalledPackage[]> {
  const image = base.platforms[platform];
  if (image === undefined) throw new ImprintError('INTERNAL', `the base was not resolved for ${platform}`);
  const [{ loadBaseImage }, { installedPackages }] = await Promise.all([
    import('../base/image.js'),
    import('../base/installed.js'),
  ]);
  return installedPackages(blobs, (await loadBaseImage(blobs, image)).layers);
}

// The base-image machinery loads only for specs with a base (most locks never need it).
async function baseBlobs(req: LockRequest, written: string): Promise<BaseBlobs> {
  const [{ parseBaseReference }, { BaseBlobs }, { BlobStore }] = await Promise.all([
    import('../base/reference.js'),
    import('../base/source.js'),
    import('../store/index.js'),
  ]);
  return new BaseBlobs(parseBaseReference(written, req.loaded.dir), new BlobStore(req.cacheDir), {
    offline: req.offline === true,
    field: specField(req.loaded, ['base']),
    ...(req.registry === undefined ? {} : { registry: req.registry }),
  });
}

/** The records of every index a platform sees, in spec order, duplicates (same .deb, same suite) dropped. */
async function platformRecords(
  archives: Archive[],
  arch: string,
  platform: string,
  spec: Spec,
  warnings: string[],
): Promise<PackageRecord[]> {
  const jobs: Array<{ archive: Archive; arch: string; component: string }> = [];
  let served = 0;
  for (const archive of archives) {
    const { release, source } = archive;
    const restrict = spec.sources[source.sourceIndex]?.architectures;
    const where = `${source.url} ${source.suite}`;
    if (restrict !== undefined && !restrict.includes(arch)) continue;
    if (release.architectures.length > 0 && !release.architectures.includes(arch)) {
      warnings.push(
        `${where} has no ${arch} packages (its Release lists ${release.architectures.join(', ')}); skipped for ${platform}`,
      );
      continue;
    }
    served++;
    const archs = [arch];
    if (hasOwnAllIndex(release) && (restrict === undefined || restrict.includes('all'))) {
      archs.push('all');
    }
    for (const component of source.components)
      for (const a of archs) jobs.push({ archive, arch: a, component });
  }
  if (served === 0 && archives.length > 0) {
    throw new ImprintError(
      'INDEX_NOT_FOUND',
      `no source serves architecture ${arch} (platform ${platform})`,
      {
        hint: 'Remove the platform, or add a source that has packages for it.',
        details: { platform, arch },
      },
    );
  }
  const lists = await mapLimit(jobs, METADATA_CONCURRENCY, (j) => j.archive.packages(j.arch, j.component));
  // Duplicates share a suite and a name: only records whose name repeats within a suite are compared
  // in full (reading a record's version or sha256 parses it; most records are never parsed).
  const suites = new Map<string, Map<string, PackageRecord | PackageRecord[]>>();
  const out: PackageRecord[] = [];
  for (const list of lists) {
    const first = list[0];
    if (first === undefined) continue;
    const suiteKey = `${first.repo.sourceIndex}\n${first.repo.url}\n${first.repo.suite}`;
    let byName = suites.get(suiteKey);
    if (byName === undefined) {
      byName = new Map();
      suites.set(suiteKey, byName);
    }
    for (const r of list) {
      const same = byName.get(r.name);
      if (same === undefined) byName.set(r.name, r);
      else if (!Array.isArray(same)) {
        if (isSameDeb(same, r)) continue;
        byName.set(r.name, [same, r]);
      } else if (same.some((o) => isSameDeb(o, r))) continue;
      else same.push(r);
      out.push(r);
    }
  }
  return out;
}

/** Same version, architecture and .deb (records of one suite and name). */
function isSameDeb(a: PackageRecord, b: PackageRecord): boolean {
  return a.version === b.version && a.architecture === b.architecture && a.sha256 === b.sha256;
}

/** Position in the lock's sources of the suite a record came from. */
function sourceIndexOf(r: PackageRecord, opened: Archive[]): number {
  const i = opened.findIndex(
    (a) =>
      a.source.sourceIndex === r.repo.sourceIndex &&
      a.source.url === r.repo.url &&
      a.source.suite === r.repo.suite,
  );
  if (i < 0)
    throw new ImprintError(
      'INTERNAL',
      `${r.name} ${r.version} comes from ${r.repo.url} ${r.repo.suite}, which is not an opened source`,
    );
  return i;
}

function lockPackage(r: PackageRecord, repo: number): LockPackage {
  return {
    name: r.name,
    version: r.version,
    architecture: r.architecture,
    source: r.source.version === r.version ? r.source.name : `${r.source.name} (${r.source.version})`,
    filename: r.filename,
    size: r.size,
    sha256: r.sha256,
    repo,
  };
}

/** The Release's `Date`, verbatim (RELEASE_INVALID without one: the lock records it). */
function releaseDate(a: Archive): string {
  const date = a.release.paragraph.get('Date')?.trim();
  if (date === undefined || date === '') {
    throw new ImprintError(
      'RELEASE_INVALID',
      `${a.source.url}/dists/${a.source.suite}: the Release has no Date field`,
      {
        hint: 'The lock records when the archive published its metadata; use an archive whose Release has a Date.',
        details: { url: a.source.url, suite: a.source.suite },
      },
    );
  }
  return date;
}

/**
 * INDEX_NOT_FOUND naming `sources[i].components[j]` (file and line) when the verified Release of an
 * archive lacks a component the spec lists (`mian`), with the nearest one it has.
 */
function refuseMissingComponents(archive: Archive, loaded: LoadedSpec): void {
  const { release, source } = archive;
  const j = source.components.findIndex((c) => !releaseHasComponent(release, c));
  if (j < 0) return;
  const component = source.components[j]!;
  const near = nearest(component, release.components);
  throw new ImprintError(
    'INDEX_NOT_FOUND',
    `${specField(loaded, ['sources', source.sourceIndex, 'components', j])}: ${source.url} ${source.suite} has no component ${component} (its Release lists ${release.components.join(', ')})`,
    {
      hint: near === undefined ? 'Fix `components` of the source.' : `Did you mean ${near}?`,
      details: { file: loaded.file, field: `sources[${source.sourceIndex}].components[${j}]`, component },
    },
  );
}

/** A source's error (no apt source for a suite, no keyring) with the spec file and `sources[i]` in front. */
function namingSpecSource(err: unknown, loaded: LoadedSpec, i: number): unknown {
  if (!isImprintError(err, 'APT_SOURCE_NOT_FOUND') && !isImprintError(err, 'KEYRING_NOT_FOUND')) return err;
  return atSpecSource(err, loaded, i);
}

/**
 * An error of the spec's `sources[i]` (its archive unreachable, its Release unsigned or stale, ...)
 * with the spec file, line and field in front; codes, hints and details kept.
 */
function atSpecSource(err: unknown, loaded: LoadedSpec, i: number): unknown {
  if (!isImprintError(err) || err.code === 'INTERNAL') return err;
  return new ImprintError(err.code, `${specField(loaded, ['sources', i])}: ${err.message}`, {
    ...(err.hint === undefined ? {} : { hint: err.hint }),
    cause: err,
    details: { ...err.details, file: loaded.file, field: `sources[${i}]` },
  });
}

/**
 * A resolver error about packages the spec names, with the spec file, their `packages[i]` and the
 * platform in front: PACKAGE_NOT_FOUND (the name), PACKAGE_CONFLICT and UNSATISFIABLE (the requested
 * packages their chains start from); other errors as they are.
 */
function namingSpecPackage(err: unknown, loaded: LoadedSpec, platform: string): unknown {
  if (
    !isImprintError(err, 'PACKAGE_NOT_FOUND') &&
    !isImprintError(err, 'PACKAGE_CONFLICT') &&
    !isImprintError(err, 'UNSATISFIABLE')
  )
    return err;
  const d = err.details as { name?: unknown; chain?: unknown; chains?: unknown };
  const chains = (Array.isArray(d.chains) ? d.chains : [d.chain]).filter(Array.isArray) as string[][];
  const names = err.code === 'PACKAGE_NOT_FOUND' ? [d.name] : chains.map((c) => c[0]);
  const fields = [
    ...new Set(
      names
        .map((n) => loaded.spec.packages.findIndex((p) => p.name === n))
        .filter((i) => i >= 0)
        .sort((a, b) => a - b),
    ),
  ];
  if (fields.length === 0) return err;
  const at = fields.map((i, n) => (n === 0 ? specField(loaded, ['packages', i]) : `packages[${i}]`));
  return new ImprintError(err.code, `${at.join(' and ')}: ${err.message} (${platform})`, {
    ...(err.hint === undefined ? {} : { hint: err.hint }),
    cause: err,
    details: {
      ...err.details,
      file: loaded.file,
      field: fields.map((i) => `packages[${i}]`).join(', '),
      platform,
    },
  });
}
