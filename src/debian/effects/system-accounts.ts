// System users and groups that postinsts create with adduser (postgres, ssl-cert, ...), useradd
// (dnsmasq) or systemd-sysusers (tomcat), made as adduser 3.134, shadow 4.13 or systemd 252 makes
// them, in dpkg's configure order; and the name lookups rules use to chown to them.
import type { FileTree } from '../../vfs/tree.js';
import { SHADOW_GID, shadowLastChange } from './accounts.js';
import { type AccountCall, parseAccountCalls } from './adduser-parse.js';
import { sysusersCalls } from './sysusers.js';
import { type EffectWriter, exists, makeDir, readTreeFile, writeFile } from './tree-io.js';
import type { EffectRule, InstalledInfo } from './types.js';

/** adduser.conf's defaults: FIRST_SYSTEM_UID..LAST_SYSTEM_UID, FIRST_SYSTEM_GID..LAST_SYSTEM_GID. */
const SYSTEM_IDS = { first: 100, last: 999 } as const;
/** login.defs' defaults SYS_UID_MIN..SYS_UID_MAX (and GID): useradd and groupadd take the highest free. */
const SHADOW_SYSTEM_IDS = { first: 101, last: 999 } as const;
const NOGROUP = 65534;

/**
 * The installed packages in the order dpkg configures them: each after what it Depends or Pre-Depends
 * on (among the installed), ties and cycles broken by name. Deterministic.
 */
export function configureOrder(installed: ReadonlyMap<string, InstalledInfo>): InstalledInfo[] {
  const byName = new Map<string, string>();
  for (const [key, info] of installed) if (!byName.has(info.name)) byName.set(info.name, key);
  const keys = [...installed.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const done = new Set<string>();
  const out: InstalledInfo[] = [];
  const visit = (key: string, path: Set<string>): void => {
    if (done.has(key) || path.has(key)) return;
    path.add(key);
    const info = installed.get(key) as InstalledInfo;
    const deps = [...new Set(info.depends ?? [])].sort();
    for (const dep of deps) {
      const k = byName.get(dep);
      if (k !== undefined) visit(k, path);
    }
    path.delete(key);
    done.add(key);
    out.push(info);
  };
  for (const k of keys) visit(k, new Set());
  return out;
}

/** The account files as lines of fields; `undefined` for a file that is absent. */
interface AccountFiles {
  passwd: string[][];
  group: string[][];
  shadow: string[][] | undefined;
  gshadow: string[][] | undefined;
}

/** The tree's account files as lines of fields (empty lines left out); passwd and group [] when absent. */
export async function readAccounts(tree: FileTree): Promise<AccountFiles> {
  const read = async (name: string) => {
    const buf = await readTreeFile(tree, `/etc/${name}`);
    if (buf === undefined) return undefined;
    return buf
      .toString('utf8')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => l.split(':'));
  };
  return {
    passwd: (await read('passwd')) ?? [],
    group: (await read('group')) ?? [],
    shadow: await read('shadow'),
    gshadow: await read('gshadow'),
  };
}

/**
 * The uid of user `name` in the tree's /etc/passwd, or undefined. root is 0 in every image (the build
 * writes it where no package did), also while effects run on a tree with no /etc/passwd yet, as
 * chown, dpkg-statoverride and systemd-tmpfiles resolve it without one.
 */
export async function lookupUid(tree: FileTree, name: string): Promise<number | undefined> {
  return name === 'root' ? 0 : idOf((await readAccounts(tree)).passwd, name);
}

/** The gid of group `name` in the tree's /etc/group, or undefined; root is 0 (see lookupUid). */
export async function lookupGid(tree: FileTree, name: string): Promise<number | undefined> {
  return name === 'root' ? 0 : idOf((await readAccounts(tree)).group, name);
}

function idOf(entries: string[][], name: string): number | undefined {
  const e = entries.find((f) => f[0] === name);
  return e === undefined || !/^[0-9]+$/.test(e[2] ?? '') ? undefined : Number(e[2]);
}

/**
 * A free system id as the call's tool picks it: adduser the lowest of its range, useradd and
 * systemd-sysusers the highest. `used` holds the ids taken.
 */
