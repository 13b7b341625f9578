// a2enmod, a2enconf and a2ensite as apache2's postinst (and dh_apache2's snippets in module packages)
// run them on a fresh install: the links under /etc/apache2/*-enabled/ that make Apache load its
// default MPM, modules, configuration snippets and site (without them `apache2` refuses to start:
// no MPM loaded), and the state markers a2query and later a2enmod/a2dismod read.
import { literalCalls } from './script-eval.js';
import { configureOrder } from './system-accounts.js';
import {
  childNames,
  type EffectWriter,
  exists,
  isFile,
  readTreeFile,
  statPath,
  writeFile,
  writeSymlink,
} from './tree-io.js';
import type { EffectRule } from './types.js';

/** What an a2en* call enables: a module (`.load`, and its `.conf`), a configuration snippet or a site. */
export type A2Kind = 'module' | 'conf' | 'site';

/** One enabling call; `maint` for maintainer mode (`-m`, and `apache2_invoke`), which names the state marker. */
export type A2Call =
  | { op: 'enable'; kind: A2Kind; name: string; maint: boolean }
  | { op: 'switch-mpm'; name: string };

const TOOLS: Readonly<Record<string, A2Kind>> = { a2enmod: 'module', a2enconf: 'conf', a2ensite: 'site' };
const INVOKE: Readonly<Record<string, A2Kind>> = { enmod: 'module', enconf: 'conf', ensite: 'site' };
const DIRS: Readonly<Record<A2Kind, { dir: string; suffix: string }>> = {
  module: { dir: 'mods', suffix: '.load' },
  conf: { dir: 'conf', suffix: '.conf' },
  site: { dir: 'sites', suffix: '.conf' },
};
const CONF_DIR = '/etc/apache2';
const STATE_DIR = '/var/lib/apache2';

/**
 * The `a2enmod|a2enconf|a2ensite [-q] [-m] [-f] NAME...`, `apache2_invoke enmod|enconf|ensite NAME`
 * and `apache2_switch_mpm NAME` calls of a maintainer script, with literal arguments (see
 * `literalCalls`: apache2's own loops over its default modules are followed; `a2$ARG1 "$ARG2"` is not).
 * Pure.
 */
