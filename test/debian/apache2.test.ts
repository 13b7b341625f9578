// a2enmod/a2enconf/a2ensite as apache2's postinst and dh_apache2's snippets run them (read as text).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseA2Calls } from '../../src/debian/effects/apache2.js';
import type { DebSpec } from '../helpers/debfile.js';
import { treeInstaller } from '../helpers/install-tree.js';

const EPOCH = 1_700_000_000;
const install = treeInstaller('imprint-apache2-', EPOCH);

// apache2 2.4.x's postinst, shortened: the same functions, loops and calls.
const APACHE2_POSTINST = [
  '#!/bin/sh',
  'set -e',
  'is_fresh_install()',
  '{',
  '\tif [ -z "$2" ] ; then',
  '\t\treturn 0',
  '\tfi',
  '\treturn 1',
  '}',
  'enable_default_mpm()',
  '{',
  '\tif is_fresh_install $@ ; then',
  '\t\ta2enmod -m -q mpm_event',
  '\tfi',
  '}',
  'enable_default_modules()',
  '{',
  '\tif is_fresh_install $@; then',
  '\t\tfor module in authz_host alias \\',
  '\t\t\t\tdir ; do',
  '\t\t\ta2enmod -m -q $module',
  '\t\tdone',
  '\tfi',
  '}',
  'enable_default_conf()',
  '{',
  '\tif is_fresh_install $@ ; then',
  '\t\tfor conf in security serve-cgi-bin ; do',
  '\t\t\ta2enconf -m -q $conf',
  '\t\tdone',
  '\tfi',
  '}',
  'install_default_site()',
  '{',
  '\tif is_fresh_install $@ ; then',
  '\t\tif [ ! -L /etc/apache2/sites-enabled/000-default.conf -a \\',
  '\t\t\t! -f /etc/apache2/sites-enabled/000-default.conf ]; then',
  '\t\t\t\ta2ensite -q 000-default',
  '\t\tfi',
  '\tfi',
  '}',
  'execute_deferred_actions() {',
  '\t\t\t\ta2$ARG1 -m -q "$ARG2"',
  '}',
  'case "$1" in',
  '\tconfigure)',
  '\t\tenable_default_mpm $@',
  '\t\tenable_default_modules $@',
  '\t\tenable_default_conf $@',
  '\t\tinstall_default_site $@',
  '\t\texecute_deferred_actions',
  '\t;;',
  'esac',
  '',
].join('\n');

const mods = (entries: Record<string, string>) =>
  Object.entries(entries).map(([name, content]) => ({
    path: `./etc/apache2/mods-available/${name}`,
    content,
  }));

const apache2: DebSpec = {
  name: 'apache2',
  entries: [
    ...mods({
      'mpm_event.load': '# Conflicts: mpm_worker mpm_prefork\nLoadModule mpm_event_module x.so\n',
      'mpm_event.conf': '<IfModule mpm_event_module>\n</IfModule>\n',
      'mpm_prefork.load': '# Conflicts: mpm_event mpm_worker\nLoadModule mpm_prefork_module x.so\n',
      'authz_host.load': '# Depends: authz_core\nLoadModule authz_host_module x.so\n',
      'authz_core.load': 'LoadModule authz_core_module x.so\n',
      'alias.load': 'LoadModule alias_module x.so\n',
      'alias.conf': '<IfModule alias_module>\n</IfModule>\n',
      'dir.load': 'LoadModule dir_module x.so\n# Depends: not-read-after-the-first-line\n',
    }),
    { path: './etc/apache2/mods-enabled/', type: 'dir' },
    { path: './etc/apache2/conf-available/security.conf', content: 'ServerTokens OS\n' },
    { path: './etc/apache2/conf-enabled/', type: 'dir' },
    {
      path: './etc/apache2/sites-available/000-default.conf',
      content: '<VirtualHost *:80>\n</VirtualHost>\n',
    },
    { path: './etc/apache2/sites-enabled/', type: 'dir' },
  ],
  controlFiles: { postinst: APACHE2_POSTINST },
};

