// Installs .deb packages into the in-memory tree without running maintainer scripts (see INSTALL.md).
import { availableParallelism } from 'node:os';
import type { Readable } from 'node:stream';
import { loadLiblzma } from '../compress/xz-liblzma.js';
import { findXzTool } from '../compress/xz-native.js';
import { ImprintError } from '../errors.js';
import { holdHeapGrowthFor } from '../heap-growth.js';
import { largestFirst } from '../net/concurrency.js';
import type { ContentOpener } from '../vfs/node.js';
import { sortBytes } from '../vfs/path.js';
import type { FileTree } from '../vfs/tree.js';
import type { DebLimits } from './deb.js';
import { type Deb822Paragraph, parseDeb822 } from './deb822.js';
import { type AlternativeRegistration, alternativeRegistrations } from './effects/alternatives.js';
import { parseAlternativeInstalls } from './effects/alternatives-parse.js';
import {
  type AppliedEffect,
  applyEffects,
  type EffectOptions,
  type InstalledInfo,
  removeNondeterministic,
} from './effects/index.js';
import type { PackageIdentity } from './install-conflicts.js';
import type { BodyTaker, ExtractedDeb } from './install-extract.js';
import { controlIdentity, PackagePlacement, type PlacementContext } from './install-place.js';
import { ContentSpool, type SpoolOptions, type SpoolStats } from './install-spool.js';
import { statusEntryName, writeStatusEntry } from './install-status.js';
import { MERGED_USR_ORIGIN, setupMergedUsr } from './install-usrmerge.js';
import { type ExtractJob, type Extractor, inlineExtractor, WorkerExtractor } from './install-workers.js';
import type { PackageRecord } from './packages-index.js';

/**
 * What the installer needs of a lock/index record (a full PackageRecord fits). Replaces, Provides and
 * Multi-Arch are read from the .deb's own control file; record fields of those names are ignored.
 */
export type InstallRecord = Pick<PackageRecord, 'name' | 'version' | 'architecture'> &
  Partial<Pick<PackageRecord, 'size' | 'filename' | 'multiArch' | 'replaces' | 'provides'>>;

/** One package to install: its record and a function opening its (verified) .deb stream. */
export interface InstallInput {
  record: InstallRecord;
  open: () => Promise<Readable> | Readable;
}

export interface InstallOptions {
  /** SOURCE_DATE_EPOCH: package mtimes above it are clamped to it; created nodes get it. */
  epoch: number;
  /** The image's dpkg architecture (amd64, arm64, ...). */
  arch: string;
  /** Directory for spooled file bodies (content-addressed; may be shared between builds). */
  spoolDir: string;
  /** Only the merged-/usr layout is supported (bookworm and later). */
  mergedUsr: true;
  /** Options of the effects (time zone, ...), or false to unpack only (no effects). */
  effects?: EffectOptions | false;
  /** Apply the removal list (effects/remove.ts) at the end; default true. */
  removeNondeterministic?: boolean;
  /**
   * Where file bodies are captured: a ContentSpool the caller owns (and may share between the
   * platforms of one build), or options for one the installer creates (returned in the result).
   */
  spool?: ContentSpool | SpoolOptions;
  limits?: DebLimits;
  /**
   * Worker threads extracting .deb files in parallel; 0 extracts in the calling thread (3 at a time).
   * Default: 0 when the host has xz (it decodes in child processes) or for a single package or CPU,
   * else the number of CPUs, at most 4 (the WebAssembly decoder runs in the extracting thread).
   */
  workers?: number;
  /**
   * Told of every file body as soon as its package is unpacked (before placement), so work on large
   * bodies can start early: the gzip layer writer's GzipBodyCache.
   */
  bodies?: BodyTaker & { offer(sha256: string, size: number, open: ContentOpener): void };
}

/** A package as installed. */
export interface InstalledPackage {
  name: string;
  version: string;
  architecture: string;
  multiArch: string;
  /** Its file name in /var/lib/dpkg/status.d (also the origin of its nodes). */
  statusEntry: string;
  /** Keys it wrote or shares (data.tar entries, status.d files, effect outputs), sorted bytewise. */
  paths: string[];
  /** Non-directory entries placed, and the bytes of its regular files. */
  files: number;
  bytes: number;
}

