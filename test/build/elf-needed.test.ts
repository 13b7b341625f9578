// The run check follows DT_NEEDED as glibc's loader does without ld.so.cache: a library left out
// (`dependencies: false`) is named at build time instead of failing the container at start.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { addGeneratedFile } from '../../src/build/accounts.js';
import { missingLibraries, parseDynamic } from '../../src/build/elf-needed.js';
import { runNotes } from '../../src/build/run-check.js';
import { FileTree } from '../../src/vfs/tree.js';

/**
 * A minimal ELF64 little-endian x86-64 object: one PT_LOAD mapping the file at vaddr 0x1000, a
 * PT_INTERP naming `loader` (when given), a PT_DYNAMIC with DT_NEEDED entries, DT_RUNPATH, DT_STRTAB
 * and DT_STRSZ; the string table after the dynamic section.
 */
function elf(needed: string[], opts: { runpath?: string; loader?: string } = {}): Buffer {
  const VADDR = 0x1000;
  const strings = ['', ...needed, ...(opts.runpath === undefined ? [] : [opts.runpath])];
  const strtab = Buffer.from(`${strings.join('\0')}\0`, 'latin1');
  const offsetOf = (i: number) =>
    strings.slice(0, i).reduce((n, s) => n + Buffer.byteLength(s, 'latin1') + 1, 0);
  const tags: Array<[number, number]> = needed.map((_, i) => [1, offsetOf(i + 1)]);
  if (opts.runpath !== undefined) tags.push([29, offsetOf(strings.length - 1)]);
  const phnum = opts.loader === undefined ? 2 : 3;
  const interpAt = 64 + 56 * phnum;
  const interp = Buffer.from(`${opts.loader ?? ''}\0`, 'latin1');
  const dynAt = interpAt + interp.length + 8 - ((interpAt + interp.length) % 8);
  const dynSize = (tags.length + 3) * 16;
  const strAt = dynAt + dynSize;
  tags.push([5, VADDR + strAt], [10, strtab.length], [0, 0]);
  const b = Buffer.alloc(strAt + strtab.length);
  b.writeUInt32BE(0x7f454c46, 0);
  b[4] = 2;
  b[5] = 1;
  b[6] = 1;
  b.writeUInt16LE(3, 16); // ET_DYN
  b.writeUInt16LE(62, 18);
  b.writeBigUInt64LE(64n, 32);
  b.writeUInt16LE(56, 54);
  b.writeUInt16LE(phnum, 56);
  const ph = (i: number, type: number, offset: number, size: number) => {
    const at = 64 + 56 * i;
    b.writeUInt32LE(type, at);
    b.writeBigUInt64LE(BigInt(offset), at + 8);
    b.writeBigUInt64LE(BigInt(VADDR + offset), at + 16);
    b.writeBigUInt64LE(BigInt(size), at + 32);
  };
  ph(0, 1, 0, b.length); // PT_LOAD
  ph(1, 2, dynAt, dynSize); // PT_DYNAMIC
  if (opts.loader !== undefined) {
    ph(2, 3, interpAt, interp.length); // PT_INTERP
    interp.copy(b, interpAt);
  }
  tags.forEach(([tag, value], i) => {
    b.writeBigUInt64LE(BigInt(tag), dynAt + 16 * i);
    b.writeBigUInt64LE(BigInt(value), dynAt + 16 * i + 8);
  });
  strtab.copy(b, strAt);
  return b;
}

const LOADER = '/lib64/ld-linux-x86-64.so.2';
const LIB = '/usr/lib/x86_64-linux-gnu';

function image(files: Record<string, Buffer>): FileTree {
  const t = new FileTree({ mode: 0o755, uid: 0, gid: 0, mtime: 0 });
  t.add('/lib64', { kind: 'symlink', target: 'usr/lib64', mode: 0o777, uid: 0, gid: 0, mtime: 0 });
  t.add('/lib', { kind: 'symlink', target: 'usr/lib', mode: 0o777, uid: 0, gid: 0, mtime: 0 });
  for (const [path, b] of Object.entries({ '/usr/lib64/ld-linux-x86-64.so.2': Buffer.from('x'), ...files }))
    addGeneratedFile(t, path, b, 0, 0o755);
  return t;
}

describe('shared libraries of the program', () => {
  test('parseDynamic reads DT_NEEDED and RUNPATH', async () => {
    const b = elf(['libc.so.6', 'libz.so.1'], { runpath: '$ORIGIN/../lib' });
    const d = await parseDynamic(async (s, e) => b.subarray(s, e));
    assert.deepEqual(d, {
      needed: ['libc.so.6', 'libz.so.1'],
      paths: ['$ORIGIN/../lib'],
      soname: undefined,
      machine: 62,
      is64: true,
    });
    assert.equal(await parseDynamic(async () => Buffer.from('#!/bin/sh\n')), undefined);
  });

  test('a library missing anywhere in the chain is named, with the object that needs it, once', async () => {
    const t = image({
      '/app/srv': elf(['libc.so.6', 'libapp.so.1', 'libz.so.1', 'ld-linux-x86-64.so.2'], { loader: LOADER }),
      [`${LIB}/libc.so.6`]: elf(['ld-linux-x86-64.so.2']),
      [`${LIB}/libapp.so.1`]: elf(['libz.so.1', 'libssl.so.3']),
    });
    assert.deepEqual(await missingLibraries(t, 'app/srv', {}), [
      { name: 'libz.so.1', by: '/app/srv' },
      { name: 'libssl.so.3', by: `${LIB}/libapp.so.1` },
    ]);
    const [note] = await runNotes(t, { Env: ['PATH=/usr/bin'], Entrypoint: ['/app/srv'] }, 'linux/amd64');
    assert.match(
      note!,
      /is \/app\/srv, which needs libz\.so\.1, libssl\.so\.3 \(for \/usr\/lib\/x86_64-linux-gnu\/libapp\.so\.1\), not in the image's library path/,
    );
  });

  test('found through RUNPATH with $ORIGIN, LD_LIBRARY_PATH or the system directories; none with ld.so.cache', async () => {
    const files = {
      '/opt/app/bin/srv': elf(['libc.so.6', 'libown.so', 'libextra.so'], {
        runpath: '$ORIGIN/../lib',
        loader: LOADER,
      }),
      '/opt/app/lib/libown.so': elf([]),
      '/srv/extra/libextra.so': elf([]),
      [`${LIB}/libc.so.6`]: elf([]),
    };
    assert.deepEqual(
      await missingLibraries(image(files), 'opt/app/bin/srv', { LD_LIBRARY_PATH: '/srv/extra' }),
      [],
    );
    assert.deepEqual(
      (await missingLibraries(image(files), 'opt/app/bin/srv', {})).map((m) => m.name),
      ['libextra.so'],
    );
    const cached = image({ ...files, '/etc/ld.so.cache': Buffer.from('x') });
    assert.deepEqual(await missingLibraries(cached, 'opt/app/bin/srv', {}), []);
  });
});
