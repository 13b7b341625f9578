// The merged-/usr layout: top-level directories are symlinks into /usr, created before any package.
import type { VNode } from '../vfs/node.js';
import type { FileTree } from '../vfs/tree.js';

/** The origin recorded on the links and directories the layout creates. */
export const MERGED_USR_ORIGIN = 'merged-usr';

/** Links every merged-/usr system has, whatever the architecture. */
export const MERGED_USR_LINKS: readonly string[] = ['bin', 'sbin', 'lib'];

/**
 * Where the dynamic loader lives when it is not in /lib (glibc's RTLDDIR), per Debian architecture.
 * libc6's preinst creates `/<dir> -> usr/<dir>` on merged-/usr systems, so imprint does when libc6 is
 * installed. Architectures not listed (arm64, armhf, armel, i386, riscv64, s390x, ...) load from /lib.
 */
export const RTLD_DIRS: Readonly<Record<string, string>> = {
  amd64: 'lib64',
  loong64: 'lib64',
  mips64el: 'lib64',
  ppc64: 'lib64',
  ppc64el: 'lib64',
  sparc64: 'lib64',
  x32: 'libx32',
};

/**
 * Multilib directories that debootstrap links into /usr on some architectures (lib32, lib64, libx32,
 * libo32). imprint creates such a link only when a package ships a path under it, so images do not
 * carry empty links, and multilib packages still land under /usr.
 */
export const MULTILIB_DIRS: ReadonlySet<string> = new Set(['lib32', 'lib64', 'libx32', 'libo32']);

/**
 * Creates `bin -> usr/bin`, `sbin -> usr/sbin`, `lib -> usr/lib` (and `usr/<dir>` directories), plus
 * the architecture's RTLD link when `withRtld` (libc6 is among the packages). Existing nodes are kept.
 */
export function setupMergedUsr(tree: FileTree, arch: string, mtime: number, withRtld: boolean): string[] {
  const created: string[] = [];
  const rtld = RTLD_DIRS[arch];
  for (const dir of withRtld && rtld !== undefined ? [...MERGED_USR_LINKS, rtld] : MERGED_USR_LINKS) {
    created.push(...linkIntoUsr(tree, dir, mtime));
  }
  return created;
}

/**
 * When `key`'s first component is a multilib directory missing from the tree, the nodes that link it
 * into /usr (`usr/<dir>` if missing, then `<dir> -> usr/<dir>`), to be set before `key` is
 * canonicalised; empty otherwise. Pure.
 */
export function multilibLinkNodes(tree: FileTree, key: string, mtime: number): Array<[string, VNode]> {
  const top = key.split('/', 1)[0] as string;
  if (!MULTILIB_DIRS.has(top) || tree.get(top) !== undefined) return [];
  const meta = { mode: 0o755, uid: 0, gid: 0, mtime, origin: MERGED_USR_ORIGIN };
  const out: Array<[string, VNode]> = [];
  if (tree.get('usr') === undefined) out.push(['usr', { kind: 'dir', ...meta }]);
  if (tree.get(`usr/${top}`) === undefined) out.push([`usr/${top}`, { kind: 'dir', ...meta }]);
  out.push([top, { kind: 'symlink', target: `usr/${top}`, ...meta, mode: 0o777 }]);
  return out;
}

function linkIntoUsr(tree: FileTree, dir: string, mtime: number): string[] {
  if (tree.get(dir) !== undefined) return [];
  const meta = { mode: 0o755, uid: 0, gid: 0, mtime, origin: MERGED_USR_ORIGIN };
  const created: string[] = [];
  if (tree.get('usr') === undefined) {
    tree.add('usr', { kind: 'dir', ...meta });
    created.push('usr');
  }
  if (tree.get(`usr/${dir}`) === undefined) {
    tree.add(`usr/${dir}`, { kind: 'dir', ...meta });
    created.push(`usr/${dir}`);
  }
  tree.add(dir, { kind: 'symlink', target: `usr/${dir}`, ...meta, mode: 0o777 });
  created.push(dir);
  return created;
}
