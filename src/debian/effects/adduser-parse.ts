// The account calls of a postinst, read as text (never run): `adduser --system`, `addgroup --system`
// and `adduser USER GROUP`, and shadow's `useradd --system` and `groupadd --system` (dnsmasq-base's
// dnsmasq), with their literal arguments (script-eval.ts follows variables and loops).
import { literalCalls } from './script-eval.js';

/**
 * What adduser 3.134 does for one call (Debian bookworm; the same options in trixie's 3.15x), or, with
 * `by`, shadow 4.13's useradd or groupadd, or a sysusers.d line (`sysusers.ts`): ids from the top of
 * 101-999 down, GECOS as given.
 */
export type AccountCall =
  | {
      op: 'user';
      by?: 'useradd' | 'sysusers';
      name: string;
      uid?: number;
      /** --gid N: the primary group by number. */
      gid?: number;
      /** --ingroup G: the primary group by name. */
      ingroup?: string;
      /** --group: a group of the user's name (created when missing). */
      group: boolean;
      home?: string;
      shell?: string;
      gecos?: string;
      /** sysusers.d `u!`: the account is locked (shadow's expiry day 1), not only its password. */
      locked?: boolean;
      createHome: boolean;
      firstUid?: number;
      lastUid?: number;
      firstGid?: number;
      lastGid?: number;
    }
  | {
      op: 'group';
      by?: 'useradd' | 'sysusers';
      name: string;
      gid?: number;
      firstGid?: number;
      lastGid?: number;
    }
  | { op: 'member'; by?: 'sysusers'; user: string; group: string };

/** The calls a script makes, and how many it makes that cannot be read (computed arguments, other forms). */
export interface ParsedAccounts {
  calls: AccountCall[];
  skipped: number;
}

const FLAGS = new Set([
  '--quiet',
  '-q',
  '--debug',
  '--verbose',
  '--force-badname',
  '--allow-badname',
  '--allow-all-names',
  '--disabled-password',
  '--disabled-login',
  '--no-create-home',
  '--system',
  '--group',
]);
const VALUED = new Set([
  '--uid',
  '--gid',
  '--ingroup',
  '--home',
  '--shell',
  '--gecos',
  '--comment',
  '--firstuid',
  '--lastuid',
  '--firstgid',
  '--lastgid',
]);
const NUMERIC = new Set(['--uid', '--gid', '--firstuid', '--lastuid', '--firstgid', '--lastgid']);

/**
 * The `adduser`/`addgroup` and `useradd`/`groupadd` calls of a maintainer script, in order (every
 * branch counted, as on a first install; a shell function's calls where it is called): system users
 * and groups, and adding a user to a group. A
 * call whose arguments are not literal, that creates a non-system user or group, or that uses another
 * option, is counted in `skipped`. Pure.
 */
