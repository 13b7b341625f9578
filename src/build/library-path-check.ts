import { childNames, resolvePath, statPath } from '../debian/effects/tree-io.js';
import type { FileTree } from '../vfs/tree.js';
import { parseDynamic, readRange } from './elf-needed.js';
import { cacheOnlyDirs, imageLdSoCache, LD_CACHE_ARCHES, LD_CACHE_ORIGIN } from './ld-so-cache.js';

// glibc's loader searches only its system directories (/lib/<triplet>, /usr/lib/<triplet>, /lib,
// /usr/lib on Debian) and what /etc/ld.so.cache lists; the directories /etc/ld.so.conf names
// (/usr/local/lib, /usr/local/lib/<triplet>, ...) reach the loader only through that cache, which
// ldconfig writes. imprint runs no ldconfig; it writes the cache itself for the architectures of
// ld-so-cache.ts (LD_CACHE_ARCHES), from the libraries of the image's machine and ELF class.
// Elsewhere (loong64), or for a library of another machine, a library a spec copies to
// /usr/local/lib (or to an /opt directory its own ld.so.conf.d file names) is not found at run time;
// the build says so.

/**
 * Warnings for each directory whose libraries the loader finds only through /etc/ld.so.cache
 * (ld-so-cache.ts: /usr/local/lib, /usr/local/lib/<triplet>, /usr/local or /opt directories
 * /etc/ld.so.conf names) when the image has no cache (imprint writes one for LD_CACHE_ARCHES, so this
 * speaks for other architectures and libraries of another machine), or has one that lists nothing in it (a base image's, made before
 * the spec added them: imprint writes a cache only where there is none). None without glibc, or with
 * a cache this cannot read. Cost: reads the conf files and the cache, lists those directories.
 */
export async function libraryPathNotes(tree: FileTree): Promise<string[]> {
  const listed = await imageLdSoCache(tree);
  if (listed === null) return [];
  const covered = new Set(
    [...(listed?.values() ?? [])].map((path) =>
      resolvePath(tree, path.slice(0, path.lastIndexOf('/')) || '/'),
    ),
  );
  const { triplets, dirs } = await cacheOnlyDirs(tree);
  return [
    ...(await staleCacheNotes(tree, listed, triplets)),
    ...dirs
      .filter(({ key }) => !covered.has(key))
      .map(({ dir, libs }) => {
        const some = libs.slice(0, 3).join(', ') + (libs.length > 3 ? `, ... (${libs.length})` : '');
        const why =
          listed === undefined
            ? `which the image lacks (imprint writes one for ${LD_CACHE_ARCHES.join(', ')} images, listing the libraries of the image's own architecture)`
            : "which lists none of them (the base image's, made before they were added; imprint writes a cache only for images without one)";
        return `the shared libraries in ${dir} (${some}) are found only through /etc/ld.so.cache, ${why}: programs will not load them; put them in /usr/lib/${triplets[0]}, or set LD_LIBRARY_PATH=${dir} in env`;
      }),
  ];
}

/**
 * A note when the image's /etc/ld.so.cache (a base image's, made by its ldconfig: imprint writes none
 * over it) lacks libraries of the system directories (/usr/lib/<triplet>, by their versioned names
 * lib*.so.N, as ldconfig lists them): the build added them after the base's ldconfig ran. The loader
 * still finds them there, but `ldconfig -p` and what looks names up through it (Python's
 * ctypes.util.find_library, so python-magic's libmagic) do not. Cost: lists those directories, reads
 * the ELF header of each library the cache lacks by name.
 */
async function staleCacheNotes(
  tree: FileTree,
  listed: Map<string, string> | undefined,
  triplets: string[],
): Promise<string[]> {
  // The cache this build wrote lists only the directories the loader would not search by itself.
  if (listed === undefined || statPath(tree, '/etc/ld.so.cache')?.node.origin === LD_CACHE_ORIGIN) return [];
  const notes: string[] = [];
  /** Whether the cache lists the library under its soname (libbz2.so.1's is libbz2.so.1.0). */
  const listedOtherwise = async (path: string): Promise<boolean> => {
    const node = statPath(tree, path)?.node;
    if (node?.kind !== 'file') return true;
    const elf = await parseDynamic((start, end) => readRange(node, start, end));
    return elf?.soname !== undefined && listed.has(elf.soname);
  };
  for (const dir of triplets.map((t) => `/usr/lib/${t}`)) {
    const missing: string[] = [];
    for (const n of childNames(tree, resolvePath(tree, dir)))
      if (/^lib.*\.so\.\d+$/.test(n) && !listed.has(n) && !(await listedOtherwise(`${dir}/${n}`)))
        missing.push(n);
    if (missing.length === 0) continue;
    const some = missing.slice(0, 3).join(', ') + (missing.length > 3 ? `, ... (${missing.length})` : '');
    notes.push(
      `the image's /etc/ld.so.cache (the base image's, which imprint does not rewrite) lacks shared libraries of ${dir} (${some}) added after it was made: the loader still finds them, but \`ldconfig -p\` and what looks libraries up through it (Python's ctypes.util.find_library, which python-magic uses for libmagic) do not; run \`ldconfig\` when the container starts`,
    );
  }
  return notes;
}
