// Owners and modes postinsts set with chown/chgrp/chmod (read as text), redis-tools' Setup_dir and squid's directories.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseMode, parsePermCalls } from '../../src/debian/effects/postinst-perms.js';
import { parseStatOverrides } from '../../src/debian/effects/statoverride.js';
import { basePasswdDeb, type DebSpec } from '../helpers/debfile.js';
import { treeInstaller } from '../helpers/install-tree.js';

const EPOCH = 1_700_000_000;
const install = treeInstaller('imprint-perms-', EPOCH);

describe('parsePermCalls', () => {
  it('reads chown, chgrp and chmod with literal arguments, variables followed, options after the paths too', () => {
    const calls = parsePermCalls(
      [
        'crondir="/var/spool/cron"',
        'if [ -d $crondir/crontabs ] ; then',
        '    chown root:crontab $crondir/crontabs',
        '    chmod 1730 $crondir/crontabs',
        '    cd $crondir/crontabs',
        '    for tab in * ; do chown $tab:crontab $tab; done',
        'fi',
        'chgrp _ssh /usr/bin/ssh-agent',
        'chmod -R g+s,o-rwx /srv/x',
        'chown --reference=/a /b',
        'chmod 644 relative/path',
        'chown zabbix:zabbix /var/log/zabbix-agent -R',
        '',
      ].join('\n'),
    );
    assert.deepEqual(calls, [
      { op: 'chown', user: 'root', group: 'crontab', paths: ['/var/spool/cron/crontabs'], recursive: false },
      { op: 'chmod', mode: '1730', paths: ['/var/spool/cron/crontabs'], recursive: false },
      { op: 'chown', group: '_ssh', paths: ['/usr/bin/ssh-agent'], recursive: false },
      { op: 'chmod', mode: 'g+s,o-rwx', paths: ['/srv/x'], recursive: true },
      { op: 'chown', user: 'zabbix', group: 'zabbix', paths: ['/var/log/zabbix-agent'], recursive: true },
    ]);
  });

  it('follows a quoted string over lines and skips here-documents (postgresql-common)', () => {
    const calls = parsePermCalls(
      [
        'if ! [ -e "$SSL_ROOT" ]; then',
        '    cat > "$SSL_ROOT" <<EOF',
        "This isn't a command: chown nobody /etc",
        'EOF',
        'fi',
        'su -s /bin/sh postgres -c "test -O /var/lib/postgresql &&',
        '        test -G /var/lib/postgresql" || \\',
        '    chown postgres:postgres /var/lib/postgresql',
        "echo 'unterminated",
        'chmod 1775 /var/log/postgresql',
        '',
      ].join('\n'),
    );
    assert.deepEqual(
      calls.map((c) => [c.op, c.paths[0]]),
      [
        ['chown', '/var/lib/postgresql'],
        ['chmod', '/var/log/postgresql'],
      ],
      'a quote left open falls back to quotes ending with their line',
    );
  });

  it('applies symbolic modes as chmod does', () => {
    assert.equal(parseMode('g+s', 0o755), 0o2755);
    assert.equal(parseMode('u=rwx,go=rx', 0o600), 0o755);
    assert.equal(parseMode('a-w', 0o664), 0o444);
    assert.equal(parseMode('+X', 0o644, true), 0o755);
    assert.equal(parseMode('+X', 0o644, false), 0o644);
    assert.equal(parseMode('o+t', 0o777), 0o1777);
    assert.equal(parseMode('u+z', 0o777), undefined);
  });

  it('reads octal modes written with a leading zero (chmod 02775), as chmod does', () => {
    assert.equal(parseMode('02775', 0o644), 0o2775);
    assert.equal(parseMode('00640', 0o777), 0o640);
    assert.equal(parseMode('012345', 0o644), undefined, 'more than 12 bits');
  });
});

