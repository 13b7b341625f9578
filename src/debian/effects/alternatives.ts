// update-alternatives registrations of common packages, as data, and their outcome in the tree:
// `link -> /etc/alternatives/NAME -> target` plus the /var/lib/dpkg/alternatives/NAME database file.
import { compareBytes } from '../../vfs/path.js';
import { postgresqlManAlternatives } from './alternatives-postgresql.js';
import { exists, targetKey, writeFile, writeSymlink } from './tree-io.js';
import type { EffectContext, EffectRule, InstalledInfo } from './types.js';

/** A slave link of an alternative. */
export interface AlternativeSlave {
  name: string;
  link: string;
  target: string;
}

/** One `update-alternatives --install link name target priority --slave ...` a package's postinst runs. */
export interface AlternativeRegistration {
  /** The package whose postinst registers it. */
  package: string;
  name: string;
  link: string;
  target: string;
  priority: number;
  slaves: readonly AlternativeSlave[];
}

const man1 = (n: string): string => `/usr/share/man/man1/${n}`;
const jvm = (arch: string): string => `/usr/lib/jvm/java-17-openjdk-${arch}`;

/**
 * The registrations imprint reproduces (bookworm scripts; `{arch}` in openjdk paths is the image's
 * architecture). Add a row to support another package. Order does not matter: the result is decided
 * by priority, then target path.
 */
export function alternativeRegistrations(arch: string): AlternativeRegistration[] {
  const awk = (pkg: string, bin: string, priority: number): AlternativeRegistration => ({
    package: pkg,
    name: 'awk',
    link: '/usr/bin/awk',
    target: `/usr/bin/${bin}`,
    priority,
    slaves: [
      { name: 'awk.1.gz', link: man1('awk.1.gz'), target: man1(`${bin}.1.gz`) },
      { name: 'nawk', link: '/usr/bin/nawk', target: `/usr/bin/${bin}` },
      { name: 'nawk.1.gz', link: man1('nawk.1.gz'), target: man1(`${bin}.1.gz`) },
    ],
  });
  const whichSlaves: AlternativeSlave[] = [
    { name: 'which.1.gz', link: man1('which.1.gz'), target: man1('which.debianutils.1.gz') },
  ];
  for (const lang of ['de', 'es', 'fr', 'it', 'ja', 'pl', 'sl']) {
    whichSlaves.push({
      name: `which.${lang}1.gz`,
      link: `/usr/share/man/${lang}/man1/which.1.gz`,
      target: `/usr/share/man/${lang}/man1/which.debianutils.1.gz`,
    });
  }
  const java = (tool: string): AlternativeRegistration => ({
    package: 'openjdk-17-jre-headless',
    name: tool,
    link: `/usr/bin/${tool}`,
    target: `${jvm(arch)}/bin/${tool}`,
    priority: 1711,
    slaves: [
      { name: `${tool}.1.gz`, link: man1(`${tool}.1.gz`), target: `${jvm(arch)}/man/man1/${tool}.1.gz` },
    ],
  });
  // xz-utils builds its slave list with a shell function in a command substitution (not readable).
  const lzmaSlaves: AlternativeSlave[] = [
    { name: 'lzma.1.gz', link: man1('lzma.1.gz'), target: man1('xz.1.gz') },
    { name: 'unlzma', link: '/usr/bin/unlzma', target: '/usr/bin/unxz' },
    { name: 'unlzma.1.gz', link: man1('unlzma.1.gz'), target: man1('unxz.1.gz') },
  ];
  for (const util of ['cat', 'more', 'less', 'diff', 'cmp', 'grep', 'egrep', 'fgrep']) {
    lzmaSlaves.push(
      { name: `lz${util}`, link: `/usr/bin/lz${util}`, target: `/usr/bin/xz${util}` },
      { name: `lz${util}.1.gz`, link: man1(`lz${util}.1.gz`), target: man1(`xz${util}.1.gz`) },
    );
  }
  return [
    awk('mawk', 'mawk', 5),
    awk('gawk', 'gawk', 10),
    {
      package: 'debianutils',
      name: 'which',
      link: '/usr/bin/which',
      target: '/usr/bin/which.debianutils',
      priority: 0,
      slaves: whichSlaves,
    },
    {
      package: 'tar',
      name: 'rmt',
      link: '/usr/sbin/rmt',
      target: '/usr/sbin/rmt-tar',
      priority: 50,
      slaves: [
        {
          name: 'rmt.8.gz',
          link: '/usr/share/man/man8/rmt.8.gz',
          target: '/usr/share/man/man8/rmt-tar.8.gz',
        },
      ],
    },
    {
      package: 'util-linux',
      name: 'pager',
      link: '/usr/bin/pager',
      target: '/bin/more',
      priority: 50,
      slaves: [{ name: 'pager.1.gz', link: man1('pager.1.gz'), target: man1('more.1.gz') }],
    },
    {
      package: 'bash',
      name: 'builtins.7.gz',
      link: '/usr/share/man/man7/builtins.7.gz',
      target: '/usr/share/man/man7/bash-builtins.7.gz',
      priority: 10,
      slaves: [],
    },
    {
      package: 'xz-utils',
      name: 'lzma',
      link: '/usr/bin/lzma',
      target: '/usr/bin/xz',
      priority: 20,
      slaves: lzmaSlaves,
    },
    java('java'),
    java('jpackage'),
    java('keytool'),
    java('rmiregistry'),
    {
      package: 'openjdk-17-jre-headless',
      name: 'jexec',
      link: '/usr/bin/jexec',
      target: `${jvm(arch)}/lib/jexec`,
      priority: 1711,
      slaves: [
        { name: 'jexec-binfmt', link: '/usr/share/binfmts/jar', target: `${jvm(arch)}/lib/jar.binfmt` },
      ],
    },
  ];
}

