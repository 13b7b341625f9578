// The build warns about the program the container runs: missing, not executable, a script whose #!
// interpreter (or what /usr/bin/env runs) is missing, an ELF whose loader is missing or that is for
// another architecture. A distroless image cannot say any of this at run time.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { addGeneratedFile } from '../../src/build/accounts.js';
import { runCheckInputs, runNotes } from '../../src/build/run-check.js';
import type { ContainerConfig } from '../../src/oci/types.js';
import { bytesOpener } from '../../src/vfs/node.js';
import { FileTree } from '../../src/vfs/tree.js';
import { buildDir } from '../helpers/build-dir.js';

function tree(files: Record<string, string | Buffer | { link: string }>, mode = 0o755): FileTree {
  const t = new FileTree({ mode: 0o755, uid: 0, gid: 0, mtime: 0 });
  for (const [path, content] of Object.entries(files)) {
    if (typeof content === 'object' && 'link' in content) {
      t.add(path, { kind: 'symlink', target: content.link, mode: 0o777, uid: 0, gid: 0, mtime: 0 });
      continue;
    }
    addGeneratedFile(t, path, Buffer.from(content), 0, mode);
  }
  return t;
}

/** A minimal ELF64 little-endian executable header for `machine`, with a PT_INTERP naming `loader`. */
function elf(machine: number, loader?: string): Buffer {
  const b = Buffer.alloc(0x200);
  b.writeUInt32BE(0x7f454c46, 0);
  b[4] = 2; // 64-bit
  b[5] = 1; // little endian
  b[6] = 1;
  b.writeUInt16LE(2, 16); // ET_EXEC
  b.writeUInt16LE(machine, 18);
  b.writeBigUInt64LE(64n, 32); // e_phoff
  b.writeUInt16LE(56, 54); // e_phentsize
  b.writeUInt16LE(loader === undefined ? 0 : 1, 56); // e_phnum
  if (loader !== undefined) {
    b.writeUInt32LE(3, 64); // PT_INTERP
    b.writeBigUInt64LE(0x100n, 64 + 8); // p_offset
    b.writeBigUInt64LE(BigInt(loader.length + 1), 64 + 32); // p_filesz
    b.write(`${loader}\0`, 0x100, 'latin1');
  }
  return b;
}

/** The same for ELF32 (i386 programs). */
function elf32(machine: number, loader?: string): Buffer {
  const b = Buffer.alloc(0x200);
  b.writeUInt32BE(0x7f454c46, 0);
  b[4] = 1; // 32-bit
  b[5] = 1;
  b[6] = 1;
  b.writeUInt16LE(2, 16);
  b.writeUInt16LE(machine, 18);
  b.writeUInt32LE(52, 28); // e_phoff
  b.writeUInt16LE(32, 42); // e_phentsize
  b.writeUInt16LE(loader === undefined ? 0 : 1, 44); // e_phnum
  if (loader !== undefined) {
    b.writeUInt32LE(3, 52); // PT_INTERP
    b.writeUInt32LE(0x100, 52 + 4); // p_offset
    b.writeUInt32LE(loader.length + 1, 52 + 16); // p_filesz
    b.write(`${loader}\0`, 0x100, 'latin1');
  }
  return b;
}

const AMD64 = 'linux/amd64';
const cfg = (c: ContainerConfig): ContainerConfig => ({ Env: ['PATH=/usr/bin:/bin'], ...c });