export function parseA2Calls(script: string): A2Call[] {
  const out: A2Call[] = [];
  const found = literalCalls(script, (c) =>
    /(^|[\s/])(a2enmod|a2enconf|a2ensite|apache2_invoke|apache2_switch_mpm)\s/.test(c),
  );
  for (const words of found.calls) {
    const at = words.findIndex((w) =>
      /(^|\/)(a2enmod|a2enconf|a2ensite|apache2_invoke|apache2_switch_mpm)$/.test(w),
    );
    if (at < 0) continue;
    const tool = (words[at] as string).replace(/^.*\//, '');
    const args = words.slice(at + 1);
    const valid = (n: string) => /^[A-Za-z0-9_][A-Za-z0-9_.+-]*$/.test(n);
    if (tool === 'apache2_switch_mpm') {
      if (args.length === 1 && valid(args[0] as string))
        out.push({ op: 'switch-mpm', name: args[0] as string });
    } else if (tool === 'apache2_invoke') {
      const kind = INVOKE[args[0] ?? ''];
      if (kind !== undefined && args.length === 2 && valid(args[1] as string))
        out.push({ op: 'enable', kind, name: args[1] as string, maint: true });
    } else {
      const kind = TOOLS[tool] as A2Kind;
      const options = args.filter((a) => a.startsWith('-'));
      if (!options.every((o) => /^-[qmf]+$/.test(o) || o === '--quiet' || o === '--maintmode')) continue;
      const maint = options.some((o) => o === '--maintmode' || /^-[qf]*m/.test(o));
      for (const name of args.filter((a) => !a.startsWith('-')))
        if (valid(name)) out.push({ op: 'enable', kind, name, maint });
    }
  }
  return out;
}

/** The names after `# Depends:` (or another field) in the comment block a2enmod reads at a file's top. */
async function deps(w: EffectWriter, path: string, field: string): Promise<string[]> {
  const text = (await readTreeFile(w.tree, path))?.toString('utf8') ?? '';
  for (const line of text.split('\n')) {
    const m = new RegExp(`^# ${field}:\\s+(.*?)\\s*$`).exec(line);
    if (m !== null) return (m[1] as string).split(/\s+/).filter((d) => d !== '');
    if (!/^\s*(#.*)?$/.test(line)) break;
  }
  return [];
}

/** a2enmod's state marker: `STATE/OBJ/enabled_by_{maint|admin}/NAME`, the other markers of NAME removed. */
function mark(w: EffectWriter, kind: A2Kind, name: string, maint: boolean): void {
  const base = `${STATE_DIR}/${kind}`;
  for (const dir of childNames(w.tree, base.slice(1))) {
    const key = w.tree.resolveParents(`${base}/${dir}/${name}`);
    if (w.tree.get(key)?.kind === 'file') w.tree.remove(key);
  }
  writeFile(w, `${base}/enabled_by_${maint ? 'maint' : 'admin'}/${name}`, '');
}

const enabledPath = (kind: A2Kind, name: string): string =>
  `${CONF_DIR}/${DIRS[kind].dir}-enabled/${name}${DIRS[kind].suffix}`;

/**
 * a2enmod's `doit` for one name: dependencies first (a module's `# Depends:`), nothing when a
 * `# Conflicts:` module is enabled (a2enmod fails), then `X-enabled/NAME.SUFFIX ->
 * ../X-available/NAME.SUFFIX` (and a module's `.conf`), and the marker. True when it is enabled.
 */
async function enable(
  w: EffectWriter,
  kind: A2Kind,
  requested: string,
  maint: boolean,
  seen: Set<string>,
): Promise<boolean> {
  const { dir, suffix } = DIRS[kind];
  let name = requested.endsWith(suffix) ? requested.slice(0, -suffix.length) : requested;
  // a2enmod picks cgid for cgi under a threaded MPM.
  if (
    kind === 'module' &&
    name === 'cgi' &&
    ['event', 'worker'].some((m) => exists(w.tree, enabledPath(kind, `mpm_${m}`)))
  )
    name = 'cgid';
  const available = `${CONF_DIR}/${dir}-available`;
  const target = `${available}/${name}${suffix}`;
  if (!isFile(w.tree, target) || seen.has(`${kind}/${name}`)) return false;
  seen.add(`${kind}/${name}`);
  if (kind === 'module') {
    for (const d of await deps(w, target, 'Depends'))
      if (!(await enable(w, kind, d, maint, seen)) && !exists(w.tree, enabledPath(kind, d))) return false;
    for (const c of await deps(w, target, 'Conflicts'))
      if (exists(w.tree, enabledPath(kind, c))) return false;
  }
  const link = enabledPath(kind, name);
  const conf = kind === 'module' && isFile(w.tree, `${available}/${name}.conf`);
  const confLink = `${CONF_DIR}/${dir}-enabled/${name}.conf`;
  if (conf && statPath(w.tree, confLink) === undefined)
    writeSymlink(w, confLink, `../${dir}-available/${name}.conf`);
  if (w.tree.get(w.tree.resolveParents(link)) !== undefined) return true;
  writeSymlink(w, link, `../${dir}-available/${name}${suffix}`);
  mark(w, kind, name, maint);
  return true;
}

/** a2dismod -m of the enabled `mpm_*` modules, then a2enmod -m of `mpm_NAME` (apache2_switch_mpm). */
async function switchMpm(w: EffectWriter, name: string): Promise<void> {
  if (!isFile(w.tree, `${CONF_DIR}/mods-available/mpm_${name}.load`)) return;
  const enabledDir = w.tree.resolveParents(`${CONF_DIR}/mods-enabled`.slice(1));
  for (const entry of childNames(w.tree, enabledDir)) {
    const m = /^(mpm_[A-Za-z0-9_]+)\.(load|conf)$/.exec(entry);
    if (m === null || m[1] === `mpm_${name}`) continue;
    w.tree.remove(`${enabledDir}/${entry}`);
    if (m[2] === 'load') {
      const base = `${STATE_DIR}/module`;
      for (const dir of childNames(w.tree, base.slice(1))) {
        const key = w.tree.resolveParents(`${base}/${dir}/${m[1]}`);
        if (w.tree.get(key)?.kind === 'file') w.tree.remove(key);
      }
      writeFile(w, `${base}/disabled_by_maint/${m[1]}`, '');
    }
  }
  await enable(w, 'module', `mpm_${name}`, true, new Set());
}

/**
 * The a2enmod, a2enconf, a2ensite, apache2_invoke and apache2_switch_mpm calls of every postinst, in
 * configure order, when Apache's configuration directory is in the image: apache2's default MPM
 * (mpm_event), its 16 default modules with their dependencies (authn_core, authz_core), 5 conf
 * snippets and the 000-default site, as Debian enables them.
 */
export const apache2ModulesRule: EffectRule = {
  id: 'apache2/a2enmod',
  package: null,
  describe:
    'postinst a2enmod/a2enconf/a2ensite/apache2_invoke/apache2_switch_mpm with literal names: ' +
    '/etc/apache2/{mods,conf,sites}-enabled/NAME -> ../*-available/NAME (module dependencies first, conflicts skipped), ' +
    'state markers under /var/lib/apache2/{module,conf,site}/enabled_by_{maint,admin}/',
  async apply(ctx) {
    if (statPath(ctx.tree, `${CONF_DIR}/mods-available`)?.node.kind !== 'dir') return;
    for (const pkg of configureOrder(ctx.installed)) {
      if (
        pkg.postinst === undefined ||
        !/\b(a2en(mod|conf|site)|apache2_invoke|apache2_switch_mpm)\b/.test(pkg.postinst)
      )
        continue;
      const w = ctx.writer(pkg.name);
      for (const call of parseA2Calls(pkg.postinst)) {
        if (call.op === 'switch-mpm') await switchMpm(w, call.name);
        else await enable(w, call.kind, call.name, call.maint, new Set());
      }
    }
  },
};
