// A server whose configuration names an account the image lacks (php-fpm's pool user www-data in an
// image with its own accounts and no base-passwd) refuses to start; the build warns.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { serviceUserNotes } from '../../src/build/service-user-check.js';
import type { FileTree } from '../../src/vfs/tree.js';
import { memTree } from '../helpers/mem-tree.js';

// php8.2-fpm's /etc/php/8.2/fpm/pool.d/www.conf (bookworm), the lines that name accounts.
const WWW_CONF =
  '[www]\n; Unix user/group of the child processes.\nuser = www-data\ngroup = www-data\nlisten = /run/php/php8.2-fpm.sock\nlisten.owner = www-data\nlisten.group = www-data\n;listen.mode = 0660\n';
// nginx-common's /etc/nginx/nginx.conf (bookworm), its first lines.
const NGINX_CONF = 'user www-data;\nworker_processes auto;\npid /run/nginx.pid;\n';

const configTree = (files: Record<string, string>): FileTree => memTree(files);

const TREE = {
  '/etc/php/8.2/fpm/pool.d/www.conf': WWW_CONF,
  '/etc/php/8.2/fpm/php-fpm.conf': 'user = nosuch\n',
  '/etc/nginx/nginx.conf': NGINX_CONF,
  '/etc/apache2/envvars': 'export APACHE_RUN_USER=www-data\nexport APACHE_RUN_GROUP=www-data\n',
};

describe('server account check', () => {
  test("php-fpm's pool, nginx and apache2 naming www-data, which accounts without base-passwd lack, are named", async () => {
    const notes = await serviceUserNotes(configTree(TREE), {
      users: ['root', 'nobody', 'app'],
      groups: ['root', 'nogroup', 'app'],
    });
    assert.equal(notes.length, 3, notes.join('\n'));
    assert.match(
      notes[0] as string,
      /^\/etc\/php\/8\.2\/fpm\/pool\.d\/www\.conf names user www-data and group www-data, which the image's \/etc\/passwd lacks: php-fpm refuses to start .*add base-passwd to packages/,
    );
    assert.match(notes[1] as string, /^\/etc\/nginx\/nginx\.conf names user www-data, .*nginx refuses/);
    assert.match(notes[2] as string, /^\/etc\/apache2\/envvars names user www-data and group www-data/);
  });

  test('with base-passwd (www-data present), or with no /etc/passwd at all (image-notes warns): no warning', async () => {
    const withWww = { users: ['root', 'www-data'], groups: ['root', 'www-data'] };
    assert.deepEqual(await serviceUserNotes(configTree(TREE), withWww), []);
    assert.deepEqual(await serviceUserNotes(configTree(TREE), { users: null, groups: null }), []);
  });

  test("a base image's configuration is not read", async () => {
    const tree = configTree({ '/etc/nginx/nginx.conf': NGINX_CONF });
    const base = new Map([['etc/nginx/nginx.conf', tree.get('etc/nginx/nginx.conf')!]]);
    assert.deepEqual(await serviceUserNotes(tree, { users: ['root'], groups: ['root'] }, base), []);
  });
});
