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

function listPlatforms(lock: LockFile): string {
  const keys = Object.keys(lock.platforms).sort(compareCodeUnits);
  return keys.length === 0 ? 'no platforms' : keys.join(', ');
}
