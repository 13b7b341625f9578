// The cache's record of a passed signed lock check: a file named by the hash of everything the check
// depended on (see signed.ts), holding the warnings it gave.

import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ArchiveSource } from '../debian/archive.js';
import { writeFileAtomic } from '../store/index.js';
import { mkdirp } from '../store/mkdirp.js';
import type { LockFile, LockPackage } from './types.js';

/** Bumped when what a recorded check proves changes, so older records are not trusted. */
const RECORD_SCHEME = 'imprint-signed-lock-v2';

/** The hash of everything a recorded check depends on: the sources as pinned and trusted, and the packages. */
export function recordKey(
  arch: string,
  lock: LockFile,
  sources: readonly ArchiveSource[],
  groups: ReadonlyMap<number, readonly LockPackage[]>,
): string {
  const used = [...groups].map(([index, packages]) => {
    const s = sources[index] as ArchiveSource;
    return {
      url: s.url,
      suite: s.suite,
      components: s.components,
      keyring: s.keyring.digest,
      release: lock.sources[index]?.release.sha256,
      date: lock.sources[index]?.release.date,
      packages: packages
        .map((p) => [p.name, p.version, p.architecture, p.filename, p.size, p.sha256].join(' '))
        .sort(),
    };
  });
  // The spec's hash too: the check resolves the spec, so a record of the same packages under a
  // spec that asked for more (the lock then edited to the new spec's hash) does not vouch for them.
  return createHash('sha256')
    .update(JSON.stringify({ scheme: RECORD_SCHEME, arch, spec: lock.specHash, sources: used }))
    .digest('hex');
}

function recordFile(cacheDir: string, key: string): string {
  return join(cacheDir, 'debian', 'verified', `${key}.json`);
}

export async function writeRecord(cacheDir: string, key: string, what: object): Promise<void> {
  const file = recordFile(cacheDir, key);
  try {
    await mkdirp(dirname(file));
    await writeFileAtomic(file, new TextEncoder().encode(`${JSON.stringify({ key, ...what })}\n`));
  } catch {
    // A read-only cache only costs the next build the check again.
  }
}

/** The record of a passed check with this key, if the cache has one. */
export async function readRecord(
  cacheDir: string,
  key: string,
): Promise<{ warnings?: string[] } | undefined> {
  try {
    const record = JSON.parse(await readFile(recordFile(cacheDir, key), 'utf8')) as {
      key?: unknown;
      warnings?: unknown;
    };
    if (record.key !== key) return undefined;
    const warnings = Array.isArray(record.warnings)
      ? record.warnings.filter((w) => typeof w === 'string')
      : [];
    return { warnings };
  } catch {
    return undefined;
  }
}
