import { ImprintError } from '../errors.js';
import type { TarWriteEntry } from '../tar/index.js';
import type { VNode } from './node.js';
import { compareBytes, sortBytes } from './path.js';
import type { FileTree } from './tree.js';

/**
 * The tree as tar entries in layer order (DESIGN §4): sorted by full archive path in UTF-8 byte order
 * (directories carry their trailing '/', so parents precede children), each hard-link group written as
 * a file at its first path in that order with the others linking to it. Cost: sorts all keys.
 */
export function layerEntries(tree: FileTree): TarWriteEntry[] {
  // The archive paths alone are sorted (distinct keys, distinct paths: only directories end in /);
  // each entry finds its node again by key. No record a node beside the entries: a 100k-node tree's
  // layer is built while the whole tree is in memory.
  const paths: string[] = [];
  for (const key of tree.keys()) paths.push(archivePath(key, tree.get(key)!));
  sortBytes(paths);

  // Hard links: group every link with the file it finally reaches; the group's first path holds the data.
  const groupLeader = new Map<string, string>();
  for (const path of paths) {
    if (path.endsWith('/') || tree.get(path)?.kind !== 'hardlink') continue;
    const fileKey = hardlinkFile(tree, path);
    const leader = groupLeader.get(fileKey);
    if (leader === undefined || compareBytes(path, leader) < 0) groupLeader.set(fileKey, path);
  }
  for (const [fileKey, linkKey] of [...groupLeader]) {
    if (compareBytes(fileKey, linkKey) < 0) groupLeader.set(fileKey, fileKey);
  }

  // No spreads: ~6,000 entries a package layer, built once, on the main thread after the last
  // package (spreads cost ~2 µs each there).
  return paths.map((path): TarWriteEntry => {
    const key = path.endsWith('/') ? path.slice(0, -1) : path;
    const node = tree.get(key)!;
    switch (node.kind) {
      case 'dir':
      case 'fifo':
        return entryOf(path, node.kind, node);
      case 'symlink': {
        const entry = entryOf(path, 'symlink', node);
        entry.linkname = node.target;
        return entry;
      }
      case 'char':
      case 'block': {
        const entry = entryOf(path, node.kind, node);
        entry.devmajor = node.major;
        entry.devminor = node.minor;
        return entry;
      }
      case 'file':
      case 'hardlink': {
        const fileKey = node.kind === 'file' ? key : hardlinkFile(tree, key);
        const leader = groupLeader.get(fileKey) ?? fileKey;
        const file = tree.get(fileKey) as Extract<VNode, { kind: 'file' }>;
        // One inode: every path of the group carries the file's metadata; the leader also its data.
        if (leader !== key) {
          const entry = entryOf(path, 'hardlink', file);
          entry.linkname = leader;
          return entry;
        }
        const entry = entryOf(path, 'file', file);
        entry.size = file.size;
        entry.body = file.content; // its sync, if any, is read when the entry is written (bodyNow)
        if (file.sha256 !== undefined) entry.sha256 = file.sha256;
        return entry;
      }
    }
    throw new ImprintError('INTERNAL', `/${key} has an unknown node kind`);
  });
}

/** An entry of `type` at `path` with `node`'s metadata and extended attributes (any), size 0. */
function entryOf(path: string, type: TarWriteEntry['type'], node: VNode): TarWriteEntry {
  const entry: TarWriteEntry = {
    path,
    type,
    mode: node.mode & 0o7777,
    uid: node.uid,
    gid: node.gid,
    mtime: node.mtime,
    size: 0,
  };
  if (node.xattrs !== undefined && Object.keys(node.xattrs).length > 0) entry.xattrs = node.xattrs;
  return entry;
}

function archivePath(key: string, node: VNode): string {
  return node.kind === 'dir' ? `${key}/` : key;
}

/** The key of the regular file a hard link finally reaches; VFS_CONFLICT when it reaches none. */
function hardlinkFile(tree: FileTree, key: string): string {
  let current = key;
  for (let hops = 0; hops < 40; hops++) {
    const node = tree.get(current);
    if (node?.kind === 'file') return current;
    if (node?.kind !== 'hardlink') break;
    current = node.target.replace(/^\/+/, '');
  }
  throw new ImprintError('VFS_CONFLICT', `hard link /${key} does not lead to a regular file in the image`, {
    hint: 'A hard link must name a regular file that is part of the same image.',
    details: { path: `/${key}` },
  });
}
