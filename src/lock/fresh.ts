// Whether a spec's lock is fresh: the light part of locking, which a build with a lock needs (no
// OpenPGP, resolver or downloader is loaded for it).
import { normalizeSourceUrl } from '../debian/source-url.js';
import type { Digest } from '../digest/index.js';
import { ImprintError, isImprintError } from '../errors.js';
import { formatPlatform } from '../oci/platform.js';
import type { LoadedSpec, Spec } from '../spec/index.js';
import { checkLock, lockPathFor, readLock } from './io.js';
import { type LockSpecInput, lockSpecHash } from './spec-hash.js';
import type { LockFile } from './types.js';

/** The lock file of a loaded spec, beside it (see lockPathFor). Pure. */
export function lockPath(loaded: LoadedSpec): string {
  return lockPathFor(loaded.file);
}

/**
 * The spec fields that decide resolution, as lockSpecHash hashes them. A source's `url` is hashed in
 * its canonical form (normalizeSourceUrl: `…/debian/` is `…/debian`), or with `asWritten` as the
 * spec spells it (what earlier imprint versions hashed; see loadFreshLock). A source without `url` is
 * hashed as written (an empty URL: "the host's apt source for the suite"), so the hash, and thus
 * the lock's freshness, is the same on every machine. Pure.
 */
export function lockSpecInput(spec: Spec, asWritten = false): LockSpecInput {
  return {
    sources: spec.sources.map((s) => ({
      url: s.url === undefined ? '' : asWritten ? s.url : normalizeSourceUrl(s.url),
      suites: [...s.suites],
      components: [...s.components],
      architectures: s.architectures === undefined ? undefined : [...s.architectures],
    })),
    packages: spec.packages.map((p) => {
      const text = `${p.version === undefined ? p.name : `${p.name}=${p.version}`}${p.suite === undefined ? '' : `/${p.suite}`}`;
      return p.dependencies === false ? `${text} (no dependencies)` : text;
    }),
    platforms: spec.platforms.map(formatPlatform),
    essential: false,
    // Only a spec with a base hashes one, so the hashes of specs without stay as they were.
    ...(spec.base === undefined ? {} : { extra: { base: spec.base } }),
  };
}

/** lockSpecHash of a spec's resolution-relevant fields. Pure. */
export function specLockHash(spec: Spec): Digest {
  return lockSpecHash(lockSpecInput(spec));
}

/**
 * The hash locks written before source URLs were normalised hold for `spec`, when it differs from
 * specLockHash (some `url` is not in canonical form, e.g. ends in `/`), else undefined. Pure.
 */
function writtenSpecHash(spec: Spec): Digest | undefined {
  if (spec.sources.every((s) => s.url === undefined || s.url === normalizeSourceUrl(s.url))) return undefined;
  return lockSpecHash(lockSpecInput(spec, true));
}

/**
 * Reads the spec's lock and checks it was written for the spec as it is now: LOCK_NOT_FOUND (hint:
 * run `imprint lock`), LOCK_INVALID, or LOCK_STALE when sources, packages or platforms changed.
 * What the build calls before fetching. Cost: reads and parses the lock file.
 */
export async function loadFreshLock(loaded: LoadedSpec): Promise<LockFile> {
  const path = lockPath(loaded);
  const lock = await readLock(path);
  try {
    // A lock written for the spec's URLs as spelt (before they were normalised) is as fresh: the
    // sources are the same, and images already built from it must still verify.
    if (lock.specHash !== writtenSpecHash(loaded.spec)) checkLock(lock, specLockHash(loaded.spec), path);
  } catch (err) {
    throw withChanges(err, lock, loaded.spec);
  }
  checkNamedPackages(lock, loaded.spec, path);
  return lock;
}

/**
 * A LOCK_STALE error with what can be told from the lock of what changed (platforms added or
 * removed, named packages it lacks or has at another version or from another suite, suites,
 * components and URLs); other errors as they are.
 */