export interface InstallResult {
  /** In install order. */
  packages: InstalledPackage[];
  /** Every tree key's origin at the end (a package's status entry name, 'merged-usr', ...). */
  origins: Map<string, string>;
  effects: AppliedEffect[];
  /** Keys the removal list deleted or emptied. */
  removed: string[];
  stats: SpoolStats & { entries: number };
  /** The spool holding the file bodies the tree's openers read: close it after the layers are written. */
  spool: ContentSpool;
  /** What the install could not reproduce and the user should know (one line each, naming the package). */
  warnings: string[];
}

/**
 * Unpacks `debs` into `tree` in the given (lock) order: merged-/usr links first, every path
 * canonicalised through them, mtimes clamped to the epoch, modes/owners as in data.tar, file bodies
 * spooled (see ContentSpool); conflicts resolved by dpkg's Replaces rules (FILE_CONFLICT otherwise);
 * a `status.d` entry per package; then the effect rules and the removal list. Packages are read and
 * decompressed in parallel (`workers`) but placed strictly in order, so the tree, and the first error
 * reported, do not depend on timing. A package that fails leaves nothing in the tree.
 * Cost: one streaming read of every .deb; memory: metadata of the entries.
 */
export async function installPackages(
  tree: FileTree,
  debs: readonly InstallInput[],
  opts: InstallOptions,
): Promise<InstallResult> {
  if (opts.mergedUsr !== true)
    throw new ImprintError('UNSUPPORTED', 'only the merged-/usr layout is supported');
  if (opts.spool instanceof ContentSpool) return install(tree, debs, opts, opts.spool, {});
  const spoolOptions = opts.spool ?? {};
  const spool = new ContentSpool(opts.spoolDir, spoolOptions);
  try {
    return await install(tree, debs, opts, spool, spoolOptions);
  } catch (err) {
    await spool.close(); // nothing refers to its content once the install failed
    throw err;
  }
}

