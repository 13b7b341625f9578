// `chown`, `chgrp` and `chmod` calls of postinsts with literal arguments: the owners and modes a
// service's directories get once its account exists (uuid-runtime's /var/lib/libuuid uuidd 2775,
// openssh-client's ssh-agent setgid _ssh, cron's crontabs 1730 root:crontab, ...).
import type { FileTree } from '../../vfs/tree.js';
import { parseAccountCalls } from './adduser-parse.js';
import { type FileTest, literalCalls } from './script-eval.js';
import { configureOrder, lookupGid, lookupUid } from './system-accounts.js';
import { type EffectWriter, statPath, treeFileTest } from './tree-io.js';
import type { EffectRule, InstalledInfo } from './types.js';

/** One call: a new owner and/or group, or a mode change, for absolute paths. */
export type PermCall = (
  | { op: 'chown'; user?: string; group?: string; paths: string[]; recursive: boolean }
  | { op: 'chmod'; mode: string; paths: string[]; recursive: boolean }
) & {
  /** For -R: what `cp -r` copies there later in the script (tomcat10's ROOT webapp), left as copied. */
  excluding?: string[];
};

/**
 * The `chown [-R] USER[:GROUP] PATH...`, `chgrp [-R] GROUP PATH...` and `chmod [-R] MODE PATH...` calls
 * of a script whose arguments are literal (see `literalCalls`; every branch counts, as on a first
 * install) and whose paths are absolute. Other options, and `--reference`, skip the call. Shell
 * functions run where they are called with literal arguments (icinga2-common's `setperm nagios nagios
 * 0750 /etc/icinga2`); with `fileTest`, a branch testing a path decides as the tree does, so base-files'
 * `install_local_dir` gives /usr/local to root:staff only where /etc/staff-group-for-usr-local exists.
 * Pure when `fileTest` is.
 */