describe('run check', () => {
  test('no program: nothing to say', async () => {
    assert.deepEqual(await runNotes(tree({}), cfg({}), AMD64), []);
  });

  test('a program that is missing, by path or by name in PATH', async () => {
    const [byPath] = await runNotes(tree({}), cfg({ Entrypoint: ['/app/server'] }), AMD64);
    assert.match(byPath ?? '', /entrypoint "\/app\/server" \(linux\/amd64\) is not in the image/);
    const [byName] = await runNotes(tree({ '/usr/local/bin/tool': 'x' }), cfg({ Cmd: ['tool'] }), AMD64);
    assert.match(byName ?? '', /cmd "tool" .* \(looked in PATH=\/usr\/bin:\/bin\)/);
  });

  test('a program that is not executable, or a directory', async () => {
    const [mode] = await runNotes(tree({ '/app/run': 'x' }, 0o644), cfg({ Entrypoint: ['/app/run'] }), AMD64);
    assert.match(mode ?? '', /not executable \(mode 644\)/);
    const [dir] = await runNotes(tree({ '/app/run/x': 'x' }), cfg({ Entrypoint: ['/app/run'] }), AMD64);
    assert.match(dir ?? '', /is a dir at \/app\/run, not a program/);
  });

  test('a script whose interpreter is missing names the package that has it', async () => {
    const [sh] = await runNotes(
      tree({ '/app/run.sh': '#!/bin/sh\necho hi\n' }),
      cfg({ Entrypoint: ['/app/run.sh'] }),
      AMD64,
    );
    assert.match(
      sh ?? '',
      /script for #!\/bin\/sh, which is not in the image: add dash \(or bash\) to packages/,
    );
    const npm = { '/usr/bin/npm': '#!/usr/bin/env node\n' };
    const [env] = await runNotes(tree(npm), cfg({ Entrypoint: ['npm'] }), AMD64);
    assert.match(env ?? '', /#!\/usr\/bin\/env, which is not in the image: add coreutils to packages/);
    const [node] = await runNotes(
      tree({ ...npm, '/usr/bin/env': elf(62) }),
      cfg({ Entrypoint: ['npm'] }),
      AMD64,
    );
    assert.match(node ?? '', /#!\/usr\/bin\/env node, and node is not in the image's PATH/);
    const whole = { ...npm, '/usr/bin/env': elf(62), '/usr/bin/node': elf(62) };
    assert.deepEqual(await runNotes(tree(whole), cfg({ Entrypoint: ['npm'] }), AMD64), []);
  });

  test('an i386 program runs on amd64 when its loader is there (libc6-i386), not on arm64', async () => {
    const program = elf32(3, '/lib/ld-linux.so.2');
    const run = cfg({ Entrypoint: ['/app/p32'] });
    const [missing] = await runNotes(tree({ '/app/p32': program }), run, AMD64);
    assert.match(
      missing ?? '',
      /dynamically linked against \/lib\/ld-linux\.so\.2, and that is not in the image/,
    );
    const withLoader = tree({
      '/app/p32': program,
      '/lib': { link: 'usr/lib' },
      '/usr/lib/ld-linux.so.2': { link: '../lib32/ld-linux.so.2' },
      '/usr/lib32/ld-linux.so.2': elf32(3),
    });
    assert.deepEqual(await runNotes(withLoader, run, AMD64), []);
    const [arm] = await runNotes(withLoader, run, 'linux/arm64');
    assert.match(arm ?? '', /an ELF program for i386: it cannot run on arm64/);
  });

  test('an ELF program whose loader is missing, or for another architecture', async () => {
    const loader = '/lib64/ld-linux-x86-64.so.2';
    const [missing] = await runNotes(
      tree({ '/app/srv': elf(62, loader) }),
      cfg({ Entrypoint: ['/app/srv'] }),
      AMD64,
    );
    assert.match(
      missing ?? '',
      /dynamically linked against \/lib64\/ld-linux-x86-64\.so\.2, and that is not in the image: add libc6/,
    );
    // Through merged-/usr links, as packages lay it out.
    const withLoader = tree({
      '/app/srv': elf(62, loader),
      '/lib64': { link: 'usr/lib64' },
      '/usr/lib64/ld-linux-x86-64.so.2': { link: '../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2' },
      '/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2': elf(62),
    });
    assert.deepEqual(await runNotes(withLoader, cfg({ Entrypoint: ['/app/srv'] }), AMD64), []);
    const [arch] = await runNotes(tree({ '/app/srv': elf(183) }), cfg({ Entrypoint: ['/app/srv'] }), AMD64);
    assert.match(arch ?? '', /an ELF program for aarch64: it cannot run on amd64/);
    assert.deepEqual(
      await runNotes(tree({ '/app/srv': elf(183) }), cfg({ Entrypoint: ['/app/srv'] }), 'linux/arm64'),
      [],
    );
  });

  test('a missing program in an image with busybox: the hint says its applet links are not made', async () => {
    const t = tree({ '/usr/bin/busybox': elf(62) });
    const [sh] = await runNotes(t, cfg({ Entrypoint: ['/bin/sh', '-c', 'ls'] }), AMD64);
    assert.match(
      sh!,
      /"\/bin\/sh" \(linux\/amd64\) is not in the image: the container cannot start; busybox is in the image/,
    );
    assert.match(sh!, /run \["\/usr\/bin\/busybox", "sh", \.\.\.\]/);
    const [other] = await runNotes(tree({}), cfg({ Entrypoint: ['/bin/sh'] }), AMD64);
    assert.doesNotMatch(other!, /busybox/);
    assert.deepEqual(await runNotes(t, cfg({ Entrypoint: ['busybox', 'sh'] }), AMD64), []);
    t.add('/app/run.sh', {
      kind: 'file',
      size: 10,
      content: bytesOpener(Buffer.from('#!/bin/sh\n')),
      mode: 0o755,
      uid: 0,
      gid: 0,
      mtime: 0,
    });
    const [script] = await runNotes(t, cfg({ Entrypoint: ['/app/run.sh'] }), AMD64);
    assert.match(
      script!,
      /script for #!\/bin\/sh, which is not in the image: add dash \(or bash\) to packages; busybox is in the image/,
    );
  });

  test("a base image's program is checked by name and mode, never read again from its layers", async () => {
    const t = tree({ '/usr/local/bin/start': '#!/bin/sh\n' });
    const node = t.get('/usr/local/bin/start')!;
    const base = new Map([['usr/local/bin/start', node]]);
    const config = cfg({ Entrypoint: ['/usr/local/bin/start'] });
    assert.equal((await runNotes(t, config, AMD64)).length, 1);
    assert.deepEqual(await runNotes(t, config, AMD64, base), []);
  });

  test('entrypoint wins over cmd; a relative path is taken from the working directory', async () => {
    const t = tree({ '/app/bin/run': elf(62) });
    assert.deepEqual(
      await runNotes(t, cfg({ Entrypoint: ['bin/run'], Cmd: ['missing'], WorkingDir: '/app' }), AMD64),
      [],
    );
    assert.notEqual(runCheckInputs(cfg({ Entrypoint: ['a'] })), runCheckInputs(cfg({ Entrypoint: ['b'] })));
  });

  test('a build warns; a cached rebuild repeats it for the same program and checks another one against the layers', async () => {
    const work = await mkdtemp(join(tmpdir(), 'imprint-run-check-'));
    try {
      const dir = join(work, 'spec');
      await mkdir(join(dir, 'app'), { recursive: true });
      await writeFile(join(dir, 'app', 'run.sh'), '#!/bin/sh\necho hi\n', { mode: 0o755 });
      await writeFile(join(dir, 'app', 'notes.txt'), 'x\n');
      const build = async (entrypoint: string) => {
        const yaml = [
          'version: 1',
          'platforms: [linux/amd64]',
          'files:',
          '  - {source: app/, target: /app/}',
        ];
        await writeFile(join(dir, 'imprint.yaml'), [...yaml, `entrypoint: [${entrypoint}]`, ''].join('\n'));
        return (await buildDir(dir, join(work, 'cache'))).warnings;
      };
      const first = await build('/app/run.sh');
      assert.equal(first.filter((w) => w.includes('#!/bin/sh, which is not in the image')).length, 1);
      assert.deepEqual(await build('/app/run.sh'), first, 'the cached layers repeat it');
      const other = await build('/app/notes.txt');
      assert.ok(!other.some((w) => w.includes('#!/bin/sh')), 'not for another program');
      // The layers are cached, the program changed: it is checked against the layers' files.
      assert.equal(other.filter((w) => w.includes('/app/notes.txt, which is not executable')).length, 1);
      assert.deepEqual(await build('/app/notes.txt'), other, 'and recorded for the next hit');
      assert.deepEqual(await build('/app/run.sh'), first);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });
});
