// The effects that are plain data: copy a shipped template, make a link or a directory, write a text.
import { type AccountIds, type EffectAction, runActions } from './actions.js';
import { lookupGid, lookupUid } from './system-accounts.js';
import type { EffectRule, InstalledInfo } from './types.js';

/** gids fixed by base-passwd (Debian policy), used where scripts chown to a group. */
const GID = { adm: 4, mail: 8, utmp: 43, staff: 50 } as const;

/** A data-only rule: `actions` run when `package` is installed. */
export interface SimpleRule {
  id: string;
  package: string | RegExp;
  describe: string;
  /**
   * The actions; a function receives the package-name match (e.g. python3.11 from python3.11-minimal)
   * and the installed package (its postinst, where the list differs between releases).
   */
  actions:
    | readonly EffectAction[]
    | ((match: RegExpExecArray | null, pkg: InstalledInfo) => readonly EffectAction[]);
}

/** postgresql-common's postinst heredoc for a missing /etc/postgresql-common/root.crt. */
const POSTGRES_ROOT_CRT = `This is a dummy root certificate file for PostgreSQL. To enable client side
authentication, add some certificates to it. Client certificates must be signed
with any certificate in this file to be accepted.

A reasonable choice is to just symlink this file to
/etc/ssl/certs/ssl-cert-snakeoil.pem; in this case, client certificates need to
be signed by the postgresql server certificate, which might be desirable in
many cases. See chapter "Server Setup and Operation" in the PostgreSQL
documentation for details (in package postgresql-doc-9.2).

  file:///usr/share/doc/postgresql-doc-9.2/html/ssl-tcp.html
`;

/** bookworm base-files' `install_local_dir` calls, for a base-files whose postinst is not at hand. */
const USR_LOCAL = [
  '',
  '/share',
  '/share/man',
  '/bin',
  '/games',
  '/lib',
  '/include',
  '/sbin',
  '/src',
  '/etc',
].map((p) => `/usr/local${p}`);

/** The directories base-files' postinst makes with `install_local_dir` (trixie's adds /usr/local/libexec). */
export function usrLocalDirs(postinst: string | undefined): string[] {
  const named = [
    ...(postinst ?? '').matchAll(/^[ \t]*install_local_dir[ \t]+(\/usr\/local[^\s;]*)[ \t]*$/gm),
  ];
  return named.length > 0 ? named.map((m) => m[1] as string) : USR_LOCAL;
}

