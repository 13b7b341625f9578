// /etc/passwd and /etc/group from base-passwd's masters, shadow files as `passwd` makes them, and the
// hook that merges the spec's accounts into them.
import { ImprintError } from '../../errors.js';
import type { FileTree } from '../../vfs/tree.js';
import { type EffectWriter, exists, readTreeFile, writeFile } from './tree-io.js';
import type { EffectRule } from './types.js';

/** A user as the spec declares it (same shape as the build's UserAccount). */
export interface AccountUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
  shell: string;
  gecos?: string;
}

/** A group as the spec declares it. */
export interface AccountGroup {
  name: string;
  gid: number;
  members: string[];
}

/** gid of the `shadow` group in base-passwd (fixed by Debian policy). */
export const SHADOW_GID = 42;

/**
 * The `lastchg` field of new shadow entries: days since 1970 of the build epoch (what pwconv writes
 * under SOURCE_DATE_EPOCH), empty for an epoch in the first day, since 0 would mean "must change".
 */
export function shadowLastChange(epoch: number): string {
  const days = Math.floor(epoch / 86400);
  return days > 0 ? String(days) : '';
}

/** Splits an account file into lines (without the final newline's empty line). */
function lines(text: string): string[] {
  const out = text.split('\n');
  if (out[out.length - 1] === '') out.pop();
  return out;
}

function joinLines(ls: readonly string[]): string {
  return ls.map((l) => `${l}\n`).join('');
}

/** base-passwd: preinst writes /etc/passwd and /etc/group (the masters' text) when they are missing. */
export const basePasswdRule: EffectRule = {
  id: 'base-passwd/accounts',
  package: 'base-passwd',
  describe:
    'preinst writes /etc/passwd and /etc/group from /usr/share/base-passwd/{passwd,group}.master (0644) when missing',
  async apply(ctx) {
    const w = ctx.writer('base-passwd');
    for (const name of ['passwd', 'group']) {
      if (exists(ctx.tree, `/etc/${name}`)) continue;
      const master = await readTreeFile(ctx.tree, `/usr/share/base-passwd/${name}.master`);
      if (master !== undefined) writeFile(w, `/etc/${name}`, master, { mode: 0o644 });
    }
  },
};

/**
 * passwd: postinst runs `shadowconfig on` (pwconv, grpconv) on a fresh install: every password moves
 * to /etc/shadow (`name:pw:lastchg:0:99999:7:::`) and /etc/gshadow (`name:pw::members`), both 0640
 * root:shadow, and the passwd/group fields become `x`. Entries already in a shadow file are kept.
 */
export const shadowRule: EffectRule = {
  id: 'passwd/shadowconfig',
  package: 'passwd',
  describe:
    'postinst runs shadowconfig on: pwconv/grpconv create /etc/shadow and /etc/gshadow (0640 root:shadow)',
  async apply(ctx) {
    await convertToShadow(ctx.tree, ctx.writer('passwd'), ctx.epoch);
  },
};

async function convertToShadow(tree: FileTree, w: EffectWriter, epoch: number): Promise<void> {
  const lastchg = shadowLastChange(epoch);
  for (const [plain, shadow, toShadow] of [
    ['passwd', 'shadow', (f: string[]) => `${f[0]}:${f[1]}:${lastchg}:0:99999:7:::`],
    ['group', 'gshadow', (f: string[]) => `${f[0]}:${f[1]}::${f[3] ?? ''}`],
  ] as const) {
    const text = (await readTreeFile(tree, `/etc/${plain}`))?.toString('utf8');
    if (text === undefined) continue;
    const shadowText = (await readTreeFile(tree, `/etc/${shadow}`))?.toString('utf8') ?? '';
    const shadowLines = lines(shadowText);
    const known = new Set(shadowLines.map((l) => l.split(':', 1)[0]));
    const plainOut: string[] = [];
    for (const line of lines(text)) {
      const f = line.split(':');
      if (f.length < 4 || line.startsWith('#') || line.startsWith('+') || line.startsWith('-')) {
        plainOut.push(line);
        continue;
      }
      if (!known.has(f[0])) {
        shadowLines.push(toShadow(f));
        known.add(f[0]);
      }
      f[1] = 'x';
      plainOut.push(f.join(':'));
    }
    writeFile(w, `/etc/${plain}`, joinLines(plainOut), { mode: 0o644 });
    writeFile(w, `/etc/${shadow}`, joinLines(shadowLines), { mode: 0o640, gid: SHADOW_GID });
  }
}

