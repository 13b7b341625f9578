import { readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ImprintError } from '../errors.js';
import { compareCodeUnits } from '../oci/canonical-json.js';
import { parsePlatform } from '../oci/platform.js';
import { replaceUserFile } from '../store/atomic-file.js';
import type { LockFile } from './types.js';

/**
 * One platform's packages in repro-get's `SHA256SUMS-<arch>` format, which is sha256sum(1)'s text format:
 * `<64 hex>` two spaces `<filename relative to the archive root>` and a newline per package, sorted by
 * filename (byte order; repro-get itself accepts any order). PLATFORM_NOT_FOUND when the lock has no
 * such platform. Pure.
 */
export function sha256sums(lock: LockFile, platform: string): string {
  const packages = lock.platforms[platform];
  if (packages === undefined) {
    throw new ImprintError(
      'PLATFORM_NOT_FOUND',
      `expected platform ${platform} in the lock, found ${listPlatforms(lock)}`,
      {
        hint: 'Add the platform to the spec and run `imprint lock`.',
        details: { platform, available: Object.keys(lock.platforms).sort(compareCodeUnits) },
      },
    );
  }
  const sorted = [...packages].sort(
    (a, b) => compareCodeUnits(a.filename, b.filename) || compareCodeUnits(a.sha256, b.sha256),
  );
  const lines = sorted.map((p) => `${p.sha256}  ${p.filename}\n`);
  return [...new Set(lines)].join('');
}

/**
 * repro-get's file name for a platform: `SHA256SUMS-<arch>` with `-<variant>` appended when there is one
 * (`linux/amd64` → `SHA256SUMS-amd64`, `linux/arm/v7` → `SHA256SUMS-arm-v7`).
 */
export function sha256sumsFileName(platform: string): string {
  const p = parsePlatform(platform);
  return `SHA256SUMS-${p.architecture}${p.variant === undefined ? '' : `-${p.variant}`}`;
}

/** Writes one `SHA256SUMS-<arch>` file per platform of the lock into `dir` (atomically); returns their paths, sorted. */
export async function writeSha256sums(dir: string, lock: LockFile): Promise<string[]> {
  const paths: string[] = [];
  for (const platform of Object.keys(lock.platforms).sort(compareCodeUnits)) {
    const path = join(dir, sha256sumsFileName(platform));
    await replaceUserFile(path, Buffer.from(sha256sums(lock, platform), 'utf8'));
    paths.push(path);
  }
  return paths;
}

/** What pruneSha256sums found among the previous lock's `SHA256SUMS-<arch>` files. */
export interface Sha256sumsPrune {
  /** Files of platforms the new lock dropped, holding what imprint wrote for the previous lock: removed. */
  removed: string[];
  /** Files of dropped platforms whose bytes are not what imprint wrote (edited, or someone else's): left. */
  foreign: string[];
  /** Files of platforms both locks have that list the previous lock's packages, not the new one's (only with `rewritten` false). */
  outdated: string[];
}

/**
 * Keeps the `SHA256SUMS-<arch>` files of `dir` in step with a new lock: a file of a platform `lock` no
 * longer has is removed when its bytes are exactly what imprint wrote for `previous` (so a file
 * imprint did not write, or one edited since, is never removed); unless `rewritten` (the caller wrote
 * the new lock's files), the files of kept platforms still listing `previous` are reported as outdated.
 * Cost: reads each such file (one per platform).
 */
export async function pruneSha256sums(
  dir: string,
  previous: LockFile,
  lock: LockFile,
  rewritten: boolean,
): Promise<Sha256sumsPrune> {
  const result: Sha256sumsPrune = { removed: [], foreign: [], outdated: [] };
  const names = new Set(Object.keys(lock.platforms).map(sha256sumsFileName));
  for (const platform of Object.keys(previous.platforms).sort(compareCodeUnits)) {
    const name = sha256sumsFileName(platform);
    const kept = names.has(name);
    if (kept && rewritten) continue;
    const path = join(dir, name);
    const text = await readFile(path, 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    const wrote = text === sha256sums(previous, platform);
    if (kept) {
      if (wrote && text !== sha256sums(lock, platform)) result.outdated.push(path);
    } else if (!wrote) {
      result.foreign.push(path);
    } else {
      await unlink(path);
      result.removed.push(path);
    }
  }
  return result;
}

function listPlatforms(lock: LockFile): string {
  const keys = Object.keys(lock.platforms).sort(compareCodeUnits);
  return keys.length === 0 ? 'no platforms' : keys.join(', ');
}