export function parseAccountCalls(script: string): ParsedAccounts {
  // Functions run where they are called (postfix's set_maildrop_perms makes postdrop after postfix).
  const found = literalCalls(script, (c) => /(^|[\s/])(adduser|addgroup|useradd|groupadd)\s/.test(c), {
    functions: true,
  });
  const out: ParsedAccounts = { calls: [], skipped: found.skipped };
  for (const words of found.calls) {
    const at = words.findIndex((w) => /(^|\/)(adduser|addgroup|useradd|groupadd)$/.test(w));
    const tool = words[at]?.replace(/^.*\//, '');
    const args = words.slice(at + 1);
    const call =
      at < 0
        ? undefined
        : tool === 'useradd' || tool === 'groupadd'
          ? shadowCall(tool === 'groupadd', args)
          : accountCall(tool === 'addgroup', args);
    if (call === undefined) out.skipped++;
    else out.calls.push(call);
  }
  return out;
}

function accountCall(addgroup: boolean, args: string[]): AccountCall | undefined {
  const read = readOptions(
    args,
    (opt) => (FLAGS.has(opt) ? opt : undefined),
    (opt) => (VALUED.has(opt) ? (opt === '--comment' ? '--gecos' : opt) : undefined),
  );
  if (read === undefined) return undefined;
  const { flags, values, names } = read;
  for (const k of NUMERIC)
    if (values.has(k) && !/^[0-9]{1,9}$/.test(values.get(k) as string)) return undefined;
  if (!names.every(isAccountName)) return undefined;
  const num = (k: string) => (values.has(k) ? Number(values.get(k)) : undefined);
  const ranges = {
    ...(num('--firstgid') === undefined ? {} : { firstGid: num('--firstgid') }),
    ...(num('--lastgid') === undefined ? {} : { lastGid: num('--lastgid') }),
  };
  if (names.length === 2) {
    if (addgroup || flags.has('--system') || flags.has('--group') || values.size > 0) return undefined;
    return { op: 'member', user: names[0] as string, group: names[1] as string };
  }
  if (names.length !== 1 || !flags.has('--system')) return undefined;
  const name = names[0] as string;
  if (addgroup || (flags.has('--group') && !flags.has('--system'))) {
    return { op: 'group', name, ...(num('--gid') === undefined ? {} : { gid: num('--gid') }), ...ranges };
  }
  const home = values.get('--home');
  const shell = values.get('--shell');
  const gecos = values.get('--gecos');
  const ingroup = values.get('--ingroup');
  if ((home !== undefined && !home.startsWith('/')) || (shell !== undefined && !shell.startsWith('/')))
    return undefined;
  if ([home, shell, gecos].some((v) => v !== undefined && /[:\n]/.test(v))) return undefined;
  if (ingroup !== undefined && !isAccountName(ingroup)) return undefined;
  const opt = <K extends string, V>(k: K, v: V | undefined) => (v === undefined ? {} : { [k]: v });
  return {
    op: 'user',
    name,
    group: flags.has('--group'),
    createHome: !flags.has('--no-create-home'),
    ...opt('uid', num('--uid')),
    ...opt('gid', num('--gid')),
    ...opt('ingroup', ingroup),
    ...opt('home', home),
    ...opt('shell', shell),
    ...opt('gecos', gecos),
    ...opt('firstUid', num('--firstuid')),
    ...opt('lastUid', num('--lastuid')),
    ...ranges,
  } as AccountCall;
}

/** useradd's and groupadd's options (long and short spellings) that system-account calls use. */
const SHADOW_FLAGS: Record<string, string> = {
  '-r': 'system',
  '--system': 'system',
  '-M': 'no-create-home',
  '--no-create-home': 'no-create-home',
  '-m': 'create-home',
  '--create-home': 'create-home',
  '-N': 'no-user-group',
  '--no-user-group': 'no-user-group',
  '-U': 'user-group',
  '--user-group': 'user-group',
  '-f': 'force',
  '--force': 'force',
};
const SHADOW_VALUED: Record<string, string> = {
  '-g': 'gid',
  '--gid': 'gid',
  '-u': 'uid',
  '--uid': 'uid',
  '-c': 'comment',
  '--comment': 'comment',
  '-d': 'home',
  '--home-dir': 'home',
  '-s': 'shell',
  '--shell': 'shell',
};

/**
 * A `useradd --system` or `groupadd --system` call as the same account adduser would make, with
 * useradd's defaults: a group of the user's name unless `--gid` or `--no-user-group`, no home
 * directory unless `--create-home`, home `/home/NAME`.
 */
function shadowCall(groupadd: boolean, args: string[]): AccountCall | undefined {
  const read = readOptions(
    args,
    (opt) => SHADOW_FLAGS[opt],
    (opt) => SHADOW_VALUED[opt],
  );
  if (read === undefined) return undefined;
  const { flags, values, names } = read;
  const name = names[0];
  if (names.length !== 1 || name === undefined || !isAccountName(name) || !flags.has('system'))
    return undefined;
  const uid = values.get('uid');
  const gid = values.get('gid');
  if ((uid !== undefined && !/^[0-9]{1,9}$/.test(uid)) || (gid !== undefined && !isAccountName(gid)))
    return undefined;
  if (groupadd) {
    if (uid !== undefined || !/^[0-9]*$/.test(gid ?? '')) return undefined;
    return { op: 'group', by: 'useradd', name, ...(gid === undefined ? {} : { gid: Number(gid) }) };
  }
  if (gid === undefined && flags.has('no-user-group')) return undefined; // /etc/default/useradd's GROUP
  const home = values.get('home') ?? `/home/${name}`;
  const shell = values.get('shell') ?? '/bin/sh'; // /etc/default/useradd's SHELL
  const comment = values.get('comment');
  if (!home.startsWith('/') || !shell.startsWith('/')) return undefined;
  if ([home, shell, comment].some((v) => v !== undefined && /[:\n]/.test(v))) return undefined;
  const opt = <K extends string, V>(k: K, v: V | undefined) => (v === undefined ? {} : { [k]: v });
  return {
    op: 'user',
    by: 'useradd',
    name,
    group: gid === undefined && !flags.has('no-user-group'),
    createHome: flags.has('create-home'),
    home,
    shell,
    ...opt('uid', uid === undefined ? undefined : Number(uid)),
    ...(gid === undefined ? {} : /^[0-9]+$/.test(gid) ? { gid: Number(gid) } : { ingroup: gid }),
    ...opt('gecos', comment),
  } as AccountCall;
}

/**
 * A call's arguments as flags and valued options (`--opt VALUE`, `--opt=VALUE`), each under the key
 * `flagOf`/`optionOf` give it (undefined: not one of them), and the names; undefined for an option
 * neither knows or a value missing.
 */
function readOptions(
  args: readonly string[],
  flagOf: (opt: string) => string | undefined,
  optionOf: (opt: string) => string | undefined,
): { flags: Set<string>; values: Map<string, string>; names: string[] } | undefined {
  const flags = new Set<string>();
  const values = new Map<string, string>();
  const names: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    const eq = /^(--[a-z-]+)=(.*)$/s.exec(arg);
    const [opt, inline] = eq === null ? [arg, undefined] : [eq[1] as string, eq[2] as string];
    const flag = flagOf(opt);
    const valued = optionOf(opt);
    if (flag !== undefined && inline === undefined) flags.add(flag);
    else if (valued !== undefined) {
      const value = inline ?? args[++i];
      if (value === undefined) return undefined;
      values.set(valued, value);
    } else if (opt.startsWith('-')) return undefined;
    else names.push(arg);
  }
  return { flags, values, names };
}

/** A user or group name as adduser and useradd accept it (Debian's relaxed NAME_REGEX). */
export const isAccountName = (n: string): boolean =>
  /^[A-Za-z0-9_][A-Za-z0-9_.-]*\$?$/.test(n) && n.length <= 32;
