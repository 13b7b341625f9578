import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { childNames } from '../../src/debian/effects/tree-io.js';
import { bytesOpener } from '../../src/vfs/node.js';
import { FileTree } from '../../src/vfs/tree.js';

describe('childNames', () => {
  const tree = new FileTree({ mode: 0o755, uid: 0, gid: 0, mtime: 0 });
  const meta = { mode: 0o644, uid: 0, gid: 0, mtime: 0 };
  for (const path of ['etc/b', 'etc/a', 'etc/é', 'etc/sub/x', 'etc-x/y', 'usr/lib/z'])
    tree.add(path, { kind: 'file', size: 1, content: bytesOpener(Buffer.from('x')), ...meta });
  tree.add('etc/link', { kind: 'symlink', target: 'a', ...meta });

  it('lists the names directly under a directory key, in byte order', () => {
    assert.deepEqual(childNames(tree, 'etc'), ['a', 'b', 'link', 'sub', 'é']);
    assert.deepEqual(childNames(tree, 'etc/sub'), ['x']);
    assert.deepEqual(childNames(tree, 'etc/a'), []);
    assert.deepEqual(childNames(tree, 'nowhere'), []);
    // Not a key: names nothing, as before.
    assert.deepEqual(childNames(tree, '/etc'), []);
    assert.deepEqual(childNames(tree, ''), []);
  });

  it("reads the tree's index of children, not every key (effects call it on 100k-file trees)", () => {
    const guarded = new FileTree({ mode: 0o755, uid: 0, gid: 0, mtime: 0 });
    for (const key of tree.keys()) guarded.add(key, tree.get(key)!);
    guarded.keys = () => {
      throw new Error('a pass over every key');
    };
    assert.deepEqual(childNames(guarded, 'etc'), ['a', 'b', 'link', 'sub', 'é']);
  });
});