function newId(
  used: ReadonlySet<string | undefined>,
  call: { by?: 'useradd' | 'sysusers' | undefined; first?: number | undefined; last?: number | undefined },
): number | undefined {
  if (call.by !== undefined) {
    for (let id = SHADOW_SYSTEM_IDS.last; id >= SHADOW_SYSTEM_IDS.first; id--)
      if (!used.has(String(id))) return id;
    return undefined;
  }
  for (let id = call.first ?? SYSTEM_IDS.first; id <= (call.last ?? SYSTEM_IDS.last); id++)
    if (!used.has(String(id))) return id;
  return undefined;
}

const ids = (entries: string[][]): Set<string | undefined> => new Set(entries.map((f) => f[2]));

/**
 * Applies one adduser call (or useradd/groupadd call, or sysusers.d line: `call.by`) to `files` as
 * adduser 3.134 (shadow 4.13, systemd 252) does on a system where the calls before it ran; returns
 * the home directory to create (path, uid, gid), if any. An existing user or group is left as it is;
 * adding a user to its own primary group does nothing (postinsts guard that call with `id -Gn`).
 * Pure on `files`.
 */
export function applyAccountCall(
  files: AccountFiles,
  call: AccountCall,
  lastchg: string,
): { home: string; uid: number; gid: number } | undefined {
  // systemd-sysusers locks new accounts' passwords with `!*`, adduser and shadow's tools with `!`.
  const addGroup = (name: string, gid: number, by: 'useradd' | 'sysusers' | undefined): void => {
    files.group.push([name, files.gshadow === undefined ? '!' : 'x', String(gid), '']);
    files.gshadow?.push([name, by === 'sysusers' ? '!*' : '!', '', '']);
  };
  switch (call.op) {
    case 'group': {
      if (idOf(files.group, call.name) !== undefined) return undefined;
      const taken = call.gid !== undefined && files.group.some((f) => f[2] === String(call.gid));
      const gid =
        call.gid !== undefined
          ? taken
            ? undefined
            : call.gid
          : newId(ids(files.group), { by: call.by, first: call.firstGid, last: call.lastGid });
      if (gid !== undefined) addGroup(call.name, gid, call.by);
      return undefined;
    }
    case 'member': {
      const user = files.passwd.find((f) => f[0] === call.user);
      const group = files.group.find((f) => f[0] === call.group);
      // systemd-sysusers lists a user in its primary group too (stunnel4's `m stunnel4 stunnel4`).
      if (user === undefined || group === undefined || (user[3] === group[2] && call.by !== 'sysusers'))
        return undefined;
      const add = (entry: string[] | undefined) => {
        if (entry === undefined) return;
        const members = (entry[3] ?? '').split(',').filter((m) => m !== '');
        if (!members.includes(call.user)) entry[3] = [...members, call.user].join(',');
      };
      add(group);
      add(files.gshadow?.find((f) => f[0] === call.group));
      return undefined;
    }
    case 'user': {
      if (idOf(files.passwd, call.name) !== undefined) return undefined;
      // systemd-sysusers takes a uid no other group has as its gid, so the user's group can match it.
      const used = ids(files.passwd);
      if (call.by === 'sysusers') for (const g of files.group) if (g[0] !== call.name) used.add(g[2]);
      const uid = call.uid ?? newId(used, { by: call.by, first: call.firstUid, last: call.lastUid });
      if (uid === undefined) return undefined;
      let gid: number | undefined;
      if (call.gid !== undefined)
        gid = files.group.some((f) => f[2] === String(call.gid)) ? call.gid : undefined;
      else if (call.ingroup !== undefined) gid = idOf(files.group, call.ingroup);
      else if (call.group) {
        gid = idOf(files.group, call.name);
        if (gid === undefined) {
          // adduser takes --uid as the gid too; useradd and sysusers the uid, when no group has it.
          const uidFree = call.by !== undefined && !files.group.some((f) => f[2] === String(uid));
          gid =
            call.uid !== undefined && call.by === undefined
              ? call.uid
              : uidFree
                ? uid
                : newId(ids(files.group), { by: call.by, first: call.firstGid, last: call.lastGid });
          if (gid !== undefined) addGroup(call.name, gid, call.by);
        }
      } else gid = NOGROUP;
      if (gid === undefined) return undefined;
      const home = call.home ?? '/nonexistent';
      const shell = call.shell ?? '/usr/sbin/nologin';
      files.passwd.push([
        call.name,
        files.shadow === undefined ? '!' : 'x',
        String(uid),
        String(gid),
        call.by === undefined ? chfnGecos(call.gecos) : (call.gecos ?? ''),
        home,
        shell,
      ]);
      const expire = call.locked === true ? '1' : '';
      files.shadow?.push([
        call.name,
        call.by === 'sysusers' ? '!*' : '!',
        lastchg,
        '',
        '',
        '',
        '',
        expire,
        '',
      ]);
      const creates = call.createHome && !/^\/+nonexistent(\/|$)/.test(home);
      return creates ? { home, uid, gid } : undefined;
    }
  }
}

