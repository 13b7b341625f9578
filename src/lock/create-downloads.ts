import { ImprintError } from '../errors.js';
import { compareCodeUnits } from '../oci/canonical-json.js';
import type { LockFile, LockPackage } from './types.js';

/** A locked package and the archive URL its `filename` is relative to (the `{url}` of fetch templates). */
export type LockedDownload = LockPackage & { url: string };

/**
 * The `.deb` files a lock pins, for fetchPackages: every package of the given platforms (default all),
 * each with its source's archive URL, one entry per sha256, sorted by filename. A package without
 * `repo` (a lock from before it was recorded) takes the URL of the only source; with several sources
 * that is LOCK_INVALID. PLATFORM_NOT_FOUND for a platform the lock lacks. Pure.
 */
export function lockDownloads(
  lock: LockFile,
  platforms?: readonly string[],
  file = 'imprint.lock',
): LockedDownload[] {
  const keys = platforms ?? Object.keys(lock.platforms).sort(compareCodeUnits);
  const urls = [...new Set(lock.sources.map((s) => s.url))];
  const bySha = new Map<string, LockedDownload>();
  for (const key of keys) {
    const packages = lock.platforms[key];
    if (packages === undefined) {
      throw new ImprintError(
        'PLATFORM_NOT_FOUND',
        `${file}: expected packages for platform ${key}, found none`,
        {
          hint: 'Add the platform to the spec and run `imprint lock`.',
          details: { file, platform: key },
        },
      );
    }
    for (const p of packages) {
      if (bySha.has(p.sha256)) continue;
      let url: string | undefined;
      if (p.repo !== undefined) url = lock.sources[p.repo]?.url;
      else if (urls.length === 1) url = urls[0];
      if (url === undefined) {
        throw new ImprintError(
          'LOCK_INVALID',
          `${file}: ${p.name} ${p.version} does not say which of the ${urls.length} sources it comes from`,
          {
            hint: 'Regenerate the lock with `imprint lock`.',
            details: { file, package: p.name },
          },
        );
      }
      bySha.set(p.sha256, { ...p, url });
    }
  }
  return [...bySha.values()].sort(
    (a, b) => compareCodeUnits(a.filename, b.filename) || compareCodeUnits(a.sha256, b.sha256),
  );
}
