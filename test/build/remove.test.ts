// The spec's `remove` list: exact paths through directory symlinks, * ? ** patterns, errors naming the entry.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { applyRemovals } from '../../src/build/remove.js';
import { isImprintError } from '../../src/errors.js';
import { parseSpecText } from '../../src/spec/load.js';
import { FileTree } from '../../src/vfs/tree.js';

/** Adds a one-byte file at `path`, from `origin` when given (a package, `files[2]`). */
function addFile(t: FileTree, path: string, origin?: string): void {
  t.add(path, {
    kind: 'file',
    size: 1,
    mode: 0o644,
    uid: 0,
    gid: 0,
    mtime: 0,
    ...(origin === undefined ? {} : { origin }),
    content: () => Readable.from(['x']),
  });
}

function tree(): FileTree {
  const t = new FileTree({ mode: 0o755, uid: 0, gid: 0, mtime: 0 });
  const f = (path: string) => addFile(t, path);
  t.add('usr/lib', { kind: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 0 });
  t.add('lib', { kind: 'symlink', target: 'usr/lib', mode: 0o777, uid: 0, gid: 0, mtime: 0 });
  for (const p of [
    'usr/lib/x86_64-linux-gnu/libz.so.1',
    'usr/lib/x86_64-linux-gnu/libz.a',
    'usr/share/doc/zlib1g/copyright',
    'usr/share/doc/zlib1g/changelog.gz',
    'usr/share/doc/libc6/changelog.Debian.gz',
    'usr/share/man/man1/ls.1.gz',
    'etc/motd',
  ])
    f(p);
  return t;
}
const keys = (t: FileTree) => [...t.keys()].filter((k) => t.get(k)?.kind !== 'dir').sort();

describe('applyRemovals', () => {
  it('removes exact paths (following directory symlinks) and whole directories', () => {
    const t = tree();
    const removed = applyRemovals(t, ['/lib/x86_64-linux-gnu/libz.a', '/usr/share/man', '/etc/motd'], {
      file: 'imprint.yaml',
    });
    assert.deepEqual([...removed].sort(), ['etc/motd', 'usr/lib/x86_64-linux-gnu/libz.a', 'usr/share/man']);
    assert.equal(t.get('usr/share/man/man1'), undefined);
    assert.ok(t.get('usr/lib/x86_64-linux-gnu/libz.so.1'));
  });

  it('matches * and ? within a component and ** across components', () => {
    const t = tree();
    applyRemovals(t, ['/usr/share/doc/**/changelog*.gz', '/lib/*/lib?.a'], { file: 'imprint.yaml' });
    assert.deepEqual(keys(t), [
      'etc/motd',
      'lib',
      'usr/lib/x86_64-linux-gnu/libz.so.1',
      'usr/share/doc/zlib1g/copyright',
      'usr/share/man/man1/ls.1.gz',
    ]);
  });

  it('reports an entry that matches nothing, naming the spec file, the line and remove[i]', () => {
    const text = 'version: 1\nremove:\n  - /etc/motd\n  - /etc/nope*\n';
    const { locate } = parseSpecText(text, '/s/imprint.yaml');
    assert.throws(
      () => applyRemovals(tree(), ['/etc/motd', '/etc/nope*'], { file: '/s/imprint.yaml', locate }),
      (e: unknown) =>
        isImprintError(e, 'SPEC_INVALID') &&
        e.details.field === 'remove[1]' &&
        e.message === '/s/imprint.yaml:4:5: remove[1]: /etc/nope* matches nothing in the image',
    );
  });

  it("refuses the image's root, naming remove[i]", () => {
    assert.throws(
      () => applyRemovals(tree(), ['/etc/motd', '/'], { file: '/s/imprint.yaml' }),
      (e: unknown) =>
        isImprintError(e, 'SPEC_INVALID') && e.details.field === 'remove[1]' && /root/.test(e.message),
    );
  });

  it('notes an entry that deletes what files[] added (remove runs after files), naming the fields', () => {
    const t = tree();
    const add = (path: string, origin: string) => addFile(t, path, origin);
    add('usr/share/doc/app/LICENSE', 'files[0]');
    add('usr/share/doc/app/NOTICE', 'files[2]');
    add('etc/app.conf', 'files[1]');
    const text = 'version: 1\nremove:\n  - /usr/share/doc/**\n  - /etc/motd\n';
    const { locate } = parseSpecText(text, '/s/imprint.yaml');
    const notes: string[] = [];
    applyRemovals(t, ['/usr/share/doc/**', '/etc/motd'], { file: '/s/imprint.yaml', locate }, notes);
    assert.deepEqual(notes, [
      '/s/imprint.yaml:3:5: remove[0]: /usr/share/doc/** deletes 2 paths that files[0], files[2] add (/usr/share/doc/app/LICENSE, ...): remove runs after files, so the image does not have them; narrow the pattern or drop what it should not delete',
    ]);
    assert.ok(t.get('etc/app.conf'));
    const quiet: string[] = [];
    applyRemovals(tree(), ['/usr/share/doc/**'], { file: 'imprint.yaml' }, quiet);
    assert.deepEqual(quiet, []);
  });
});