describe('effects: postinst chown/chgrp/chmod', () => {
  const basePasswd: DebSpec = basePasswdDeb(
    'root:*:0:0:root:/root:/bin/bash\n',
    'root:*:0:\nadm:*:4:\nusers:*:100:\n',
  );

  it("gives uuid-runtime's, openssh-client's and redis' paths Debian's owners and modes", async () => {
    const uuid: DebSpec = {
      name: 'uuid-runtime',
      entries: [{ path: './var/lib/libuuid/', type: 'dir' }],
      controlFiles: {
        postinst: [
          'if ! getent group uuidd >/dev/null; then',
          '\taddgroup --system uuidd',
          'fi',
          'adduser --system --quiet --ingroup uuidd --home /run/uuidd --no-create-home uuidd',
          'chown uuidd:uuidd /var/lib/libuuid',
          'chmod 2775 /var/lib/libuuid',
          'chown nosuchuser /var/lib/libuuid',
          '',
        ].join('\n'),
      },
    };
    const ssh: DebSpec = {
      name: 'openssh-client',
      entries: [{ path: './usr/bin/ssh-agent', content: 'elf', mode: 0o755 }],
      controlFiles: {
        postinst: [
          'if ! getent group _ssh >/dev/null; then addgroup --system --quiet _ssh; fi',
          'if ! dpkg-statoverride --list /usr/bin/ssh-agent >/dev/null; then',
          '\tchgrp _ssh /usr/bin/ssh-agent',
          '\tchmod 2755 /usr/bin/ssh-agent',
          'fi',
          '',
        ].join('\n'),
      },
    };
    const redis: DebSpec = {
      name: 'redis-tools',
      entries: [{ path: './usr/bin/redis-cli', content: 'elf', mode: 0o755 }],
      controlFiles: {
        postinst:
          'adduser --system --home /var/lib/redis --quiet --group redis || true\nSetup_dir /etc/redis 2770 redis\n',
      },
    };
    const tree = await install([basePasswd, redis, ssh, uuid]);
    const meta = (p: string) => {
      const n = tree.get(p);
      return [n?.mode.toString(8), n?.uid, n?.gid, n?.mtime];
    };
    // Configure (name) order: _ssh 101, redis 100:102, uuidd group 103, uuidd user 101.
    assert.deepEqual(
      meta('var/lib/libuuid'),
      ['2775', 101, 103, 1_600_000_000],
      'chmod and chown keep the mtime',
    );
    assert.deepEqual(meta('usr/bin/ssh-agent'), ['2755', 0, 101, 1_600_000_000]);
    assert.deepEqual(meta('var/log/redis'), ['2750', 100, 4, EPOCH]);
    assert.deepEqual(meta('var/lib/redis'), ['750', 100, 102, EPOCH]);
    assert.deepEqual(meta('etc/redis'), ['2770', 100, 102, EPOCH]);
  });
  it("leaves ssh-agent root's 0755 without base-passwd: no _ssh group, so no setgid bit meant for it (openssh-client), and warns", async () => {
    const ssh: DebSpec = {
      name: 'openssh-client',
      entries: [
        { path: './usr/bin/ssh-agent', content: 'elf', mode: 0o755 },
        { path: './var/lib/x/', type: 'dir', mode: 0o755 },
        { path: './usr/local/share/fonts/', type: 'dir', mode: 0o755 },
      ],
      controlFiles: {
        postinst: [
          '#!/bin/sh',
          'set -e',
          'set_ssh_agent_permissions() {',
          '	if ! getent group _ssh >/dev/null; then',
          '		addgroup --system --quiet --force-badname _ssh',
          '	fi',
          '	if ! dpkg-statoverride --list /usr/bin/ssh-agent >/dev/null; then',
          '		chgrp _ssh /usr/bin/ssh-agent',
          '		chmod 2755 /usr/bin/ssh-agent',
          '	fi',
          '}',
          'set_ssh_agent_permissions',
          'chown nosuchuser /var/lib/x',
          'chmod 4700 /var/lib/x',
          'chown root:staff /usr/local/share/fonts',
          'chmod 2775 /usr/local/share/fonts',
          '',
        ].join('\n'),
      },
    };
    const warnings: string[] = [];
    const tree = await install([ssh], warnings);
    const meta = (p: string) => {
      const n = tree.get(p);
      return [n?.mode.toString(8), n?.uid, n?.gid];
    };
    assert.equal(tree.get('etc/group'), undefined, 'no base-passwd: no account files are made up');
    assert.deepEqual(meta('usr/bin/ssh-agent'), ['755', 0, 0], 'not setgid root');
    assert.deepEqual(meta('var/lib/x'), ['4700', 0, 0], 'a directory: setuid gives no privilege');
    assert.deepEqual(meta('usr/local/share/fonts'), ['2775', 0, 0], 'fontconfig-config: root is 0 anyway');
    assert.equal(warnings.length, 1, 'nosuchuser and staff: no setid bit left out, not made by the package');
    assert.match(
      warnings[0] as string,
      /^openssh-client: .*\/usr\/bin\/ssh-agent to _ssh, .*add base-passwd/,
    );
    const withAccounts = await install([basePasswd, ssh], warnings);
    assert.deepEqual(
      [withAccounts.get('usr/bin/ssh-agent')?.mode.toString(8), withAccounts.get('usr/bin/ssh-agent')?.gid],
      ['2755', 101],
    );
    assert.equal(warnings.length, 1, 'with base-passwd: no warning');
  });
  it("gives squid's log and cache directories to proxy, as its postinst does with the names squid -k parse prints", async () => {
    const proxyPasswd: DebSpec = basePasswdDeb(
      'root:*:0:0:root:/root:/bin/bash\nproxy:*:13:13:proxy:/bin:/usr/sbin/nologin\n',
      'root:*:0:\nproxy:*:13:\n',
    );
    const squid: DebSpec = {
      name: 'squid',
      entries: [
        { path: './var/log/squid/', type: 'dir', mode: 0o755 },
        { path: './var/spool/squid/', type: 'dir', mode: 0o755 },
      ],
      controlFiles: {
        postinst: [
          'usr=`grepconf cache_effective_user proxy`',
          'grp=`grepconf cache_effective_group proxy`',
          'chown $usr:$grp /var/log/squid',
          '',
        ].join('\n'),
      },
    };
    const tree = await install([proxyPasswd, squid]);
    for (const dir of ['var/log/squid', 'var/spool/squid']) {
      const n = tree.get(dir);
      // mmdebstrap of squid: both 0755 proxy:proxy (squid, running as proxy, could not open cache.log).
      assert.deepEqual([n?.mode.toString(8), n?.uid, n?.gid], ['755', 13, 13], dir);
    }
  });
  it("makes the directories install -d gives an owner and mode (exim4-base's spool and log, ntpsec's state), as mmdebstrap has them", async () => {
    const passwd: DebSpec = basePasswdDeb('root:*:0:0:root:/root:/bin/bash\n', 'root:*:0:\nadm:*:4:\n');
    const exim: DebSpec = {
      name: 'exim4-base',
      entries: [
        { path: './var/log/', type: 'dir' },
        { path: './var/spool/', type: 'dir' },
      ],
      controlFiles: {
        postinst: [
          'if ! getent passwd Debian-exim > /dev/null; then',
          '\t  adduser --system --group --quiet --home /var/spool/exim4 \\',
          '\t    --no-create-home --disabled-login --force-badname Debian-exim',
          'fi',
          '\tinstall -d -oDebian-exim -gadm -m2750 /var/log/exim4',
          '\tinstall -d -oDebian-exim -gDebian-exim -m750 /var/spool/exim4',
          '\tinstall -d -oDebian-exim -gDebian-exim -m750 /var/spool/exim4/db \\',
          '\t\t/var/spool/exim4/input /var/spool/exim4/msglog',
          '\tinstall --mode 644 /dev/null /etc/apparmor.d/local/x',
          '',
        ].join('\n'),
      },
    };
    const ntpsec: DebSpec = {
      name: 'ntpsec',
      entries: [],
      controlFiles: {
        postinst:
          'adduser --system --group --no-create-home --home /nonexistent ntpsec\ninstall -o ntpsec -g ntpsec -d /var/lib/ntpsec\n',
      },
    };
    const tree = await install([passwd, exim, ntpsec]);
    const meta = (p: string) => {
      const n = tree.get(p);
      return [n?.kind, n?.mode.toString(8), n?.uid, n?.gid];
    };
    // Configure (name) order: Debian-exim 100:100, ntpsec 101:101.
    assert.deepEqual(meta('var/log/exim4'), ['dir', '2750', 100, 4]);
    for (const d of [
      'var/spool/exim4',
      'var/spool/exim4/db',
      'var/spool/exim4/input',
      'var/spool/exim4/msglog',
    ])
      assert.deepEqual(meta(d), ['dir', '750', 100, 100], d);
    assert.deepEqual(meta('var/lib/ntpsec'), ['dir', '755', 101, 101]);
    assert.equal(tree.get('etc/apparmor.d/local/x'), undefined, 'install of a file is not a directory');
  });
  it("gives transmission-daemon's directories and settings to debian-transmission, as its chperms function does", async () => {
    const transmission: DebSpec = {
      name: 'transmission-daemon',
      entries: [
        { path: './etc/transmission-daemon/settings.json', content: '{}\n', mode: 0o644 },
        { path: './var/lib/transmission-daemon/downloads/', type: 'dir' },
        { path: './var/lib/transmission-daemon/.config/transmission-daemon/', type: 'dir' },
      ],
      controlFiles: {
        postinst: [
          'chperms() {',
          '\tif ! OVERRIDE=`dpkg-statoverride --list $4 2>&1`; then',
          '\t\tif [ -e $4 ]; then',
          '\t\t\tchown $1:$2 $4',
          '\t\t\tchmod $3 $4',
          '\t\tfi',
          '\tfi',
          '}',
          'adduser --quiet --system --group --no-create-home --disabled-password --home /var/lib/transmission-daemon debian-transmission',
          'chperms debian-transmission debian-transmission 4775 /var/lib/transmission-daemon/downloads',
          '',
        ].join('\n'),
      },
    };
    const tree = await install([basePasswd, transmission]);
    const meta = (p: string) => {
      const n = tree.get(p);
      return [n?.mode.toString(8), n?.uid, n?.gid];
    };
    // mmdebstrap of transmission-daemon: these modes, debian-transmission (here 100:101) as owner or group.
    assert.deepEqual(meta('var/lib/transmission-daemon/.config/transmission-daemon'), ['4750', 100, 101]);
    assert.deepEqual(meta('var/lib/transmission-daemon/downloads'), ['4775', 100, 101]);
    assert.deepEqual(meta('etc/transmission-daemon/settings.json'), ['660', 100, 101]);
    assert.deepEqual(meta('etc/transmission-daemon'), ['2775', 0, 101]);
  });
  it("follows icinga2-common's setperm function (chown -R through a variable, then chmod); base-files' install_local_dir stays behind its guard", async () => {
    const icinga: DebSpec = {
      name: 'icinga2-common',
      entries: [
        { path: './etc/icinga2/icinga2.conf', content: 'include "constants.conf"\n', mode: 0o644 },
        { path: './etc/icinga2/pki/', type: 'dir' },
        { path: './etc/icinga2/pki/README', content: 'x\n', mode: 0o644 },
        { path: './var/log/icinga2/', type: 'dir' },
        { path: './var/lib/icinga2/', type: 'dir' },
        { path: './usr/local/', type: 'dir' },
      ],
      controlFiles: {
        // icinga2-common 2.13.6's postinst, shortened; base-files' install_local_dir beside it.
        postinst: [
          '#!/bin/sh',
          'set -e',
          'setperm() {',
          '    ownopt=',
          '    if [ "$1" = -R ]; then',
          '        ownopt="-R"',
          '        shift',
          '    fi',
          '    user="$1"',
          '    group="$2"',
          '    mode="$3"',
          '    file="$4"',
          '    shift 4',
          '    if ! dpkg-statoverride --list "$file" >/dev/null 2>&1; then',
          '      chown $ownopt "$user":"$group" "$file"',
          '      chmod "$mode" "$file"',
          '    fi',
          '}',
          'install_local_dir() {',
          '  if [ -f "$DPKG_ROOT/etc/staff-group-for-usr-local" ]; then',
          '    chown root:staff "$DPKG_ROOT$1" 2>/dev/null || true',
          '    chmod 2775 "$DPKG_ROOT$1" 2> /dev/null || true',
          '  fi',
          '}',
          'case "$1" in',
          '    configure)',
          '        if ! getent passwd nagios > /dev/null ; then',
          '            adduser --system --group --home /var/lib/nagios \\',
          '                    --disabled-login --force-badname nagios > /dev/null',
          '        fi',
          '        if ! dpkg-statoverride --list /etc/icinga2; then',
          '            setperm nagios nagios 0750 /etc/icinga2',
          '            setperm nagios nagios 0640 /etc/icinga2/icinga2.conf',
          '            setperm -R nagios nagios 0700 /etc/icinga2/pki',
          '        fi',
          '        setperm nagios adm 2751 /var/log/icinga2',
          '        setperm nagios nagios 0750 /var/lib/icinga2',
          '        install_local_dir /usr/local',
          '    ;;',
          'esac',
          '',
        ].join('\n'),
      },
    };
    const tree = await install([basePasswd, icinga]);
    const meta = (p: string) => {
      const n = tree.get(p);
      return [n?.mode.toString(8), n?.uid, n?.gid];
    };
    // mmdebstrap of icinga2: these modes, nagios (here 100:101) as owner.
    assert.deepEqual(meta('etc/icinga2'), ['750', 100, 101]);
    assert.deepEqual(meta('etc/icinga2/icinga2.conf'), ['640', 100, 101]);
    assert.deepEqual(meta('etc/icinga2/pki'), ['700', 100, 101]);
    assert.deepEqual(meta('etc/icinga2/pki/README'), ['644', 100, 101], 'chown -R; chmod is not recursive');
    assert.deepEqual(meta('var/log/icinga2'), ['2751', 100, 4]);
    assert.deepEqual(meta('var/lib/icinga2'), ['750', 100, 101]);
    assert.deepEqual(meta('usr/local'), ['755', 0, 0], 'no /etc/staff-group-for-usr-local: not root:staff');
  });
});

