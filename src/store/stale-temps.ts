// Sweeping temporary files that killed writers left: by age, and, sooner, by a writer provably gone.
import { readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ownerGone, TEMP_PREFIX, tempLabel } from './temp-owner.js';

/**
 * Removes the temporary files (`.tmp-*`) in `dir` that were last modified before `cutoff`, or whose
 * writer provably no longer runs (same boot and pid namespace, pid free or reused; see
 * `ownerGone`): files of a live process, of another host or container, and names without an owner
 * are left to the cutoff. With `hint`, only the temporary files tempPath(dir, hint) names (those of
 * one target). Returns how many it removed; a missing `dir` is 0. The caller picks the cutoff (e.g. a
 * day ago; `new Date(0)` for provably dead writers only), so this never reads the clock. Cost: one
 * readdir, one stat per temp file.
 */
export async function removeStaleTemps(dir: string, cutoff: Date, hint?: string): Promise<number> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
  let removed = 0;
  const prefix = hint === undefined ? TEMP_PREFIX : tempLabel(hint);
  for (const name of names.filter((n) => n.startsWith(prefix)).sort()) {
    const file = join(dir, name);
    const st = await stat(file).catch(() => undefined);
    if (st === undefined || !st.isFile()) continue;
    if (st.mtimeMs >= cutoff.getTime() && !ownerGone(name)) continue;
    await unlink(file).then(
      () => removed++,
      () => undefined,
    );
  }
  return removed;
}