export function parsePermCalls(script: string, fileTest?: FileTest): PermCall[] {
  const out: PermCall[] = [];
  const found = literalCalls(script, (c) => /(^|[\s/])(chown|chgrp|chmod|install|cp)\s/.test(c), {
    functions: fileTest !== undefined,
    ...(fileTest === undefined ? {} : { fileTest }),
  });
  // Destinations of recursive copies, with the number of calls read before each.
  const copies: Array<{ after: number; to: string }> = [];
  for (const words of found.calls) {
    const copied = recursiveCopyDest(words);
    if (copied !== undefined) {
      copies.push({ after: out.length, to: copied });
      continue;
    }
    const dirs = installDirs(words);
    if (dirs !== undefined) {
      const { paths, user, group, mode } = dirs;
      if (user !== undefined || group !== undefined)
        out.push({
          op: 'chown',
          ...(user === undefined ? {} : { user }),
          ...(group === undefined ? {} : { group }),
          paths,
          recursive: false,
        });
      out.push({ op: 'chmod', mode: mode ?? '755', paths, recursive: false });
      continue;
    }
    const at = words.findIndex((w) => /(^|\/)(chown|chgrp|chmod)$/.test(w));
    if (at < 0) continue;
    const cmd = (words[at] as string).replace(/^.*\//, '');
    let args = words.slice(at + 1);
    let recursive = false;
    // Short options may be grouped (tomcat10's `chown -Rh`); undefined for a word that is no option.
    const options = (word: string): string[] | undefined => {
      const letters = /^-[Rhfcv]+$/.test(word) ? [...word.slice(1)].map((c) => `-${c}`) : [word];
      return letters.every((o) => PERM_OPTIONS.has(o)) ? letters : undefined;
    };
    const recursiveIn = (word: string) =>
      options(word)?.some((o) => o === '-R' || o === '--recursive') === true;
    while (args[0]?.startsWith('-') && !/^-[rwxXst]/.test(args[0] ?? '') && options(args[0] as string)) {
      recursive ||= recursiveIn(args[0] as string);
      args = args.slice(1);
    }
    if (args[0] === '--') {
      args = args.slice(1); // the end of options (stunnel4's `chown -R -- USER:GROUP DIR`)
    } else {
      // GNU tools take options after the operands too (zabbix-agent's `chown zabbix:zabbix DIR -R`).
      const [first, ...rest] = args;
      recursive ||= rest.some(recursiveIn);
      args = first === undefined ? [] : [first, ...rest.filter((a) => options(a) === undefined)];
    }
    const [spec, ...paths] = args;
    if (spec === undefined || paths.length === 0 || spec.startsWith('--')) continue;
    if (!paths.every((p) => p.startsWith('/') && !/(^|\/)\.\.(\/|$)/.test(p))) continue;
    if (cmd === 'chmod') {
      if (parseMode(spec, 0) === undefined) continue;
      out.push({ op: 'chmod', mode: spec, paths, recursive });
    } else if (cmd === 'chgrp') {
      if (!isName(spec)) continue;
      out.push({ op: 'chown', group: spec, paths, recursive });
    } else {
      const m = /^([^:.]*)(?:[:.]([^:.]*))?$/.exec(spec);
      const user = m?.[1] ?? '';
      const group = m?.[2] ?? '';
      if (m === null || (user === '' && group === '') || ![user, group].every((n) => n === '' || isName(n)))
        continue;
      out.push({
        op: 'chown',
        ...(user === '' ? {} : { user }),
        ...(group === '' ? {} : { group }),
        paths,
        recursive,
      });
    }
  }
  for (const [i, call] of out.entries()) {
    const later = copies.filter((c) => c.after > i).map((c) => c.to);
    if (call.recursive && later.length > 0) call.excluding = later;
  }
  return out;
}

/** DEST of a `cp -r|-R|-a SRC DEST` call with literal absolute paths, else undefined. */
function recursiveCopyDest(words: readonly string[]): string | undefined {
  const at = words.findIndex((w) => /(^|\/)cp$/.test(w));
  if (at < 0) return undefined;
  const args = words.slice(at + 1);
  const options = args.filter((a) => a.startsWith('-'));
  const paths = args.filter((a) => !a.startsWith('-'));
  if (!options.some((o) => /^-[a-zA-Z]*[rRa]/.test(o)) || paths.length !== 2) return undefined;
  const to = paths[1] as string;
  return to.startsWith('/') && !/(^|\/)\.\.(\/|$)/.test(to) ? to.replace(/\/+$/, '') : undefined;
}

/** An `install -d [-o USER] [-g GROUP] [-m MODE] DIR...` call (options joined or apart). */
export interface InstallDirs {
  paths: string[];
  user?: string;
  group?: string;
  mode?: string;
}

/**
 * The directories an `install -d` call's words make, with the owner, group and mode it gives them
 * (install -d makes missing parents too, and sets these on a directory that exists; 0755 by default);
 * undefined for any other call, other options or paths that are not absolute. Pure.
 */
export function installDirs(words: readonly string[]): InstallDirs | undefined {
  const call = installCall(words);
  return call?.directory ? call.install : undefined;
}

/**
 * An `install [-d] [-o USER] [-g GROUP] [-m MODE] PATH...` call: `directory` for `-d`; else its paths
 * are SOURCE... DEST (rabbitmq-server's `install -m 0644 -o rabbitmq -g rabbitmq TEMPLATE CONF`).
 * Undefined for any other call, other options (`-p` and `-D` excepted), bad names or modes, or paths
 * that are not absolute. Pure.
 */
export function installCall(
  words: readonly string[],
): { directory: boolean; install: InstallDirs } | undefined {
  const at = words.findIndex((w) => /(^|\/)install$/.test(w));
  if (at < 0) return undefined;
  const out: InstallDirs = { paths: [] };
  let directory = false;
  const args = words.slice(at + 1);
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    const m = /^(?:-([ogm])(.*)|--(owner|group|mode)=(.*))$/.exec(a);
    if (a === '-d' || a === '--directory') directory = true;
    else if (a === '-p' || a === '-D') continue;
    else if (m !== null) {
      const key = (
        { o: 'user', owner: 'user', g: 'group', group: 'group', m: 'mode', mode: 'mode' } as const
      )[(m[1] ?? m[3]) as 'o' | 'g' | 'm' | 'owner' | 'group' | 'mode'];
      const value = m[1] !== undefined ? (m[2] === '' ? args[++i] : m[2]) : m[4];
      if (value === undefined || value === '') return undefined;
      out[key] = value;
    } else if (a.startsWith('-')) return undefined;
    else out.paths.push(a.length > 1 ? a.replace(/\/+$/, '') : a);
  }
  const names = [out.user, out.group].filter((n) => n !== undefined);
  if (out.paths.length === 0 || !names.every(isName)) return undefined;
  if (out.mode !== undefined && parseMode(out.mode, 0) === undefined) return undefined;
  return out.paths.every((p) => p.startsWith('/') && !/(^|\/)\.\.(\/|$)/.test(p))
    ? { directory, install: out }
    : undefined;
}