async function install(
  tree: FileTree,
  debs: readonly InstallInput[],
  opts: InstallOptions,
  spool: ContentSpool,
  spoolOptions: SpoolOptions,
): Promise<InstallResult> {
  const ctx: PlacementContext = {
    tree,
    epoch: opts.epoch,
    spool,
    owners: new Map<string, PackageIdentity>(),
    sha256ByKey: new Map(),
  };
  const owners = ctx.owners as Map<string, PackageIdentity>;
  const shipped = new Set<string>();
  const pathsByOrigin = new Map<string, Set<string>>();
  const track = (origin: string, key: string): void => {
    const set = pathsByOrigin.get(origin) ?? new Set<string>();
    pathsByOrigin.set(origin, set);
    set.add(key);
  };
  const origins = debs.map((d) => statusEntryName(d.record.name, d.record.architecture, opts.arch));
  const dup = origins.find((o, i) => origins.indexOf(o) !== i);
  if (dup !== undefined)
    throw new ImprintError('PACKAGE_CONFLICT', `${dup} is listed twice in the install list`, {
      details: { package: dup },
    });
  const withRtld = debs.some((d) => d.record.name === 'libc6' && d.record.architecture === opts.arch);
  for (const key of setupMergedUsr(tree, opts.arch, opts.epoch, withRtld)) track(MERGED_USR_ORIGIN, key);

  // Before anything is read: V8 applies a growth limit from its next full collection on.
  holdHeapGrowthFor(debs.reduce((sum, d) => sum + (d.record.size ?? 0), 0));
  const workers = opts.workers ?? defaultWorkers(debs.length);
  const extractor: Extractor =
    workers > 0 ? new WorkerExtractor(workers, spool, spoolOptions) : inlineExtractor(spool);
  const jobs: ExtractJob[] = debs.map((d) => ({
    open: d.open,
    what: debFileName(d.record),
    ...(d.record.size === undefined ? {} : { size: d.record.size }),
    ...(opts.limits ? { limits: opts.limits } : {}),
  }));
  const extracted = orderedRuns(
    jobs,
    workers > 0 ? workers : INLINE_CONCURRENCY,
    (job) =>
      extractor.extract(workers > 0 ? job : { ...job, bodies: opts.bodies }).then((manifest) => {
        // Worker threads cannot feed the cache as they read: their large bodies are offered after.
        if (opts.bodies !== undefined && workers > 0) offerBodies(opts.bodies, manifest, spool, job.what);
        return manifest;
      }),
    // Largest first (lock order among equals): the long unpacks start first, so no large package
    // is left unpacking alone at the end (in examples/python, python3.11-minimal is the 43rd of 45).
    // They are still placed in lock order: a scheduling choice only, the image is the same.
    largestFirst(jobs),
  );
  const installed: InstalledPackage[] = [];
  const alternatives = new Map<string, AlternativeRegistration[]>();
  /** Per package: update-alternatives --install calls of its postinst that could not be evaluated. */
  const unreproduced = new Map<string, number>();
  const postinsts = new Map<string, string>();
  const preinsts = new Map<string, string>();
  const depends = new Map<string, string[]>();
  let entries = 0;
  const stats: SpoolStats = {
    packedFiles: 0,
    packedBytes: 0,
    spooledFiles: 0,
    spooledBytes: 0,
    duplicateFiles: 0,
  };
  try {
    for (const [i, deb] of debs.entries()) {
      const rec = deb.record;
      const origin = origins[i] as string;
      const what = (jobs[i] as ExtractJob).what;
      const manifest: ExtractedDeb = await extracted.result(i);
      const control = parseControl(manifest.control, what);
      const identity = controlIdentity(control, rec, what);
      depends.set(origin, dependedNames(control));
      owners.set(origin, identity);
      const placement = new PackagePlacement(ctx, identity, origin, what);
      try {
        placement.place(manifest.entries);
      } catch (err) {
        placement.rollback();
        owners.delete(origin);
        throw err;
      }
      entries += manifest.entries.length;
      for (const k of Object.keys(stats) as Array<keyof SpoolStats>) stats[k] += manifest.stats[k];
      for (const key of placement.touched) track(origin, key);
      for (const key of placement.files) shipped.add(key);
      for (const key of writeStatusEntry(tree, origin, control, manifest.md5sums, opts.epoch, origin))
        track(origin, key);
      installed.push({
        name: rec.name,
        version: rec.version,
        architecture: rec.architecture,
        multiArch: identity.multiArch,
        statusEntry: origin,
        paths: [],
        files: placement.files.size,
        bytes: manifest.bytes,
      });
      if (manifest.preinst !== undefined) preinsts.set(origin, manifest.preinst);
      if (manifest.postinst !== undefined) {
        postinsts.set(origin, manifest.postinst);
        const parsed = parseAlternativeInstalls(manifest.postinst, rec.name);
        alternatives.set(origin, parsed.registrations);
        if (parsed.skipped > 0) unreproduced.set(rec.name, parsed.skipped);
      }
    }
  } finally {
    extracted.stop();
    await extractor.close();
  }

  let effects: AppliedEffect[] = [];
  const effectWarnings: string[] = [];
  if (opts.effects !== false) {
    const infos = new Map<string, InstalledInfo>();
    for (const p of installed)
      infos.set(p.statusEntry, {
        name: p.name,
        version: p.version,
        architecture: p.architecture,
        multiArch: p.multiArch,
        alternatives: alternatives.get(p.statusEntry) ?? [],
        ...(postinsts.has(p.statusEntry) ? { postinst: postinsts.get(p.statusEntry) } : {}),
        ...(preinsts.has(p.statusEntry) ? { preinst: preinsts.get(p.statusEntry) } : {}),
        depends: depends.get(p.statusEntry) ?? [],
      });
    effects = await applyEffects({
      tree,
      epoch: opts.epoch,
      arch: opts.arch,
      installed: infos,
      options: opts.effects ?? {},
      warnings: effectWarnings,
    });
    for (const e of effects) for (const key of e.paths) track(e.origin, key);
  }
  const removed =
    opts.removeNondeterministic === false
      ? []
      : removeNondeterministic(tree, { mtime: opts.epoch, isShipped: (k) => shipped.has(k) });

  const originOf = new Map<string, string>();
  for (const key of sortBytes([...tree.keys()])) originOf.set(key, tree.get(key)?.origin ?? '');
  for (const p of installed)
    p.paths = sortBytes(
      [...(pathsByOrigin.get(p.statusEntry) ?? [])].filter((k) => tree.get(k) !== undefined),
    );
  return {
    packages: installed,
    origins: originOf,
    effects,
    removed,
    stats: { ...stats, entries },
    spool,
    warnings:
      opts.effects === false ? [] : [...alternativeWarnings(unreproduced, opts.arch), ...effectWarnings],
  };
}

