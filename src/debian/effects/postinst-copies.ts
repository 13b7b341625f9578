// Files a postinst creates: configuration installed from a shipped template, `ucf SRC DEST`
// (chrony.conf, chrony.keys, ...) and `cp SRC DEST` (memcached.conf), and empty files it `touch`es and
// then gives an owner or mode (nginx-common's and apache2's log files), with literal arguments.
import { parsePermCalls } from './postinst-perms.js';
import { literalCalls } from './script-eval.js';
import { configureOrder } from './system-accounts.js';
import { exists, isDir, putNode, statPath, writeFile } from './tree-io.js';
import type { EffectRule } from './types.js';

/** One template install: `preserve` keeps the source's mode and mtime (`cp -p`/`-a`, ucf). */
export interface TemplateCopy {
  from: string;
  to: string;
  preserve: boolean;
}

const UCF_FLAGS = new Set(['--three-way', '--debconf-ok', '--verbose', '-v', '--three_way', '-3']);

/**
 * The `ucf [--three-way] [--debconf-ok] [--sum-file F] SRC DEST` and `cp [-a|-p|-f] SRC DEST` calls of a
 * script with literal absolute paths, the source under /usr/share or /usr/lib (see `literalCalls`). Pure.
 */
export function parseTemplateCopies(script: string): TemplateCopy[] {
  const out: TemplateCopy[] = [];
  const found = literalCalls(script, (c) => /(^|[\s/])(ucf|cp)\s/.test(c));
  for (const words of found.calls) {
    const at = words.findIndex((w) => /(^|\/)(ucf|cp)$/.test(w));
    if (at < 0) continue;
    const ucf = (words[at] as string).endsWith('ucf');
    const args = words.slice(at + 1);
    let preserve = ucf;
    const paths: string[] = [];
    let ok = true;
    for (let i = 0; i < args.length; i++) {
      const a = args[i] as string;
      if (ucf && UCF_FLAGS.has(a)) continue;
      if (ucf && a === '--sum-file') i++;
      else if (!ucf && /^-[apfdP]+$/.test(a)) preserve ||= /[ap]/.test(a);
      else if (a.startsWith('-')) ok = false;
      else paths.push(a);
    }
    const [from, to] = paths;
    if (!ok || paths.length !== 2 || from === undefined || to === undefined) continue;
    if (![from, to].every((p) => p.startsWith('/') && !/(^|\/)\.\.(\/|$)/.test(p))) continue;
    // Templates are shipped under /usr; copies from /etc are backups in upgrade branches.
    if (!/^\/usr\/(share|lib)\//.test(from)) continue;
    out.push({ from, to, preserve });
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
    'postinst ucf SRC DEST and cp SRC DEST of shipped templates (chrony.conf, memcached.conf): DEST created when missing',
  async apply(ctx) {
    for (const pkg of configureOrder(ctx.installed)) {
      if (pkg.postinst === undefined || !/\b(ucf|cp)\s/.test(pkg.postinst)) continue;
      const w = ctx.writer(pkg.name);
      for (const c of parseTemplateCopies(pkg.postinst)) {
        const src = statPath(ctx.tree, c.from);
        if (src === undefined || src.node.kind !== 'file') continue;
        const into = statPath(ctx.tree, c.to)?.node.kind === 'dir';
        const dest = into ? `${c.to.replace(/\/+$/, '')}/${c.from.replace(/^.*\//, '')}` : c.to;
        if (exists(ctx.tree, dest) || ctx.tree.get(ctx.tree.resolveParents(dest)) !== undefined) continue;
        putNode(w, dest, {
          ...src.node,
          uid: 0,
          gid: 0,
          ...(c.preserve ? {} : { mode: src.node.mode & 0o755, mtime: ctx.epoch }),
        });
      }
    }
  },
};

/**
 * The files a script `touch`es (plain `touch PATH...`, literal absolute paths; see `literalCalls`) and
 * then hands to chown, chgrp or chmod: a log file made ready for a service user (nginx-common's
 * `/var/log/nginx/access.log` www-data:adm 0640). Other touched files are the scripts' own markers
 * (ca-certificates-java's `fresh`, upgrade flags), state for scripts that never run here. Pure.
 */
export function parseTouchedFiles(script: string): string[] {
  const owned = new Set(parsePermCalls(script).flatMap((c) => c.paths));
  const out: string[] = [];
  for (const words of literalCalls(script, (c) => /(^|[\s/])touch\s/.test(c)).calls) {
    const at = words.findIndex((w) => /(^|\/)touch$/.test(w));
    const paths = words.slice(at + 1);
    if (at < 0 || paths.length === 0 || paths.some((p) => p.startsWith('-'))) continue;
    for (const p of paths)
      if (p.startsWith('/') && !/(^|\/)\.\.(\/|$)/.test(p) && owned.has(p) && !out.includes(p)) out.push(p);
  }
  return out;
}

/**
 * `touch FILE` followed by chown/chmod of FILE in a postinst: for each installed package (configure
 * order), FILE is created empty (0644 root, as touch under umask 022; epoch mtime) when missing and its
 * directory exists, before the chown/chmod rule gives it the script's owner and mode.
 */
export const touchedFilesRule: EffectRule = {
  id: 'postinst/touch',
  package: null,
  describe:
    'postinst touch FILE then chown/chmod FILE (nginx and apache2 log files): FILE created empty when missing',
  async apply(ctx) {
    for (const pkg of configureOrder(ctx.installed)) {
      if (pkg.postinst === undefined || !/\btouch\s/.test(pkg.postinst)) continue;
      const w = ctx.writer(pkg.name);
      for (const path of parseTouchedFiles(pkg.postinst)) {
        const parent = path.replace(/\/[^/]+\/*$/, '') || '/';
        if (exists(ctx.tree, path) || ctx.tree.get(ctx.tree.resolveParents(path)) !== undefined) continue;
        if (!isDir(ctx.tree, parent)) continue;
        writeFile(w, path, '');
      }
    }
  },
};