/** The data rules, in the order they run (after base-passwd, before ca-certificates and alternatives). */
export const SIMPLE_RULES: readonly SimpleRule[] = [
  {
    id: 'base-files/postinst',
    package: 'base-files',
    describe:
      'postinst: origins/default link, /root/.profile /root/.bashrc /etc/profile /etc/motd from templates, /mnt /srv /opt /etc/opt /var/opt /media, ' +
      '/var/mail 2775 root:mail, /var/spool/mail -> ../mail, /run/lock 1777, /var/run -> /run, /var/lock -> /run/lock, /usr/local/* 0755 (as its install_local_dir calls name), ' +
      '/usr/local/man -> share/man, empty /var/log/{wtmp,btmp,lastlog} root:utmp, /usr/share/info/dir',
    actions: (_match, pkg) => [
      { op: 'link', path: '/etc/dpkg/origins/default', target: 'debian', if: '/etc/dpkg/origins/debian' },
      { op: 'copy', from: '/usr/share/base-files/dot.profile', to: '/root/.profile' },
      { op: 'copy', from: '/usr/share/base-files/dot.bashrc', to: '/root/.bashrc' },
      { op: 'copy', from: '/usr/share/base-files/profile', to: '/etc/profile' },
      { op: 'copy', from: '/usr/share/base-files/motd', to: '/etc/motd' },
      ...['/mnt', '/srv', '/opt', '/etc/opt', '/var/opt', '/media'].map(
        (path): EffectAction => ({ op: 'mkdir', path, mode: 0o755 }),
      ),
      { op: 'mkdir', path: '/var/mail', mode: 0o2775, gid: GID.mail },
      { op: 'link', path: '/var/spool/mail', target: '../mail' },
      { op: 'mkdir', path: '/run/lock', mode: 0o1777 },
      { op: 'migrate-dir', path: '/var/run', target: '/run' },
      { op: 'migrate-dir', path: '/var/lock', target: '/run/lock' },
      ...usrLocalDirs(pkg.postinst).map((path): EffectAction => ({ op: 'mkdir', path, mode: 0o755 })),
      { op: 'link', path: '/usr/local/man', target: 'share/man', force: true },
      { op: 'write', path: '/var/log/wtmp', text: '', mode: 0o664, gid: GID.utmp },
      { op: 'write', path: '/var/log/btmp', text: '', mode: 0o660, gid: GID.utmp },
      { op: 'write', path: '/var/log/lastlog', text: '', mode: 0o664, gid: GID.utmp },
      {
        op: 'copy',
        from: '/usr/share/base-files/info.dir',
        to: '/usr/share/info/dir',
        mode: 0o644,
        if: '/usr/share/info',
        unless: '/usr/info/dir',
      },
    ],
  },
  {
    id: 'bash/binsh',
    package: 'bash',
    describe: 'postinst: /bin/sh -> bash when nothing else provides /bin/sh (dash ships its own link)',
    actions: [{ op: 'link', path: '/bin/sh', target: 'bash', if: '/bin/bash' }],
  },
  {
    id: 'libc-bin/nsswitch',
    package: 'libc-bin',
    describe:
      'postinst copies /usr/share/libc-bin/nsswitch.conf to /etc/nsswitch.conf (ldconfig is not run: no /etc/ld.so.cache)',
    actions: [{ op: 'copy', from: '/usr/share/libc-bin/nsswitch.conf', to: '/etc/nsswitch.conf' }],
  },
  {
    id: 'netbase/hosts',
    package: 'netbase',
    describe: 'postinst writes /etc/hosts (localhost, ip6 names) and /etc/networks',
    actions: [
      {
        op: 'write',
        path: '/etc/hosts',
        text: '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\nff02::1\t\tip6-allnodes\nff02::2\t\tip6-allrouters\n\n',
      },
      {
        op: 'write',
        path: '/etc/networks',
        text: 'default\t\t0.0.0.0\nloopback\t127.0.0.0\nlink-local\t169.254.0.0\n\n',
      },
    ],
  },
  {
    id: 'readline-common/inputrc',
    package: 'readline-common',
    describe: 'postinst copies /usr/share/readline/inputrc to /etc/inputrc',
    actions: [{ op: 'copy', from: '/usr/share/readline/inputrc', to: '/etc/inputrc' }],
  },
  {
    id: 'python3/debian_config',
    package: 'python3',
    describe: 'postinst writes /etc/python3/debian_config (byte-compile = standard); py3compile is not run',
    actions: [
      { op: 'mkdir', path: '/etc/python3', mode: 0o755 },
      {
        op: 'write',
        path: '/etc/python3/debian_config',
        text: '[DEFAULT]\n# how to byte-compile (comma separated: standard, optimize)\nbyte-compile = standard\n',
      },
    ],
  },
  {
    id: 'python3.X-minimal/dist-packages',
    package: /^python(3\.[0-9]+)-minimal$/,
    describe:
      'postinst creates /usr/local/lib/python3.X/dist-packages (0755 root:root); py_compile is not run',
    actions: (m) => [
      { op: 'mkdir', path: `/usr/local/lib/python${m?.[1]}`, mode: 0o755 },
      { op: 'mkdir', path: `/usr/local/lib/python${m?.[1]}/dist-packages`, mode: 0o755 },
    ],
  },
  {
    id: 'fontconfig-config/defaults',
    package: 'fontconfig-config',
    describe:
      'postinst (debconf defaults): conf.d/10-hinting-slight.conf and 70-no-bitmaps.conf links, /usr/local/share/fonts 2775 root:staff',
    actions: [
      {
        op: 'link',
        path: '/etc/fonts/conf.d/10-hinting-slight.conf',
        target: '/usr/share/fontconfig/conf.avail/10-hinting-slight.conf',
      },
      {
        op: 'link',
        path: '/etc/fonts/conf.d/70-no-bitmaps.conf',
        target: '/usr/share/fontconfig/conf.avail/70-no-bitmaps.conf',
      },
      { op: 'mkdir', path: '/usr/local/share/fonts', mode: 0o2775, gid: GID.staff },
    ],
  },
  {
    id: 'nginx-common/default-site',
    package: 'nginx-common',
    describe:
      'postinst: sites-enabled/default link, /var/log/nginx root:adm, /var/www/html/index.nginx-debian.html',
    actions: [
      {
        op: 'link',
        path: '/etc/nginx/sites-enabled/default',
        target: '/etc/nginx/sites-available/default',
        if: '/etc/nginx/sites-available/default',
      },
      { op: 'mkdir', path: '/var/log/nginx', mode: 0o755, gid: GID.adm },
      { op: 'copy', from: '/usr/share/nginx/html/index.html', to: '/var/www/html/index.nginx-debian.html' },
    ],
  },
  {
    id: 'postgresql-common/postinst',
    package: 'postgresql-common',
    describe:
      'postinst: the dummy /etc/postgresql-common/root.crt, createcluster.conf from its template (its account, chowns and tmpfiles.d are read from the script; ' +
      'no cluster is created: pg_createcluster runs initdb, a random system identifier)',
    actions: [
      {
        op: 'write',
        path: '/etc/postgresql-common/root.crt',
        text: POSTGRES_ROOT_CRT,
        if: '/etc/postgresql-common',
      },
      // ucf installs the template (debconf postgresql-common/ssl defaults to true: `ssl = on`, as shipped).
      {
        op: 'copy',
        from: '/usr/share/postgresql-common/createcluster.conf',
        to: '/etc/postgresql-common/createcluster.conf',
        mode: 0o644,
      },
    ],
  },
  {
    id: 'openssh-server/sshd-config',
    package: 'openssh-server',
    describe:
      "postinst: /etc/ssh/sshd_config from /usr/share/openssh/sshd_config (cp -a to a mktemp file, then ucf; debconf's defaults change nothing)",
    actions: [{ op: 'copy', from: '/usr/share/openssh/sshd_config', to: '/etc/ssh/sshd_config' }],
  },
  {
    id: 'redis-tools/setup-dirs',
    package: 'redis-tools',
    describe:
      "postinst's Setup_dir (a shell function, so not read from the script): /var/log/redis 2750 redis:adm, /var/lib/redis 0750 and /etc/redis 2770 redis:redis",
    actions: [
      ...(
        [
          ['/var/log/redis', 0o2750, 'adm'],
          ['/var/lib/redis', 0o750, 'redis'],
          ['/etc/redis', 0o2770, 'redis'],
        ] as const
      ).flatMap(([path, mode, group]): EffectAction[] => [
        { op: 'mkdir', path, mode },
        { op: 'chown', path, user: 'redis', group, mode },
      ]),
    ],
  },
  {
    id: 'squid/dirs',
    package: 'squid',
    describe:
      "postinst: chown proxy:proxy /var/log/squid and the cache directory (user, group and cache_dir come from `squid -k parse`'s output, so not read from the script; squid.conf's defaults are proxy and /var/spool/squid)",
    actions: ['/var/log/squid', '/var/spool/squid'].map(
      (path): EffectAction => ({ op: 'chown', path, user: 'proxy', group: 'proxy' }),
    ),
  },
  {
    id: 'transmission-daemon/chperms',
    package: 'transmission-daemon',
    describe:
      "postinst's chperms shell function (positional parameters, so not read from the script): its config and download directories and settings.json to debian-transmission",
    actions: (
      [
        ['/var/lib/transmission-daemon/.config/transmission-daemon', 'debian-transmission', 0o4750],
        ['/var/lib/transmission-daemon/downloads', 'debian-transmission', 0o4775],
        ['/etc/transmission-daemon/settings.json', 'debian-transmission', 0o660],
        ['/etc/transmission-daemon', 'root', 0o2775],
      ] as const
    ).map(
      ([path, user, mode]): EffectAction => ({ op: 'chown', path, user, group: 'debian-transmission', mode }),
    ),
  },
  {
    id: 'exim4-config/aliases',
    package: 'exim4-config',
    describe:
      "postinst's writealiases for a missing /etc/aliases (the routers of Debian's exim4 configuration read it; without it they defer every local delivery); debconf's postmaster recipient is empty by default, so no root line",
    actions: [
      {
        op: 'write',
        path: '/etc/aliases',
        text: `# /etc/aliases\nmailer-daemon: postmaster\n${['postmaster', 'nobody', 'hostmaster', 'usenet', 'news', 'webmaster', 'www', 'ftp', 'abuse', 'noc', 'security'].map((n) => `${n}: root\n`).join('')}`,
      },
    ],
  },
  {
    id: 'mariadb-server/debian-cnf',
    package: 'mariadb-server',
    describe:
      'postinst: /etc/mysql/debian.cnf (0600 root) when missing, the obsolete-file notice and the root@localhost client sections its echo lines write; the init script, logrotate and debian-start run the tools with --defaults-file=/etc/mysql/debian.cnf, which fail without it',
    actions: [
      {
        op: 'write',
        path: '/etc/mysql/debian.cnf',
        mode: 0o600,
        text: [
          '# THIS FILE IS OBSOLETE. STOP USING IT IF POSSIBLE.',
          '# This file exists only for backwards compatibility for',
          "# tools that run '--defaults-file=/etc/mysql/debian.cnf'",
          '# and have root level access to the local filesystem.',
          "# With those permissions one can run 'mariadb' directly",
          '# anyway thanks to unix socket authentication and hence',
          '# this file is useless. See package README for more info.',
          '[client]',
          'host     = localhost',
          'user     = root',
          '[mysql_upgrade]',
          'host     = localhost',
          'user     = root',
          '# THIS FILE WILL BE REMOVED IN A FUTURE DEBIAN RELEASE.',
          '',
        ].join('\n'),
        if: '/etc/mysql',
      },
    ],
  },
  {
    id: 'icinga2-bin/default-features',
    package: 'icinga2-bin',
    describe:
      "postinst's `icinga2 feature enable checker notification mainlog` on a fresh install: /etc/icinga2/features-enabled/NAME.conf -> ../features-available/NAME.conf (without the checker the daemon runs no checks, without mainlog it logs nothing)",
    actions: ['checker', 'notification', 'mainlog'].map(
      (name): EffectAction => ({
        op: 'link',
        path: `/etc/icinga2/features-enabled/${name}.conf`,
        target: `../features-available/${name}.conf`,
        if: `/etc/icinga2/features-available/${name}.conf`,
      }),
    ),
  },
  {
    id: 'openjdk/system-prefs',
    package: /^openjdk-[0-9]+-jre-headless$/,
    describe:
      'postinst: /etc/.java/.systemPrefs with empty .system.lock and .systemRootModFile (java.util.prefs)',
    actions: [
      { op: 'mkdir', path: '/etc/.java', mode: 0o755 },
      { op: 'mkdir', path: '/etc/.java/.systemPrefs', mode: 0o755 },
      { op: 'write', path: '/etc/.java/.systemPrefs/.system.lock', text: '' },
      { op: 'write', path: '/etc/.java/.systemPrefs/.systemRootModFile', text: '' },
    ],
  },
  {
    id: 'systemd/machine-id',
    package: 'systemd',
    describe:
      'an empty /etc/machine-id (0444), the "uninitialised" state; systemd-machine-id-setup would write a random id',
    actions: [{ op: 'write', path: '/etc/machine-id', text: '', mode: 0o444 }],
  },
];

/** A SimpleRule as an EffectRule. */
export function simpleEffect(rule: SimpleRule): EffectRule {
  return {
    id: rule.id,
    package: rule.package,
    describe: rule.describe,
    async apply(ctx, pkg, match) {
      const actions = typeof rule.actions === 'function' ? rule.actions(match, pkg) : rule.actions;
      const ids = { users: new Map<string, number>(), groups: new Map<string, number>() };
      for (const a of actions) {
        if (a.op !== 'chown') continue;
        const uid = await lookupUid(ctx.tree, a.user);
        const gid = await lookupGid(ctx.tree, a.group);
        if (uid !== undefined) ids.users.set(a.user, uid);
        if (gid !== undefined) ids.groups.set(a.group, gid);
      }
      runActions(ctx.writer(pkg.name), actions, ids satisfies AccountIds);
    },
  };
}
