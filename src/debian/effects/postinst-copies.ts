// Files a postinst creates: configuration installed from a shipped template, `ucf SRC DEST`
// (chrony.conf, chrony.keys, ...), `cp SRC DEST` (memcached.conf) and `install [-m MODE] [-o USER]
// [-g GROUP] SRC DEST` (rabbitmq-env.conf), and empty files it `touch`es or
// directories it `mkdir`s and then gives an owner or mode (nginx-common's and apache2's log files,
// bind9's /var/lib/bind), with literal arguments.
import { installCall, installDirs, parseMode, parsePermCalls } from './postinst-perms.js';
import { literalCalls } from './script-eval.js';
import { configureOrder, lookupGid, lookupUid } from './system-accounts.js';
import {
  childNames,
  type EffectWriter,
  exists,
  isDir,
  makeDir,
  putNode,
  statPath,
  writeFile,
} from './tree-io.js';
import type { EffectRule } from './types.js';

/**
 * One template install: `preserve` keeps the source's mode and mtime (`cp -p`/`-a`, ucf); `install`
 * gives `mode` (0755 unless -m) and the owner it names.
 */
export interface TemplateCopy {
  from: string;
  to: string;
  preserve: boolean;
  install?: { mode: number; user?: string; group?: string };
  /** `cp -r`/`-R`/`-a`: a directory SRC is copied with everything under it. */
  recursive?: boolean;
}

const UCF_FLAGS = new Set(['--three-way', '--debconf-ok', '--verbose', '-v', '--three_way', '-3']);

/**
 * The `ucf [--three-way] [--debconf-ok] [--sum-file F] SRC DEST` and `cp [-a|-p|-f] SRC DEST` calls of a
 * script with literal absolute paths, the source under /usr/share or /usr/lib (see `literalCalls`). Pure.
 */
