// `dpkg-statoverride --update --add USER GROUP MODE PATH` in postinsts: the owner and mode dpkg keeps
// for a path (ssl-cert's /etc/ssl/private root:ssl-cert 0710, cron's crontab root:crontab 2755, ...).
import { literalCalls } from './script-eval.js';
import { configureOrder, lookupGid, lookupUid } from './system-accounts.js';
import { statPath } from './tree-io.js';
import type { EffectRule } from './types.js';

/** One `--add` a postinst makes. */
export interface StatOverride {
  user: string;
  group: string;
  mode: number;
  path: string;
  /** `--update`: the file is changed now, not only recorded. */
  update: boolean;
}

/**
 * The `dpkg-statoverride [--update] [--force|--quiet ...] --add USER GROUP MODE PATH` calls of a script
 * with literal arguments (see `literalCalls`). Pure.
 */
export function parseStatOverrides(script: string): StatOverride[] {
  const out: StatOverride[] = [];
  const found = literalCalls(script, (c) => /\bdpkg-statoverride\b/.test(c) && /--add\b/.test(c));
  for (const words of found.calls) {
    const at = words.findIndex((w) => /(^|\/)dpkg-statoverride$/.test(w));
    if (at < 0) continue;
    const args = words.slice(at + 1);
    const add = args.indexOf('--add');
    const options = args.slice(0, add);
    if (add < 0 || !options.every((o) => /^--(update|force|force-[a-z-]+|quiet)$/.test(o))) continue;
    const [user, group, mode, path, ...rest] = args.slice(add + 1);
    if (user === undefined || group === undefined || mode === undefined || path === undefined) continue;
    // Octal, leading zeros allowed (postfix: 02555).
    if (rest.length > 0 || !/^0*[0-7]{1,4}$/.test(mode) || !path.startsWith('/')) continue;
    if (/(^|\/)\.\.(\/|$)/.test(path)) continue;
    out.push({ user, group, mode: Number.parseInt(mode, 8), path, update: options.includes('--update') });
  }
  return out;
}

/** `#N` or a name, as dpkg-statoverride reads owners. */
async function id(
  tree: Parameters<typeof lookupUid>[0],
  owner: string,
  kind: 'user' | 'group',
): Promise<number | undefined> {
  if (/^#[0-9]+$/.test(owner)) return Number(owner.slice(1));
  return kind === 'user' ? lookupUid(tree, owner) : lookupGid(tree, owner);
}

/**
 * dpkg-statoverride --update --add: for each installed package (configure order), its postinst's
 * overrides applied to the path when it exists and the accounts are known (after adduser's). The
 * override database (/var/lib/dpkg/statoverride) is not written, like dpkg's other databases.
 */
export const statOverrideRule: EffectRule = {
  id: 'dpkg-statoverride/update',
  package: null,
  describe:
    'postinst dpkg-statoverride --update --add USER GROUP MODE PATH: the path gets that owner and mode',
  async apply(ctx) {
    for (const pkg of configureOrder(ctx.installed)) {
      if (pkg.postinst === undefined || !pkg.postinst.includes('dpkg-statoverride')) continue;
      const w = ctx.writer(pkg.name);
      for (const o of parseStatOverrides(pkg.postinst)) {
        if (!o.update) continue;
        const hit = statPath(ctx.tree, o.path);
        const uid = await id(ctx.tree, o.user, 'user');
        const gid = await id(ctx.tree, o.group, 'group');
        if (hit === undefined || uid === undefined || gid === undefined || hit.node.kind === 'symlink')
          continue;
        const mode = (hit.node.mode & ~0o7777) | o.mode;
        if (hit.node.uid === uid && hit.node.gid === gid && hit.node.mode === mode) continue;
        ctx.tree.add(hit.key, { ...hit.node, uid, gid, mode, origin: pkg.name }, { onExisting: 'replace' });
        w.record(hit.key);
      }
    }
  },
};
