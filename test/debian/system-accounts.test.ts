// System accounts from postinsts' adduser, useradd and systemd-sysusers calls (postgres, ssl-cert, dnsmasq,
// tomcat, ...), as those tools make them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAccountCalls } from '../../src/debian/effects/adduser-parse.js';
import { parseStatOverrides } from '../../src/debian/effects/statoverride.js';
import { parseSysusers, sysusersConfigs } from '../../src/debian/effects/sysusers.js';
import { parseTmpfiles, tmpfilesConfigs } from '../../src/debian/effects/tmpfiles.js';
import { basePasswdDeb, type DebSpec } from '../helpers/debfile.js';
import { treeText as text, treeInstaller } from '../helpers/install-tree.js';

const EPOCH = 1_700_000_000;
const install = treeInstaller('imprint-accounts-', EPOCH);

// postgresql-common's postinst (bookworm), the account and ownership part.
const POSTGRES_POSTINST = [
  '#!/bin/sh',
  'set -e',
  'if [ "$1" = configure ]; then',
  '    [ "$DPKG_MAINTSCRIPT_PACKAGE" ] && quiet="--quiet" # RedHat doesn\'t have this',
  '    if ! getent passwd postgres > /dev/null; then',
  '        adduser --system $quiet --home /var/lib/postgresql --no-create-home \\',
  '            --shell /bin/bash --group --gecos "PostgreSQL administrator" postgres',
  '    fi',
  '    if ! getent group postgres > /dev/null; then',
  '        addgroup --system $quiet postgres',
  '    fi',
  '    if ! id -Gn postgres | grep -qw postgres; then',
  '        adduser $quiet postgres postgres',
  '    fi',
  '    if [ -z "$2" ]; then',
  '        if getent group ssl-cert >/dev/null; then',
  '            if ! id -Gn postgres 2> /dev/null | grep -qw ssl-cert; then',
  '                adduser $quiet postgres ssl-cert',
  '            fi',
  '        fi',
  '    fi',
  '    mkdir -p /var/lib/postgresql',
  '    su -s /bin/sh postgres -c "test -O /var/lib/postgresql &&',
  '            test -G /var/lib/postgresql" || \\',
  '        chown postgres:postgres /var/lib/postgresql',
  '    chown postgres:postgres /etc/postgresql',
  'fi',
  '',
].join('\n');

describe('parseAccountCalls', () => {
  it("reads postgresql-common's calls: the system user with its group, and the memberships", () => {
    const r = parseAccountCalls(POSTGRES_POSTINST);
    assert.equal(r.skipped, 0);
    assert.deepEqual(r.calls, [
      {
        op: 'user',
        name: 'postgres',
        group: true,
        createHome: false,
        home: '/var/lib/postgresql',
        shell: '/bin/bash',
        gecos: 'PostgreSQL administrator',
      },
      { op: 'group', name: 'postgres' },
      { op: 'member', user: 'postgres', group: 'postgres' },
      { op: 'member', user: 'postgres', group: 'ssl-cert' },
    ]);
  });

  it('skips calls with computed arguments and non-system accounts', () => {
    const r = parseAccountCalls(
      ['adduser --system --uid $(id -u x) svc', 'adduser someone', 'addgroup --system --gid 120 grp'].join(
        '\n',
      ),
    );
    assert.deepEqual(r.calls, [{ op: 'group', name: 'grp', gid: 120 }]);
    assert.equal(r.skipped, 2);
  });
});

