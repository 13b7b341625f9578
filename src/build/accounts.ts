import { mergeAccounts } from '../debian/effects/accounts.js';
import { readAccounts } from '../debian/effects/system-accounts.js';
import { ImprintError } from '../errors.js';
import { type SpecLocation, specField } from '../spec/load.js';
import { nearest } from '../spec/suggest.js';
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
 * the user, 0755) unless it exists or is /nonexistent. A declared uid or gid that another account of
 * the image holds (base-passwd's www-data is 33, users 100) is SPEC_INVALID naming the field in `spec`,
 * as adduser refuses it: the image would name that id after the other account. So is a group member
 * that no user of the resulting /etc/passwd has (a member may be any of its users, declared or not).
 */
export async function applyAccounts(
  tree: FileTree,
  users: readonly UserAccount[],
  groups: readonly GroupAccount[],
  mtime: number,
  spec: SpecLocation,
): Promise<void> {
  if (tree.get('/etc/passwd') === undefined)
    addGeneratedFile(tree, '/etc/passwd', DEFAULT_PASSWD, mtime, 0o644, 'accounts');
  if (tree.get('/etc/group') === undefined)
    addGeneratedFile(tree, '/etc/group', DEFAULT_GROUP, mtime, 0o644, 'accounts');
  const { passwd, group } = await readAccounts(tree);
  refuseTakenIds(spec, 'users', 'uid', '/etc/passwd', passwd, users, (u) => u.uid);
  const declared = groups.filter((g) => g.implicit !== true);
  refuseTakenIds(spec, 'groups', 'gid', '/etc/group', group, declared, (g) => g.gid);
  // A user's own group is made only when the image has no group of that gid (base-passwd has many).
  const taken = new Set(group.map((fields) => fields[2]));
  const wanted = groups.filter((g) => !(g.implicit === true && taken.has(String(g.gid))));
  refuseImplicitGroupNames(spec, group, users, wanted);
  await mergeAccounts(tree, { users, groups: wanted }, { epoch: mtime, origin: 'accounts' });
  refuseUnknownMembers(spec, (await readAccounts(tree)).passwd, groups);
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

/**
 * SPEC_INVALID for the first declared account (`accounts.<list>[i].<field>`) whose id an account of
 * another name holds in the image's file, unless the spec redeclares that account too (its line is
 * then replaced). Pure.
 */
function refuseTakenIds<T extends { name: string }>(
  spec: SpecLocation,
  list: 'users' | 'groups',
  field: 'uid' | 'gid',
  file: string,
  entries: readonly string[][],
  declared: readonly T[],
  id: (t: T) => number,
): void {
  const names = new Set(declared.map((d) => d.name));
  const holders = new Map<string, string>();
  for (const [name, , idText] of entries) {
    if (name === undefined || idText === undefined || names.has(name) || holders.has(idText)) continue;
    holders.set(idText, name);
  }
  declared.forEach((d, i) => {
    const holder = holders.get(String(id(d)));
    if (holder === undefined) return;
    throw new ImprintError(
      'SPEC_INVALID',
      `${specField(spec, ['accounts', list, i, field])}: ${field} ${id(d)} of ${JSON.stringify(d.name)} is already ${JSON.stringify(holder)}'s in the image's ${file} (from a package such as base-passwd, or the base image)`,
      {
        hint: `Choose a free ${field} (1000 and up are free in Debian's accounts), or declare the account under its name ${JSON.stringify(holder)} to replace it.`,
        details: { file: spec.file, field: `accounts.${list}[${i}].${field}`, [field]: id(d), holder },
      },
    );
  });
}

/**
 * SPEC_INVALID naming `accounts.groups[i].members[j]` when a member is no user of the image's
 * /etc/passwd (`passwd`, after the merge): declared, from a package such as base-passwd or the base
 * image. `groups` are the spec's, declared ones first (their indexes are the spec's). Pure.
 */
function refuseUnknownMembers(
  spec: SpecLocation,
  passwd: readonly string[][],
  groups: readonly GroupAccount[],
): void {
  const names = new Set(passwd.map(([name]) => name ?? ''));
  groups.forEach((g, gi) => {
    g.members.forEach((member, i) => {
      if (names.has(member)) return;
      const suggestion = nearest(member, names);
      throw new ImprintError(
        'SPEC_INVALID',
        `${specField(spec, ['accounts', 'groups', gi, 'members', i])}: ${JSON.stringify(member)} is not a user of the image's /etc/passwd${suggestion === undefined ? '' : `; did you mean ${JSON.stringify(suggestion)}?`}`,
        {
          hint: 'Declare it under accounts.users, or add the package that creates it (base-passwd has www-data and the other Debian system accounts).',
          details: { file: spec.file, field: `accounts.groups[${gi}].members[${i}]`, member },
        },
      );
    });
  });
}

/**
 * SPEC_INVALID naming `accounts.users[i].gid` when a user's own (implicit) group would take the name of
 * a group the image has with another gid (a user named `users`): merging it would move that group, as
 * useradd refuses ("group users exists"). Pure.
 */
function refuseImplicitGroupNames(
  spec: SpecLocation,
  group: readonly string[][],
  users: readonly UserAccount[],
  groups: readonly GroupAccount[],
): void {
  const gidOf = new Map(group.map(([name, , gid]) => [name, gid]));
  for (const g of groups) {
    const existing = gidOf.get(g.name);
    if (g.implicit !== true || existing === undefined || existing === String(g.gid)) continue;
    const i = users.findIndex((u) => u.name === g.name);
    throw new ImprintError(
      'SPEC_INVALID',
      `${specField(spec, ['accounts', 'users', i, 'gid'])}: user ${JSON.stringify(g.name)} would get a group of its name with gid ${g.gid}, but the image's /etc/group already has ${JSON.stringify(g.name)} with gid ${existing}`,
      {
        hint: `Set gid: ${existing} to make that group the user's, or rename the user.`,
        details: { file: spec.file, field: `accounts.users[${i}].gid`, gid: g.gid, holder: g.name },
      },
    );
  }
}
