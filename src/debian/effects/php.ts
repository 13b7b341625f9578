import { runActions } from './actions.js';
import {
  childNames,
  type EffectWriter,
  exists,
  readTreeFile,
  statPath,
  writeFile,
  writeSymlink,
} from './tree-io.js';
import type { EffectRule } from './types.js';

const SAPI_DIR: Readonly<Record<string, string>> = {
  cli: 'cli',
  fpm: 'fpm',
  cgi: 'cgi',
  phpdbg: 'phpdbg',
  apache2: 'apache2',
};

export const phpSapiIniRule: EffectRule = {
  id: 'php/sapi-ini',
  package: /^(?:php([0-9]+\.[0-9]+)-(cli|fpm|cgi|phpdbg)|libapache2-mod-php([0-9]+\.[0-9]+))$/,
  describe:
    'postinst of a PHP SAPI: ucf /usr/lib/php/V/php.ini-production (.cli for the CLI) /etc/php/V/SAPI/php.ini, when missing',
  apply(ctx, pkg, match) {
    const version = match?.[1] ?? match?.[3];
    const sapi = match?.[2] ?? 'apache2';
    if (version === undefined || SAPI_DIR[sapi] === undefined) return;
    const template = `/usr/lib/php/${version}/php.ini-production${sapi === 'cli' ? '.cli' : ''}`;
    runActions(ctx.writer(pkg.name), [
      {
        op: 'copy',
        from: template,
        to: `/etc/php/${version}/${SAPI_DIR[sapi]}/php.ini`,
        mode: 0o644,
        if: template,
      },
    ]);
  },
};

/** php-helper's state: `registry/MOD` (phpenmod -r; what `phpquery -M` lists) and `SAPI/enabled_by_maint/MOD`. */
const STATE_DIR = '/var/lib/php/modules';

/** An empty file at `path` unless one is there (`mkdir -p; touch`). */
function touch(w: EffectWriter, path: string): void {
  if (!exists(w.tree, path)) writeFile(w, path, '', { mode: 0o644 });
}

export const phpModulesRule: EffectRule = {
  id: 'php/modules',
  package: /^php([0-9]+\.[0-9]+)-([a-z0-9][a-z0-9.+-]*)$/,
  describe:
    'postinst of a PHP module package: each ini under /usr/share/phpV-X/*/ copied to /etc/php/V/mods-available/ (ucf), ' +
    'then enabled in every SAPI of /usr/lib/php/V/sapi/: /etc/php/V/SAPI/conf.d/NN-name.ini -> /etc/php/V/mods-available/name.ini (NN from its "; priority=NN" line, default 20); ' +
    "php-helper's state as php_invoke enmod leaves it: /var/lib/php/modules/V/registry/name and V/SAPI/enabled_by_maint/name (so phpquery -M lists them)",
  async apply(ctx, pkg, match) {
    const version = match?.[1] as string;
    const shared = `usr/share/php${version}-${match?.[2] as string}`;
    if (!exists(ctx.tree, `/${shared}`)) return;
    const w = ctx.writer(pkg.name);
    const available = `/etc/php/${version}/mods-available`;
    const sapis = childNames(ctx.tree, `usr/lib/php/${version}/sapi`).filter(
      (s) => SAPI_DIR[s] !== undefined,
    );
    for (const dir of childNames(ctx.tree, shared)) {
      if (statPath(ctx.tree, `/${shared}/${dir}`)?.node.kind !== 'dir') continue;
      for (const ini of childNames(ctx.tree, `${shared}/${dir}`).filter((n) =>
        /^[a-z0-9_.-]+\.ini$/.test(n),
      )) {
        const template = `/${shared}/${dir}/${ini}`;
        runActions(w, [{ op: 'copy', from: template, to: `${available}/${ini}`, mode: 0o644 }]);
        const text = (await readTreeFile(ctx.tree, `${available}/${ini}`))?.toString('utf8') ?? '';
        const priority = /^;\s*priority\s*=\s*([0-9]+)\s*$/m.exec(text)?.[1] ?? '20';
        const module = ini.slice(0, -'.ini'.length);
        for (const sapi of sapis) {
          const confd = `/etc/php/${version}/${SAPI_DIR[sapi]}/conf.d`;
          const enabled = childNames(ctx.tree, confd.slice(1)).some((n) => n.replace(/^[0-9]+-/, '') === ini);
          if (!enabled) {
            runActions(w, [{ op: 'mkdir', path: confd, mode: 0o755 }]);
            writeSymlink(w, `${confd}/${priority}-${module}.ini`, `${available}/${ini}`);
          }
          touch(w, `${STATE_DIR}/${version}/${sapi}/enabled_by_maint/${module}`);
        }
        touch(w, `${STATE_DIR}/${version}/registry/${module}`);
      }
    }
  },
};