describe('sysusers.d', () => {
  it('reads which files a script hands systemd-sysusers, and their lines as systemd-sysusers applies them', () => {
    assert.deepEqual(
      sysusersConfigs(
        'if [ -x "$(command -v systemd-sysusers)" ]; then\n  systemd-sysusers a.conf b.conf >/dev/null || true\nfi\n',
      ),
      ['a.conf', 'b.conf'],
    );
    assert.equal(sysusersConfigs('\tsystemd-sysusers\n'), 'all');
    assert.deepEqual(sysusersConfigs('# systemd-sysusers\necho no\n'), []);
    assert.deepEqual(
      parseSysusers(
        'm svc extra\nu svc 120:grp "A svc" - /bin/sh\nu %u - -\nr - 500-900\ng grp -\nu two 121 - /srv/two\n',
      ),
      [
        { op: 'group', by: 'sysusers', name: 'grp' },
        {
          op: 'user',
          by: 'sysusers',
          name: 'svc',
          group: false,
          createHome: false,
          home: '/',
          shell: '/bin/sh',
          uid: 120,
          ingroup: 'grp',
          gecos: 'A svc',
        },
        {
          op: 'user',
          by: 'sysusers',
          name: 'two',
          group: true,
          createHome: false,
          home: '/srv/two',
          shell: '/usr/sbin/nologin',
          uid: 121,
        },
        { op: 'member', by: 'sysusers', user: 'svc', group: 'extra' },
      ],
    );
  });
});

