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
  const byPath = new Map<string, { key: string; node: VNode; path: string }>();
  for (const key of tree.keys()) {
    const node = tree.get(key)!;
    const path = archivePath(key, node);
    byPath.set(path, { key, node, path }); // distinct keys, distinct paths (only directories end in /)
  }
  const sorted = sortBytes([...byPath.keys()]).map((path) => byPath.get(path)!);

  // Hard links: group every link with the file it finally reaches; the group's first path holds the data.
  const groupLeader = new Map<string, string>();
  for (const { key, node } of sorted) {
    if (node.kind !== 'hardlink') continue;
    const fileKey = hardlinkFile(tree, key);
    const leader = groupLeader.get(fileKey);
    if (leader === undefined || compareBytes(key, leader) < 0) groupLeader.set(fileKey, key);
  }
  for (const [fileKey, linkKey] of [...groupLeader]) {
    if (compareBytes(fileKey, linkKey) < 0) groupLeader.set(fileKey, fileKey);
  }

  return sorted.map(({ key, node, path }): TarWriteEntry => {
    const base = { path, mode: node.mode & 0o7777, uid: node.uid, gid: node.gid, mtime: node.mtime, size: 0 };
    const xattrs = node.xattrs && Object.keys(node.xattrs).length > 0 ? { xattrs: node.xattrs } : {};
    switch (node.kind) {
      case 'dir':
        return { ...base, ...xattrs, type: 'dir' };
      case 'symlink':
        return { ...base, ...xattrs, type: 'symlink', linkname: node.target };
      case 'char':
      case 'block':
        return { ...base, ...xattrs, type: node.kind, devmajor: node.major, devminor: node.minor };
      case 'fifo':
        return { ...base, ...xattrs, type: 'fifo' };
      case 'file':
      case 'hardlink': {
        const fileKey = node.kind === 'file' ? key : hardlinkFile(tree, key);
        const leader = groupLeader.get(fileKey) ?? fileKey;
        const file = tree.get(fileKey) as Extract<VNode, { kind: 'file' }>;
        // One inode: every path of the group carries the file's metadata; the leader also its data.
        const inode = {
          path,
          mode: file.mode & 0o7777,
          uid: file.uid,
          gid: file.gid,
          mtime: file.mtime,
          ...(file.xattrs && Object.keys(file.xattrs).length > 0 ? { xattrs: file.xattrs } : {}),
        };
        if (leader !== key) return { ...inode, type: 'hardlink', size: 0, linkname: leader };
        return {
          ...inode,
          type: 'file',
          size: file.size,
          body: file.content,
          bodySync: file.content.sync,
          ...(file.sha256 === undefined ? {} : { sha256: file.sha256 }),
        };
      }
    }
    throw new ImprintError('INTERNAL', `/${key} has an unknown node kind`);
  });
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
