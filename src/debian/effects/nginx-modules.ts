// nginx dynamic modules: the postinst dh_nginx writes for every libnginx-mod-* package enables the
// module on a fresh install, `for confpair in FROM:TO ...; do ... ln -sf
// /usr/share/nginx/modules-available/$from /etc/nginx/modules-enabled/$to`. The pairs are read from
// that snippet as text (never run).
import { exists, writeSymlink } from './tree-io.js';
import type { EffectRule } from './types.js';

const AVAILABLE = '/usr/share/nginx/modules-available';
const ENABLED = '/etc/nginx/modules-enabled';
const NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;

/** The FROM:TO pairs of a dh_nginx postinst snippet (none when the script is not that snippet). Pure. */
export function nginxModulePairs(postinst: string): Array<{ from: string; to: string }> {
  if (!postinst.includes(`ln -sf ${AVAILABLE}/$from`) || !postinst.includes(`${ENABLED}/$to`)) return [];
  const pairs: Array<{ from: string; to: string }> = [];
  for (const m of postinst.matchAll(/^\s*for confpair in ([^;\n]*);\s*do\b/gm)) {
    for (const word of (m[1] as string).trim().split(/\s+/)) {
      const [from, to, extra] = word.split(':');
      if (extra === undefined && from !== undefined && to !== undefined && NAME.test(from) && NAME.test(to))
        pairs.push({ from, to });
    }
  }
  return pairs;
}

export const nginxModulesRule: EffectRule = {
  id: 'libnginx-mod/modules-enabled',
  package: /^libnginx-mod-/,
  describe:
    "dh_nginx's postinst: /etc/nginx/modules-enabled/TO -> /usr/share/nginx/modules-available/FROM for each FROM:TO pair its `for confpair in` loop names (ln -sf), when FROM is installed",
  apply(ctx, pkg) {
    const w = ctx.writer(pkg.name);
    for (const { from, to } of nginxModulePairs(pkg.postinst ?? '')) {
      if (exists(ctx.tree, `${AVAILABLE}/${from}`))
        writeSymlink(w, `${ENABLED}/${to}`, `${AVAILABLE}/${from}`);
    }
  },
};
