import { childNames, readTreeFile, resolvePath, statPath } from '../debian/effects/tree-io.js';
import type { FileTree } from '../vfs/tree.js';

// glibc's loader searches only its system directories (/lib/<triplet>, /usr/lib/<triplet>, /lib,
// /usr/lib on Debian) and what /etc/ld.so.cache lists; the directories /etc/ld.so.conf names
// (/usr/local/lib, /usr/local/lib/<triplet>, ...) reach the loader only through that cache, which
// ldconfig writes. imprint runs no ldconfig, so a library a spec copies to /usr/local/lib (or to an
// /opt directory its own ld.so.conf.d file names) is not found at run time; the build says so.
// Packages' private directories (fakeroot's) are left out: Debian ships nothing under /usr/local or
// /opt, and such packages set LD_LIBRARY_PATH themselves.

const CONF = '/etc/ld.so.conf';
/** What Debian's libc-bin and libc6 name in /etc/ld.so.conf.d, for images without those files. */
const ALWAYS = ['/usr/local/lib'];
const LIBRARY = /^lib[^/]*\.so(\.[0-9]+)*$/;

/**
 * Warnings for /usr/local/lib, /usr/local/lib/<triplet> and each /usr/local or /opt directory
 * /etc/ld.so.conf names (its `include`d files followed) that holds shared libraries (`lib*.so*`),
 * when the image has no /etc/ld.so.cache. None without glibc. Cost: reads the conf files, lists those
 * directories.
 */
export async function libraryPathNotes(tree: FileTree): Promise<string[]> {
  const triplets = childNames(tree, 'usr/lib').filter(
    (t) => statPath(tree, `/usr/lib/${t}/libc.so.6`)?.node.kind === 'file',
  );
  if (triplets.length === 0 || statPath(tree, '/etc/ld.so.cache') !== undefined) return [];
  const system = new Set(
    ['/lib', '/usr/lib', ...triplets.flatMap((t) => [`/lib/${t}`, `/usr/lib/${t}`])].map((d) =>
      resolvePath(tree, d),
    ),
  );
  const named = (await confDirs(tree, CONF, 0)).filter((d) => /^\/(usr\/local|opt)\//.test(d));
  const dirs = [...ALWAYS, ...triplets.map((t) => `/usr/local/lib/${t}`), ...named];
  const notes: string[] = [];
  const seen = new Set<string>();
  for (const dir of dirs) {
    const key = resolvePath(tree, dir);
    if (system.has(key) || seen.has(key) || statPath(tree, dir)?.node.kind !== 'dir') continue;
    seen.add(key);
    const libs = childNames(tree, key).filter((n) => LIBRARY.test(n));
    if (libs.length === 0) continue;
    const some = libs.slice(0, 3).join(', ') + (libs.length > 3 ? `, ... (${libs.length})` : '');
    notes.push(
      `the shared libraries in ${dir} (${some}) are found only through /etc/ld.so.cache, which the image lacks (imprint runs no ldconfig): programs will not load them; put them in /usr/lib/${triplets[0]}, or set LD_LIBRARY_PATH=${dir} in env`,
    );
  }
  return notes;
}

/** The directories an ld.so.conf file names, `include`d files (a `*` glob in the name) followed. */
async function confDirs(tree: FileTree, path: string, depth: number): Promise<string[]> {
  const text = (await readTreeFile(tree, path))?.toString('utf8');
  if (text === undefined || depth > 4) return [];
  const dirs: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') continue;
    const include = /^include\s+(\S+)$/.exec(line);
    if (include === null) {
      if (line.startsWith('/')) dirs.push(line.replace(/\/+$/, ''));
      continue;
    }
    const pattern = include[1] as string;
    const slash = pattern.lastIndexOf('/');
    const [dir, glob] = [pattern.slice(0, slash), pattern.slice(slash + 1)];
    const re = new RegExp(
      `^${glob
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.')}$`,
    );
    for (const name of childNames(tree, resolvePath(tree, dir)).filter((n) => re.test(n)))
      dirs.push(...(await confDirs(tree, `${dir}/${name}`, depth + 1)));
  }
  return dirs;
}
