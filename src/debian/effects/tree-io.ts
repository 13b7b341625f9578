// Small, symlink-aware reads and writes on the in-memory tree, as maintainer scripts do them.
import { ImprintError } from '../../errors.js';
import { bytesOpener, type Meta, readContent, type VNode } from '../../vfs/node.js';
import { normalizeImagePath } from '../../vfs/path.js';
import type { FileTree } from '../../vfs/tree.js';

const MAX_HOPS = 40;
/** Largest file an effect reads whole (passwd masters, certificates, shells lists). */
export const MAX_EFFECT_READ = 16 * 1024 * 1024;

/**
 * The key `path` denotes with every symlink followed, the last component included (like realpath -m):
 * a missing component ends the walk there. Throws VFS_SYMLINK_LOOP on a link loop.
 */
export function resolvePath(tree: FileTree, path: string): string {
  return tree.resolvePath(path);
}

/** The node `path` finally denotes (symlinks and hard links followed), with its key; undefined when missing. */
export function statPath(tree: FileTree, path: string): { key: string; node: VNode } | undefined {
  let key = resolvePath(tree, path);
  for (let hops = 0; hops < MAX_HOPS; hops++) {
    const node = tree.get(key);
    if (node === undefined) return undefined;
    if (node.kind !== 'hardlink') return { key, node };
    key = normalizeImagePath(node.target);
  }
  return undefined;
}

/** True when `path` exists once links are followed (`test -e`). */
export function exists(tree: FileTree, path: string): boolean {
  return statPath(tree, path) !== undefined;
}

/**
 * The names of the entries directly under tree directory `dir` (a key: no leading slash; others name
 * nothing), in byte order, as `ls` in the C locale lists them. Cost: the directory's children, from
 * the tree's index (a pass over every key made each call cost ~1 MB and a few ms on a 100k-file tree).
 */
export function childNames(tree: FileTree, dir: string): string[] {
  const prefix = `${dir}/`;
  return tree
    .childKeys(dir)
    .filter((k) => k.startsWith(prefix))
    .map((k) => k.slice(prefix.length));
}

/** True when `path` is a regular file once links are followed (`test -f`). */
export function isFile(tree: FileTree, path: string): boolean {
  return statPath(tree, path)?.node.kind === 'file';
}

/** True when `path` is a directory once links are followed (`test -d`). */
export function isDir(tree: FileTree, path: string): boolean {
  return statPath(tree, path)?.node.kind === 'dir';
}

/**
 * `test -e`, `-f` and `-d` of a path the tree lacks: false, as when the script ran (effects only add
 * paths); undefined for a path it has (a script may have made it itself, `[ ! -e log ] && touch log`)
 * and for other tests (`[ -x ... ]`), which then count both ways.
 */
export function treeFileTest(tree: FileTree): (op: string, path: string) => boolean | undefined {
  return (op, path) => (['-e', '-f', '-d'].includes(op) && !exists(tree, path) ? false : undefined);
}

/** The whole content of the regular file at `path` (links followed), or undefined. Cost: reads it (bounded). */
export async function readTreeFile(
  tree: FileTree,
  path: string,
  maxBytes = MAX_EFFECT_READ,
): Promise<Buffer | undefined> {
  const hit = statPath(tree, path);
  if (hit === undefined || hit.node.kind !== 'file') return undefined;
  const node = hit.node;
  if (node.size > maxBytes) {
    throw new ImprintError(
      'UNSUPPORTED',
      `/${hit.key} is ${node.size} bytes; an install effect reads at most ${maxBytes}`,
      {
        details: { path: `/${hit.key}`, size: node.size },
      },
    );
  }
  const out = await readContent(node.content);
  if (out.length !== node.size) {
    throw new ImprintError(
      'SIZE_MISMATCH',
      `/${hit.key}: content is ${out.length} bytes, the tree says ${node.size}`,
      {
        details: { path: `/${hit.key}`, expected: node.size, found: out.length },
      },
    );
  }
  return out;
}

/** Where an effect writes: the tree, the mtime of created nodes and the origin they carry. */
export interface EffectWriter {
  tree: FileTree;
  mtime: number;
  origin: string;
  /** Called with every key an effect creates or replaces. */
  record(key: string): void;
}

/** Canonical key for a path an effect writes (parents resolved, so /bin/x lands at usr/bin/x). */
export function targetKey(w: EffectWriter, path: string): string {
  return w.tree.resolveParents(path);
}

/** Writes a file with `bytes` (replacing a non-directory there); parents are created as 0755 root dirs. */
export function writeFile(
  w: EffectWriter,
  path: string,
  bytes: Buffer | string,
  meta: Partial<Meta> = {},
): string {
  const data = typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes;
  return putNode(w, path, {
    kind: 'file',
    size: data.length,
    content: bytesOpener(data),
    mode: 0o644,
    uid: 0,
    gid: 0,
    mtime: w.mtime,
    ...meta,
  });
}

/** Puts `node` at `path` (replacing a non-directory there) with the writer's origin; returns its key. */
export function putNode(w: EffectWriter, path: string, node: VNode): string {
  const key = targetKey(w, path);
  ensureParents(w, key);
  const existing = w.tree.get(key);
  if (existing?.kind === 'dir' && node.kind !== 'dir') {
    throw new ImprintError(
      'FILE_CONFLICT',
      `/${key}: ${w.origin} writes a ${node.kind} there, but it is a directory`,
      {
        details: { path: `/${key}`, packages: [existing.origin ?? 'the image', w.origin] },
      },
    );
  }
  w.tree.add(key, { ...node, origin: w.origin }, { onExisting: 'replace' });
  w.record(key);
  return key;
}

/** Creates (or replaces a non-directory with) a symlink `path -> target` (`ln -sf`). */
export function writeSymlink(w: EffectWriter, path: string, target: string): string {
  return putNode(w, path, { kind: 'symlink', target, mode: 0o777, uid: 0, gid: 0, mtime: w.mtime });
}

/** Creates a directory when nothing is at `path` (`mkdir`, then chown/chmod); returns whether it did. */
export function makeDir(w: EffectWriter, path: string, mode = 0o755, uid = 0, gid = 0): boolean {
  if (exists(w.tree, path) || w.tree.get(targetKey(w, path)) !== undefined) return false;
  const key = targetKey(w, path);
  ensureParents(w, key);
  w.tree.add(key, { kind: 'dir', mode, uid, gid, mtime: w.mtime, origin: w.origin });
  w.record(key);
  return true;
}

/** Creates missing parents of `key` as 0755 root directories owned by the effect. */
function ensureParents(w: EffectWriter, key: string): void {
  const parts = key.split('/');
  let cur = '';
  for (let i = 0; i < parts.length - 1; i++) {
    cur = cur === '' ? (parts[i] as string) : `${cur}/${parts[i]}`;
    if (w.tree.get(cur) === undefined) {
      w.tree.add(cur, { kind: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: w.mtime, origin: w.origin });
      w.record(cur);
    }
  }
}
