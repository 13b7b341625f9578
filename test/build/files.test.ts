// files[]: modes of copied files and of the directories a directory source creates.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFile, chmod, mkdir, mkdtemp, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { specFilesTree } from '../../src/build/assemble.js';
import { isImprintError } from '../../src/errors.js';
import { loadSpec } from '../../src/spec/index.js';

describe('specFilesTree', async () => {
  const work = await mkdtemp(join(tmpdir(), 'imprint-files-'));
  after(() => rm(work, { recursive: true, force: true }));

  it('gives files their mode (or 0644/0755 from the owner-execute bit) and directories dirMode (or 0755)', async () => {
    await mkdir(join(work, 'tree', 'sub'), { recursive: true });
    await writeFile(join(work, 'tree', 'sub', 'run.sh'), '#!/bin/sh\n');
    await chmod(join(work, 'tree', 'sub', 'run.sh'), 0o700);
    await writeFile(join(work, 'tree', 'data'), 'x');
    await writeFile(
      join(work, 'imprint.yaml'),
      [
        'version: 1',
        'files:',
        '  - {source: tree/, target: /tmp/, dirMode: "1777"}',
        '  - {source: tree/, target: /opt/app/, mode: "0600", owner: "7:8"}',
        '',
      ].join('\n'),
    );
    const tree = await specFilesTree(await loadSpec(work), 42);
    const meta = (p: string) => {
      const n = tree.get(p)!;
      return [n.kind, n.mode.toString(8), n.uid, n.gid, n.mtime];
    };
    assert.deepEqual(meta('tmp'), ['dir', '1777', 0, 0, 42]);
    assert.deepEqual(meta('tmp/sub'), ['dir', '1777', 0, 0, 42]);
    assert.deepEqual(meta('tmp/sub/run.sh'), ['file', '755', 0, 0, 42]);
    assert.deepEqual(meta('tmp/data'), ['file', '644', 0, 0, 42]);
    assert.deepEqual(meta('opt'), ['dir', '755', 0, 0, 42]); // parents the copy creates belong to root
    assert.deepEqual(meta('opt/app'), ['dir', '755', 7, 8, 42]);
    assert.deepEqual(meta('opt/app/sub/run.sh'), ['file', '600', 7, 8, 42]);
  });

  it('refuses dirMode on a file source (the directory above it would silently stay 0755), naming the field', async () => {
    const dir = join(work, 'file-dirmode');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'a'), 'a');
    await writeFile(
      join(dir, 'imprint.yaml'),
      'version: 1\nfiles:\n  - {source: a, target: /sticky/, dirMode: "1777"}\n',
    );
    await assert.rejects(specFilesTree(await loadSpec(dir), 0), (err: unknown) => {
      assert.ok(isImprintError(err, 'SPEC_INVALID'), String(err));
      assert.match(err.message, /imprint\.yaml:3:44: files\[0\]\.dirMode: .*\/a is a file/);
      assert.equal(err.details.field, 'files[0].dirMode');
      return true;
    });
  });

  it('keeps relative symlinks that stay inside the image, and rejects one that climbs above its root', async () => {
    const dir = join(work, 'links');
    await mkdir(join(dir, 'd'), { recursive: true });
    await symlink('../x', join(dir, 'd', 'ok')); // /a/b/ok -> /a/x
    await symlink('../../etc/passwd', join(dir, 'd', 'root')); // /a/b/root -> /etc/passwd
    await symlink('/etc/passwd', join(dir, 'd', 'abs'));
    const yaml = (target: string) =>
      writeFile(join(dir, 'imprint.yaml'), `version: 1\nfiles: [{source: d/, target: ${target}}]\n`);
    await yaml('/a/b/');
    const tree = await specFilesTree(await loadSpec(dir), 0);
    assert.equal(tree.get('a/b/ok')?.kind, 'symlink');
    assert.equal(tree.get('a/b/root')?.kind, 'symlink');
    await yaml('/a/');
    await assert.rejects(specFilesTree(await loadSpec(dir), 0), (err: unknown) => {
      assert.ok(isImprintError(err, 'SPEC_INVALID'));
      assert.match(
        err.message,
        /^\/.*\/imprint\.yaml:2:18: files\[0\]\.source: the symlink .*d\/root -> \.\.\/\.\.\/etc\/passwd would point above/,
      );
      return true;
    });
  });

  it('reports a file placed below links that form a loop as a loop, naming the links', async () => {
    const dir = join(work, 'loop');
    await mkdir(join(dir, 'links'), { recursive: true });
    await symlink('b', join(dir, 'links', 'a'));
    await symlink('a', join(dir, 'links', 'b'));
    await writeFile(join(dir, 'x'), 'x');
    await writeFile(
      join(dir, 'imprint.yaml'),
      'version: 1\nfiles:\n  - {source: links/, target: /}\n  - {source: x, target: /a/x}\n',
    );
    await assert.rejects(specFilesTree(await loadSpec(dir), 0), (err: unknown) => {
      assert.ok(isImprintError(err, 'VFS_SYMLINK_LOOP'), String(err));
      assert.match(
        err.message,
        /^\/.*\/imprint\.yaml:4:25: files\[1\]\.target: \/a\/x leads nowhere: the symbolic links \/a -> b \(from files\[0\]\), \/b -> a \(from files\[0\]\) form a loop$/,
      );
      assert.equal(err.details.field, 'files[1].target');
      assert.doesNotMatch(err.hint ?? '', /Two inputs write the same path/);
      return true;
    });
  });

  it("places a target through the links an earlier entry made (merged /usr from files), as through a package's", async () => {
    const dir = join(work, 'through-links');
    await mkdir(join(dir, 'links', 'var'), { recursive: true });
    await mkdir(join(dir, 'links', 'usr', 'lib'), { recursive: true });
    await mkdir(join(dir, 'app'), { recursive: true });
    await symlink('usr/lib', join(dir, 'links', 'lib'));
    await symlink('lib', join(dir, 'links', 'chain')); // chain -> lib -> usr/lib
    await symlink('../run', join(dir, 'links', 'var', 'run'));
    await writeFile(join(dir, 'app', 'a'), 'a');
    await writeFile(join(dir, 'x'), 'x');
    await writeFile(
      join(dir, 'imprint.yaml'),
      [
        'version: 1',
        'files:',
        '  - {source: links/, target: /}',
        '  - {source: x, target: /lib/x}',
        '  - {source: x, target: /chain/}',
        '  - {source: app/, target: /lib/app/}',
        '  - {source: app/, target: /var/run/}',
        '',
      ].join('\n'),
    );
    const tree = await specFilesTree(await loadSpec(dir), 0);
    assert.equal(tree.get('lib')?.kind, 'symlink');
    assert.equal(tree.get('usr/lib/x')?.origin, 'files[2]');
    assert.equal(tree.get('usr/lib/app/a')?.origin, 'files[3]');
    assert.equal(tree.get('run/a')?.origin, 'files[4]');
    assert.equal(tree.get('var/run')?.kind, 'symlink');
    // A directory source's own lib/ goes through the link too (a rootfs/ copied over merged /usr).
    await mkdir(join(dir, 'rootfs', 'lib', 'sub'), { recursive: true });
    await writeFile(join(dir, 'rootfs', 'lib', 'sub', 'libx.so'), 'elf');
    await appendFile(join(dir, 'imprint.yaml'), '  - {source: rootfs/, target: /}\n');
    const over = await specFilesTree(await loadSpec(dir), 0);
    assert.equal(over.get('lib')?.kind, 'symlink');
    assert.equal(over.get('usr/lib/sub/libx.so')?.origin, 'files[5]');
  });

  it("refuses a source that holds the build's own output layout (<spec dir>/out), which would grow every build", async () => {
    const dir = join(work, 'self');
    await mkdir(join(dir, 'out', 'blobs'), { recursive: true });
    await writeFile(join(dir, 'main.py'), 'print(1)\n');
    await writeFile(join(dir, 'imprint.yaml'), 'version: 1\nfiles: [{source: ./, target: /app/}]\n');
    // A directory named out that is not a layout is just content.
    const tree = await specFilesTree(await loadSpec(dir), 0);
    assert.equal(tree.get('app/out/blobs')?.kind, 'dir');
    await writeFile(join(dir, 'out', 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
    await assert.rejects(specFilesTree(await loadSpec(dir), 0), (err: unknown) => {
      assert.ok(isImprintError(err, 'SPEC_INVALID'));
      assert.match(
        err.message,
        /^\/.*\/imprint\.yaml:2:18: files\[0\]\.source: includes .*\/out, the OCI layout imprint writes by default/,
      );
      return true;
    });
  });

  it('names a file whose name is not UTF-8 text (image paths are UTF-8) instead of failing to stat a mangled name', async () => {
    const dir = join(work, 'latin1');
    await mkdir(join(dir, 'app'), { recursive: true });
    const name = Buffer.from('caf\xe9 menu.txt', 'latin1');
    await writeFile(Buffer.concat([Buffer.from(join(dir, 'app/')), name]), 'x');
    await writeFile(join(dir, 'imprint.yaml'), 'version: 1\nfiles: [{source: app/, target: /app/}]\n');
    await assert.rejects(specFilesTree(await loadSpec(dir), 0), (err: unknown) => {
      assert.ok(isImprintError(err, 'SPEC_INVALID'), String(err));
      assert.match(
        err.message,
        /^\/.*\/imprint\.yaml:2:18: files\[0\]\.source: .*\/app\/ holds a file whose name is not UTF-8 text: "caf\\xe9 menu\.txt"$/,
      );
      assert.match(err.hint ?? '', /rename the file/);
      return true;
    });
  });

  it('names a symlink whose target is not UTF-8 text instead of writing a link to a mangled (U+FFFD) name', async () => {
    const dir = join(work, 'latin1-link');
    await mkdir(join(dir, 'app'), { recursive: true });
    await symlink(Buffer.from('caf\xe9.txt', 'latin1'), join(dir, 'app', 'menu'));
    await writeFile(join(dir, 'imprint.yaml'), 'version: 1\nfiles: [{source: app/, target: /app/}]\n');
    await assert.rejects(specFilesTree(await loadSpec(dir), 0), (err: unknown) => {
      assert.ok(isImprintError(err, 'SPEC_INVALID'), String(err));
      assert.match(
        err.message,
        /^\/.*\/imprint\.yaml:2:18: files\[0\]\.source: the symlink .*\/app\/menu points to "caf\\xe9\.txt", which is not UTF-8 text$/,
      );
      assert.match(err.hint ?? '', /point the link at a UTF-8 name/);
      return true;
    });
  });

  it('refuses a file entry that would replace a directory an earlier entry filled (a target missing its trailing /)', async () => {
    const dir = join(work, 'into');
    await mkdir(join(dir, 'conf.d'), { recursive: true });
    await writeFile(join(dir, 'conf.d', 'a.conf'), 'a');
    await writeFile(join(dir, 'b.conf'), 'b');
    const yaml = (target: string) =>
      writeFile(
        join(dir, 'imprint.yaml'),
        `version: 1\nfiles:\n  - {source: conf.d/, target: /etc/app/}\n  - {source: b.conf, target: ${target}}\n`,
      );
    await yaml('/etc/app');
    await assert.rejects(specFilesTree(await loadSpec(dir), 0), (err: unknown) => {
      assert.ok(isImprintError(err, 'VFS_CONFLICT'), String(err));
      assert.equal(
        err.message,
        `${join(dir, 'imprint.yaml')}:4:30: files[1].target: /etc/app is a directory from files[0] holding 1 entry (e.g. /etc/app/a.conf); files[1] would replace it with a file and drop them`,
      );
      assert.match(err.hint ?? '', /end the target with a slash: target: \/etc\/app\//);
      return true;
    });
    await yaml('/etc/app/');
    const tree = await specFilesTree(await loadSpec(dir), 0);
    assert.deepEqual(tree.childKeys('etc/app'), ['etc/app/a.conf', 'etc/app/b.conf']);
    await yaml('/etc/app/a.conf'); // a file over a file: the later entry wins
    assert.equal((await specFilesTree(await loadSpec(dir), 0)).get('etc/app/a.conf')?.kind, 'file');
  });

  it("lets a symlink of a later directory source replace an earlier entry's file or link, as a later file does", async () => {
    const dir = join(work, 'link-over');
    await mkdir(join(dir, 'links', 'full'), { recursive: true });
    await writeFile(join(dir, 'x'), 'x');
    await symlink('x', join(dir, 'links', 'cfg'));
    await writeFile(join(dir, 'links', 'full', 'f'), 'f');
    await writeFile(
      join(dir, 'imprint.yaml'),
      [
        'version: 1',
        'files:',
        '  - {source: x, target: /app/cfg}',
        '  - {source: links/, target: /app/}',
        '  - {source: links/, target: /app/}', // the same directory again: its link over its own link
        '',
      ].join('\n'),
    );
    const tree = await specFilesTree(await loadSpec(dir), 0);
    const cfg = tree.get('app/cfg');
    assert.equal(cfg?.kind === 'symlink' && cfg.target, 'x');
    assert.equal(cfg?.origin, 'files[2]');
    // A link still never replaces a directory that has content.
    await mkdir(join(dir, 'over'));
    await symlink('elsewhere', join(dir, 'over', 'full'));
    await writeFile(
      join(dir, 'imprint.yaml'),
      'version: 1\nfiles:\n  - {source: links/, target: /app/}\n  - {source: over/, target: /app/}\n',
    );
    await assert.rejects(specFilesTree(await loadSpec(dir), 0), (err: unknown) => {
      assert.ok(isImprintError(err, 'VFS_CONFLICT'), String(err));
      assert.match(
        err.message,
        /files\[1\]\.target: \/app\/full is a directory from files\[0\] holding 1 entry/,
      );
      return true;
    });
  });

  it('names the entry (its target and line) that needs as a directory a file an earlier entry wrote', async () => {
    const dir = join(work, 'file-as-dir');
    await mkdir(join(dir, 'conf.d'), { recursive: true });
    await writeFile(join(dir, 'a'), 'a');
    await writeFile(join(dir, 'conf.d', 'x.conf'), 'x');
    const yaml = (second: string) =>
      writeFile(
        join(dir, 'imprint.yaml'),
        `version: 1\nfiles:\n  - {source: a, target: /a}\n  - ${second}\n`,
      );
    for (const second of ['{source: a, target: /a/}', '{source: conf.d/, target: /a/b/}']) {
      await yaml(second);
      await assert.rejects(specFilesTree(await loadSpec(dir), 0), (err: unknown) => {
        assert.ok(isImprintError(err, 'VFS_CONFLICT'), String(err));
        assert.match(
          err.message,
          new RegExp(
            `^${join(dir, 'imprint.yaml')}:4:\\d+: files\\[1\\]\\.target: /a is a file from files\\[0\\], not a directory`,
          ),
        );
        assert.equal(err.details.field, 'files[1].target');
        return true;
      });
    }
  });

  it('fails, naming the entry and the file, when a source file changes after the walk (the cache key would not describe the layer)', async () => {
    const dir = join(work, 'changing');
    await mkdir(join(dir, 'app'), { recursive: true });
    await writeFile(join(dir, 'app', 'small'), 'original');
    await writeFile(join(dir, 'app', 'large'), Buffer.alloc(3 << 20, 1));
    await writeFile(join(dir, 'imprint.yaml'), 'version: 1\nfiles: [{source: app/, target: /app/}]\n');
    const tree = await specFilesTree(await loadSpec(dir), 0);
    const drain = async (path: string) => {
      const node = tree.get(path);
      assert.ok(node?.kind === 'file');
      for await (const _ of await node.content());
      return node;
    };
    await drain('app/small'); // unchanged: reads fine, as often as asked
    await drain('app/large');
    const changed = (err: unknown) => {
      assert.ok(isImprintError(err, 'IO'), String(err));
      assert.match(
        err.message,
        /imprint\.yaml:2:18: files\[0\]\.source: .*\/app\/(small|large) changed during the build/,
      );
      assert.match(err.hint ?? '', /Build again/);
      return true;
    };
    // Same size, new bytes (an editor saving): the stamp's mtime tells.
    await writeFile(join(dir, 'app', 'small'), 'ORIGINAL');
    await utimes(join(dir, 'app', 'small'), 1, 1);
    assert.equal(
      (tree.get('app/small') as { content: { sync?: () => unknown } }).content.sync?.(),
      undefined,
    );
    await assert.rejects(drain('app/small'), changed);
    await appendFile(join(dir, 'app', 'large'), 'more');
    await assert.rejects(drain('app/large'), changed);
  });

  it('refuses a FIFO in a source with a hint the spec can follow', async () => {
    const dir = join(work, 'fifo');
    await mkdir(join(dir, 'app'), { recursive: true });
    execFileSync('mkfifo', [join(dir, 'app', 'pipe')]);
    await writeFile(join(dir, 'imprint.yaml'), 'version: 1\nfiles: [{source: app/, target: /app/}]\n');
    await assert.rejects(specFilesTree(await loadSpec(dir), 0), (err: unknown) => {
      assert.ok(isImprintError(err, 'SPEC_INVALID'), String(err));
      assert.match(
        err.message,
        /files\[0\]\.source: .*\/app\/pipe is not a regular file, directory or symlink$/,
      );
      assert.match(err.hint ?? '', /move it out of the source/);
      assert.doesNotMatch(err.hint ?? '', /create devices in the image/);
      return true;
    });
  });

  it('names a file copied into a directory as the source is written, also when the source is a link', async () => {
    const dir = join(work, 'named');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'app-2.1.conf'), 'v2');
    await symlink('app-2.1.conf', join(dir, 'app.conf'));
    await writeFile(join(dir, 'imprint.yaml'), 'version: 1\nfiles: [{source: app.conf, target: /etc/}]\n');
    const tree = await specFilesTree(await loadSpec(dir), 0);
    assert.equal(tree.get('etc/app.conf')?.kind, 'file');
    assert.equal(tree.get('etc/app-2.1.conf'), undefined);
  });

  it('refuses a source that holds the cache or an output of the build, even before they exist (the image would hold earlier builds)', async () => {
    const dir = join(work, 'own');
    await mkdir(join(dir, 'app'), { recursive: true });
    await writeFile(join(dir, 'app', 'main.py'), 'print(1)\n');
    await writeFile(join(dir, 'imprint.yaml'), 'version: 1\nfiles: [{source: ./, target: /app/}]\n');
    const loaded = await loadSpec(dir);
    const refused = (what: RegExp) => (err: unknown) => {
      assert.ok(isImprintError(err, 'SPEC_INVALID'), String(err));
      assert.match(err.message, /imprint\.yaml:2:18: files\[0\]\.source: includes /);
      assert.match(err.message, what);
      assert.match(err.hint ?? '', /--cache-dir, -o elsewhere/);
      return true;
    };
    const elsewhere = join(work, 'elsewhere');
    const cacheDir = join(dir, '.cache');
    const cache = { store: join(elsewhere, 'blobs'), cacheDir, outputs: [] };
    await assert.rejects(
      specFilesTree(loaded, 0, cache),
      refused(/\/own\/\.cache, imprint's cache directory/),
    );
    await mkdir(cacheDir);
    await assert.rejects(specFilesTree(loaded, 0, cache), refused(/\.cache/));
    const archive = { path: join(dir, 'dist', 'img.tar'), what: 'the output oci-archive:dist/img.tar' };
    const output = { store: elsewhere, cacheDir: elsewhere, outputs: [archive] };
    await assert.rejects(specFilesTree(loaded, 0, output), refused(/dist\/img\.tar, the output/));
    // Paths outside the copied directory are no concern.
    await writeFile(join(dir, 'imprint.yaml'), 'version: 1\nfiles: [{source: app/, target: /app/}]\n');
    const tree = await specFilesTree(await loadSpec(dir), 0, { ...cache, outputs: [archive] });
    assert.equal(tree.get('app/main.py')?.kind, 'file');
  });

  it('refuses a file source the build would overwrite (an archive output, --provenance-out), also through a symlink', async () => {
    const dir = join(work, 'clobber');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'a.txt'), 'input\n');
    await symlink('a.txt', join(dir, 'link.txt'));
    await writeFile(join(dir, 'imprint.yaml'), 'version: 1\nfiles: [{source: a.txt, target: /a.txt}]\n');
    const loaded = await loadSpec(dir);
    const elsewhere = join(work, 'elsewhere');
    for (const [path, what] of [
      [join(dir, 'a.txt'), 'the output oci-archive:a.txt'],
      [join(dir, 'link.txt'), '--provenance-out link.txt'],
    ] as const) {
      const writes = { store: elsewhere, cacheDir: elsewhere, outputs: [{ path, what }] };
      await assert.rejects(specFilesTree(loaded, 0, writes), (err: unknown) => {
        assert.ok(isImprintError(err, 'SPEC_INVALID'), String(err));
        assert.match(err.message, /imprint\.yaml:2:18: files\[0\]\.source: \S+\/clobber\/a\.txt is /);
        assert.ok(err.message.includes(what), err.message);
        assert.match(err.message, /would overwrite the file it copies/);
        return true;
      });
    }
    // Another path beside it is no concern.
    const other = { path: join(dir, 'b.tar'), what: 'the output oci-archive:b.tar' };
    const tree = await specFilesTree(loaded, 0, { store: elsewhere, cacheDir: elsewhere, outputs: [other] });
    assert.equal(tree.get('a.txt')?.kind, 'file');
  });

  it('never follows a source file that became a symlink after the walk (it fails instead)', async () => {
    const dir = join(work, 'swap');
    await mkdir(join(dir, 'app'), { recursive: true });
    await writeFile(join(dir, 'app', 'data'), 'original');
    await writeFile(join(dir, 'secret'), 'not for the image');
    await writeFile(join(dir, 'imprint.yaml'), 'version: 1\nfiles: [{source: app/, target: /app/}]\n');
    const tree = await specFilesTree(await loadSpec(dir), 0);
    await rm(join(dir, 'app', 'data'));
    await symlink(join(dir, 'secret'), join(dir, 'app', 'data'));
    const node = tree.get('app/data');
    assert.ok(node?.kind === 'file');
    assert.equal(node.content.sync?.(), undefined);
    assert.throws(
      () => node.content(),
      (err: NodeJS.ErrnoException) => err.code === 'ELOOP',
    );
  });

  it('refuses a file whose image name starts with .wh. (a layer would hold a whiteout: runtimes delete the file it names instead)', async () => {
    const dir = join(work, 'whiteout');
    await mkdir(join(dir, 'app', 'sub'), { recursive: true });
    await writeFile(join(dir, 'app', 'sub', '.wh.secret'), 'kept?');
    await writeFile(join(dir, 'app', '.wh..wh..opq'), '');
    await writeFile(join(dir, '.wh.conf'), 'c');
    await writeFile(join(dir, 'plain'), 'p');
    const refused = (field: string, what: RegExp) => (err: unknown) => {
      assert.ok(isImprintError(err, 'SPEC_INVALID'), String(err));
      assert.match(err.message, new RegExp(`imprint\\.yaml:2:\\d+: ${field.replace(/[[\]]/g, '\\$&')}: `));
      assert.match(err.message, what);
      assert.equal(err.details.field, field);
      return true;
    };
    const spec = async (files: string) => {
      await writeFile(join(dir, 'imprint.yaml'), `version: 1\nfiles: ${files}\n`);
      return specFilesTree(await loadSpec(dir), 0);
    };
    await assert.rejects(
      spec('[{source: app/sub/, target: /srv/}]'),
      refused(
        'files[0].source',
        /sub\/\.wh\.secret would be \/srv\/\.wh\.secret .* delete \/srv\/secret instead/,
      ),
    );
    await assert.rejects(
      spec('[{source: app/, target: /srv/}]'),
      refused('files[0].source', /\.wh\.\.wh\.\.opq .* delete everything else in \/srv\/ instead/),
    );
    await assert.rejects(
      spec('[{source: plain, target: /x}, {source: .wh.conf, target: /etc/}]'),
      refused('files[1].source', /would be \/etc\/\.wh\.conf .* delete \/etc\/conf instead/),
    );
    await assert.rejects(
      spec('[{source: plain, target: /etc/.wh.conf/}]'),
      refused('files[0].target', /has the component \.wh\.conf/),
    );
    // Renamed on the way in, or inside a name, it is an ordinary file.
    const tree = await spec('[{source: .wh.conf, target: /etc/conf}, {source: plain, target: /etc/a.wh.b}]');
    assert.equal(tree.get('etc/conf')?.kind, 'file');
    assert.equal(tree.get('etc/a.wh.b')?.kind, 'file');
  });
});
