// The build warns when the config's env names a locale the image's glibc would not find: glibc then
// runs every program in the C locale, and bash and perl complain at each start. C.UTF-8 comes with
// libc-bin only; other locales with locales-all (imprint runs no locale-gen).
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { localeCandidates, localeNotes } from '../../src/build/locale-check.js';
import { runCheckInputs } from '../../src/build/run-check.js';
import type { ContainerConfig } from '../../src/oci/types.js';
import { bytesOpener } from '../../src/vfs/node.js';
import { FileTree } from '../../src/vfs/tree.js';
import { buildDir } from '../helpers/build-dir.js';

const meta = { mode: 0o755, uid: 0, gid: 0, mtime: 0 };

/** A tree with glibc (unless `libc` is false) and the given compiled-locale directories. */
function image(locales: string[], opts: { libc?: boolean; files?: string[] } = {}): FileTree {
  const t = new FileTree(meta);
  const file = (path: string) =>
    t.add(path, { kind: 'file', size: 1, content: bytesOpener(Buffer.from('x')), ...meta, mode: 0o644 });
  if (opts.libc !== false) file('/usr/lib/x86_64-linux-gnu/libc.so.6');
  for (const name of locales) file(`/usr/lib/locale/${name}/LC_CTYPE`);
  for (const path of opts.files ?? []) file(path);
  return t;
}

const env = (...vars: string[]): ContainerConfig => ({ Env: ['PATH=/usr/bin', ...vars] });
const AMD64 = 'linux/amd64';

describe('locale check', () => {
  test('C.UTF-8 without libc-bin: a warning that names libc-bin', () => {
    const [note, ...rest] = localeNotes(image([]), env('LANG=C.UTF-8'), AMD64);
    assert.deepEqual(rest, []);
    assert.match(note!, /env LANG=C\.UTF-8 \(linux\/amd64\) names a locale the image does not have/);
    assert.match(note!, /no \/usr\/lib\/locale\/C\.utf8/);
    assert.match(note!, /add libc-bin/);
    assert.deepEqual(localeNotes(image(['C.utf8']), env('LANG=C.UTF-8'), AMD64), []);
  });

  test('a locale that was never compiled: one warning per value, naming every variable; locales-all found', () => {
    const config = env('LANG=de_DE.UTF-8', 'LC_ALL=de_DE.UTF-8', 'LC_TIME=C', 'LANGUAGE=de');
    const notes = localeNotes(image(['C.utf8']), config, AMD64);
    assert.equal(notes.length, 1);
    assert.match(notes[0]!, /env LC_ALL=de_DE\.UTF-8, LANG=de_DE\.UTF-8 /);
    assert.match(notes[0]!, /add locales-all/);
    // locales-all ships de_DE.utf8 (the normalised codeset), which glibc finds for de_DE.UTF-8
    assert.deepEqual(localeNotes(image(['de_DE.utf8']), config, AMD64), []);
    assert.deepEqual(localeNotes(image(['en_US.utf8']), env('LANG=en_US.UTF-8@x'), AMD64), []);
  });

  test('no warning without glibc, with LOCPATH, with a locale-archive, or for C and POSIX', () => {
    assert.deepEqual(localeNotes(image([], { libc: false }), env('LANG=C.UTF-8'), AMD64), []);
    assert.deepEqual(localeNotes(image([]), env('LANG=de_DE.UTF-8', 'LOCPATH=/app/locale'), AMD64), []);
    const archive = image([], { files: ['/usr/lib/locale/locale-archive'] });
    assert.deepEqual(localeNotes(archive, env('LANG=de_DE.UTF-8'), AMD64), []);
    assert.deepEqual(localeNotes(image([]), env('LANG=C', 'LC_ALL=POSIX', 'LC_CTYPE='), AMD64), []);
  });

  test('the directories glibc tries: normalised codeset first, then less specific names', () => {
    assert.deepEqual(localeCandidates('de_DE.UTF-8'), [
      'de_DE.utf8',
      'de_DE.UTF-8',
      'de_DE',
      'de.utf8',
      'de.UTF-8',
      'de',
    ]);
    assert.deepEqual(localeCandidates('en_IE.ISO-8859-15@euro')[0], 'en_IE.iso885915@euro');
    assert.deepEqual(localeCandidates('ru_RU.KOI8-R').slice(0, 2), ['ru_RU.koi8r', 'ru_RU.KOI8-R']);
    assert.deepEqual(localeCandidates('C.UTF-8'), ['C.utf8', 'C.UTF-8', 'C']);
  });

  test('the locale variables are inputs of the cached run check', () => {
    assert.notEqual(runCheckInputs(env('LANG=C.UTF-8')), runCheckInputs(env('LANG=de_DE.UTF-8')));
  });

  test('a build warns about its env, and a cached rebuild again', async () => {
    const work = await mkdtemp(join(tmpdir(), 'imprint-locale-check-'));
    try {
      const dir = join(work, 'spec');
      await mkdir(join(dir, 'lib'), { recursive: true });
      await writeFile(join(dir, 'lib', 'libc.so.6'), 'x');
      const build = async (lang: string) => {
        const yaml = [
          'version: 1',
          'platforms: [linux/amd64]',
          'files:',
          '  - {source: lib/libc.so.6, target: /usr/lib/x86_64-linux-gnu/libc.so.6}',
          `env: {LANG: ${lang}}`,
          '',
        ];
        await writeFile(join(dir, 'imprint.yaml'), yaml.join('\n'));
        return (await buildDir(dir, join(work, 'cache'))).warnings;
      };
      const first = await build('C.UTF-8');
      assert.equal(first.filter((w) => w.includes('LANG=C.UTF-8')).length, 1);
      assert.deepEqual(await build('C.UTF-8'), first, 'the cached layers repeat it');
      assert.ok(!(await build('C')).some((w) => w.includes('locale')), 'not for another env');
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });
});