describe('effects: apache2/a2enmod', () => {
  it('reads a2enmod, a2enconf, a2ensite, apache2_invoke and apache2_switch_mpm calls with literal names', () => {
    assert.deepEqual(parseA2Calls(APACHE2_POSTINST), [
      { op: 'enable', kind: 'module', name: 'mpm_event', maint: true },
      { op: 'enable', kind: 'module', name: 'authz_host', maint: true },
      { op: 'enable', kind: 'module', name: 'alias', maint: true },
      { op: 'enable', kind: 'module', name: 'dir', maint: true },
      { op: 'enable', kind: 'conf', name: 'security', maint: true },
      { op: 'enable', kind: 'conf', name: 'serve-cgi-bin', maint: true },
      { op: 'enable', kind: 'site', name: '000-default', maint: false },
    ]);
    assert.deepEqual(
      parseA2Calls(
        'if php_enable; then\n  for conf in php8.2 ; do\n    apache2_invoke enmod $conf || exit 1\n  done\nfi\napache2_switch_mpm prefork\n',
      ),
      [
        { op: 'enable', kind: 'module', name: 'php8.2', maint: true },
        { op: 'switch-mpm', name: 'prefork' },
      ],
    );
  });

  it("enables apache2's default MPM, modules (dependencies first), conf snippets and site, as Debian does", async () => {
    const tree = await install([apache2]);
    const link = (p: string) => {
      const n = tree.get(p);
      return n?.kind === 'symlink' ? n.target : n?.kind;
    };
    assert.equal(link('etc/apache2/mods-enabled/mpm_event.load'), '../mods-available/mpm_event.load');
    assert.equal(link('etc/apache2/mods-enabled/mpm_event.conf'), '../mods-available/mpm_event.conf');
    assert.equal(link('etc/apache2/mods-enabled/authz_core.load'), '../mods-available/authz_core.load');
    assert.equal(link('etc/apache2/mods-enabled/authz_host.load'), '../mods-available/authz_host.load');
    assert.equal(link('etc/apache2/mods-enabled/alias.conf'), '../mods-available/alias.conf');
    assert.equal(link('etc/apache2/mods-enabled/dir.load'), '../mods-available/dir.load');
    assert.equal(link('etc/apache2/mods-enabled/mpm_prefork.load'), undefined);
    assert.equal(link('etc/apache2/conf-enabled/security.conf'), '../conf-available/security.conf');
    assert.equal(link('etc/apache2/conf-enabled/serve-cgi-bin.conf'), undefined, 'not in the package');
    assert.equal(link('etc/apache2/sites-enabled/000-default.conf'), '../sites-available/000-default.conf');
    const markers = [...tree.keys()].filter(
      (k) => k.startsWith('var/lib/apache2/') && tree.get(k)?.kind === 'file',
    );
    assert.deepEqual(markers.sort(), [
      'var/lib/apache2/conf/enabled_by_maint/security',
      'var/lib/apache2/module/enabled_by_maint/alias',
      'var/lib/apache2/module/enabled_by_maint/authz_core',
      'var/lib/apache2/module/enabled_by_maint/authz_host',
      'var/lib/apache2/module/enabled_by_maint/dir',
      'var/lib/apache2/module/enabled_by_maint/mpm_event',
      'var/lib/apache2/site/enabled_by_admin/000-default',
    ]);
    const marker = tree.get('var/lib/apache2/site/enabled_by_admin/000-default');
    assert.deepEqual([marker?.mode.toString(8), marker?.uid, marker?.mtime], ['644', 0, EPOCH]);
  });

  it("switches to prefork and enables php8.2 for libapache2-mod-php's dh_apache2 snippet", async () => {
    const modPhp: DebSpec = {
      name: 'libapache2-mod-php8.2',
      entries: mods({
        'php8.2.load':
          '# Depends: mpm_prefork\n# Conflicts: mpm_event mpm_worker\nLoadModule php_module x.so\n',
      }),
      controlFiles: {
        postinst: [
          'php_enable() {',
          '\tcase "$(a2query -M)" in',
          '\t    prefork|itk) return 0;;',
          '\t    *) if apache2_switch_mpm prefork; then return 0; fi;;',
          '\tesac',
          '}',
          'if php_enable; then',
          '\tif [ -e /usr/share/apache2/apache2-maintscript-helper ] ; then',
          '\t\t. /usr/share/apache2/apache2-maintscript-helper',
          '\t\tfor conf in php8.2  ; do',
          '\t\t\tapache2_invoke enmod $conf  || exit 1',
          '\t\tdone',
          '\tfi',
          'fi',
          '',
        ].join('\n'),
      },
    };
    const tree = await install([apache2, modPhp]);
    const enabled = tree
      .childKeys('etc/apache2/mods-enabled')
      .map((k) => k.replace(/^.*\//, ''))
      .sort();
    assert.deepEqual(enabled, [
      'alias.conf',
      'alias.load',
      'authz_core.load',
      'authz_host.load',
      'dir.load',
      'mpm_prefork.load',
      'php8.2.load',
    ]);
    assert.equal(tree.get('var/lib/apache2/module/enabled_by_maint/mpm_event'), undefined);
    assert.equal(tree.get('var/lib/apache2/module/disabled_by_maint/mpm_event')?.kind, 'file');
    assert.equal(tree.get('var/lib/apache2/module/enabled_by_maint/php8.2')?.kind, 'file');
  });
});
