// PostgreSQL's man pages as update-alternatives groups. postgresql-V's and postgresql-client-V's
// postinsts source postgresql-common's maintscripts-functions, whose `_link_manpages VERSION MASTER
// PACKAGE...` registers `/usr/share/man/SECTION/MASTER` with every other man page of those packages
// (`dpkg -L ... | grep /man/`) as a slave: their names come from dpkg's database at run time, so the
// postinst reader (alternatives-parse.ts) cannot see them, and the build did not warn either.
import { compareBytes } from '../../vfs/path.js';
import type { AlternativeRegistration, AlternativeSlave } from './alternatives.js';
import { childNames } from './tree-io.js';
import type { EffectContext } from './types.js';

/** The groups of `_link_manpages`' callers: the installed package, its master page, the packages listed. */
const MAN_GROUPS: ReadonlyArray<{ kind: RegExp; master: string; packages: (v: string) => string[] }> = [
  // configure_client_version
  {
    kind: /^postgresql-client-([0-9][0-9.]*)$/,
    master: 'psql.1.gz',
    packages: (v) => [`postgresql-client-${v}`],
  },
  // configure_version (postgresql-contrib-V is a name postgresql-V provides since 10)
  {
    kind: /^postgresql-([0-9][0-9.]*)$/,
    master: 'postmaster.1.gz',
    packages: (v) => [`postgresql-${v}`, `postgresql-contrib-${v}`],
  },
  // configure_doc_version
  {
    kind: /^postgresql-doc-([0-9][0-9.]*)$/,
    master: 'SPI_connect.3.gz',
    packages: (v) => [`postgresql-doc-${v}`],
  },
];

/**
 * The registrations `_link_manpages` makes for each installed postgresql-client-V, postgresql-V and
 * postgresql-doc-V: master `/usr/share/man/SECTION/MASTER` -> `/usr/share/postgresql/V/man/SECTION/
 * MASTER`, priority V0 (V's digits for 8.x and 9.x), and a slave for every other man page those
 * packages placed under /usr/share/postgresql/V/man (tree origins stand for `dpkg -L`), linked where
 * the path without `postgresql/V/` points. Pure over the tree.
 */
export function postgresqlManAlternatives(ctx: EffectContext): AlternativeRegistration[] {
  const out: AlternativeRegistration[] = [];
  for (const pkg of ctx.installed.values()) {
    for (const group of MAN_GROUPS) {
      const version = group.kind.exec(pkg.name)?.[1];
      if (version === undefined) continue;
      const owners = new Set(group.packages(version));
      const section = `man${group.master.replace(/^.*\.([^.]*)\.[^.]*$/, '$1')}`;
      const root = `usr/share/postgresql/${version}/man`;
      const slaves: AlternativeSlave[] = [];
      for (const dir of childNames(ctx.tree, root))
        for (const name of childNames(ctx.tree, `${root}/${dir}`)) {
          const node = ctx.tree.get(`${root}/${dir}/${name}`);
          if (node === undefined || node.kind === 'dir' || !owners.has(node.origin ?? '')) continue;
          if (!/\.[1-9](\.gz)?$/.test(name) || name.includes(group.master)) continue;
          const target = `/${root}/${dir}/${name}`;
          slaves.push({ name, link: `/usr/share/man/${dir}/${name}`, target });
        }
      slaves.sort((a, b) => compareBytes(a.name, b.name));
      out.push({
        package: pkg.name,
        name: group.master,
        link: `/usr/share/man/${section}/${group.master}`,
        target: `/${root}/${section}/${group.master}`,
        priority: Number(/^[89]/.test(version) ? version.replace(/[^0-9]/g, '') : `${version}0`),
        slaves,
      });
    }
  }
  return out;
}