/** The options of chown/chgrp/chmod that change nothing imprint models but -R (recursive). */
const PERM_OPTIONS = new Set([
  '-R',
  '--recursive',
  '-h',
  '--no-dereference',
  '-f',
  '--silent',
  '--quiet',
  '-c',
  '-v',
]);

const isName = (n: string): boolean => /^[A-Za-z0-9_][A-Za-z0-9_.-]*\$?$/.test(n);

/**
 * `mode` (octal, or symbolic `[ugoa]*[+-=][rwxXst]*` clauses joined by commas) applied to `current`
 * (permission bits with setuid/setgid/sticky); undefined when it is neither. Pure.
 */
export function parseMode(mode: string, current: number, isDir = false): number | undefined {
  // chmod reads leading zeros: 02775 is 2775.
  if (/^0*[0-7]{1,4}$/.test(mode)) return Number.parseInt(mode, 8);
  let bits = current & 0o7777;
  for (const clause of mode.split(',')) {
    const m = /^([ugoa]*)([-+=])([rwxXst]*)$/.exec(clause);
    if (m === null) return undefined;
    const who = m[1] === '' || m[1]?.includes('a') ? 'ugo' : (m[1] as string);
    let perm = 0;
    for (const c of m[3] as string) {
      const rwx = c === 'r' ? 4 : c === 'w' ? 2 : c === 'x' || (c === 'X' && (isDir || bits & 0o111)) ? 1 : 0;
      for (const w of who) {
        const shift = w === 'u' ? 6 : w === 'g' ? 3 : 0;
        perm |= rwx << shift;
        if (c === 's' && w === 'u') perm |= 0o4000;
        if (c === 's' && w === 'g') perm |= 0o2000;
      }
      if (c === 't') perm |= 0o1000;
    }
    const mask = [...who].reduce((acc, w) => acc | (w === 'u' ? 0o4700 : w === 'g' ? 0o2070 : 0o1007), 0);
    if (m[2] === '+') bits |= perm;
    else if (m[2] === '-') bits &= ~perm;
    else bits = (bits & ~mask) | perm;
  }
  return bits;
}

/** The account a chown call names that the image's account files lack, if any. */
async function missingAccount(tree: FileTree, call: PermCall): Promise<string | undefined> {
  if (call.op !== 'chown') return undefined;
  if (call.user !== undefined && (await lookupUid(tree, call.user)) === undefined) return call.user;
  if (call.group !== undefined && (await lookupGid(tree, call.group)) === undefined) return call.group;
  return undefined;
}

/**
 * Applies one call. `withoutSetId`: a chmod's setuid and setgid bits are left out on what is not a
 * directory (where setgid only passes the group on); returns whether it left any out.
 */
async function applyCall(
  tree: FileTree,
  w: EffectWriter,
  call: PermCall,
  withoutSetId = false,
): Promise<boolean> {
  let withheld = false;
  const uid = call.op === 'chown' && call.user !== undefined ? await lookupUid(tree, call.user) : undefined;
  const gid = call.op === 'chown' && call.group !== undefined ? await lookupGid(tree, call.group) : undefined;
  for (const path of call.paths) {
    const hit = statPath(tree, path);
    if (hit === undefined) continue;
    const keys = [hit.key];
    if (call.recursive && hit.node.kind === 'dir') {
      const prefix = `${hit.key}/`;
      const skip = (call.excluding ?? []).map((p) => tree.resolvePath(p));
      keys.push(
        ...[...tree.keys()]
          .filter((k) => k.startsWith(prefix) && !skip.some((x) => k === x || k.startsWith(`${x}/`)))
          .sort(),
      );
    }
    for (const key of keys) {
      const node = tree.get(key);
      if (node === undefined || (node.kind === 'symlink' && key !== hit.key)) continue;
      if (node.kind === 'symlink') continue;
      let next = node;
      if (call.op === 'chown') next = { ...node, uid: uid ?? node.uid, gid: gid ?? node.gid };
      else {
        const mode = parseMode(call.mode, node.mode, node.kind === 'dir');
        if (mode === undefined) continue;
        const strip = withoutSetId && node.kind !== 'dir' && (mode & 0o6000) !== 0;
        withheld ||= strip;
        next = { ...node, mode: (node.mode & ~0o7777) | (strip ? mode & ~0o6000 : mode) };
      }
      if (next.uid === node.uid && next.gid === node.gid && next.mode === node.mode) continue;
      tree.add(key, { ...next, origin: w.origin }, { onExisting: 'replace' });
      w.record(key);
    }
  }
  return withheld;
}

