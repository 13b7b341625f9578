// `mkdir -p` one level at a time. Node's recursive mkdir loops forever where a file system refuses a
// new directory with ENOENT (as /proc does: `--cache-dir /proc/x` spun at 100 % CPU); this gives up
// with that error instead.
import { mkdir, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

/**
 * Creates `dir` and its missing parents; resolves when it is a directory (also when another process
 * made it meanwhile). Rejects with the file system's error (ENOTDIR when a parent is a file, ENOENT,
 * EACCES, ...), for the caller to name. Cost: a stat per level up to the first existing one.
 */
export async function mkdirp(dir: string): Promise<void> {
  const missing: string[] = [];
  for (let p = resolve(dir); ; p = dirname(p)) {
    const st = await stat(p).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (st?.isDirectory()) break;
    if (st !== undefined)
      throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${p}'`), { code: 'ENOTDIR', path: p });
    if (dirname(p) === p) break;
    missing.unshift(p);
  }
  for (const p of missing) {
    try {
      await mkdir(p);
    } catch (err) {
      if (
        (err as NodeJS.ErrnoException).code === 'EEXIST' &&
        (await stat(p).catch(() => undefined))?.isDirectory()
      )
        continue;
      throw err;
    }
  }
}
