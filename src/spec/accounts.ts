/** A user as the schema produces it (defaults applied). */
export interface AccountUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

/** A group as the schema produces it. */
export interface AccountGroup {
  name: string;
  gid: number;
  members: string[];
  /** Made for a user whose gid no declared group has (withImplicitGroups), not declared. */
  implicit?: true;
}

/** A cross-field problem, with its path from the document root. */
export interface RuleIssue {
  path: (string | number)[];
  message: string;
}

/** An account name, as useradd's default NAME_REGEX allows (at most 32 characters). */
export const ACCOUNT_NAME = /^[a-z_][a-z0-9_.-]{0,31}$/;
const NUMERIC_ID = /^[0-9]+$/;

/**
 * A `user` as the OCI config takes it: `user[:group]`, each a numeric id or an account name (the
 * runtime looks names up in the image's /etc/passwd and /etc/group). Undefined when it is neither.
 */
export function splitUser(user: string): { user: string; group: string | undefined } | undefined {
  const parts = user.split(':');
  if (parts.length > 2 || parts.some((p) => !NUMERIC_ID.test(p) && !ACCOUNT_NAME.test(p))) return undefined;
  return { user: parts[0] as string, group: parts[1] };
}

/** Whether a part of `user` is a numeric id (else a name the image must have). */
export function isNumericId(part: string): boolean {
  return NUMERIC_ID.test(part);
}

/**
 * Checks the account rules: user and group names and ids unique; group members listed once; a user's
 * gid names a declared group, or no group and no other group of the user's name (then the user gets an
 * implicit group, see withImplicitGroups); `user` is user[:group], each an account name or numeric id.
 * Whether the image has the accounts `user` and the members name (declared, from a package such as
 * base-passwd, or the base image's) is the build's check, against the /etc/passwd it makes.
 * Pure; returns every problem found.
 */
export function accountIssues(
  accounts: { users: AccountUser[]; groups: AccountGroup[] },
  user: string | undefined,
): RuleIssue[] {
  const issues: RuleIssue[] = [];
  const { users, groups } = accounts;
  duplicates(
    users.map((u) => u.name),
    (i, j, v) =>
      issues.push({
        path: ['accounts', 'users', i, 'name'],
        message: `duplicate user name ${JSON.stringify(v)} (also accounts.users[${j}])`,
      }),
  );
  duplicates(
    users.map((u) => u.uid),
    (i, j, v) =>
      issues.push({
        path: ['accounts', 'users', i, 'uid'],
        message: `duplicate uid ${v} (also accounts.users[${j}])`,
      }),
  );
  duplicates(
    groups.map((g) => g.name),
    (i, j, v) =>
      issues.push({
        path: ['accounts', 'groups', i, 'name'],
        message: `duplicate group name ${JSON.stringify(v)} (also accounts.groups[${j}])`,
      }),
  );
  duplicates(
    groups.map((g) => g.gid),
    (i, j, v) =>
      issues.push({
        path: ['accounts', 'groups', i, 'gid'],
        message: `duplicate gid ${v} (also accounts.groups[${j}])`,
      }),
  );

  groups.forEach((g, gi) => {
    duplicates(g.members, (i, j, v) =>
      issues.push({
        path: ['accounts', 'groups', gi, 'members', i],
        message: `duplicate member ${JSON.stringify(v)} (also members[${j}])`,
      }),
    );
  });

  const gids = new Set(groups.map((g) => g.gid));
  const groupGidByName = new Map(groups.map((g) => [g.name, g.gid] as const));
  users.forEach((u, i) => {
    // uid 0 is root's alone: another name for it, or root moved off it, leaves an image without root.
    if ((u.name === 'root') !== (u.uid === 0)) {
      issues.push({
        path: ['accounts', 'users', i, u.name === 'root' ? 'uid' : 'name'],
        message:
          u.name === 'root'
            ? `expected uid 0 for root, found ${u.uid}; leave root out (every image has it) or keep uid 0`
            : `uid 0 is root's; expected another uid for ${JSON.stringify(u.name)} (run as root with user: root)`,
      });
    }
    const sameName = groupGidByName.get(u.name);
    if (!gids.has(u.gid) && sameName !== undefined) {
      issues.push({
        path: ['accounts', 'users', i, 'gid'],
        message: `gid ${u.gid} of user ${JSON.stringify(u.name)} is declared by no group, and the group named ${JSON.stringify(u.name)} has gid ${sameName}; set gid: ${sameName} or declare a group with gid ${u.gid}`,
      });
    }
  });

  if (user !== undefined) {
    const split = splitUser(user);
    if (split === undefined)
      issues.push({
        path: ['user'],
        message: `expected user[:group], each an account name (lowercase letters, digits, _ . -) or a numeric id, found ${JSON.stringify(user)}`,
      });
    else if (
      [split.user, split.group].some((p) => p !== undefined && isNumericId(p) && Number(p) > 4294967294)
    ) {
      issues.push({ path: ['user'], message: `expected ids <= 4294967294, found ${JSON.stringify(user)}` });
    }
  }
  return issues;
}

/**
 * The groups of the image: the declared ones in order, then, in user order, one group named after each
 * user whose gid no declared group has (a later user with the same unlisted gid shares that group),
 * marked `implicit`: the build leaves it out when the image already has a group with that gid
 * (base-passwd's www-data for gid 33), as `useradd -g 33` would. Pure.
 */
export function withImplicitGroups<T extends { users: AccountUser[]; groups: AccountGroup[] }>(
  accounts: T,
): T {
  const groups = accounts.groups.map((g) => ({ ...g, members: [...g.members] }));
  const gids = new Set(groups.map((g) => g.gid));
  for (const u of accounts.users) {
    if (gids.has(u.gid)) continue;
    groups.push({ name: u.name, gid: u.gid, members: [], implicit: true });
    gids.add(u.gid);
  }
  return { ...accounts, groups };
}

function duplicates<T>(values: T[], report: (index: number, firstIndex: number, value: T) => void): void {
  const first = new Map<T, number>();
  values.forEach((v, i) => {
    const j = first.get(v);
    if (j === undefined) first.set(v, i);
    else report(i, j, v);
  });
}
