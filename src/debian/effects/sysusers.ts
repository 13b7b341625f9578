// sysusers.d: the accounts a postinst makes by running `systemd-sysusers` (tomcat10's tomcat,
// systemd's systemd-network and systemd-journal), as AccountCalls the system-accounts rule applies.
import type { FileTree } from '../../vfs/tree.js';
import { type AccountCall, isAccountName as isName } from './adduser-parse.js';
import { childNames, readTreeFile, statPath } from './tree-io.js';

const DIRS = ['/etc/sysusers.d', '/usr/lib/sysusers.d'] as const;

/**
 * The sysusers.d names a script's `systemd-sysusers` calls hand over: the `.conf` arguments, or
 * `'all'` for a call naming none (every file, as systemd-sysusers reads them); empty without a call.
 * Pure.
 */
export function sysusersConfigs(script: string): string[] | 'all' {
  const names: string[] = [];
  for (const raw of script.split('\n')) {
    const line = raw.trim();
    const m = /^(?:.*(?:[;&|]|\bthen|\bdo|\belse)\s+)?systemd-sysusers\b([^;&|>]*)/.exec(line);
    if (line.startsWith('#') || m === null) continue;
    const confs = (m[1] as string).split(/\s+/).filter((w) => /^[A-Za-z0-9_.@+-]+\.conf$/.test(w));
    if (confs.length === 0) return 'all';
    names.push(...confs);
  }
  return names;
}

/**
 * The account calls of sysusers.d lines, groups first, then users, then memberships, as
 * systemd-sysusers 252 applies them: `g NAME ID`, `u NAME ID[:GROUP] "GECOS" HOME SHELL` (`u!`: locked; with the
 * user's own group, gid = uid when free; home `/`, shell `/usr/sbin/nologin` for `-`), `m USER
 * GROUP`. Ids are allocated from the top of the system range down (`by: 'sysusers'`). Lines with
 * specifiers, id files or other types are left out. Pure.
 */
export function parseSysusers(text: string): AccountCall[] {
  const groups: AccountCall[] = [];
  const users: AccountCall[] = [];
  const members: AccountCall[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.includes('%')) continue;
    const fields = [...line.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2] ?? '');
    const [written, name = '', id = '-', gecos = '-', home = '-', shell = '-'] = fields;
    // `u!` (systemd 257, trixie): the same user, its account locked (shadow's expiry day 1).
    const locked = written === 'u!';
    const type = locked ? 'u' : written;
    if (!isName(name)) continue;
    const dash = (v: string) => (v === '-' ? undefined : v);
    if (type === 'g' && /^(-|[0-9]+)$/.test(id)) {
      groups.push({ op: 'group', by: 'sysusers', name, ...(id === '-' ? {} : { gid: Number(id) }) });
    } else if (type === 'u') {
      const m = /^(-|[0-9]+)(?::([0-9]+|[A-Za-z0-9_][A-Za-z0-9_.-]*))?$/.exec(id);
      if (m === null || (home !== '-' && !home.startsWith('/')) || (shell !== '-' && !shell.startsWith('/')))
        continue;
      const [, uid = '-', group] = m;
      users.push({
        op: 'user',
        by: 'sysusers',
        name,
        group: group === undefined,
        createHome: false,
        home: dash(home) ?? '/',
        shell: dash(shell) ?? '/usr/sbin/nologin',
        ...(uid === '-' ? {} : { uid: Number(uid) }),
        ...(group === undefined ? {} : /^[0-9]+$/.test(group) ? { gid: Number(group) } : { ingroup: group }),
        ...(dash(gecos) === undefined ? {} : { gecos }),
        ...(locked ? { locked } : {}),
      });
    } else if (type === 'm' && isName(id)) {
      members.push({ op: 'member', by: 'sysusers', user: name, group: id });
    }
  }
  return [...groups, ...users, ...members];
}

/**
 * The calls `systemd-sysusers` makes when `script` runs it: the named files (from /etc/sysusers.d,
 * else /usr/lib/sysusers.d), or every file of both (an /etc one hides its /usr/lib namesake), read
 * in name order and applied groups first. Cost: reads those files.
 */
export async function sysusersCalls(tree: FileTree, script: string): Promise<AccountCall[]> {
  const wanted = sysusersConfigs(script);
  if (wanted !== 'all' && wanted.length === 0) return [];
  const names =
    wanted === 'all'
      ? [...new Set(DIRS.flatMap((d) => childNames(tree, d.slice(1))))]
          .filter((n) => n.endsWith('.conf'))
          .sort()
      : wanted;
  let text = '';
  for (const name of names) {
    const conf = DIRS.map((d) => `${d}/${name}`).find((p) => statPath(tree, p)?.node.kind === 'file');
    if (conf !== undefined) text += `${(await readTreeFile(tree, conf))?.toString('utf8') ?? ''}\n`;
  }
  return parseSysusers(text);
}