/**
 * Postinsts' literal chown/chgrp/chmod calls, per installed package in configure order, applied to
 * paths that exist (names from the image's account files). A call naming an account the image lacks
 * (its adduser call had no /etc/passwd: no base-passwd) does nothing, and the script's later chmod
 * calls on those paths set no setuid or setgid bit on a file, meant for that account: openssh-client's
 * `chmod 2755` after its `chgrp _ssh` made ssh-agent setgid root. The build warns, naming the package,
 * when a bit was left out or the account is one the package's own scripts create (a service's). mtimes
 * are kept, as chown and chmod keep them.
 */
export const postinstPermsRule: EffectRule = {
  id: 'postinst/chown-chmod',
  package: null,
  describe:
    'postinst chown/chgrp/chmod and install -d calls with literal arguments (e.g. uuid-runtime /var/lib/libuuid uuidd 2775, exim4-base /var/spool/exim4): owners and modes of existing paths',
  async apply(ctx) {
    for (const pkg of configureOrder(ctx.installed)) {
      if (pkg.postinst === undefined || !/\b(ch(own|grp|mod)|install)\b/.test(pkg.postinst)) continue;
      const w = ctx.writer(pkg.name);
      const failed = new Map<string, string>(); // path -> the account its chown named
      const withheld = new Set<string>(); // accounts a setuid or setgid bit was meant for
      for (const call of parsePermCalls(pkg.postinst, treeFileTest(ctx.tree))) {
        const missing = await missingAccount(ctx.tree, call);
        if (missing !== undefined) {
          for (const p of call.paths)
            if (!failed.has(p) && statPath(ctx.tree, p) !== undefined) failed.set(p, missing);
          continue;
        }
        const ownerless = call.op === 'chmod' ? call.paths.filter((p) => failed.has(p)) : [];
        const paths = call.paths.filter((p) => !ownerless.includes(p));
        if (paths.length > 0) await applyCall(ctx.tree, w, { ...call, paths });
        for (const p of ownerless)
          if (await applyCall(ctx.tree, w, { ...call, paths: [p] }, true))
            withheld.add(failed.get(p) as string);
      }
      const own = ownAccounts(pkg);
      for (const [account, paths] of groupByAccount(failed))
        if (withheld.has(account) || own.has(account))
          ctx.warn?.(
            `${pkg.name}: its postinst gives ${paths.join(', ')} to ${account}, an account the image lacks, so ${paths.length === 1 ? 'it keeps' : 'they keep'} root's owner${withheld.has(account) ? ', without the setuid or setgid bit meant for it' : ''}; the script's adduser or addgroup call makes it only in an /etc/passwd and /etc/group that exist: add base-passwd to packages`,
          );
    }
  },
};

/** The failed paths of a script per account, in the order first met. Pure. */
function groupByAccount(failed: ReadonlyMap<string, string>): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [path, account] of failed) out.set(account, [...(out.get(account) ?? []), path]);
  return out;
}

/** The users and groups a package's preinst and postinst create (adduser, addgroup, ...). Pure. */
function ownAccounts(pkg: InstalledInfo): Set<string> {
  const out = new Set<string>();
  for (const script of [pkg.preinst, pkg.postinst])
    for (const call of script === undefined ? [] : parseAccountCalls(script).calls)
      if (call.op !== 'member') out.add(call.name);
  return out;
}