describe('effects: templates a postinst installs with ucf or cp', () => {
  it('creates chrony.conf (ucf, source kept) and memcached.conf (cp) when missing; statoverrides follow literal if branches', async () => {
    const chrony: DebSpec = {
      name: 'chrony',
      entries: [
        {
          path: './usr/share/chrony/chrony.conf',
          content: 'pool 2.debian.pool.ntp.org iburst\n',
          mode: 0o644,
        },
        { path: './usr/share/chrony/chrony.keys', content: '# keys\n', mode: 0o640 },
        { path: './etc/chrony/', type: 'dir' },
        { path: './var/lib/chrony/', type: 'dir' },
      ],
      controlFiles: {
        postinst: [
          'addgroup --system _chrony',
          'if command -v ucf >/dev/null',
          'then',
          '    ucf --three-way /usr/share/chrony/chrony.conf /etc/chrony/chrony.conf',
          '    ucf --three-way /usr/share/chrony/chrony.keys /etc/chrony/chrony.keys',
          'fi',
          'adduser --system --home /var/lib/chrony --no-create-home --ingroup _chrony _chrony',
          'for d in /var/lib/chrony /etc/chrony/chrony.keys; do',
          '    if ! dpkg-statoverride --list "$d" >/dev/null; then',
          '        if [ "$d" = "/etc/chrony/chrony.keys" ]; then',
          '            dpkg-statoverride --update --add root _chrony 0640 "$d"',
          '        else',
          '            dpkg-statoverride --update --add _chrony _chrony 0750 "$d"',
          '        fi',
          '    fi',
          'done',
          'cp -a /etc/chrony/chrony.conf /etc/chrony/chrony.conf.old',
          '',
        ].join('\n'),
      },
    };
    const memcached: DebSpec = {
      name: 'memcached',
      entries: [{ path: './usr/share/memcached/memcached.conf.default', content: '-m 64\n', mode: 0o664 }],
      controlFiles: {
        postinst:
          'if [ ! -e /etc/memcached.conf ]\n  then\n    mkdir -p /etc\n    cp /usr/share/memcached/memcached.conf.default /etc/memcached.conf\nfi\n',
      },
    };
    const tree = await install([
      basePasswdDeb('root:*:0:0:root:/root:/bin/bash\n', 'root:*:0:\n'),
      chrony,
      memcached,
    ]);
    const meta = (p: string) => {
      const n = tree.get(p);
      return [n?.kind, n?.mode.toString(8), n?.uid, n?.gid, n?.mtime];
    };
    assert.deepEqual(meta('etc/chrony/chrony.conf'), ['file', '644', 0, 0, 1_600_000_000]);
    assert.deepEqual(meta('etc/chrony/chrony.keys'), ['file', '640', 0, 100, 1_600_000_000]);
    assert.deepEqual(meta('etc/memcached.conf'), ['file', '644', 0, 0, EPOCH]);
    // The loop's `if [ "$d" = ... ]` compares literal words, so only its true branch runs per path.
    assert.deepEqual(meta('var/lib/chrony').slice(1, 4), ['750', 100, 100]);
    assert.equal(tree.get('etc/chrony/chrony.conf.old'), undefined, 'a copy from /etc is an upgrade backup');
  });

  it("copies tomcat10's default ROOT webapp with cp -r when missing, after its chown -Rh of webapps, as its postinst does (mmdebstrap: root, 0755 and 0644)", async () => {
    const tomcat: DebSpec = {
      name: 'tomcat10',
      entries: [
        {
          path: './usr/share/tomcat10-root/default_root/META-INF/context.xml',
          content: '<Context/>\n',
          mode: 0o644,
        },
        {
          path: './usr/share/tomcat10-root/default_root/index.html',
          content: '<h1>It works !</h1>\n',
          mode: 0o664,
        },
        { path: './var/lib/tomcat10/webapps/', type: 'dir' },
        { path: './var/lib/tomcat10/webapps/shipped.txt', content: 'x\n', mode: 0o644 },
      ],
      controlFiles: {
        postinst: [
          'TOMCAT_USER=tomcat',
          'chown -Rh $TOMCAT_USER:$TOMCAT_USER /var/lib/tomcat10/webapps',
          'if [ ! -d /var/lib/tomcat10/webapps/ROOT ]; then',
          '    cp -r /usr/share/tomcat10-root/default_root /var/lib/tomcat10/webapps/ROOT',
          'fi',
          '',
        ].join('\n'),
      },
    };
    const tree = await install([
      basePasswdDeb(
        'root:*:0:0:root:/root:/bin/bash\ntomcat:*:997:997::/var/lib/tomcat:/usr/sbin/nologin\n',
        'root:*:0:\ntomcat:*:997:\n',
      ),
      tomcat,
    ]);
    const meta = (p: string) => {
      const n = tree.get(p);
      return [n?.kind, n?.mode.toString(8), n?.uid, n?.gid, n?.mtime];
    };
    assert.deepEqual(meta('var/lib/tomcat10/webapps').slice(2, 4), [997, 997]);
    assert.deepEqual(meta('var/lib/tomcat10/webapps/shipped.txt').slice(2, 4), [997, 997]);
    assert.deepEqual(
      meta('var/lib/tomcat10/webapps/ROOT'),
      ['dir', '755', 0, 0, EPOCH],
      'copied after the chown',
    );
    assert.deepEqual(meta('var/lib/tomcat10/webapps/ROOT/META-INF'), ['dir', '755', 0, 0, EPOCH]);
    assert.deepEqual(meta('var/lib/tomcat10/webapps/ROOT/META-INF/context.xml'), [
      'file',
      '644',
      0,
      0,
      EPOCH,
    ]);
    assert.deepEqual(
      meta('var/lib/tomcat10/webapps/ROOT/index.html'),
      ['file', '644', 0, 0, EPOCH],
      'umask 022',
    );
  });

  it("creates rabbitmq-env.conf with install -m 0644 -o rabbitmq -g rabbitmq, as rabbitmq-server's postinst does (mmdebstrap: 0644 rabbitmq:rabbitmq)", async () => {
    const rabbitmq: DebSpec = {
      name: 'rabbitmq-server',
      entries: [
        { path: './usr/share/rabbitmq/rabbitmq-env.conf', content: '# env\n', mode: 0o644 },
        { path: './usr/share/rabbitmq/rabbitmq.conf.example', content: '# example\n', mode: 0o644 },
        { path: './etc/rabbitmq/', type: 'dir' },
      ],
      controlFiles: {
        // rabbitmq-server 3.10.8's postinst, shortened.
        postinst: [
          'if ! getent group rabbitmq >/dev/null; then',
          '\taddgroup --system rabbitmq',
          'fi',
          'if ! getent passwd rabbitmq >/dev/null; then',
          '\tadduser --system --ingroup rabbitmq --home /var/lib/rabbitmq --no-create-home --disabled-login rabbitmq',
          'fi',
          'mkdir -p /etc/rabbitmq',
          'chown rabbitmq:rabbitmq /etc/rabbitmq',
          'if [ -r /usr/share/rabbitmq/rabbitmq-env.conf ] && ! [ -e /etc/rabbitmq/rabbitmq-env.conf ] ; then',
          '\tinstall -m 0644 -o rabbitmq -g rabbitmq /usr/share/rabbitmq/rabbitmq-env.conf /etc/rabbitmq/rabbitmq-env.conf',
          'fi',
          'install /usr/share/rabbitmq/rabbitmq.conf.example /etc/rabbitmq/example.conf',
          '',
        ].join('\n'),
      },
    };
    const tree = await install([basePasswdDeb('root:*:0:0:root:/root:/bin/bash\n', 'root:*:0:\n'), rabbitmq]);
    const meta = (p: string) => {
      const n = tree.get(p);
      return [n?.kind, n?.mode.toString(8), n?.uid, n?.gid, n?.mtime];
    };
    assert.deepEqual(meta('etc/rabbitmq/rabbitmq-env.conf'), ['file', '644', 100, 100, EPOCH]);
    assert.deepEqual(
      meta('etc/rabbitmq/example.conf'),
      ['file', '755', 0, 0, EPOCH],
      "install's default mode",
    );
    assert.deepEqual(meta('etc/rabbitmq').slice(2, 4), [100, 100]);
  });
});

