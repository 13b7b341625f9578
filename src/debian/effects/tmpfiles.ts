// dh_installtmpfiles' postinst snippet: `systemd-tmpfiles --create NAME.conf`, which makes the
// directories a service needs under /run and /var (/run/postgresql 2775 postgres:postgres, ...).
// Containers run no systemd-tmpfiles at boot, so the directories must be in the image.
import type { FileTree } from '../../vfs/tree.js';
import { configureOrder, lookupGid, lookupUid } from './system-accounts.js';
import { type EffectWriter, exists, makeDir, readTreeFile, statPath, writeSymlink } from './tree-io.js';
import type { EffectRule } from './types.js';

/** One line of a tmpfiles.d file that imprint applies. */
export interface TmpfilesLine {
  type: 'd' | 'L';
  path: string;
  mode?: number;
  user?: string;
  group?: string;
  /** L: the link target. */
  argument?: string;
}

/**
 * The lines of a tmpfiles.d file that create what a fresh boot would: `d`/`D`/`v`/`q` (a directory),
 * `L` (a symlink when missing). Lines with specifiers (`%`), globs, `~`/`:` modes, `!`/`-`/`=`/`^`
 * modifiers other than `L+`, or other types (files, removals, ownership fixes) are left out. Pure.
 */
export function parseTmpfiles(text: string): TmpfilesLine[] {
  const out: TmpfilesLine[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const f = line.split(/\s+/);
    const [type = '', path = '', mode = '-', user = '-', group = '-'] = f;
    const argument = f.slice(6).join(' ');
    if (!path.startsWith('/') || /[%*?[\]]/.test(line) || /(^|\/)\.\.(\/|$)/.test(path)) continue;
    const dash = (v: string) => (v === '-' ? undefined : v);
    if (/^[dDvq]$/.test(type)) {
      if (mode !== '-' && !/^[0-7]{3,4}$/.test(mode)) continue;
      out.push({
        type: 'd',
        path,
        ...(mode === '-' ? {} : { mode: Number.parseInt(mode, 8) }),
        ...(dash(user) === undefined ? {} : { user }),
        ...(dash(group) === undefined ? {} : { group }),
      });
    } else if (/^L\+?$/.test(type) && argument !== '' && argument !== '-') {
      out.push({ type: 'L', path, argument });
    }
  }
  return out;
}

/** The tmpfiles.d names a postinst hands to `systemd-tmpfiles --create` (dh_installtmpfiles' snippet). */
export function tmpfilesConfigs(postinst: string): string[] {
  const names: string[] = [];
  for (const m of postinst.matchAll(/systemd-tmpfiles\b[^\n]*?--create\b([^\n>|;&]*)/g)) {
    for (const word of (m[1] as string).trim().split(/\s+/))
      if (/^[A-Za-z0-9_.@+-]+\.conf$/.test(word)) names.push(word);
  }
  return names;
}

/** An owner name (or numeric id) as an id, from the tree's account files; undefined when unknown. */
async function ownerId(tree: FileTree, name: string | undefined, kind: 'user' | 'group') {
  if (name === undefined) return 0;
  if (/^[0-9]+$/.test(name)) return Number(name);
  return kind === 'user' ? lookupUid(tree, name) : lookupGid(tree, name);
}

async function applyLine(tree: FileTree, w: EffectWriter, line: TmpfilesLine): Promise<void> {
  if (line.type === 'L') {
    if (w.tree.get(w.tree.resolveParents(line.path)) === undefined && !exists(tree, line.path))
      writeSymlink(w, line.path, line.argument as string);
    return;
  }
  const uid = await ownerId(tree, line.user, 'user');
  const gid = await ownerId(tree, line.group, 'group');
  if (uid === undefined || gid === undefined) return; // an account the image lacks: systemd-tmpfiles fails too
  const hit = statPath(tree, line.path);
  if (hit === undefined) {
    makeDir(w, line.path, line.mode ?? 0o755, uid, gid);
    return;
  }
  if (hit.node.kind !== 'dir') return;
  // An existing directory is adjusted to what the line says (its mode, owner, group where given).
  const node = {
    ...hit.node,
    ...(line.mode === undefined ? {} : { mode: line.mode }),
    ...(line.user === undefined ? {} : { uid }),
    ...(line.group === undefined ? {} : { gid }),
  };
  if (node.mode === hit.node.mode && node.uid === hit.node.uid && node.gid === hit.node.gid) return;
  tree.add(hit.key, { ...node, origin: w.origin });
  w.record(hit.key);
}

/**
 * dh_installtmpfiles: for each installed package (configure order) whose postinst runs
 * `systemd-tmpfiles --create NAME.conf`, the `d` and `L` lines of /etc/tmpfiles.d/NAME.conf (the
 * administrator's override) or /usr/lib/tmpfiles.d/NAME.conf, applied as systemd-tmpfiles would:
 * the first line for a path among the files one call names wins.
 */
export const tmpfilesRule: EffectRule = {
  id: 'systemd-tmpfiles/create',
  package: null,
  describe:
    "postinst systemd-tmpfiles --create NAME.conf (dh_installtmpfiles): the conf's directories (d) and links (L) made, with their mode and owner",
  async apply(ctx) {
    for (const pkg of configureOrder(ctx.installed)) {
      if (pkg.postinst === undefined) continue;
      const w = ctx.writer(pkg.name);
      // One systemd-tmpfiles run reads its files in the order named and keeps the first line for a
      // path ("Duplicate line for path ..., ignoring"): trixie's debian.conf `d /run/lock 1777`
      // wins over legacy.conf's `d /run/lock 0755`.
      const seen = new Set<string>();
      for (const name of tmpfilesConfigs(pkg.postinst)) {
        const conf = [`/etc/tmpfiles.d/${name}`, `/usr/lib/tmpfiles.d/${name}`].find(
          (p) => statPath(ctx.tree, p)?.node.kind === 'file',
        );
        if (conf === undefined) continue;
        const text = (await readTreeFile(ctx.tree, conf))?.toString('utf8') ?? '';
        for (const line of parseTmpfiles(text)) {
          const path = line.path.replace(/\/+$/, '') || '/';
          if (seen.has(path)) continue;
          seen.add(path);
          await applyLine(ctx.tree, w, line);
        }
      }
    }
  },
};
