// imageNotes: what a package image built from scratch lacks that users trip over at run time.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addGeneratedFile } from '../../src/build/accounts.js';
import { imageNotes } from '../../src/build/image-notes.js';
import { FileTree } from '../../src/vfs/tree.js';

const tree = (files: string[]) => {
  const t = new FileTree({ mode: 0o755, uid: 0, gid: 0, mtime: 0 });
  for (const f of files) addGeneratedFile(t, f, 'x\n', 0, 0o644, 'test');
  return t;
};

describe('imageNotes', () => {
  it('says when a package image has no /etc/passwd (openssh-client: "No user exists for uid 0")', () => {
    const notes = imageNotes(tree(['/etc/os-release', '/usr/bin/ssh']), true);
    assert.equal(notes.length, 1);
    assert.match(
      notes[0] as string,
      /no \/etc\/passwd, .*ssh: "No user exists for uid 0".* add base-passwd to packages .* or declare accounts/,
    );
  });

  it('says nothing when base-passwd or accounts gave one, or for a files-only or based image', () => {
    assert.deepEqual(imageNotes(tree(['/etc/os-release', '/etc/passwd']), true), []);
    assert.deepEqual(imageNotes(tree([]), false), []);
    assert.equal(imageNotes(tree(['/etc/passwd']), true).length, 1, 'only the os-release note');
  });
});