/**
 * A line per package (not in the alternatives table) whose postinst has update-alternatives calls that
 * need the running script (computed paths, positional parameters): their links are missing.
 */
function alternativeWarnings(unreproduced: Map<string, number>, arch: string): string[] {
  const table = new Set(alternativeRegistrations(arch).map((r) => r.package));
  return [...unreproduced]
    .filter(([name]) => !table.has(name))
    .map(
      ([name, n]) =>
        `${name}: ${n === 1 ? 'an update-alternatives call' : `${n} update-alternatives calls`} in its postinst ${n === 1 ? 'uses' : 'use'} values known only when the script runs; ${n === 1 ? 'its link is' : 'their links are'} not made (add them with files, or see src/debian/effects/README.md to extend the alternatives table)`,
    );
}

/** Hands every file body of an unpacked package to `bodies`. */
function offerBodies(
  bodies: NonNullable<InstallOptions['bodies']>,
  manifest: ExtractedDeb,
  spool: ContentSpool,
  what: string,
): void {
  for (const e of manifest.entries)
    if (e.content !== undefined && e.content.size >= bodies.minSize)
      bodies.offer(e.content.sha256, e.content.size, spool.opener(e.content, `${what}: ${e.path}`));
}

/** .deb files extracted at once in the calling thread: their decoders (xz processes, zlib) run meanwhile. */
const INLINE_CONCURRENCY = 3;

/**
 * Worker threads by default: none when the host's liblzma or xz decodes (the thread only parses tar
 * and copies bodies, which costs less than starting workers and posting the .debs to them) or for one
 * package or one CPU; else one per CPU, at most 4, for the WebAssembly decoder.
 */
function defaultWorkers(packages: number): number {
  const cpus = availableParallelism();
  if (packages <= 1 || cpus <= 1 || loadLiblzma() !== undefined || findXzTool() !== undefined) return 0;
  return Math.min(4, cpus);
}

/** The .deb's file name for messages: the record's filename, else name_version_arch.deb. */
function debFileName(rec: InstallRecord): string {
  const base = rec.filename?.slice(rec.filename.lastIndexOf('/') + 1);
  return base !== undefined && base !== '' ? base : `${rec.name}_${rec.version}_${rec.architecture}.deb`;
}

/** The package names a control paragraph's Pre-Depends and Depends name (every alternative, no versions). */
function dependedNames(control: Deb822Paragraph): string[] {
  const text = `${control.get('Pre-Depends') ?? ''},${control.get('Depends') ?? ''}`;
  return text
    .split(/[,|]/)
    .map((r) => /^\s*([a-z0-9][a-z0-9+.-]*)/.exec(r)?.[1])
    .filter((n): n is string => n !== undefined);
}

function parseControl(text: string, what: string) {
  const [paragraph] = parseDeb822(text, `${what}: control`);
  if (paragraph === undefined)
    throw new ImprintError('DEB_INVALID', `${what}: empty control file`, { details: { archive: what } });
  return paragraph;
}

/**
 * Runs `fn` over `items` with at most `limit` running at once, started in the order of `start` (item
 * indexes; default: in order); `result(i)` waits for item i. `stop()` starts no more. Rejections are
 * observed, so an unawaited failure is not unhandled.
 */
export function orderedRuns<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
  start: readonly number[] = items.map((_, i) => i),
): { result(i: number): Promise<R>; stop(): void } {
  const deferred = items.map(() => {
    let resolve!: (r: R) => void;
    let reject!: (e: unknown) => void;
    const promise = new Promise<R>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    promise.catch(() => {});
    return { promise, resolve, reject };
  });
  let next = 0;
  let running = 0;
  let stopped = false;
  const kick = (): void => {
    while (!stopped && running < limit && next < start.length) {
      const i = start[next++] as number;
      const d = deferred[i] as (typeof deferred)[number];
      running++;
      fn(items[i] as T)
        .then(d.resolve, d.reject)
        .finally(() => {
          running--;
          kick();
        });
    }
  };
  kick();
  return {
    result: (i) => (deferred[i] as (typeof deferred)[number]).promise,
    stop: () => {
      stopped = true;
    },
  };
}
