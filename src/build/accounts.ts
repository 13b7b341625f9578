import { mergeAccounts } from '../debian/effects/accounts.js';
import { readTreeFile } from '../debian/effects/tree-io.js';
import { bytesOpener } from '../vfs/node.js';
import type { FileTree } from '../vfs/tree.js';

export interface UserAccount {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
  gecos?: string;
}

export interface GroupAccount {
  name: string;
  gid: number;
  members: string[];
  /** Made for a user's gid rather than declared: left out when the image has a group with that gid. */
  implicit?: true;
}

/** /etc/passwd and /etc/group of an image without base-passwd: root and the overflow ids. */
export const DEFAULT_PASSWD =
  'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n';
export const DEFAULT_GROUP = 'root:x:0:\nnogroup:x:65534:\n';

/** Writes a small generated file (text as UTF-8, or bytes) into the tree (root-owned unless said otherwise). */
export function addGeneratedFile(
  tree: FileTree,
  path: string,
  content: string | Buffer,
  mtime: number,
  mode = 0o644,
  origin = 'imprint',
): void {
  const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
  tree.add(
    path,
    {
      kind: 'file',
      size: bytes.length,
      content: bytesOpener(bytes),
      mode,
      uid: 0,
      gid: 0,
      mtime,
      origin,
    },
    { onExisting: 'replace' },
  );
}

/**
 * Applies the spec's accounts: seeds /etc/passwd and /etc/group with root and nobody when no package
 * provided them, merges the declared users and groups (same name replaced, new ones appended in id
 * order, shadow entries where /etc/shadow exists), and creates each user's home directory (owned by
 * the user, 0755) unless it exists or is /nonexistent.
 */
export async function applyAccounts(
  tree: FileTree,
  users: readonly UserAccount[],
  groups: readonly GroupAccount[],
  mtime: number,
): Promise<void> {
  if (tree.get('/etc/passwd') === undefined)
    addGeneratedFile(tree, '/etc/passwd', DEFAULT_PASSWD, mtime, 0o644, 'accounts');
  if (tree.get('/etc/group') === undefined)
    addGeneratedFile(tree, '/etc/group', DEFAULT_GROUP, mtime, 0o644, 'accounts');
  // A user's own group is made only when the image has no group of that gid (base-passwd has many).
  const groupText = (await readTreeFile(tree, '/etc/group'))?.toString('utf8') ?? '';
  const taken = new Set(groupText.split('\n').map((line) => line.split(':')[2]));
  const wanted = groups.filter((g) => !(g.implicit === true && taken.has(String(g.gid))));
  await mergeAccounts(tree, { users, groups: wanted }, { epoch: mtime, origin: 'accounts' });
  for (const u of users) {
    if (u.home === '/' || u.home === '/nonexistent' || tree.get(tree.resolveParents(u.home)) !== undefined)
      continue;
    tree.add(tree.resolveParents(u.home), {
      kind: 'dir',
      mode: 0o755,
      uid: u.uid,
      gid: u.gid,
      mtime,
      origin: 'accounts',
    });
  }
}
