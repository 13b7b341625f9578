// Databases Debian's scripts compile from what packages ship (the MIME database, GSettings' compiled
// schemas) are not made by imprint; an image with their sources and without them is warned about.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { generatedDataNotes } from '../../src/build/generated-data-check.js';
import { bytesOpener } from '../../src/vfs/node.js';
import { FileTree } from '../../src/vfs/tree.js';

const meta = { uid: 0, gid: 0, mtime: 0 };

function tree(paths: string[]): FileTree {
  const t = new FileTree({ mode: 0o755, ...meta });
  for (const p of paths)
    t.add(p, { kind: 'file', size: 1, content: bytesOpener(Buffer.from('x')), mode: 0o644, ...meta });
  return t;
}

describe('generated data check', () => {
  test('MIME packages without mime.cache, and schemas without gschemas.compiled, are warned about', () => {
    const notes = generatedDataNotes(
      tree([
        '/usr/share/mime/packages/freedesktop.org.xml',
        '/usr/share/glib-2.0/schemas/org.gnome.desktop.interface.gschema.xml',
      ]),
    );
    assert.equal(notes.length, 2);
    assert.match(
      notes[0]!,
      /\/usr\/share\/mime\/mime\.cache, which Debian's scripts make with update-mime-database/,
    );
    assert.match(notes[0]!, /gdk-pixbuf loads no image/);
    assert.match(notes[1]!, /gschemas\.compiled.*No schemas installed/);
  });

  test('the databases present, or no sources: no warning', () => {
    assert.deepEqual(
      generatedDataNotes(
        tree([
          '/usr/share/mime/packages/freedesktop.org.xml',
          '/usr/share/mime/mime.cache',
          '/usr/share/glib-2.0/schemas/gschemas.compiled',
          '/usr/share/glib-2.0/schemas/README',
        ]),
      ),
      [],
    );
    assert.deepEqual(generatedDataNotes(tree([])), []);
  });
});
