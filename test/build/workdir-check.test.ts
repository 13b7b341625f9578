// A workdir the image lacks is made by the runtime at start, root-owned under Docker and Kubernetes but
// the user's under Podman: the build says so, and that a workdir which is a file will not start.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { configNotes } from '../../src/build/run-check.js';
import { workdirNotes } from '../../src/build/workdir-check.js';
import type { FileTree } from '../../src/vfs/tree.js';
import { memTree, ROOT_META } from '../helpers/mem-tree.js';

function image(): FileTree {
  const t = memTree({ '/etc/motd': 'hi' });
  t.mkdirp('srv/app');
  t.add('/usr/lib', { kind: 'dir', mode: 0o755, ...ROOT_META });
  t.add('/lib', { kind: 'symlink', target: 'usr/lib', mode: 0o777, ...ROOT_META });
  return t;
}
const AMD64 = 'linux/amd64';

describe('workdir check', () => {
  test('a workdir the image lacks is named, with what runtimes make of it', async () => {
    const [note] = workdirNotes(image(), { WorkingDir: '/does/not/exist' }, AMD64);
    assert.match(
      note!,
      /workdir \/does\/not\/exist \(linux\/amd64\) is not in the image: .*Podman.*root under Docker/,
    );
    const notes = await configNotes(image(), { WorkingDir: '/data' }, AMD64);
    assert.ok(notes.some((n) => n.includes('workdir /data')));
  });

  test('a workdir that is a file will not start', () => {
    const [note] = workdirNotes(image(), { WorkingDir: '/etc/motd' }, AMD64);
    assert.match(note!, /is not a directory/);
  });

  test('a directory of the image, through a symlink too, or none: no warning', () => {
    for (const dir of ['/srv/app', '/srv/app/', '/lib', '/', undefined])
      assert.deepEqual(
        workdirNotes(image(), dir === undefined ? {} : { WorkingDir: dir }, AMD64),
        [],
        String(dir),
      );
  });
});
