import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { multilibLinks } from '../../src/debian/effects/multilib-links.js';
import type { DebSpec } from '../helpers/debfile.js';
import { treeInstaller } from '../helpers/install-tree.js';

const install = treeInstaller('imprint-multilib-', 1_700_000_000);

/** trixie's libc6-i386 postinst (glibc 2.41), as shipped. */
const POSTINST = `#!/bin/sh
set -e

# begin-remove-after: released:forky
if [ "$1" = configure ]; then
    if ! [ -h "$DPKG_ROOT/lib" ]; then
        ln -s "usr/lib" "$DPKG_ROOT/lib"
    fi
    if ! [ -h "$DPKG_ROOT/lib32" ]; then
        ln -s usr/lib32 "$DPKG_ROOT/lib32"
    fi
fi
# end-remove-after

if [ "$1" = configure -o "$1" = triggered ] && ! [ -h "$DPKG_ROOT/usr/lib/ld-linux.so.2" ]; then
    ln -s ../lib32/ld-linux.so.2 "$DPKG_ROOT/usr/lib/ld-linux.so.2"
fi

exit 0
`;

/** trixie's libc6-i386: everything under /usr/lib32, the links made by its postinst. */
const libc6i386: DebSpec = {
  name: 'libc6-i386',
  entries: [
    { path: './usr/lib32/ld-linux.so.2', content: 'ELF', mode: 0o755 },
    { path: './usr/lib32/libc.so.6', content: 'ELF' },
  ],
  controlFiles: { postinst: POSTINST },
};

describe('effects: glibc multilib links (trixie)', () => {
  it('reads the loader link and the /lib32 link, not the /lib one', () => {
    assert.deepEqual(multilibLinks(POSTINST), [
      { path: '/lib32', target: 'usr/lib32' },
      { path: '/usr/lib/ld-linux.so.2', target: '../lib32/ld-linux.so.2' },
    ]);
    assert.deepEqual(multilibLinks('ln -sf /etc/passwd "$DPKG_ROOT/usr/lib/ld-linux.so.2"\n'), []);
    assert.deepEqual(multilibLinks('ln -s ../../etc/shadow "$DPKG_ROOT/lib32"\n'), []);
  });

  it("libc6-i386 on amd64 gets /lib/ld-linux.so.2 (every 32-bit program's loader) and /lib32", async () => {
    const tree = await install([libc6i386]);
    assert.deepEqual(tree.get('usr/lib/ld-linux.so.2'), {
      kind: 'symlink',
      target: '../lib32/ld-linux.so.2',
      mode: 0o777,
      uid: 0,
      gid: 0,
      mtime: 1_700_000_000,
      origin: 'libc6-i386',
    });
    assert.equal(tree.resolvePath('/lib/ld-linux.so.2'), 'usr/lib32/ld-linux.so.2');
    assert.equal(tree.get('lib32')?.kind, 'symlink');
    assert.equal(tree.resolvePath('/lib32/libc.so.6'), 'usr/lib32/libc.so.6');
    assert.equal(tree.get('lib')?.kind, 'symlink'); // merged /usr's, untouched
  });

  it('keeps what a package ships there (bookworm ships /lib/ld-linux.so.2 itself)', async () => {
    const tree = await install([
      {
        ...libc6i386,
        entries: [
          ...(libc6i386.entries ?? []),
          { path: './lib/ld-linux.so.2', type: 'symlink', linkname: '/lib32/ld-linux.so.2' },
        ],
      },
    ]);
    assert.equal((tree.get('usr/lib/ld-linux.so.2') as { target: string }).target, '/lib32/ld-linux.so.2');
  });
});
