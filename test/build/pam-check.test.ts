// A PAM service including a file the image lacks (sudo without libpam-runtime's common-*) is refused
// by libpam at run time ("sudo: unable to initialize PAM"); the build warns.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { pamIncludeNotes } from '../../src/build/pam-check.js';
import type { FileTree } from '../../src/vfs/tree.js';
import { buildDir } from '../helpers/build-dir.js';
import { memTree } from '../helpers/mem-tree.js';

// sudo 1.9.13's /etc/pam.d/sudo (bookworm).
const SUDO_PAM =
  '#%PAM-1.0\n\nsession    required   pam_limits.so\n\n@include common-auth\n@include common-account\n@include common-session-noninteractive\n';

const pamTree = (files: Record<string, string>): FileTree =>
  memTree(Object.fromEntries(Object.entries(files).map(([name, text]) => [`/etc/pam.d/${name}`, text])));

describe('PAM include check', () => {
  test('services including missing common-* files are named once, with libpam-runtime as the fix', async () => {
    const notes = await pamIncludeNotes(
      pamTree({ sudo: SUDO_PAM, 'sudo-i': '@include sudo\n', other: 'auth substack custom-stack\n' }),
    );
    assert.equal(notes.length, 1);
    assert.match(
      notes[0]!,
      /^the PAM configuration of other, sudo includes \/etc\/pam\.d\/common-account, \/etc\/pam\.d\/common-auth, \/etc\/pam\.d\/common-session-noninteractive, \/etc\/pam\.d\/custom-stack, which the image lacks/,
    );
    assert.match(notes[0]!, /add the package that ships them/);
    const [common] = await pamIncludeNotes(pamTree({ sudo: SUDO_PAM, passwd: '@include common-password\n' }));
    assert.doesNotMatch(
      common!,
      /passwd/,
      "passwd's own tools (adduser's dependency everywhere) are not named",
    );
    assert.match(common!, /unable to initialize PAM.*add libpam-runtime to packages/);
  });

  test("every include present, only the passwd package's services, or no PAM at all: no warning", async () => {
    assert.deepEqual(
      await pamIncludeNotes(
        pamTree({ chfn: '@include common-auth\n', passwd: '@include common-password\n' }),
      ),
      [],
    );
    const files = {
      sudo: SUDO_PAM,
      'common-auth': '',
      'common-account': '',
      'common-session-noninteractive': '',
    };
    assert.deepEqual(await pamIncludeNotes(pamTree(files)), []);
    assert.deepEqual(await pamIncludeNotes(memTree()), []);
  });

  test('a build warns about it', async () => {
    const work = await mkdtemp(join(tmpdir(), 'imprint-pam-'));
    try {
      const dir = join(work, 'spec');
      await mkdir(join(dir, 'pam.d'), { recursive: true });
      await writeFile(join(dir, 'pam.d', 'sudo'), SUDO_PAM);
      const yaml = [
        'version: 1',
        'platforms: [linux/amd64]',
        'files:',
        '  - {source: pam.d/, target: /etc/pam.d/}',
        '',
      ];
      await writeFile(join(dir, 'imprint.yaml'), yaml.join('\n'));
      const build = async () => (await buildDir(dir, join(work, 'cache'))).warnings;
      const first = await build();
      assert.equal(first.filter((w) => w.includes('unable to initialize PAM')).length, 1);
      assert.deepEqual(await build(), first, 'the cached layers repeat it');
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });
});
