import { statPath } from '../debian/effects/tree-io.js';
import type { FileTree } from '../vfs/tree.js';
import { cacheOnlyDirs } from './ld-so-cache.js';

// glibc's loader searches only its system directories (/lib/<triplet>, /usr/lib/<triplet>, /lib,
// /usr/lib on Debian) and what /etc/ld.so.cache lists; the directories /etc/ld.so.conf names
// (/usr/local/lib, /usr/local/lib/<triplet>, ...) reach the loader only through that cache, which
// ldconfig writes. imprint runs no ldconfig; it writes the cache itself for amd64 and arm64
// (ld-so-cache.ts). Elsewhere a library a spec copies to /usr/local/lib (or to an /opt directory its
// own ld.so.conf.d file names) is not found at run time; the build says so.

/**
 * Warnings for each directory whose libraries the loader finds only through /etc/ld.so.cache
 * (ld-so-cache.ts: /usr/local/lib, /usr/local/lib/<triplet>, /usr/local or /opt directories
 * /etc/ld.so.conf names), when the image has no cache: imprint writes one for amd64 and arm64, so
 * this speaks for other architectures. None without glibc. Cost: reads the conf files, lists those
 * directories.
 */
export async function libraryPathNotes(tree: FileTree): Promise<string[]> {
  if (statPath(tree, '/etc/ld.so.cache') !== undefined) return [];
  const { triplets, dirs } = await cacheOnlyDirs(tree);
  return dirs.map(({ dir, libs }) => {
    const some = libs.slice(0, 3).join(', ') + (libs.length > 3 ? `, ... (${libs.length})` : '');
    return `the shared libraries in ${dir} (${some}) are found only through /etc/ld.so.cache, which the image lacks (imprint writes one for amd64 and arm64 only): programs will not load them; put them in /usr/lib/${triplets[0]}, or set LD_LIBRARY_PATH=${dir} in env`;
  });
}
