// The spec's workdir is made by the build when the image lacks it, as Dockerfile's WORKDIR does
// (root-owned 0755, parents too, the epoch's mtime); a file or a dangling link there is an error naming
// the field. A base image's inherited workdir the image lacks is made by the runtime at start,
// root-owned under Docker and Kubernetes but the user's under Podman: the build says so.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { configNotes } from '../../src/build/run-check.js';
import { makeWorkdir, workdirNotes } from '../../src/build/workdir-check.js';
import { openDecompressed } from '../../src/compress/index.js';
import { isImprintError } from '../../src/errors.js';
import { readTar } from '../../src/tar/index.js';
import { parseReference, readImageSet, walkImageSet } from '../../src/transport/index.js';
import type { FileTree } from '../../src/vfs/tree.js';
import { assertOk, runImprint } from '../helpers/cli.js';
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

const SPEC = { file: '/spec/imprint.yaml' };

describe('makeWorkdir', () => {
  test('makes a missing workdir and its parents root-owned 0755 at the epoch, through symlinks', () => {
    const t = image();
    makeWorkdir(t, '/srv/data/cache', 1700000000, SPEC);
    const made = (k: string) => {
      const n = t.get(k)!;
      return [n.kind, n.mode.toString(8), n.uid, n.gid, n.mtime];
    };
    assert.deepEqual(made('srv/data'), ['dir', '755', 0, 0, 1700000000]);
    assert.deepEqual(made('srv/data/cache'), ['dir', '755', 0, 0, 1700000000]);
    assert.deepEqual(made('srv/app'), ['dir', '755', 0, 0, 0], 'an existing parent keeps its metadata');
    makeWorkdir(t, '/lib/app', 5, SPEC);
    assert.equal(t.get('usr/lib/app')?.kind, 'dir');
    assert.equal(t.get('lib')?.kind, 'symlink', 'the link stays');
  });

  test('leaves an existing workdir (also through a link) and the root alone', () => {
    for (const dir of ['/srv/app', '/lib', '/', undefined]) {
      const t = image();
      const before = [...t.keys()].map((k) => [k, t.get(k)]);
      makeWorkdir(t, dir, 9, SPEC);
      assert.deepEqual(
        [...t.keys()].map((k) => [k, t.get(k)]),
        before,
        String(dir),
      );
    }
  });

  test('a file, or a link to nowhere, on the way is SPEC_INVALID naming workdir', () => {
    const t = image();
    t.add('/data', {
      kind: 'symlink',
      target: '/nowhere/deep',
      mode: 0o777,
      ...ROOT_META,
      origin: 'files[0]',
    });
    for (const [dir, text] of [
      ['/etc/motd', /workdir: \/etc\/motd is a file, not a directory/],
      ['/etc/motd/x', /workdir: \/etc\/motd, a parent of \/etc\/motd\/x, is a file/],
      [
        '/data',
        /workdir: \/data is a symbolic link to \/nowhere\/deep, which does not exist in the image \(from files\[0\]\)/,
      ],
      ['/data/x', /\/data, a parent of \/data\/x, is a symbolic link/],
    ] as const)
      assert.throws(
        () => makeWorkdir(t, dir, 0, SPEC),
        (err: unknown) =>
          isImprintError(err, 'SPEC_INVALID') && text.test(err.message) && err.details.field === 'workdir',
        dir,
      );
    assert.equal(t.get('nowhere'), undefined, 'nothing made behind the dangling link');
  });

  test('a link loop is SPEC_INVALID naming workdir', () => {
    const t = image();
    t.add('/a', { kind: 'symlink', target: 'b', mode: 0o777, ...ROOT_META });
    t.add('/b', { kind: 'symlink', target: 'a', mode: 0o777, ...ROOT_META });
    assert.throws(
      () => makeWorkdir(t, '/a/x', 0, SPEC),
      (err: unknown) => isImprintError(err, 'SPEC_INVALID') && /workdir: .*loop/.test(err.message),
    );
  });
});

describe('workdir in a built image', async () => {
  const work = await mkdtemp(join(tmpdir(), 'imprint-workdir-'));
  after(() => rm(work, { recursive: true, force: true }));

  test('the spec workdir the files lack is in the top layer, and no longer warned about', async () => {
    await mkdir(join(work, 'spec'));
    await writeFile(
      join(work, 'spec', 'imprint.yaml'),
      'version: 1\nplatforms: [linux/amd64]\nfiles: [{source: imprint.yaml, target: /etc/x}]\nworkdir: /srv/data\n',
    );
    const out = join(work, 'out');
    const r = await runImprint(
      ['--cache-dir', join(work, 'cache'), 'build', join(work, 'spec'), '-o', `oci:${out}`, '--no-attest'],
      { env: { SOURCE_DATE_EPOCH: '1700000000' } },
    );
    assertOk(r, 'build');
    assert.doesNotMatch(r.stderr, /workdir/);
    const set = await readImageSet(parseReference(`oci:${out}`));
    const layer = (await walkImageSet(set)).images[0]!.manifest.layers.at(-1)!;
    const { stream } = await openDecompressed(await set.blobs.open(layer), { what: layer.digest });
    const entries: string[] = [];
    for await (const e of readTar(stream, { archive: layer.digest })) {
      for await (const _ of e.body);
      if (e.path.startsWith('srv'))
        entries.push(`${e.path} ${e.type} ${e.mode.toString(8)} ${e.uid}:${e.gid} ${e.mtime}`);
    }
    assert.deepEqual(entries, ['srv/ dir 755 0:0 1700000000', 'srv/data/ dir 755 0:0 1700000000']);
  });
});
