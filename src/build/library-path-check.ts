import { resolvePath } from '../debian/effects/tree-io.js';
import type { FileTree } from '../vfs/tree.js';
import { cacheOnlyDirs, imageLdSoCache, LD_CACHE_ARCHES } from './ld-so-cache.js';

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
  return dirs
    .filter(({ key }) => !covered.has(key))
    .map(({ dir, libs }) => {
      const some = libs.slice(0, 3).join(', ') + (libs.length > 3 ? `, ... (${libs.length})` : '');
      const why =
        listed === undefined
          ? `which the image lacks (imprint writes one for ${LD_CACHE_ARCHES.join(', ')} images, listing the libraries of the image's own architecture)`
          : "which lists none of them (the base image's, made before they were added; imprint writes a cache only for images without one)";
      return `the shared libraries in ${dir} (${some}) are found only through /etc/ld.so.cache, ${why}: programs will not load them; put them in /usr/lib/${triplets[0]}, or set LD_LIBRARY_PATH=${dir} in env`;
    });
}