/**
 * The GECOS field adduser leaves: it runs `chfn -f NAME -r ROOM [-w WORK] [-h HOME] [-o OTHER]` with
 * the comment split at commas, so chfn writes `name,room,work,home` (and `,other` when given).
 */
function chfnGecos(comment: string | undefined): string {
  if (comment === undefined) return '';
  const [name = '', room = '', work = '', home = '', ...other] = comment.split(',');
  const rest = other.join(',');
  return [name, room, work, home].join(',') + (rest === '' ? '' : `,${rest}`);
}

/**
 * adduser's system accounts: the `adduser --system`, `addgroup --system` and `adduser USER GROUP`
 * calls of every installed package's preinst, then of every postinst (literal arguments; see
 * adduser-parse.ts), each in configure order, appended to /etc/passwd, /etc/group and, when they exist, /etc/shadow and /etc/gshadow; ids
 * are the first free ones of 100-999 unless given; home directories are created (0755, owned by the
 * user) unless `--no-create-home`, `/nonexistent` or already there.
 */
export const systemAccountsRule: EffectRule = {
  id: 'adduser/system-accounts',
  package: null,
  describe:
    'postinst adduser --system / addgroup --system / adduser USER GROUP calls (and useradd/groupadd --system, sysusers.d lines of systemd-sysusers): accounts appended in configure order, ids from 100-999 (useradd: the highest free of 101-999), home directories',
  async apply(ctx) {
    // dpkg runs every preinst while unpacking, before any postinst (mariadb-server makes mysql there).
    const order = configureOrder(ctx.installed);
    const scriptCalls = async (script: string | undefined): Promise<AccountCall[]> =>
      script === undefined
        ? []
        : [...parseAccountCalls(script).calls, ...(await sysusersCalls(ctx.tree, script))];
    const parsed: Array<{ pkg: InstalledInfo; calls: AccountCall[] }> = [];
    for (const phase of ['preinst', 'postinst'] as const)
      for (const pkg of order) {
        const calls = await scriptCalls(pkg[phase]);
        if (calls.length > 0) parsed.push({ pkg, calls });
      }
    if (parsed.length === 0 || !exists(ctx.tree, '/etc/passwd')) return;
    const files = await readAccounts(ctx.tree);
    const before = JSON.stringify(files);
    const lastchg = shadowLastChange(ctx.epoch);
    const homes: Array<{ origin: string; home: string; uid: number; gid: number }> = [];
    const touched = new Set<string>();
    for (const { pkg, calls } of parsed) {
      for (const call of calls) {
        const snapshot = JSON.stringify(files);
        const home = applyAccountCall(files, call, lastchg);
        if (home !== undefined) homes.push({ origin: pkg.name, ...home });
        if (JSON.stringify(files) !== snapshot) touched.add(pkg.name);
      }
    }
    if (JSON.stringify(files) !== before) {
      const origin = [...touched][0] as string;
      writeAccounts(ctx.writer(origin), files);
    }
    for (const h of homes) makeDir(ctx.writer(h.origin), h.home, 0o755, h.uid, h.gid);
  },
};

function writeAccounts(w: EffectWriter, files: AccountFiles): void {
  const text = (entries: string[][]) => entries.map((f) => `${f.join(':')}\n`).join('');
  writeFile(w, '/etc/passwd', text(files.passwd), { mode: 0o644 });
  writeFile(w, '/etc/group', text(files.group), { mode: 0o644 });
  if (files.shadow !== undefined)
    writeFile(w, '/etc/shadow', text(files.shadow), { mode: 0o640, gid: SHADOW_GID });
  if (files.gshadow !== undefined)
    writeFile(w, '/etc/gshadow', text(files.gshadow), { mode: 0o640, gid: SHADOW_GID });
}
