// A spec file laid over the packages' tree must not silently replace a directory that has content.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { refuseHidingDirectories, refuseReplacingFiles } from '../../src/build/file-targets.js';
import { isImprintError } from '../../src/errors.js';
import { bytesOpener } from '../../src/vfs/node.js';
import { FileTree } from '../../src/vfs/tree.js';

const entries = (...targets: string[]) =>
  targets.map((target, i) => ({ label: `imprint.yaml:${i + 3}:5: files[${i}].target`, target }));
const dirMeta = { mode: 0o755, uid: 0, gid: 0, mtime: 0 };
const file = (origin: string) => ({
  kind: 'file' as const,
  size: 1,
  content: bytesOpener(Buffer.from('x')),
  ...dirMeta,
  mode: 0o644,
  origin,
});

function packagesTree(): FileTree {
  const t = new FileTree(dirMeta);
  t.add('usr', { kind: 'dir', ...dirMeta, origin: 'base-files' });
  t.add('etc/ssl/certs', { kind: 'dir', ...dirMeta, origin: 'openssl' });
  t.add('etc/ssl/certs/ca-certificates.crt', file('ca-certificates'));
  t.add('etc/ssl/certs/00.0', { kind: 'symlink', target: 'x', ...dirMeta, mode: 0o777, origin: 'ca' });
  t.add('etc/empty', { kind: 'dir', ...dirMeta, origin: 'base-files' });
  t.add('lib', { kind: 'symlink', target: 'usr/lib', ...dirMeta, mode: 0o777, origin: 'usrmerge' });
  t.add('usr/lib/ssl', { kind: 'dir', ...dirMeta, origin: 'openssl' });
  t.add('usr/lib/ssl/openssl.cnf', file('openssl'));
  return t;
}