/** A link group after every installed registration of one name was considered. */
export interface AlternativeGroup {
  name: string;
  link: string;
  /** Slave name → link, sorted by name (bytewise), as update-alternatives stores them. */
  slaves: Array<{ name: string; link: string }>;
  /** Candidates sorted by target path (bytewise), as dpkg stores them. */
  choices: AlternativeRegistration[];
  best: AlternativeRegistration;
}

/**
 * Groups the registrations of installed packages (the table's, and for packages it does not list,
 * those read from their postinst) whose master target exists in the tree (an --install of a missing
 * target fails) by name; the best is the highest priority, then the smallest target path. Pure over
 * the tree.
 */
export function alternativeGroups(ctx: EffectContext): AlternativeGroup[] {
  const byName = new Map<string, AlternativeRegistration[]>();
  const table = alternativeRegistrations(ctx.arch);
  const inTable = new Set(table.map((r) => r.package));
  // The table's rows, then what the postinsts of the other installed packages register, then what
  // postgresql-common's functions register from dpkg's file lists.
  const parsed = [...ctx.installed.values()]
    .filter((p) => !inTable.has(p.name))
    .flatMap((p) => p.alternatives ?? []);
  for (const reg of [...table, ...parsed, ...postgresqlManAlternatives(ctx)]) {
    const pkg = ctx.installed.get(reg.package);
    if (pkg === undefined || !nativeOrAll(pkg, ctx.arch)) continue;
    if (!exists(ctx.tree, reg.target)) continue;
    byName.set(reg.name, [...(byName.get(reg.name) ?? []), reg]);
  }
  const groups: AlternativeGroup[] = [];
  for (const name of [...byName.keys()].sort(compareBytes)) {
    const regs = byName.get(name) as AlternativeRegistration[];
    const choices = [...regs].sort((a, b) => compareBytes(a.target, b.target));
    const best = [...regs].sort(
      (a, b) => b.priority - a.priority || compareBytes(a.target, b.target),
    )[0] as AlternativeRegistration;
    const slaves: Array<{ name: string; link: string }> = [];
    for (const r of regs)
      for (const s of r.slaves)
        if (!slaves.some((x) => x.name === s.name)) slaves.push({ name: s.name, link: s.link });
    // update-alternatives keeps a group's slaves sorted by name (xz-utils registers lzma.1.gz first).
    slaves.sort((a, b) => compareBytes(a.name, b.name));
    groups.push({ name, link: best.link, slaves, choices, best });
  }
  return groups;
}

function nativeOrAll(pkg: InstalledInfo, arch: string): boolean {
  return pkg.architecture === arch || pkg.architecture === 'all';
}

/** The /var/lib/dpkg/alternatives/NAME file update-alternatives writes for `g` in auto mode. */
export function alternativeDbText(g: AlternativeGroup): string {
  let out = `auto\n${g.link}\n`;
  for (const s of g.slaves) out += `${s.name}\n${s.link}\n`;
  out += '\n';
  for (const c of g.choices) {
    out += `${c.target}\n${c.priority}\n`;
    for (const s of g.slaves) out += `${c.slaves.find((x) => x.name === s.name)?.target ?? ''}\n`;
  }
  return `${out}\n`;
}

export const alternativesRule: EffectRule = {
  id: 'update-alternatives',
  package: null,
  describe:
    'update-alternatives --install (the table: awk, which, rmt, pager, builtins.7.gz, lzma, java tools; other packages: the calls of their postinst with literal arguments): link -> /etc/alternatives/NAME -> target, ' +
    'slaves whose target is missing skipped, /var/lib/dpkg/alternatives/NAME written',
  async apply(ctx) {
    for (const g of alternativeGroups(ctx)) {
      const w = ctx.writer(g.best.package);
      placeLink(ctx, w, g.link, g.name, g.best.target);
      for (const s of g.best.slaves) {
        if (exists(ctx.tree, s.target)) placeLink(ctx, w, s.link, s.name, s.target);
      }
      writeFile(w, `/var/lib/dpkg/alternatives/${g.name}`, alternativeDbText(g), { mode: 0o644 });
    }
  },
};

/** `link -> /etc/alternatives/name -> target`; a real file at `link` is left alone, as update-alternatives does. */
function placeLink(
  ctx: EffectContext,
  w: ReturnType<EffectContext['writer']>,
  link: string,
  name: string,
  target: string,
): void {
  writeSymlink(w, `/etc/alternatives/${name}`, target);
  const existing = ctx.tree.get(targetKey(w, link));
  if (existing !== undefined && existing.kind !== 'symlink') return;
  writeSymlink(w, link, `/etc/alternatives/${name}`);
}