describe('effects: files a postinst touches and then chowns', () => {
  it("creates nginx-common's log files www-data:adm 0640, not the scripts' marker files", async () => {
    const nginxCommon: DebSpec = {
      name: 'nginx-common',
      entries: [
        { path: './var/log/nginx/', type: 'dir' },
        { path: './var/lib/marker/', type: 'dir' },
      ],
      controlFiles: {
        // nginx-common 1.22.1's postinst, shortened.
        postinst: [
          '#!/bin/sh',
          'set -e',
          'case "$1" in',
          '  configure)',
          '    logdir="/var/log/nginx"',
          '    if ! dpkg-statoverride --list "$logdir" >/dev/null; then',
          '      chown root:adm $logdir',
          '      chmod 0755 $logdir',
          '    fi',
          '    if [ -z "$2" ]; then',
          '      access_log="$logdir/access.log"',
          '      error_log="$logdir/error.log"',
          '      if [ ! -e "$access_log" ]; then',
          '        touch "$access_log"',
          '        chmod 640 "$access_log"',
          '        chown www-data:adm "$access_log"',
          '      fi',
          '      if [ ! -e "$error_log" ]; then',
          '        touch "$error_log"',
          '        chmod 640 "$error_log"',
          '        chown www-data:adm "$error_log"',
          '      fi',
          '    fi',
          '    touch /var/lib/marker/fresh',
          '    touch /nonexistent-dir/x.log',
          '    chmod 600 /nonexistent-dir/x.log',
          '    ;;',
          'esac',
          '',
        ].join('\n'),
      },
    };
    const tree = await install([
      basePasswdDeb(
        'root:*:0:0:root:/root:/bin/bash\nwww-data:*:33:33:www-data:/var/www:/usr/sbin/nologin\n',
        'root:*:0:\nadm:*:4:\nwww-data:*:33:\n',
      ),
      nginxCommon,
    ]);
    const meta = (p: string) => {
      const n = tree.get(p);
      return [
        n?.kind,
        n?.mode.toString(8),
        n?.uid,
        n?.gid,
        n?.mtime,
        n?.kind === 'file' ? n.size : undefined,
      ];
    };
    assert.deepEqual(meta('var/log/nginx/access.log'), ['file', '640', 33, 4, EPOCH, 0]);
    assert.deepEqual(meta('var/log/nginx/error.log'), ['file', '640', 33, 4, EPOCH, 0]);
    assert.equal(
      tree.get('var/lib/marker/fresh'),
      undefined,
      "a marker nothing chowns is the scripts' state",
    );
    assert.equal(tree.get('nonexistent-dir'), undefined, 'touch makes no directories');
  });
});

