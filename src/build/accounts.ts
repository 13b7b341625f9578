import { Readable } from 'node:stream';
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
}

/** Accounts every image gets unless the spec declares the same name: root and the overflow ids. */
export const DEFAULT_USERS: readonly UserAccount[] = [
  { name: 'root', uid: 0, gid: 0, home: '/root', shell: '/bin/sh' },
  { name: 'nobody', uid: 65534, gid: 65534, home: '/nonexistent', shell: '/usr/sbin/nologin' },
];
export const DEFAULT_GROUPS: readonly GroupAccount[] = [
  { name: 'root', gid: 0, members: [] },
  { name: 'nogroup', gid: 65534, members: [] },
];

/** Merges `extra` over `base` by name (extra wins), sorted by id then name. Pure. */
export function mergeAccounts<T extends { name: string }>(base: readonly T[], extra: readonly T[], id: (t: T) => number): T[] {
  const byName = new Map<string, T>();
  for (const a of base) byName.set(a.name, a);
  for (const a of extra) byName.set(a.name, a);
  return [...byName.values()].sort((a, b) => id(a) - id(b) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** /etc/passwd text: one `name:x:uid:gid:gecos:home:shell` line per user, in the given order. */
export function passwdText(users: readonly UserAccount[]): string {
  return users.map((u) => `${u.name}:x:${u.uid}:${u.gid}:${u.gecos ?? ''}:${u.home}:${u.shell}\n`).join('');
}

/** /etc/group text: `name:x:gid:member,member` per group, members sorted. */
export function groupText(groups: readonly GroupAccount[]): string {
  return groups.map((g) => `${g.name}:x:${g.gid}:${[...g.members].sort().join(',')}\n`).join('');
}

/** Writes a small generated text file into the tree (root-owned unless said otherwise). */
export function addTextFile(tree: FileTree, path: string, text: string, mtime: number, mode = 0o644, origin = 'imprint'): void {
  const bytes = Buffer.from(text, 'utf8');
  tree.add(path, { kind: 'file', size: bytes.length, content: () => Readable.from([bytes]), mode, uid: 0, gid: 0, mtime, origin }, { onExisting: 'replace' });
}

/**
 * Writes /etc/passwd and /etc/group from the defaults merged with the spec's accounts, and creates each
 * declared user's home directory (owned by the user, 0755) unless it exists or is /nonexistent.
 */
export function writeAccounts(tree: FileTree, users: readonly UserAccount[], groups: readonly GroupAccount[], mtime: number): void {
  const allUsers = mergeAccounts(DEFAULT_USERS, users, (u) => u.uid);
  const allGroups = mergeAccounts(DEFAULT_GROUPS, groups, (g) => g.gid);
  addTextFile(tree, '/etc/passwd', passwdText(allUsers), mtime, 0o644, 'accounts');
  addTextFile(tree, '/etc/group', groupText(allGroups), mtime, 0o644, 'accounts');
  for (const u of users) {
    if (u.home === '/' || u.home === '/nonexistent' || tree.get(u.home) !== undefined) continue;
    tree.add(u.home, { kind: 'dir', mode: 0o755, uid: u.uid, gid: u.gid, mtime, origin: 'accounts' });
  }
}