/** Options of mergeAccounts. */
export interface MergeAccountsOptions {
  /** Build epoch: mtime of rewritten files and `lastchg` of new shadow entries. */
  epoch: number;
  /** Origin recorded on the rewritten files (default 'accounts'). */
  origin?: string;
}

/**
 * Merges the spec's users and groups into /etc/passwd and /etc/group as they stand in `tree` (from
 * base-passwd, or absent): an entry with the same name is replaced in place, new ones are appended
 * in (id, name) order. Where /etc/shadow or /etc/gshadow exist, new entries get `x` and a shadow line
 * (`name:*:lastchg:0:99999:7:::`, `name:*::members`); otherwise the password field is `*` (locked).
 * Throws SPEC_INVALID for names that cannot appear in these files. Cost: reads four small files.
 */
export async function mergeAccounts(
  tree: FileTree,
  accounts: { users: readonly AccountUser[]; groups: readonly AccountGroup[] },
  options: MergeAccountsOptions,
): Promise<string[]> {
  const written: string[] = [];
  const w: EffectWriter = {
    tree,
    mtime: options.epoch,
    origin: options.origin ?? 'accounts',
    record: (k) => written.push(k),
  };
  const lastchg = shadowLastChange(options.epoch);
  const byId =
    <T extends { name: string }>(id: (t: T) => number) =>
    (a: T, b: T) =>
      id(a) - id(b) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  const users = [...accounts.users].sort(byId((u: AccountUser) => u.uid));
  const groups = [...accounts.groups].sort(byId((g: AccountGroup) => g.gid));
  for (const u of users)
    for (const v of [u.name, u.home, u.shell, u.gecos ?? '']) checkField(v, `user ${u.name}`);
  for (const g of groups) for (const v of [g.name, ...g.members]) checkField(v, `group ${g.name}`);

  await mergeFile(
    tree,
    w,
    'passwd',
    'shadow',
    users,
    (u, pw) => `${u.name}:${pw}:${u.uid}:${u.gid}:${u.gecos ?? ''}:${u.home}:${u.shell}`,
    (u) => `${u.name}:*:${lastchg}:0:99999:7:::`,
  );
  await mergeFile(
    tree,
    w,
    'group',
    'gshadow',
    groups,
    (g, pw) => `${g.name}:${pw}:${g.gid}:${[...g.members].sort().join(',')}`,
    (g) => `${g.name}:*::${[...g.members].sort().join(',')}`,
  );
  return written;
}

async function mergeFile<T extends { name: string }>(
  tree: FileTree,
  w: EffectWriter,
  plain: string,
  shadow: string,
  entries: readonly T[],
  format: (t: T, pw: string) => string,
  formatShadow: (t: T) => string,
): Promise<void> {
  if (entries.length === 0) return;
  const plainLines = lines((await readTreeFile(tree, `/etc/${plain}`))?.toString('utf8') ?? '');
  const shadowBuf = await readTreeFile(tree, `/etc/${shadow}`);
  const shadowLines = shadowBuf === undefined ? undefined : lines(shadowBuf.toString('utf8'));
  const pw = shadowLines === undefined ? '*' : 'x';
  const replaceOrAppend = (ls: string[], name: string, line: string): void => {
    const i = ls.findIndex((l) => l.split(':', 1)[0] === name);
    if (i >= 0) ls[i] = line;
    else ls.push(line);
  };
  for (const e of entries) {
    replaceOrAppend(plainLines, e.name, format(e, pw));
    if (shadowLines !== undefined) replaceOrAppend(shadowLines, e.name, formatShadow(e));
  }
  writeFile(w, `/etc/${plain}`, joinLines(plainLines), { mode: 0o644 });
  if (shadowLines !== undefined)
    writeFile(w, `/etc/${shadow}`, joinLines(shadowLines), { mode: 0o640, gid: SHADOW_GID });
}

function checkField(value: string, what: string): void {
  if (/[:\n]/.test(value)) {
    throw new ImprintError(
      'SPEC_INVALID',
      `${what}: ${JSON.stringify(value)} contains ':' or a newline, which /etc/passwd and /etc/group cannot hold`,
      {
        details: { value },
      },
    );
  }
}
