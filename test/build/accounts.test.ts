// applyAccounts: the spec's users and groups merged into the image's account files. A user's implicit
// group (one named after it, for a gid no declared group has) is made only when the image has no
// group of that gid, as `useradd -g GID` would reuse it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addGeneratedFile, applyAccounts } from '../../src/build/accounts.js';
import { readTreeFile } from '../../src/debian/effects/tree-io.js';
import { isImprintError } from '../../src/errors.js';
import { withImplicitGroups } from '../../src/spec/accounts.js';
import { FileTree } from '../../src/vfs/tree.js';

const SPEC = { file: '/p/imprint.yaml' };
const BASE_PASSWD = 'root:x:0:0:root:/root:/bin/sh\nwww-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n';

const BASE_GROUP = 'root:x:0:\nwww-data:x:33:\nusers:x:100:\nnogroup:x:65534:\n';

function imageWithGroups(text: string): FileTree {
  const tree = new FileTree({ mode: 0o755, uid: 0, gid: 0, mtime: 0 });
  tree.mkdirp('etc');
  addGeneratedFile(tree, '/etc/group', text, 0);
  return tree;
}

describe('applyAccounts', () => {
  it("reuses the image's group for a user's gid instead of adding a second group of that gid", async () => {
    const accounts = withImplicitGroups({
      users: [
        { name: 'web', uid: 2000, gid: 33, home: '/nonexistent', shell: '/usr/sbin/nologin' },
        { name: 'app', uid: 2001, gid: 2001, home: '/nonexistent', shell: '/usr/sbin/nologin' },
      ],
      groups: [],
    });
    const tree = imageWithGroups(BASE_GROUP);
    await applyAccounts(tree, accounts.users, accounts.groups, 0, SPEC);
    const group = (await readTreeFile(tree, '/etc/group'))?.toString('utf8') ?? '';
    assert.match(group, /^www-data:x:33:$/m);
    assert.doesNotMatch(group, /^web:/m, 'no second group with gid 33');
    assert.match(group, /^app:[^:]*:2001:$/m, 'a gid the image lacks still gets its group');
    assert.match((await readTreeFile(tree, '/etc/passwd'))?.toString('utf8') ?? '', /^web:[^:]*:2000:33:/m);
  });

  it("refuses a declared uid or gid that another of the image's accounts holds, naming the field", async () => {
    const user = (name: string, uid: number) => ({
      name,
      uid,
      gid: uid,
      home: '/nonexistent',
      shell: '/bin/sh',
    });
    const tree = imageWithGroups(BASE_GROUP);
    addGeneratedFile(tree, '/etc/passwd', BASE_PASSWD, 0);
    const taken = (field: string, holder: string) => (err: unknown) =>
      isImprintError(err, 'SPEC_INVALID') &&
      err.details.field === field &&
      err.details.holder === holder &&
      err.message.startsWith(`/p/imprint.yaml: ${field}: `);
    const users = withImplicitGroups({ users: [user('app', 1000), user('carol', 33)], groups: [] });
    await assert.rejects(
      applyAccounts(tree, users.users, users.groups, 0, SPEC),
      taken('accounts.users[1].uid', 'www-data'),
    );
    const groups = [{ name: 'devs', gid: 100, members: [] }];
    await assert.rejects(applyAccounts(tree, [], groups, 0, SPEC), taken('accounts.groups[0].gid', 'users'));
    // Redeclaring the holder by its name replaces its line: no collision.
    const web = withImplicitGroups({
      users: [{ ...user('www-data', 1033), gid: 33 }, user('carol', 33)],
      groups: [],
    });
    await applyAccounts(tree, web.users, web.groups, 0, SPEC);
    assert.match((await readTreeFile(tree, '/etc/passwd'))?.toString('utf8') ?? '', /^carol:[^:]*:33:33:/m);
  });

  it("takes as group members the image's users (base-passwd's www-data), and refuses a name /etc/passwd lacks", async () => {
    const tree = imageWithGroups(BASE_GROUP);
    addGeneratedFile(tree, '/etc/passwd', BASE_PASSWD, 0);
    const accounts = withImplicitGroups({
      users: [{ name: 'app', uid: 1000, gid: 1000, home: '/nonexistent', shell: '/bin/sh' }],
      groups: [{ name: 'shared', gid: 1500, members: ['app', 'www-data'] }],
    });
    await applyAccounts(tree, accounts.users, accounts.groups, 0, SPEC);
    assert.match(
      (await readTreeFile(tree, '/etc/group'))?.toString('utf8') ?? '',
      /^shared:[^:]*:1500:app,www-data$/m,
    );
    const typo = withImplicitGroups({
      users: [],
      groups: [{ name: 'web', gid: 1600, members: ['ww-data'] }],
    });
    await assert.rejects(applyAccounts(tree, typo.users, typo.groups, 0, SPEC), (err: unknown) => {
      assert.ok(isImprintError(err, 'SPEC_INVALID'), String(err));
      assert.equal(err.details.field, 'accounts.groups[0].members[0]');
      assert.equal(
        err.message,
        `/p/imprint.yaml: accounts.groups[0].members[0]: "ww-data" is not a user of the image's /etc/passwd; did you mean "www-data"?`,
      );
      return true;
    });
  });

  it("refuses a user's own group that would move a group of the image with that name", async () => {
    const tree = imageWithGroups(BASE_GROUP);
    const accounts = withImplicitGroups({
      users: [{ name: 'users', uid: 1100, gid: 1100, home: '/nonexistent', shell: '/bin/sh' }],
      groups: [],
    });
    await assert.rejects(
      applyAccounts(tree, accounts.users, accounts.groups, 0, SPEC),
      (err: unknown) => isImprintError(err, 'SPEC_INVALID') && err.details.field === 'accounts.users[0].gid',
    );
    assert.match((await readTreeFile(tree, '/etc/group'))?.toString('utf8') ?? '', /^users:x:100:$/m);
  });
});
