import { chmod, mkdir, readdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface CopyVariation {
  /** Create entries in reverse name order. */
  reverse?: boolean;
  /** mtime (seconds) given to every copied entry; each gets a different offset from it. */
  mtimeBase: number;
  /** Permission bits masked off, like a umask (e.g. 0o077). Only the owner-execute bit survives as an input. */
  umask: number;
}

/** Recreates the directory `src` at `dst` with a chosen creation order, mtimes and permission mask. */
export async function copyTreeVaried(src: string, dst: string, v: CopyVariation): Promise<void> {
  await mkdir(dst, { recursive: true });
  const names = (await readdir(src)).sort();
  if (v.reverse) names.reverse();
  let i = 0;
  for (const name of names) {
    const from = join(src, name);
    const to = join(dst, name);
    const st = await stat(from);
    if (st.isDirectory()) {
      await copyTreeVaried(from, to, v);
      await chmod(to, 0o777 & ~v.umask);
    } else {
      await writeFile(to, await readFile(from));
      await chmod(to, (st.mode & 0o111 ? 0o777 : 0o666) & ~v.umask);
    }
    const t = v.mtimeBase + 7919 * i++;
    await utimes(to, t, t);
  }
}
