// Libraries in a directory only /etc/ld.so.conf names (/usr/local/lib, ...) load only through
// /etc/ld.so.cache, which imprint does not write (no ldconfig): the build warns.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { encodeLdSoCache } from '../../src/build/ld-so-cache.js';
import { libraryPathNotes } from '../../src/build/library-path-check.js';
import { bytesOpener } from '../../src/vfs/node.js';
import { FileTree } from '../../src/vfs/tree.js';

const meta = { uid: 0, gid: 0, mtime: 0 };

/** A merged-/usr glibc image with `files` (text) and `links`. */
function image(files: Record<string, string>, links: Record<string, string> = {}): FileTree {
  const t = new FileTree({ mode: 0o755, ...meta });
  for (const [link, target] of Object.entries({ '/lib': 'usr/lib', ...links }))
    t.add(link, { kind: 'symlink', target, mode: 0o777, ...meta });
  for (const [path, text] of Object.entries({ '/usr/lib/x86_64-linux-gnu/libc.so.6': 'x', ...files })) {
    const b = Buffer.from(text);
    t.add(path, { kind: 'file', size: b.length, content: bytesOpener(b), mode: 0o644, ...meta });
  }
  return t;
}

const CONF = {
  '/etc/ld.so.conf': 'include /etc/ld.so.conf.d/*.conf\n\n',
  '/etc/ld.so.conf.d/libc.conf': '# libc default configuration\n/usr/local/lib\n',
  '/etc/ld.so.conf.d/fakeroot-x86_64-linux-gnu.conf': '/usr/lib/x86_64-linux-gnu/libfakeroot\n',
  '/etc/ld.so.conf.d/x86_64-linux-gnu.conf':
    '# Multiarch support\n/usr/local/lib/x86_64-linux-gnu\n/lib/x86_64-linux-gnu\n/usr/lib/x86_64-linux-gnu\n',
};

describe('library path check', () => {
  test('a library in /usr/local/lib, or in an /opt directory an ld.so.conf.d file names: one warning per directory; not in a package directory', async () => {
    const notes = await libraryPathNotes(
      image(
        {
          ...CONF,
          '/usr/local/lib/libfoo.so.1': 'x',
          '/usr/lib/x86_64-linux-gnu/libfakeroot/libfakeroot-0.so': 'x',
          '/etc/ld.so.conf.d/app.conf': '/opt/app/lib/\n',
          '/opt/app/lib/libapp.so.2': 'x',
          '/usr/lib/x86_64-linux-gnu/libz.so.1': 'x',
        },
        { '/usr/local/lib/libfoo.so': 'libfoo.so.1' },
      ),
    );
    assert.equal(notes.length, 2);
    assert.match(
      notes[0]!,
      /^the shared libraries in \/usr\/local\/lib \(libfoo\.so, libfoo\.so\.1\) are found only through \/etc\/ld\.so\.cache/,
    );
    assert.match(
      notes[0]!,
      /put them in \/usr\/lib\/x86_64-linux-gnu, or set LD_LIBRARY_PATH=\/usr\/local\/lib/,
    );
    assert.match(notes[1]!, /in \/opt\/app\/lib \(libapp\.so\.2\)/);
  });

  test('/usr/local/lib counts without the conf files (they come with libc-bin and libc6)', async () => {
    assert.equal((await libraryPathNotes(image({ '/usr/local/lib/libfoo.so.1': 'x' }))).length, 1);
  });

  test('no warning for the system directories, other files, an image with ld.so.cache, or without glibc', async () => {
    assert.deepEqual(
      await libraryPathNotes(
        image({ ...CONF, '/usr/lib/x86_64-linux-gnu/libm.so.6': 'x', '/usr/lib/libx.so': 'x' }),
      ),
      [],
    );
    assert.deepEqual(await libraryPathNotes(image({ ...CONF, '/usr/local/lib/python3.11/x.so': 'x' })), []);
    const cached = image({ ...CONF, '/usr/local/lib/libfoo.so.1': 'x', '/etc/ld.so.cache': 'x' });
    assert.deepEqual(await libraryPathNotes(cached), []);
    const noLibc = new FileTree({ mode: 0o755, ...meta });
    noLibc.add('/usr/local/lib/libfoo.so.1', {
      kind: 'file',
      size: 0,
      content: bytesOpener(Buffer.alloc(0)),
      mode: 0o644,
      ...meta,
    });
    assert.deepEqual(await libraryPathNotes(noLibc), []);
  });

  test("a cache that lists nothing in the directory (a base image's, made before the spec added the library) still warns", async () => {
    const cache = (path: string) =>
      encodeLdSoCache([{ name: path.slice(path.lastIndexOf('/') + 1), path, flags: 0x0303 }]).toString(
        'latin1',
      );
    const lib = { ...CONF, '/usr/local/lib/libfoo.so.1': 'x' };
    // This cache lacks the image's libc.so.6 too, which the stale-cache note names: left out here.
    const notes = async (t: FileTree) =>
      (await libraryPathNotes(t)).filter((n) => !n.includes('lacks shared'));
    const stale = await notes(
      image({ ...lib, '/etc/ld.so.cache': cache('/usr/lib/x86_64-linux-gnu/libz.so.1') }),
    );
    assert.equal(stale.length, 1);
    assert.match(
      stale[0]!,
      /in \/usr\/local\/lib \(libfoo\.so\.1\) .* which lists none of them \(the base image's/,
    );
    assert.deepEqual(
      await notes(image({ ...lib, '/etc/ld.so.cache': cache('/usr/local/lib/libfoo.so.1') })),
      [],
    );
  });

  test("a base image's cache that lacks libraries the build added to /usr/lib/<triplet> is named (ldconfig -p misses them)", async () => {
    const cache = (...names: string[]) =>
      encodeLdSoCache(
        names.map((n) => ({ name: n, path: `/usr/lib/x86_64-linux-gnu/${n}`, flags: 0x0303 })),
      ).toString('latin1');
    const files = { ...CONF, '/usr/lib/x86_64-linux-gnu/libmagic.so.1': 'x' };
    const [note, ...rest] = await libraryPathNotes(
      image({ ...files, '/etc/ld.so.cache': cache('libc.so.6') }),
    );
    assert.deepEqual(rest, []);
    assert.match(
      note!,
      /lacks shared libraries of \/usr\/lib\/x86_64-linux-gnu \(libmagic\.so\.1\) .*ldconfig/,
    );
    const current = image({ ...files, '/etc/ld.so.cache': cache('libc.so.6', 'libmagic.so.1') });
    assert.deepEqual(await libraryPathNotes(current), []);
    assert.deepEqual(await libraryPathNotes(image(files)), [], 'no cache: the loader needs none there');
  });
});