function withChanges(err: unknown, lock: LockFile, spec: Spec): unknown {
  if (!isImprintError(err, 'LOCK_STALE')) return err;
  const changes: string[] = [];
  const wanted = spec.platforms.map(formatPlatform);
  const lockedPlatforms = Object.keys(lock.platforms);
  const added = wanted.filter((p) => !lockedPlatforms.includes(p));
  const dropped = lockedPlatforms.filter((p) => !wanted.includes(p));
  if (added.length > 0) changes.push(`platforms added: ${added.join(', ')}`);
  if (dropped.length > 0) changes.push(`platforms removed: ${dropped.join(', ')}`);
  const locked = Object.values(lock.platforms).flat();
  const names = new Set(locked.map((p) => p.name));
  const newNames = spec.packages.filter((p) => !names.has(p.name)).map((p) => p.name);
  if (newNames.length > 0) changes.push(`packages not in the lock: ${newNames.join(', ')}`);
  for (const p of spec.packages) {
    const same = locked.filter((l) => l.name === p.name);
    const versions = [...new Set(same.map((l) => l.version))];
    if (same.length > 0 && p.version !== undefined && !versions.includes(p.version))
      changes.push(`${p.name}=${p.version} pinned, the lock has ${versions.join(', ')}`);
    const suites = [...new Set(same.map((l) => lock.sources[l.repo ?? 0]?.suite))];
    if (same.length > 0 && p.suite !== undefined && !suites.includes(p.suite))
      changes.push(`${p.name}/${p.suite} asked for, the lock has it from ${suites.join(', ')}`);
  }
  changes.push(...sourceChanges(lock, spec));
  if (changes.length === 0)
    changes.push(
      'packages removed or reordered, a version pin or suite dropped, or dependencies: false changed',
    );
  return new ImprintError(err.code, `${err.message} (${changes.join('; ')})`, {
    ...(err.hint === undefined ? {} : { hint: err.hint }),
    details: { ...err.details, changes },
  });
}

/** What changed in the spec's sources since the lock: suites added or removed, components, URLs, order. */
function sourceChanges(lock: LockFile, spec: Spec): string[] {
  const now = spec.sources.flatMap((s, i) =>
    s.suites.map((suite) => ({ suite, components: s.components.join(', '), url: s.url, i })),
  );
  const was = lock.sources.map((s) => ({ ...s, components: s.components.join(', ') }));
  const out: string[] = [];
  const added = now.filter((n) => !was.some((w) => w.suite === n.suite)).map((n) => n.suite);
  const removed = was.filter((w) => !now.some((n) => n.suite === w.suite)).map((w) => w.suite);
  if (added.length > 0) out.push(`suites added: ${added.join(', ')}`);
  if (removed.length > 0) out.push(`suites removed: ${removed.join(', ')}`);
  for (const n of now) {
    const w = was.find((x) => x.suite === n.suite);
    if (w === undefined) continue;
    if (w.components !== n.components)
      out.push(`sources[${n.i}] components of ${n.suite}: ${n.components} (the lock has ${w.components})`);
    if (n.url !== undefined && normalizeSourceUrl(n.url) !== normalizeSourceUrl(w.url))
      out.push(`sources[${n.i}].url of ${n.suite}: ${n.url} (the lock has ${w.url})`);
  }
  const order = (list: Array<{ suite: string }>) => list.map((x) => x.suite).join(' ');
  if (out.length === 0 && order(now) !== order(was)) out.push('sources reordered');
  return out;
}

/**
 * LOCK_INVALID unless every package the spec names is in every platform's list, at the version it
 * pins (an unpinned name may be a virtual package, locked as its provider: left to the checks that
 * read Provides): a lock whose spec hash matches but which was edited or damaged since `imprint lock` wrote it.
 * (With a base image the base may already have a named package, so the check is left to the build.)
 */
export function checkNamedPackages(lock: LockFile, spec: Spec, path: string): void {
  if (spec.base !== undefined) return;
  for (const platform of spec.platforms.map(formatPlatform)) {
    const locked = lock.platforms[platform] ?? [];
    for (const p of spec.packages) {
      const found = locked.filter((l) => l.name === p.name);
      if (found.length > 0 && (p.version === undefined || found.some((l) => l.version === p.version)))
        continue;
      // A virtual name with one provider (default-mta: exim4-daemon-light) is locked as its provider;
      // the lock does not say what provides what, so the checks that resolve the spec over the
      // locked packages' control data (signed check, closure) decide whether it is there.
      // (A platform with no packages at all has none of them: refused.)
      if (found.length === 0 && p.version === undefined && locked.length > 0) continue;
      const what = p.version === undefined ? p.name : `${p.name}=${p.version}`;
      throw new ImprintError(
        'LOCK_INVALID',
        `${path} does not have ${what} for ${platform}, which the spec names${found.length > 0 ? ` (it has ${found.map((l) => l.version).join(', ')})` : ''}: the lock was edited or is damaged`,
        {
          hint: 'Run `imprint lock` (or `imprint build --update`) to resolve the spec again.',
          details: { file: path, platform, package: p.name },
        },
      );
    }
  }
}
