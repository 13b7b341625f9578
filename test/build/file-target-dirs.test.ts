// A directory source copied into a directory the image already has (a package's /tmp, a base image's
// /etc) leaves that directory's owner and mode as they are, as COPY leaves its destination's: copying
// a file into /tmp/ made it 0755, so a non-root container could no longer write there.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { specFilesTree } from '../../src/build/assemble.js';
import { refuseHidingDirectories } from '../../src/build/file-targets.js';
import { openDecompressed } from '../../src/compress/index.js';
import { loadSpec } from '../../src/spec/index.js';
import { readTar } from '../../src/tar/index.js';
import { parseReference, readImageSet, walkImageSet } from '../../src/transport/index.js';
import { bytesOpener } from '../../src/vfs/node.js';
import { FileTree } from '../../src/vfs/tree.js';
import { assertOk, runImprint } from '../helpers/cli.js';

describe('the target directory of a directory source', async () => {
  const work = await mkdtemp(join(tmpdir(), 'imprint-target-dirs-'));
  after(() => rm(work, { recursive: true, force: true }));

  /** A spec directory `name` with a source directory `seed/` holding `sub/file`. */
  const spec = async (name: string, lines: string[]) => {
    const dir = join(work, name);
    await mkdir(join(dir, 'seed', 'sub'), { recursive: true });
    await writeFile(join(dir, 'seed', 'sub', 'file'), 'x');
    await writeFile(
      join(dir, 'imprint.yaml'),
      ['version: 1', 'platforms: [linux/amd64]', ...lines, ''].join('\n'),
    );
    return dir;
  };

  it("keeps the owner and mode of a directory the packages have there; makes a new one the entry's", async () => {
    const dir = await spec('over-packages', [
      'files:',
      '  - {source: seed/, target: /tmp/, owner: "7:8", dirMode: "0700"}',
      '  - {source: seed/, target: /etc/, owner: "7:8"}',
      '  - {source: seed/, target: /opt/app/, owner: "7:8", dirMode: "0750"}',
    ]);
    const files = await specFilesTree(await loadSpec(dir), 42);
    // The packages' tree, as assemble lays the files over it.
    const upper = new FileTree({ mode: 0o755, uid: 0, gid: 0, mtime: 1 });
    upper.add('tmp', { kind: 'dir', mode: 0o1777, uid: 0, gid: 0, mtime: 1, origin: 'base-files' });
    upper.add('etc/sub', { kind: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 1, origin: 'base-files' });
    upper.overlay(files);
    const meta = (key: string) => {
      const n = upper.get(key)!;
      return [n.mode.toString(8), n.uid, n.gid];
    };
    assert.deepEqual(meta('tmp'), ['1777', 0, 0]);
    assert.deepEqual(meta('etc'), ['755', 0, 0]);
    assert.deepEqual(meta('opt/app'), ['750', 7, 8]);
    assert.deepEqual(meta('opt'), ['755', 0, 0]);
    // The source's own subdirectories are the entry's, also where the image has one (as COPY's are).
    assert.deepEqual(meta('tmp/sub'), ['700', 7, 8]);
    assert.deepEqual(meta('etc/sub'), ['755', 7, 8]);
    assert.deepEqual(meta('etc/sub/file'), ['644', 7, 8]);
  });

  it('names the entry of an empty source whose target is a package file', async () => {
    const dir = await spec('empty-over-file', [
      'files:',
      '  - {source: seed/, target: /srv/}',
      '  - {source: empty/, target: /etc/motd/}',
    ]);
    await mkdir(join(dir, 'empty'));
    const loaded = await loadSpec(dir);
    const files = await specFilesTree(loaded, 0);
    const lower = new FileTree({ mode: 0o755, uid: 0, gid: 0, mtime: 0 });
    lower.add('etc/motd', {
      kind: 'file',
      size: 0,
      content: bytesOpener(Buffer.alloc(0)),
      mode: 0o644,
      uid: 0,
      gid: 0,
      mtime: 0,
      origin: 'base-files',
    });
    const entries = loaded.spec.files.map((f, i) => ({ label: `files[${i}].target`, target: f.target }));
    assert.throws(() => refuseHidingDirectories(lower, files, entries), {
      code: 'VFS_CONFLICT',
      message:
        /^files\[1\]\.target: \/etc\/motd is a file from base-files; files\[1\] would replace it with a directory/,
    });
  });

  it("keeps a base image's /tmp world-writable under a file copied into it", async () => {
    const imprint = (args: string[]) =>
      runImprint(['--cache-dir', join(work, 'cache'), ...args], { env: { SOURCE_DATE_EPOCH: '1700000000' } });
    const base = await spec('base', ['files:', '  - {source: seed/, target: /tmp/, dirMode: "1777"}']);
    assertOk(await imprint(['build', base, '-o', `oci:${join(work, 'base-out')}`, '--no-attest']), 'base');
    const app = await spec('app', [
      'base: oci:../base-out:latest',
      'files:',
      '  - {source: seed/, target: /tmp/}',
    ]);
    await writeFile(join(app, 'seed', 'sub', 'file'), 'changed');
    const out = join(work, 'app-out');
    assertOk(await imprint(['build', app, '-o', `oci:${out}`, '--no-attest']), 'app');
    const set = await readImageSet(parseReference(`oci:${out}`));
    const layers = (await walkImageSet(set)).images[0]!.manifest.layers;
    assert.equal(layers.length, 2);
    const modes = new Map<string, string>();
    const { stream } = await openDecompressed(await set.blobs.open(layers[1]!), { what: 'top layer' });
    for await (const e of readTar(stream, { archive: 'top layer' })) {
      modes.set(e.path, `${e.mode.toString(8)} ${e.uid}:${e.gid}`);
      for await (const _ of e.body);
    }
    assert.equal(modes.get('tmp/'), '1777 0:0');
    assert.equal(modes.get('tmp/sub/file'), '644 0:0');
  });
});