describe('effects: system accounts from adduser calls', () => {
  const basePasswd: DebSpec = basePasswdDeb(
    'root:*:0:0:root:/root:/bin/bash\nnobody:*:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n',
    'root:*:0:\nshadow:*:42:\nusers:*:100:\nnogroup:*:65534:\n',
  );
  const passwd: DebSpec = { name: 'passwd', entries: [] };
  const sslCert: DebSpec = {
    name: 'ssl-cert',
    entries: [],
    controlFiles: {
      postinst:
        'if ! getent group ssl-cert >/dev/null; then\n\taddgroup --quiet --system --force-badname ssl-cert\nfi\n',
    },
  };
  // Named so that name order would configure it before ssl-cert: its Depends must decide.
  const postgres: DebSpec = {
    name: 'postgresql-common',
    fields: { Depends: 'adduser, ssl-cert (>= 1.0.11), passwd | base-passwd' },
    entries: [{ path: './var/lib/postgresql/', type: 'dir' }],
    controlFiles: { postinst: POSTGRES_POSTINST },
  };
  const daemon: DebSpec = {
    name: 'aaa-daemon',
    entries: [],
    controlFiles: { postinst: 'adduser --system --home /var/lib/aaa aaa\n' },
  };

  it("creates the accounts as adduser does, in configure order (Debian's own result for postgresql-15)", async () => {
    const tree = await install([basePasswd, passwd, postgres, sslCert, daemon]);
    // mmdebstrap of postgresql-15 on bookworm gives postgres 100:102, ssl-cert 101 (configured first).
    assert.equal(
      await text(tree, 'etc/passwd'),
      'root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' +
        'aaa:x:100:65534::/var/lib/aaa:/usr/sbin/nologin\n' +
        'postgres:x:101:102:PostgreSQL administrator,,,:/var/lib/postgresql:/bin/bash\n',
    );
    assert.equal(
      await text(tree, 'etc/group'),
      'root:x:0:\nshadow:x:42:\nusers:x:100:\nnogroup:x:65534:\nssl-cert:x:101:postgres\npostgres:x:102:\n',
    );
    const days = Math.floor(EPOCH / 86400);
    assert.match(
      await text(tree, 'etc/shadow'),
      new RegExp(`\naaa:!:${days}::::::\npostgres:!:${days}::::::\n$`),
    );
    assert.match(await text(tree, 'etc/gshadow'), /\nssl-cert:!::postgres\npostgres:!::\n$/);
    const home = tree.get('var/lib/aaa');
    assert.deepEqual([home?.kind, home?.mode, home?.uid, home?.gid], ['dir', 0o755, 100, 65534]);
    const pg = tree.get('var/lib/postgresql');
    assert.deepEqual([pg?.uid, pg?.gid], [101, 102], "--no-create-home; the postinst's chown");
  });

  it("creates the accounts a preinst makes, before any postinst's (mariadb-server's mysql), and the postinst's chown finds them", async () => {
    const mariadb: DebSpec = {
      name: 'mariadb-server',
      entries: [
        { path: './usr/lib/mysql/plugin/auth_pam_tool_dir/', type: 'dir', mode: 0o755 },
        { path: './usr/lib/mysql/plugin/auth_pam_tool_dir/auth_pam_tool', content: 'elf', mode: 0o755 },
      ],
      controlFiles: {
        // mariadb-server 1:10.11's preinst and postinst, shortened.
        preinst: [
          '#!/bin/bash',
          'set +e',
          'if ! getent group mysql >/dev/null; then',
          '\taddgroup --system mysql >/dev/null',
          'fi',
          'if ! getent passwd mysql >/dev/null; then',
          '\tadduser \\',
          '\t  --system \\',
          '          --disabled-login \\',
          '\t  --ingroup mysql \\',
          '\t  --no-create-home \\',
          '\t  --home /nonexistent \\',
          '\t  --gecos "MySQL Server" \\',
          '\t  --shell /bin/false \\',
          '\t  mysql  >/dev/null 2>&1',
          'fi',
          'set -e',
          '',
        ].join('\n'),
        postinst: [
          '#!/bin/bash',
          'chmod 0700 /usr/lib/mysql/plugin/auth_pam_tool_dir',
          'chmod 04755 /usr/lib/mysql/plugin/auth_pam_tool_dir/auth_pam_tool',
          'chown mysql /usr/lib/mysql/plugin/auth_pam_tool_dir',
          '',
        ].join('\n'),
      },
    };
    // aaa-daemon configures first (name order) but its postinst runs after mariadb-server's preinst.
    const tree = await install([basePasswd, daemon, mariadb]);
    assert.match(
      await text(tree, 'etc/passwd'),
      /^mysql:!:100:101:MySQL Server,,,:\/nonexistent:\/bin\/false\naaa:!:101:65534::\/var\/lib\/aaa:\/usr\/sbin\/nologin\n/m,
    );
    assert.match(await text(tree, 'etc/group'), /^mysql:!:101:\n/m);
    const dir = tree.get('usr/lib/mysql/plugin/auth_pam_tool_dir');
    assert.deepEqual([dir?.mode.toString(8), dir?.uid, dir?.gid], ['700', 100, 0]);
    assert.equal(tree.get('usr/lib/mysql/plugin/auth_pam_tool_dir/auth_pam_tool')?.mode.toString(8), '4755');
  });

  it("makes a function's accounts where the function is called: postfix's postdrop after postfix (Debian's 102 and 103)", async () => {
    const postfix: DebSpec = {
      name: 'postfix',
      entries: [{ path: './var/spool/postfix/', type: 'dir' }],
      controlFiles: {
        // postfix 3.7's postinst, shortened.
        postinst: [
          'set_maildrop_perms() {',
          '    if ! chown postfix:postdrop /var/spool/postfix/maildrop 2>/dev/null; then',
          '\taddgroup --system postdrop',
          '    fi',
          '}',
          'cd /var/spool/postfix',
          'chgrp postfix private 2>/dev/null ||',
          '    addgroup --system postfix',
          'chown postfix private 2>/dev/null ||',
          '    adduser --system --home /var/spool/postfix --no-create-home --disabled-password --ingroup postfix postfix',
          'set_maildrop_perms',
          '',
        ].join('\n'),
      },
    };
    const tree = await install([basePasswd, postfix]);
    assert.match(await text(tree, 'etc/group'), /\npostfix:!:101:\npostdrop:!:102:\n$/);
    assert.match(
      await text(tree, 'etc/passwd'),
      /\npostfix:!:100:101::\/var\/spool\/postfix:\/usr\/sbin\/nologin\n$/,
    );
  });

  it('leaves an account that exists alone (its missing group is made), and needs /etc/passwd', async () => {
    const spec: DebSpec = {
      ...basePasswd,
      entries: [
        {
          path: './usr/share/base-passwd/passwd.master',
          content: 'root:*:0:0:root:/root:/bin/bash\npostgres:*:999:999::/x:/bin/sh\n',
        },
        basePasswd.entries[1] as DebSpec['entries'][number],
      ],
    };
    const tree = await install([spec, postgres, sslCert]);
    assert.equal(
      await text(tree, 'etc/passwd'),
      'root:*:0:0:root:/root:/bin/bash\npostgres:*:999:999::/x:/bin/sh\n',
    );
    // Its group is missing, so the postinst's addgroup makes it and adds the user (not its primary group).
    assert.match(await text(tree, 'etc/group'), /\nssl-cert:!:101:postgres\npostgres:!:102:postgres\n$/);
    const bare = await install([postgres, sslCert]);
    assert.equal(bare.get('etc/passwd'), undefined, 'no base-passwd: no account files are made up');
  });
  it("creates the accounts useradd and groupadd make as shadow's tools do (dnsmasq-base's dnsmasq, Debian's 999:65534)", async () => {
    // dnsmasq-base 2.90's postinst, the account part; mmdebstrap gives dnsmasq:x:999:65534:dnsmasq:...
    const dnsmasq: DebSpec = {
      name: 'dnsmasq-base',
      entries: [],
      controlFiles: {
        postinst: [
          '#!/bin/sh',
          'set -e',
          'if [ "$1" = "configure" ]; then',
          '  if [ -z "`id -u dnsmasq 2> /dev/null`" ]; then',
          '    useradd --system \\',
          '            --gid nogroup \\',
          '            --comment dnsmasq \\',
          '            --home-dir /var/lib/misc --no-create-home \\',
          '            --shell /usr/sbin/nologin \\',
          '            dnsmasq',
          '  fi',
          '  if [ ! -d /run/dnsmasq ]; then',
          '    mkdir /run/dnsmasq',
          '    chown dnsmasq:nogroup /run/dnsmasq',
          '  fi',
          'fi',
          '',
        ].join('\n'),
      },
    };
    // A user with its own group (useradd's default: gid = uid when free), a system group, a user as adduser makes it.
    const other: DebSpec = {
      name: 'zzz-other',
      entries: [],
      controlFiles: {
        postinst: 'groupadd -r zgrp\nuseradd -r -d /srv/z -c "Z svc" zsvc\nadduser --system aaa\n',
      },
    };
    const tree = await install([
      basePasswd,
      passwd,
      dnsmasq,
      other,
      { name: 'run', entries: [{ path: './run/', type: 'dir' }] },
    ]);
    assert.equal(
      await text(tree, 'etc/passwd'),
      'root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' +
        'dnsmasq:x:999:65534:dnsmasq:/var/lib/misc:/usr/sbin/nologin\n' +
        'zsvc:x:998:998:Z svc:/srv/z:/bin/sh\n' +
        'aaa:x:100:65534::/nonexistent:/usr/sbin/nologin\n',
    );
    assert.equal(
      await text(tree, 'etc/group'),
      'root:x:0:\nshadow:x:42:\nusers:x:100:\nnogroup:x:65534:\nzgrp:x:999:\nzsvc:x:998:\n',
    );
    const days = Math.floor(EPOCH / 86400);
    assert.match(await text(tree, 'etc/shadow'), new RegExp(`\ndnsmasq:!:${days}::::::\n`));
    assert.equal(tree.get('srv/z'), undefined, 'useradd makes no home without --create-home');
    const run = tree.get('run/dnsmasq');
    assert.deepEqual([run?.kind, run?.uid, run?.gid], ['dir', 999, 65534], "the postinst's mkdir and chown");
  });
  it("creates the accounts systemd-sysusers makes (tomcat10's tomcat, systemd's own: Debian's 999, 998 and 997), and the postinst's chown -Rh finds them", async () => {
    const systemd: DebSpec = {
      name: 'systemd',
      entries: [
        {
          path: './usr/lib/sysusers.d/systemd-journal.conf',
          content: '#  part of systemd\n\ng systemd-journal - -\n',
        },
        {
          path: './usr/lib/sysusers.d/systemd-network.conf',
          content: 'u systemd-network - "systemd Network Management"\n',
        },
      ],
      controlFiles: {
        postinst:
          'if [ -z "$2" ]; then\n   systemd-sysusers $' +
          '{DPKG_ROOT:+--root="$DPKG_ROOT"} basic.conf systemd-journal.conf systemd-network.conf\nfi\n',
      },
    };
    // tomcat10 10.1's postinst, the account and ownership part: a bare systemd-sysusers reads every file.
    const tomcat: DebSpec = {
      name: 'tomcat10',
      fields: { Depends: 'systemd' },
      entries: [
        {
          path: './usr/lib/sysusers.d/tomcat10.conf',
          content:
            '#Type Name     ID             GECOS                 Home directory   Shell\nu     tomcat   -              "Apache Tomcat"       /var/lib/tomcat  /usr/sbin/nologin\n',
        },
        { path: './var/lib/tomcat10/webapps/', type: 'dir', mode: 0o755 },
        { path: './var/lib/tomcat10/webapps/app.war', content: 'war', mode: 0o644 },
      ],
      controlFiles: {
        postinst: [
          'TOMCAT_USER="tomcat"',
          'TOMCAT_GROUP="tomcat"',
          'case "$1" in',
          '    configure)',
          '\t# Create the tomcat user as defined in /usr/lib/sysusers.d/tomcat10.conf',
          '\tsystemd-sysusers',
          '\tchown -Rh $TOMCAT_USER:$TOMCAT_GROUP /var/lib/tomcat10/webapps',
          '\tchmod 775 /var/lib/tomcat10/webapps',
          '    ;;',
          'esac',
          '',
        ].join('\n'),
      },
    };
    const tree = await install([basePasswd, passwd, tomcat, systemd]);
    assert.match(
      await text(tree, 'etc/passwd'),
      /\nsystemd-network:x:998:998:systemd Network Management:\/:\/usr\/sbin\/nologin\ntomcat:x:997:997:Apache Tomcat:\/var\/lib\/tomcat:\/usr\/sbin\/nologin\n$/,
    );
    assert.match(
      await text(tree, 'etc/group'),
      /\nsystemd-journal:x:999:\nsystemd-network:x:998:\ntomcat:x:997:\n$/,
    );
    const days = Math.floor(EPOCH / 86400);
    assert.match(await text(tree, 'etc/shadow'), new RegExp(`\ntomcat:!\\*:${days}::::::\n$`));
    assert.match(await text(tree, 'etc/gshadow'), /\ntomcat:!\*::\n$/);
    for (const [path, mode] of [
      ['var/lib/tomcat10/webapps', '775'],
      ['var/lib/tomcat10/webapps/app.war', '644'],
    ] as const) {
      const n = tree.get(path);
      assert.deepEqual([n?.mode.toString(8), n?.uid, n?.gid], [mode, 997, 997], path);
    }
    assert.equal(tree.get('var/lib/tomcat'), undefined, 'systemd-sysusers makes no home directory');
  });

  it("creates trixie's systemd-network from `u!` (a locked account: shadow expiry day 1, as systemd-sysusers 257 writes it)", async () => {
    const systemd: DebSpec = {
      name: 'systemd',
      entries: [
        {
          path: './usr/lib/sysusers.d/systemd-network.conf',
          content: '#  This file is part of systemd.\n\nu! systemd-network - "systemd Network Management"\n',
        },
      ],
      controlFiles: {
        postinst: 'if [ -z "$2" ]; then\n   systemd-sysusers systemd-network.conf\nfi\n',
      },
    };
    const tree = await install([basePasswd, passwd, systemd]);
    assert.match(
      await text(tree, 'etc/passwd'),
      /\nsystemd-network:x:999:999:systemd Network Management:\/:\/usr\/sbin\/nologin\n$/,
    );
    const days = Math.floor(EPOCH / 86400);
    // A scripted trixie install: `systemd-network:!*:20780:::::1:`.
    assert.match(await text(tree, 'etc/shadow'), new RegExp(`\nsystemd-network:!\\*:${days}:::::1:\n$`));
  });
  it("makes stunnel4's account from its sysusers.d file (a member of its own group, as systemd-sysusers leaves it) and the directories its postinst chowns through $CHOWN", async () => {
    const stunnel: DebSpec = {
      name: 'stunnel4',
      entries: [
        {
          path: './usr/lib/sysusers.d/stunnel4.conf',
          content:
            'g stunnel4 -\nu stunnel4 -:stunnel4 "stunnel service system account" /var/run/stunnel4\nm stunnel4 stunnel4\n',
        },
        { path: './var/log/', type: 'dir' },
      ],
      controlFiles: {
        // stunnel4 5.68's postinst, shortened.
        postinst: [
          '#!/bin/sh',
          'USER="stunnel4"',
          'CHOWN="/bin/chown"',
          'if [ "$1" = "configure" ] ; then',
          '   systemd-sysusers $' + '{DPKG_ROOT:+--root="$DPKG_ROOT"} stunnel4.conf',
          'fi',
          'if ! test -d /var/log/stunnel4; then',
          '\trm -rf /var/log/stunnel4;',
          '\tmkdir /var/log/stunnel4',
          'fi',
          '$CHOWN -R -- "$USER:$USER" /var/log/stunnel4',
          '',
        ].join('\n'),
      },
    };
    const tree = await install([basePasswd, passwd, stunnel]);
    assert.match(
      await text(tree, 'etc/passwd'),
      /\nstunnel4:x:999:999:stunnel service system account:\/var\/run\/stunnel4:\/usr\/sbin\/nologin\n$/,
    );
    assert.match(await text(tree, 'etc/group'), /\nstunnel4:x:999:stunnel4\n$/, "mmdebstrap's line");
    const log = tree.get('var/log/stunnel4');
    assert.deepEqual([log?.kind, log?.uid, log?.gid], ['dir', 999, 999]);
  });
});

