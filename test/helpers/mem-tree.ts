// In-memory image trees for the build checks' tests: root-owned, mtime 0, files from text or bytes.
import { bytesOpener } from '../../src/vfs/node.js';
import { FileTree } from '../../src/vfs/tree.js';

/** Owner and mtime of every node these helpers make. */
export const ROOT_META = { uid: 0, gid: 0, mtime: 0 } as const;

/** Adds a regular file at `path` holding `content` (text as UTF-8), `mode` 0644 by default. */
export function addFile(tree: FileTree, path: string, content: string | Buffer, mode = 0o644): void {
  const bytes = typeof content === 'string' ? Buffer.from(content) : content;
  tree.add(path, { kind: 'file', size: bytes.length, content: bytesOpener(bytes), mode, ...ROOT_META });
}

/** A tree (root directory 0755) with a file for each entry of `files`, path to content. */
export function memTree(files: Readonly<Record<string, string | Buffer>> = {}): FileTree {
  const tree = new FileTree({ mode: 0o755, ...ROOT_META });
  for (const [path, content] of Object.entries(files)) addFile(tree, path, content);
  return tree;
}