describe('refuseHidingDirectories', () => {
  it('refuses a file over a package directory with content, naming the entry, the package and an entry below', () => {
    const files = new FileTree(dirMeta);
    files.add('etc/ssl/certs', file('files[2]'));
    assert.throws(
      () => refuseHidingDirectories(packagesTree(), files, entries('/a/', '/b', '/etc/ssl/certs')),
      (err: unknown) => {
        assert.ok(isImprintError(err, 'VFS_CONFLICT'), String(err));
        assert.equal(
          err.message,
          'imprint.yaml:5:5: files[2].target: /etc/ssl/certs is a directory from openssl holding 2 entries (e.g. /etc/ssl/certs/00.0); files[2] would replace it with a file and drop them',
        );
        assert.match(err.hint ?? '', /target: \/etc\/ssl\/certs\//);
        return true;
      },
    );
  });

  it('follows the lower tree’s directory links (merged /usr) and allows files into, beside or over empty directories', () => {
    const through = new FileTree(dirMeta);
    through.add('lib/ssl', file('files[0]'));
    assert.throws(() => refuseHidingDirectories(packagesTree(), through, entries('/lib/ssl')), {
      code: 'VFS_CONFLICT',
      message: /\/usr\/lib\/ssl is a directory from openssl/,
    });
    const fine = new FileTree(dirMeta);
    fine.add('etc/ssl/certs/mine.pem', file('files[0]'));
    fine.add('etc/empty', file('files[1]'));
    fine.add('etc/ssl/certs/ca-certificates.crt', file('files[2]'));
    refuseHidingDirectories(
      packagesTree(),
      fine,
      entries('/etc/ssl/certs/', '/etc/empty', '/etc/ssl/certs/'),
    );
  });

  it('refuses a directory over a package file (a target below the CA bundle, the bundle as a directory), naming the entry that needs it', () => {
    const below = new FileTree(dirMeta);
    below.add('etc/ssl/certs/ca-certificates.crt/x', file('files[1]'));
    assert.throws(
      () =>
        refuseHidingDirectories(
          packagesTree(),
          below,
          entries('/a/', '/etc/ssl/certs/ca-certificates.crt/x'),
        ),
      (err: unknown) => {
        assert.ok(isImprintError(err, 'VFS_CONFLICT'), String(err));
        assert.equal(
          err.message,
          'imprint.yaml:4:5: files[1].target: /etc/ssl/certs/ca-certificates.crt is a file from ca-certificates; files[1] would replace it with a directory (to hold /etc/ssl/certs/ca-certificates.crt/x) and drop it',
        );
        return true;
      },
    );
    // A directory source copied there, and a parent deeper below it; through a link of the lower tree too.
    const copied = new FileTree(dirMeta);
    copied.add('lib/ssl/openssl.cnf', { kind: 'dir', ...dirMeta, origin: 'files[0]' });
    copied.add('lib/ssl/openssl.cnf/a/b', file('files[0]'));
    assert.throws(() => refuseHidingDirectories(packagesTree(), copied, entries('/lib/ssl/openssl.cnf/')), {
      code: 'VFS_CONFLICT',
      message:
        /^imprint\.yaml:3:5: files\[0\]\.target: \/usr\/lib\/ssl\/openssl\.cnf is a file from openssl; files\[0\] would replace it with a directory \(to hold \/lib\/ssl\/openssl\.cnf\) and drop it$/,
    });
    // A file placed below a link to a file (/usr/bin/python3 -> python3.11).
    const lower = packagesTree();
    lower.add('usr/bin/python3.11', file('python3.11-minimal'));
    lower.add('usr/bin/python3', {
      kind: 'symlink',
      target: 'python3.11',
      ...dirMeta,
      mode: 0o777,
      origin: 'python3',
    });
    const link = new FileTree(dirMeta);
    link.add('usr/bin/python3/hello.py', file('files[0]'));
    assert.throws(() => refuseHidingDirectories(lower, link, entries('/usr/bin/python3/')), {
      code: 'VFS_CONFLICT',
      message:
        /^imprint\.yaml:3:5: files\[0\]\.target: \/usr\/bin\/python3 \(a symbolic link from python3 to \/usr\/bin\/python3\.11\): \/usr\/bin\/python3\.11 is a file from python3\.11-minimal; files\[0\] would replace it with a directory \(to hold \/usr\/bin\/python3\/hello\.py\)/,
    });
    // A base image's file: refuseReplacingFiles checks directories alone (changeset checks the base's).
    const base = new FileTree(dirMeta);
    base.add('etc/motd', file('base'));
    base.add('etc/ssl', file('base'));
    const over = new FileTree(dirMeta);
    over.add('etc/ssl', file('files[0]'));
    refuseReplacingFiles(base, over, entries('/etc/ssl'));
    over.add('etc/motd/x', file('files[1]'));
    assert.throws(() => refuseReplacingFiles(base, over, entries('/etc/ssl', '/etc/motd/x')), {
      code: 'VFS_CONFLICT',
      message:
        /files\[1\]\.target: \/etc\/motd is a file from base; files\[1\] would replace it with a directory/,
    });
  });

  it('follows a link to a directory that a directory source targets exactly (merged /usr /lib); a link to a file is refused, also for an empty source', () => {
    // files: {source: libs/, target: /lib} (or /lib/): the files tree holds the directory lib itself.
    const into = new FileTree(dirMeta);
    into.add('lib', { kind: 'dir', ...dirMeta, origin: 'files[0]' });
    into.add('lib/libx.so', file('files[0]'));
    refuseHidingDirectories(packagesTree(), into, entries('/lib'));
    const lower = packagesTree();
    lower.add('etc/motd', file('base-files'));
    lower.add('etc/greeting', {
      kind: 'symlink',
      target: 'motd',
      ...dirMeta,
      mode: 0o777,
      origin: 'files[0]',
    });
    lower.add('etc/nowhere', {
      kind: 'symlink',
      target: '/srv/x',
      ...dirMeta,
      mode: 0o777,
      origin: 'files[0]',
    });
    const empty = new FileTree(dirMeta);
    empty.add('etc/nowhere', { kind: 'dir', ...dirMeta, origin: 'files[1]' });
    refuseHidingDirectories(lower, empty, entries('/etc/greeting', '/etc/nowhere'));
    empty.add('etc/greeting', { kind: 'dir', ...dirMeta, origin: 'files[1]' });
    assert.throws(() => refuseHidingDirectories(lower, empty, entries('/etc/greeting', '/etc/greeting/')), {
      code: 'VFS_CONFLICT',
      message:
        /^imprint\.yaml:4:5: files\[1\]\.target: \/etc\/greeting \(a symbolic link from files\[0\] to \/etc\/motd\): \/etc\/motd is a file from base-files; files\[1\] would replace it with a directory and drop it$/,
    });
  });
});
