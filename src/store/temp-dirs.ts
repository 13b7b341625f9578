// Private temporary directories outside the cache ($TMPDIR/imprint-verify-*, imprint-xz-*): named with
// their process's owner tag, so that the next process making one removes those of killed runs.
import { randomBytes } from 'node:crypto';
import { lstatSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ownerGone, ownerTag } from './temp-owner.js';

/** The parents and labels swept by this process already (once each is enough). */
const swept = new Set<string>();

/**
 * Makes a private directory (0700) `<parent>/<label><owner tag>-<16 hex>`, after removing the
 * directories of that label in `parent` whose process provably no longer runs (`ownerGone`: a run
 * killed by SIGKILL or power loss, whose own cleanup never ran); those of live processes, of other
 * hosts or containers, and names without an owner tag (older versions') are left. The sweep runs
 * once per process, parent and label. Throws what mkdir throws. Cost: one readdir of `parent` the
 * first time.
 */
export function makeOwnedTempDir(parent: string, label: string): string {
  const key = `${parent}\0${label}`;
  if (!swept.has(key)) {
    swept.add(key);
    removeGoneTempDirs(parent, label);
  }
  const dir = join(parent, `${label}${ownerTag()}-${randomBytes(8).toString('hex')}`);
  mkdirSync(dir, { mode: 0o700 });
  return dir;
}

/** Removes the `label` directories in `parent` whose writer provably ended; returns how many. Never throws. */
export function removeGoneTempDirs(parent: string, label: string): number {
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const name of names.filter((n) => n.startsWith(label)).sort()) {
    if (!ownerGone(name, label)) continue;
    const path = join(parent, name);
    try {
      if (!lstatSync(path).isDirectory()) continue;
      rmSync(path, { recursive: true, force: true });
      removed++;
    } catch {
      // another process removed it first, or it is not ours to remove
    }
  }
  return removed;
}