export function parseTemplateCopies(script: string): TemplateCopy[] {
  const out: TemplateCopy[] = [];
  const found = literalCalls(script, (c) => /(^|[\s/])(ucf|cp|install)\s/.test(c));
  for (const words of found.calls) {
    const inst = installCall(words);
    if (inst !== undefined) {
      const { paths, mode, user, group } = inst.install;
      const [from, to] = paths;
      if (inst.directory || paths.length !== 2 || from === undefined || to === undefined) continue;
      if (!/^\/usr\/(share|lib)\//.test(from)) continue;
      const bits = parseMode(mode ?? '755', 0) as number;
      out.push({
        from,
        to,
        preserve: false,
        install: { mode: bits, ...(user ? { user } : {}), ...(group ? { group } : {}) },
      });
      continue;
    }
    const at = words.findIndex((w) => /(^|\/)(ucf|cp)$/.test(w));
    if (at < 0) continue;
    const ucf = (words[at] as string).endsWith('ucf');
    const args = words.slice(at + 1);
    let preserve = ucf;
    let recursive = false;
    const paths: string[] = [];
    let ok = true;
    for (let i = 0; i < args.length; i++) {
      const a = args[i] as string;
      if (ucf && UCF_FLAGS.has(a)) continue;
      if (ucf && a === '--sum-file') i++;
      else if (!ucf && /^-[apfdPrR]+$/.test(a)) {
        preserve ||= /[ap]/.test(a);
        recursive ||= /[arR]/.test(a);
      } else if (a.startsWith('-')) ok = false;
      else paths.push(a);
    }
    const [from, to] = paths;
    if (!ok || paths.length !== 2 || from === undefined || to === undefined) continue;
    if (![from, to].every((p) => p.startsWith('/') && !/(^|\/)\.\.(\/|$)/.test(p))) continue;
    // Templates are shipped under /usr; copies from /etc are backups in upgrade branches.
    if (!/^\/usr\/(share|lib)\//.test(from)) continue;
    out.push({ from, to, preserve, ...(recursive ? { recursive } : {}) });
  }
  return out;
}

/**
 * ucf and cp of shipped templates in postinsts: for each installed package (configure order), DEST is
 * created from SRC when SRC is a file in the image and DEST is missing (ucf on a first install; the
 * scripts' `[ ! -e DEST ]`); a directory DEST receives SRC's name. ucf and `cp -p`/`-a` keep SRC's
 * mode and mtime; plain `cp` gives mode & 0755|0644 (umask 022) and the epoch. Owner root.
 */
export const templateCopiesRule: EffectRule = {
  id: 'postinst/ucf-cp',
  package: null,
  describe:
    'postinst ucf SRC DEST, cp SRC DEST and install [-m MODE] [-o USER] [-g GROUP] SRC DEST of shipped templates (chrony.conf, memcached.conf, rabbitmq-env.conf): DEST created when missing',
  async apply(ctx) {
    for (const pkg of configureOrder(ctx.installed)) {
      if (pkg.postinst === undefined || !/\b(ucf|cp|install)\s/.test(pkg.postinst)) continue;
      const w = ctx.writer(pkg.name);
      for (const c of parseTemplateCopies(pkg.postinst)) {
        const src = statPath(ctx.tree, c.from);
        if (src === undefined || (src.node.kind !== 'file' && !(src.node.kind === 'dir' && c.recursive)))
          continue;
        const into = statPath(ctx.tree, c.to)?.node.kind === 'dir';
        const dest = into ? `${c.to.replace(/\/+$/, '')}/${c.from.replace(/^.*\//, '')}` : c.to;
        if (exists(ctx.tree, dest) || ctx.tree.get(ctx.tree.resolveParents(dest)) !== undefined) continue;
        if (src.node.kind === 'dir') {
          copyTree(w, src.key, dest, c.preserve, ctx.epoch);
          continue;
        }
        const inst = c.install;
        putNode(w, dest, {
          ...src.node,
          uid: (inst?.user === undefined ? undefined : await lookupUid(ctx.tree, inst.user)) ?? 0,
          gid: (inst?.group === undefined ? undefined : await lookupGid(ctx.tree, inst.group)) ?? 0,
          ...(c.preserve ? {} : { mode: inst?.mode ?? src.node.mode & 0o755, mtime: ctx.epoch }),
        });
      }
    }
  },
};

/**
 * `cp -r SRC DEST` of a directory (tomcat10's default ROOT webapp): DEST and everything under SRC, in
 * byte order, root-owned; symbolic links as links; without `preserve` modes lose group and other write
 * (umask 022) and mtimes are the epoch. Hard links are left out.
 */
function copyTree(w: EffectWriter, srcKey: string, dest: string, preserve: boolean, epoch: number): void {
  const node = w.tree.get(srcKey);
  if (node === undefined || node.kind === 'hardlink') return;
  putNode(w, dest, {
    ...node,
    uid: 0,
    gid: 0,
    ...(preserve || node.kind === 'symlink' ? {} : { mode: node.mode & 0o755, mtime: epoch }),
    ...(node.kind === 'symlink' && !preserve ? { mtime: epoch } : {}),
  });
  if (node.kind !== 'dir') return;
  for (const name of childNames(w.tree, srcKey))
    copyTree(w, `${srcKey}/${name}`, `${dest}/${name}`, preserve, epoch);
}

/** A file (`touch`) or directory (`mkdir`, `parents` for `-p`) a script creates and then chowns. */
export interface CreatedPath {
  path: string;
  kind: 'file' | 'dir';
  parents: boolean;
}

/**
 * The files a script `touch`es (plain `touch PATH...`) and the directories it `mkdir`s (`-p`, `-Z`
 * allowed), literal absolute paths (see `literalCalls`), that it then hands to chown, chgrp or chmod:
 * a log file or data directory made ready for a service user (nginx-common's
 * `/var/log/nginx/access.log` www-data:adm 0640, bind9's `/var/lib/bind` root:bind 0775). Other
 * touched files are the scripts' own markers (ca-certificates-java's `fresh`, upgrade flags), state
 * for scripts that never run here. Pure.
 */
export function parseCreatedPaths(script: string): CreatedPath[] {
  const owned = new Set(parsePermCalls(script).flatMap((c) => c.paths));
  const out: CreatedPath[] = [];
  for (const words of literalCalls(script, (c) => /(^|[\s/])(touch|mkdir|install)\s/.test(c)).calls) {
    // `install -d -o USER -g GROUP -m MODE DIR` (exim4-base, ntpsec): mkdir -p, then the perms rule's chown and chmod.
    for (const p of installDirs(words)?.paths ?? [])
      if (!out.some((c) => c.path === p)) out.push({ path: p, kind: 'dir', parents: true });
    const at = words.findIndex((w) => /(^|\/)(touch|mkdir)$/.test(w));
    if (at < 0) continue;
    const kind = (words[at] as string).endsWith('touch') ? 'file' : 'dir';
    let args = words.slice(at + 1);
    let parents = false;
    if (kind === 'dir')
      while (/^-[pZ]+$/.test(args[0] ?? '') || args[0] === '--parents') {
        parents ||= /p|--parents/.test(args[0] as string);
        args = args.slice(1);
      }
    if (args.length === 0 || args.some((p) => p.startsWith('-'))) continue;
    for (const p of args.map((a) => (a.length > 1 ? a.replace(/\/+$/, '') : a)))
      if (p.startsWith('/') && !/(^|\/)\.\.(\/|$)/.test(p) && owned.has(p) && !out.some((c) => c.path === p))
        out.push({ path: p, kind, parents });
  }
  return out;
}

/**
 * `touch FILE` or `mkdir [-p] DIR` followed by chown/chmod of it in a postinst: for each installed
 * package (configure order), the file is created empty (0644 root, as touch under umask 022) or the
 * directory 0755 root (with its missing parents for `-p`), epoch mtime, when missing and its parent
 * exists (or `-p`), before the chown/chmod rule gives it the script's owner and mode.
 */
export const createdPathsRule: EffectRule = {
  id: 'postinst/touch-mkdir',
  package: null,
  describe:
    'postinst touch FILE / mkdir DIR then chown/chmod it (nginx and apache2 log files, /var/lib/bind): created when missing',
  async apply(ctx) {
    for (const pkg of configureOrder(ctx.installed)) {
      if (pkg.postinst === undefined || !/\b(touch|mkdir|install)\s/.test(pkg.postinst)) continue;
      const w = ctx.writer(pkg.name);
      for (const c of parseCreatedPaths(pkg.postinst)) {
        const parent = c.path.replace(/\/[^/]+$/, '') || '/';
        if (exists(ctx.tree, c.path) || ctx.tree.get(ctx.tree.resolveParents(c.path)) !== undefined) continue;
        if (!(c.parents || isDir(ctx.tree, parent))) continue;
        if (c.kind === 'file') writeFile(w, c.path, '');
        else makeDir(w, c.path);
      }
    }
  },
};