describe('effects: directories a postinst makes and then chowns', () => {
  it("creates bind9's /var/lib/bind root:bind 0775 (mkdir -p, chown, chmod); not a directory nothing chowns", async () => {
    const bind9: DebSpec = {
      name: 'bind9',
      entries: [{ path: './var/cache/bind/', type: 'dir' }],
      controlFiles: {
        // bind9 1:9.18's postinst, shortened.
        postinst: [
          '#!/bin/sh',
          'set -e',
          'if [ "$1" = configure ]; then',
          '    getent group bind >/dev/null 2>&1 || addgroup --system bind',
          '    getent passwd bind >/dev/null 2>&1 ||',
          '\tadduser --system --home /var/cache/bind --no-create-home \\',
          '\t\t--disabled-password --ingroup bind bind',
          '    if [ -z "$2" ]; then',
          '\tmkdir -p /var/lib/bind',
          '\tchown root:bind /var/lib/bind',
          '\tchmod 775 /var/lib/bind',
          '    fi',
          '    mkdir -p /var/lib/bind-scratch/sub',
          '    mkdir /no/such/parent',
          '    chown bind /no/such/parent',
          'fi',
          '',
        ].join('\n'),
      },
    };
    const tree = await install([basePasswdDeb('root:*:0:0:root:/root:/bin/bash\n', 'root:*:0:\n'), bind9]);
    const meta = (p: string) => {
      const n = tree.get(p);
      return [n?.kind, n?.mode.toString(8), n?.uid, n?.gid, n?.mtime];
    };
    assert.deepEqual(meta('var/lib/bind'), ['dir', '775', 0, 100, EPOCH]);
    assert.equal(tree.get('var/lib/bind-scratch'), undefined, 'nothing chowns it');
    assert.equal(tree.get('no'), undefined, 'mkdir without -p makes no parents');
  });
});