describe('effects: what postgresql-15 needs of postgresql-common and ssl-cert (tmpfiles.d, statoverride)', () => {
  const TMPFILES_SNIPPET = [
    '# Automatically added by dh_installtmpfiles/13.11.4',
    'if [ "$1" = "configure" ] || [ "$1" = "abort-upgrade" ] || [ "$1" = "abort-deconfigure" ] || [ "$1" = "abort-remove" ] ; then',
    '\tif [ -x "$(command -v systemd-tmpfiles)" ]; then',
    '\t\tsystemd-tmpfiles $' +
      '{DPKG_ROOT:+--root="$DPKG_ROOT"} --create postgresql-common.conf >/dev/null || true',
    '\tfi',
    'fi',
  ].join('\n');
  const TMPFILES_CONF =
    '# Directory for PostgreSQL sockets, lockfiles and stats tempfiles\nd /run/postgresql 2775 postgres postgres - -\n' +
    '# Log directory\nd /var/log/postgresql 1775 root postgres - -\n';

  it('reads tmpfiles.d lines and the names a postinst creates', () => {
    assert.deepEqual(tmpfilesConfigs(`${TMPFILES_SNIPPET}\n`), ['postgresql-common.conf']);
    assert.deepEqual(
      parseTmpfiles(`${TMPFILES_CONF}r! /etc/passwd.lock\nd /run/%u 0700\nL /etc/x - - - - /usr/x\n`),
      [
        { type: 'd', path: '/run/postgresql', mode: 0o2775, user: 'postgres', group: 'postgres' },
        { type: 'd', path: '/var/log/postgresql', mode: 0o1775, user: 'root', group: 'postgres' },
        { type: 'L', path: '/etc/x', argument: '/usr/x' },
      ],
    );
    assert.deepEqual(
      parseStatOverrides(
        'if ! dpkg-statoverride --list /etc/ssl/private >/dev/null 2>&1\nthen\n    dpkg-statoverride --update --add root ssl-cert 710 /etc/ssl/private\nfi\n',
      ),
      [{ user: 'root', group: 'ssl-cert', mode: 0o710, path: '/etc/ssl/private', update: true }],
    );
  });

  it("gives the directories the owners and modes Debian's install gives them (mmdebstrap of postgresql-15)", async () => {
    const basePasswd: DebSpec = basePasswdDeb(
      'root:*:0:0:root:/root:/bin/bash\n',
      'root:*:0:\nusers:*:100:\n',
    );
    const sslCert: DebSpec = {
      name: 'ssl-cert',
      entries: [{ path: './etc/ssl/private/', type: 'dir', mode: 0o700 }],
      controlFiles: {
        postinst: [
          'addgroup --quiet --system --force-badname ssl-cert',
          'make-ssl-cert generate-default-snakeoil',
          'if ! dpkg-statoverride --list /etc/ssl/private >/dev/null 2>&1',
          'then',
          '    dpkg-statoverride --update --add root ssl-cert 710 /etc/ssl/private',
          'fi',
          '',
        ].join('\n'),
      },
    };
    const common: DebSpec = {
      name: 'postgresql-common',
      fields: { Depends: 'ssl-cert' },
      entries: [
        { path: './etc/postgresql/', type: 'dir' },
        { path: './etc/postgresql-common/', type: 'dir' },
        { path: './usr/lib/tmpfiles.d/postgresql-common.conf', content: TMPFILES_CONF },
        { path: './usr/share/postgresql-common/createcluster.conf', content: 'ssl = on\n' },
        { path: './var/lib/postgresql/', type: 'dir' },
        { path: './run/', type: 'dir' },
      ],
      controlFiles: { postinst: `${POSTGRES_POSTINST}${TMPFILES_SNIPPET}\n` },
    };
    const tree = await install([basePasswd, common, sslCert]);
    const owner = (p: string) => {
      const n = tree.get(p);
      return [n?.kind, n?.mode.toString(8), n?.uid, n?.gid];
    };
    // postgres 100:102, ssl-cert 101 (users holds 100).
    assert.deepEqual(owner('run/postgresql'), ['dir', '2775', 100, 102]);
    assert.deepEqual(owner('var/log/postgresql'), ['dir', '1775', 0, 102]);
    assert.deepEqual(owner('var/lib/postgresql'), ['dir', '755', 100, 102]);
    assert.deepEqual(owner('etc/postgresql'), ['dir', '755', 100, 102]);
    assert.deepEqual(owner('etc/ssl/private'), ['dir', '710', 0, 101]);
    assert.equal(await text(tree, 'etc/postgresql-common/createcluster.conf'), 'ssl = on\n');
    assert.match(
      await text(tree, 'etc/postgresql-common/root.crt'),
      /^This is a dummy root certificate file/,
    );
    assert.equal(tree.get('etc/ssl/private/ssl-cert-snakeoil.key'), undefined, 'no key is generated');
  });

  it("keeps the first line for a path among the files one systemd-tmpfiles call names: trixie's /run/lock stays 1777", async () => {
    const systemd: DebSpec = {
      name: 'systemd',
      entries: [
        { path: './run/lock/', type: 'dir', mode: 0o1777 },
        { path: './usr/lib/tmpfiles.d/debian.conf', content: 'd /run/lock    1777 root root -   -\n' },
        {
          path: './usr/lib/tmpfiles.d/legacy.conf',
          content:
            'd /run/lock 0755 root root -\nL /var/lock - - - - ../run/lock\nd /run/lock/subsys 0755 root root -\n',
        },
      ],
      controlFiles: {
        postinst:
          'systemd-tmpfiles $' +
          '{DPKG_ROOT:+--root="$DPKG_ROOT"} --create debian.conf legacy.conf || true\n',
      },
    };
    const tree = await install([basePasswdDeb('root:*:0:0:root:/root:/bin/bash\n', 'root:*:0:\n'), systemd]);
    assert.equal(tree.get('run/lock')?.mode, 0o1777);
    assert.equal(tree.get('run/lock/subsys')?.mode, 0o755);
  });
});
