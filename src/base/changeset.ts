import { Readable } from 'node:stream';
import { ImprintError } from '../errors.js';
import type { VNode } from '../vfs/node.js';
import { parentPath, withinAny } from '../vfs/path.js';
import type { FileTree } from '../vfs/tree.js';

/**
 * What the build's layers must hold so that the base's layers plus them give `full`: every node that is
 * not the base's own (new or changed), with its ancestor directories, and an OCI whiteout
 * (`.wh.<name>`, an empty file) for every topmost base path that `full` no longer has. A base
 * directory that the build replaced by a non-directory would hide the base's files below it without
 * saying so: VFS_CONFLICT, unless it lies under a path the spec removes (`removed`). Cost: linear in
 * the number of nodes of both trees.
 */
export function changeset(
  full: FileTree,
  lower: ReadonlyMap<string, VNode>,
  epoch: number,
  removed: ReadonlySet<string> = new Set(),
): FileTree {
  const keep: string[] = [];
  for (const key of full.keys()) {
    const now = full.get(key)!;
    const was = lower.get(key);
    if (now === was) continue;
    // A hard link of the base that stayed a name of the same file (its first name removed or
    // replaced, it took the file's node): the base's layers still hold it.
    if (was?.kind === 'hardlink' || now.kind === 'hardlink') {
      const file = linkedFile((k) => full.get(k), key);
      if (file !== undefined && file === linkedFile((k) => lower.get(k), key)) continue;
    }
    keep.push(key);
  }

  const whiteouts: string[] = [];
  const hidden: string[] = [];
  for (const key of lower.keys()) {
    if (full.get(key) !== undefined) continue;
    const parent = parentPath(key);
    const now = parent === '' ? undefined : full.get(parent);
    if (parent === '' || now?.kind === 'dir') {
      whiteouts.push(key);
      if (parent !== '') keep.push(parent);
    } else if (now !== undefined && lower.get(parent)?.kind === 'dir' && !withinAny(parent, removed)) {
      hidden.push(key);
    }
  }
  if (hidden.length > 0) {
    const first = parentPath(hidden[0]!);
    throw new ImprintError(
      'VFS_CONFLICT',
      `/${first} is a directory in the base image, and the build makes it a ${full.get(first)?.kind ?? 'file'}: ${hidden.length} base path(s) below it would disappear (e.g. /${hidden[0]})`,
      {
        hint: MERGED_USR_ROOTS.has(first)
          ? `The base image does not use merged /usr (/${first} is a directory there), and imprint installs packages merged-/usr only: build on a merged-/usr base (Debian 12 and later images are).`
          : `Write it at another path, or build the base without /${first}. (The spec's remove list cannot make room: it runs after files and packages, so it would remove the new /${first} too.)`,
        details: { path: `/${first}`, hidden: hidden.length },
      },
    );
  }

  const out = full.pick(keep);
  for (const key of whiteouts) {
    const slash = key.lastIndexOf('/');
    out.add(`${key.slice(0, slash + 1)}.wh.${key.slice(slash + 1)}`, whiteout(epoch));
  }
  return out;
}

/** The file node the node at `key` is or, as a hard link, finally names (undefined: none). */
function linkedFile(get: (key: string) => VNode | undefined, key: string): VNode | undefined {
  let node = get(key);
  for (let hops = 0; node?.kind === 'hardlink' && hops < 40; hops++)
    node = get(node.target.replace(/^\/+/, ''));
  return node?.kind === 'file' ? node : undefined;
}

/** The top-level directories merged /usr turns into links. */
const MERGED_USR_ROOTS = new Set(['bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32']);

/** An OCI whiteout entry: an empty regular file, mode 0, root-owned, at the epoch. */
function whiteout(epoch: number): VNode {
  return { kind: 'file', size: 0, mode: 0, uid: 0, gid: 0, mtime: epoch, content: () => Readable.from([]) };
}