describe('effects: dpkg-statoverride with five-digit modes', () => {
  it("gives postfix's postdrop and postqueue 02555 root:postdrop, as its postinst does", async () => {
    const postinst = [
      'CHROOT=/var/spool/postfix',
      'set_maildrop_perms() {',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: shell text, not a template
      '    MAILDROP=${CHROOT}/maildrop',
      '    POSTDROP=/usr/sbin/postdrop',
      '    mkdir -pZ $MAILDROP',
      '    if ! chown postfix:postdrop $MAILDROP 2>/dev/null; then',
      '\taddgroup --system postdrop',
      '\tchown postfix:postdrop $MAILDROP',
      '    fi',
      '    dpkg-statoverride --remove $POSTDROP >/dev/null 2>&1 || true',
      '    dpkg-statoverride --update --add root postdrop 02555 $POSTDROP',
      '    dpkg-statoverride --update --add root postdrop 02555 /usr/sbin/postqueue',
      '    chmod 01730 $MAILDROP',
      '}',
      'set_maildrop_perms postdrop',
      '',
    ].join('\n');
    assert.deepEqual(
      parseStatOverrides(postinst).map((o) => [o.path, o.mode.toString(8)]),
      [
        ['/usr/sbin/postdrop', '2555'],
        ['/usr/sbin/postqueue', '2555'],
      ],
    );
    const tree = await install([
      basePasswdDeb('root:*:0:0:root:/root:/bin/bash\n', 'root:*:0:\n'),
      {
        name: 'postfix',
        entries: [
          { path: './usr/sbin/postdrop', content: 'elf', mode: 0o755 },
          { path: './usr/sbin/postqueue', content: 'elf', mode: 0o755 },
          { path: './var/spool/postfix/maildrop/', type: 'dir', mode: 0o755 },
        ],
        controlFiles: { postinst },
      },
    ]);
    const meta = (p: string) => {
      const n = tree.get(p);
      return [n?.mode.toString(8), n?.uid, n?.gid];
    };
    assert.deepEqual(meta('usr/sbin/postdrop'), ['2555', 0, 100]);
    assert.deepEqual(meta('usr/sbin/postqueue'), ['2555', 0, 100]);
    assert.deepEqual(
      meta('var/spool/postfix/maildrop'),
      ['1730', 0, 0],
      'chmod 01730 (no postfix user here)',
    );
  });
});
