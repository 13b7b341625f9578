// imprint writes /etc/ld.so.cache (glibc's new format) for libraries only the cache makes the loader
// find (/usr/local/lib, an /opt directory an ld.so.conf.d file names). glibc's own ldconfig reads the
// file back, a port of the loader's binary search finds every name, and the run check looks names up
// in it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { missingLibraries } from '../../src/build/elf-needed.js';
import {
  decodeLdSoCache,
  encodeLdSoCache,
  LD_CACHE_ORIGIN,
  ldSoCacheBytes,
  libcmp,
} from '../../src/build/ld-so-cache.js';
import { libraryPathNotes } from '../../src/build/library-path-check.js';
import { bytesOpener } from '../../src/vfs/node.js';
import { FileTree } from '../../src/vfs/tree.js';
import { succeeds } from '../helpers/static-c.js';

const run = promisify(execFile);
const meta = { uid: 0, gid: 0, mtime: 0 };
const LIB = '/usr/lib/x86_64-linux-gnu';

/** glibc's search_cache (elf/dl-cache.c): binary search for `name`, then back to its first entry. */
function search(cache: Buffer, name: string): string | undefined {
  const n = cache.readUInt32LE(20);
  const str = (at: number) => cache.toString('utf8', at, cache.indexOf(0, at));
  const key = (i: number) => str(cache.readUInt32LE(48 + i * 24 + 4));
  let left = 0;
  let right = n - 1;
  while (left <= right) {
    let middle = Math.floor((left + right) / 2);
    const cmp = libcmp(name, key(middle));
    if (cmp === 0) {
      while (middle > 0 && libcmp(name, key(middle - 1)) === 0) middle--;
      return str(cache.readUInt32LE(48 + middle * 24 + 8));
    }
    if (cmp < 0) left = middle + 1;
    else right = middle - 1;
  }
  return undefined;
}

/**
 * A minimal shared object for `machine` (ELF32 or ELF64, little- or big-endian): one PT_LOAD over the
 * file, a PT_DYNAMIC with DT_STRTAB, DT_STRSZ and DT_SONAME: what the cache writer reads of a library.
 */
function sharedObject(machine: number, is64: boolean, soname: string, big = false): Buffer {
  const b = Buffer.alloc(0x300);
  const u16 = (v: number, at: number) => (big ? b.writeUInt16BE(v, at) : b.writeUInt16LE(v, at));
  const u32 = (v: number, at: number) => (big ? b.writeUInt32BE(v, at) : b.writeUInt32LE(v, at));
  const word = (v: number, at: number) =>
    is64 ? (big ? b.writeBigUInt64BE(BigInt(v), at) : b.writeBigUInt64LE(BigInt(v), at)) : u32(v, at);
  b.writeUInt32BE(0x7f454c46, 0);
  b[4] = is64 ? 2 : 1;
  b[5] = big ? 2 : 1;
  b[6] = 1;
  u16(3, 16); // ET_DYN
  u16(machine, 18);
  const [phoff, phentsize] = is64 ? [64, 56] : [52, 32];
  word(phoff, is64 ? 32 : 28);
  u16(phentsize, is64 ? 54 : 42);
  u16(2, is64 ? 56 : 44);
  const ph = (i: number, type: number, offset: number, size: number) => {
    const at = phoff + i * phentsize;
    u32(type, at);
    word(offset, is64 ? at + 8 : at + 4); // p_offset
    word(offset, is64 ? at + 16 : at + 8); // p_vaddr = p_offset
    word(size, is64 ? at + 32 : at + 16); // p_filesz
  };
  const [dyn, str] = [0x200, 0x280];
  ph(0, 1, 0, b.length); // PT_LOAD
  ph(1, 2, dyn, 0x80); // PT_DYNAMIC
  b.write(`\0${soname}\0`, str, 'latin1');
  const entry = is64 ? 16 : 8;
  [
    [5, str],
    [10, soname.length + 2],
    [14, 1],
    [0, 0],
  ].forEach(([tag, value], i) => {
    word(tag as number, dyn + i * entry);
    word(value as number, dyn + i * entry + entry / 2);
  });
  return b;
}

describe('/etc/ld.so.cache', async () => {
  const work = await mkdtemp(join(tmpdir(), 'imprint-ldcache-'));
  const hasGcc = await succeeds('gcc', ['--version']);
  const hasLdconfig = await succeeds('sh', ['-c', 'command -v ldconfig || test -x /sbin/ldconfig']);
  const built: Record<string, Buffer> = {};
  before(async () => {
    if (!hasGcc) return;
    await writeFile(join(work, 'foo.c'), 'int foo(void) { return 42; }\n');
    await writeFile(join(work, 'bar.c'), 'int bar(void) { return 7; }\n');
    await writeFile(join(work, 'prog.c'), 'int foo(void);\nint main(void) { return foo() == 42 ? 0 : 1; }\n');
    await run('gcc', [
      '-shared',
      '-fPIC',
      '-Wl,-soname,libfoo.so.1',
      '-o',
      join(work, 'libfoo.so.1.2.3'),
      join(work, 'foo.c'),
    ]);
    await run('gcc', [
      '-shared',
      '-fPIC',
      '-Wl,-soname,libbar.so.10',
      '-o',
      join(work, 'libbar.so.10'),
      join(work, 'bar.c'),
    ]);
    await run('gcc', ['-o', join(work, 'prog'), join(work, 'prog.c'), join(work, 'libfoo.so.1.2.3')]);
    for (const f of ['libfoo.so.1.2.3', 'libbar.so.10', 'prog']) built[f] = await readFile(join(work, f));
  });
  after(() => rm(work, { recursive: true, force: true }));

  /** A merged-/usr glibc image with `files` and `links`. */
  function image(files: Record<string, Buffer | string>, links: Record<string, string> = {}): FileTree {
    const t = new FileTree({ mode: 0o755, ...meta });
    for (const [link, target] of Object.entries({ '/lib': 'usr/lib', ...links }))
      t.add(link, { kind: 'symlink', target, mode: 0o777, ...meta });
    for (const [path, content] of Object.entries({ [`${LIB}/libc.so.6`]: 'x', ...files })) {
      const b = Buffer.from(content);
      t.add(path, { kind: 'file', size: b.length, content: bytesOpener(b), mode: 0o755, ...meta });
    }
    return t;
  }

  test('libcmp compares digit runs as numbers, as glibc does', () => {
    assert.ok(libcmp('libfoo.so.10', 'libfoo.so.9') > 0);
    assert.ok(libcmp('libfoo.so.9', 'libfoo.so.10') < 0);
    assert.equal(libcmp('libz.so.1', 'libz.so.1'), 0);
    assert.ok(libcmp('liba.so', 'libb.so') < 0);
    assert.ok(libcmp('lib1', 'liba') > 0); // a digit sorts after any other character
    assert.ok(libcmp('libx', 'libx.so') < 0);
  });

  test("the loader's binary search finds every name, whatever the order they were given in", () => {
    const names = Array.from({ length: 60 }, (_, i) => `lib${'abcxyz'[i % 6]}${i % 7}.so.${(i * 7) % 23}`);
    const entries = [...new Set(names)].map((name, i) => ({
      name,
      path: `/usr/local/lib/${i}`,
      flags: 0x0303,
    }));
    for (const order of [entries, [...entries].reverse()]) {
      const cache = encodeLdSoCache(order);
      for (const e of entries) assert.equal(search(cache, e.name), e.path, e.name);
      assert.equal(search(cache, 'libnothere.so.1'), undefined);
      assert.deepEqual(decodeLdSoCache(cache), new Map(entries.map((e) => [e.name, e.path])));
    }
  });

  test("other architectures get their loader's flags (armhf, armel, i386, ppc64el, riscv64; checked under qemu-user)", async () => {
    const cases = [
      { arch: 'armhf', triplet: 'arm-linux-gnueabihf', machine: 40, is64: false, flags: 0x0903 },
      { arch: 'armel', triplet: 'arm-linux-gnueabi', machine: 40, is64: false, flags: 0x0b03 },
      { arch: 'i386', triplet: 'i386-linux-gnu', machine: 3, is64: false, flags: 0x0003 },
      { arch: 'ppc64el', triplet: 'powerpc64le-linux-gnu', machine: 21, is64: true, flags: 0x0503 },
      { arch: 'riscv64', triplet: 'riscv64-linux-gnu', machine: 243, is64: true, flags: 0x1003 },
    ];
    for (const c of cases) {
      const t = image({
        [`/usr/lib/${c.triplet}/libc.so.6`]: 'x',
        '/usr/local/lib/libz.so.1.3': sharedObject(c.machine, c.is64, 'libz.so.1'),
      });
      const bytes = await ldSoCacheBytes(t, c.arch);
      assert.ok(bytes, c.arch);
      assert.equal(bytes.readInt32LE(48), c.flags, c.arch); // the one entry's flags
      assert.deepEqual(decodeLdSoCache(bytes), new Map([['libz.so.1', '/usr/local/lib/libz.so.1.3']]));
      // A library of another machine is left out (an armhf library in an i386 image).
      const other = c.machine === 40 ? 3 : 40;
      const wrong = image({
        [`/usr/lib/${c.triplet}/libc.so.6`]: 'x',
        '/usr/local/lib/libz.so.1.3': sharedObject(other, c.is64, 'libz.so.1'),
      });
      assert.equal(await ldSoCacheBytes(wrong, c.arch), undefined, c.arch);
    }
  });

  // What Debian bookworm's own ldconfig (libc-bin 2.36-9+deb12u14 of that architecture, run under
  // qemu-user with -X -r ROOT) wrote for /usr/local/lib/libz.so.1.2.13 and its libz.so.1 link. Its
  // string table shares tails and it appends its generator's name, so the bytes differ from
  // imprint's; the header, byte order and entry must not. Under qemu-user, bookworm's pigz found
  // libz through imprint's cache on both architectures and failed without it.
  const DEBIAN_CACHES: Record<string, string> = {
    s390x:
      '676c6962632d6c642e736f2e6361636865312e31000000010000001903000000000000640000000000000000000000000000040300000057000000480000000000000000000000002f7573722f6c6f63616c2f6c69622f6c69627a2e736f2e3100000000eaa421740000000100000000000000000000007c000000436c64636f6e666967202844656269616e20474c49424320322e33362d392b64656231327531342920737461626c652072656c656173652076657273696f6e20322e3336',
    mips64el:
      '676c6962632d6c642e736f2e6361636865312e31010000001900000002000000640000000000000000000000000000000307000057000000480000000000000000000000000000002f7573722f6c6f63616c2f6c69622f6c69627a2e736f2e31000000007421a4ea0100000000000000000000007c000000430000006c64636f6e666967202844656269616e20474c49424320322e33362d392b64656231327531342920737461626c652072656c656173652076657273696f6e20322e3336',
  };

  test("s390x (big-endian) and mips64el: the header, byte order and entry of Debian's ldconfig", async () => {
    const cases = [
      { arch: 's390x', triplet: 's390x-linux-gnu', machine: 22, big: true },
      { arch: 'mips64el', triplet: 'mips64el-linux-gnuabi64', machine: 8, big: false },
    ];
    for (const c of cases) {
      const debian = Buffer.from(DEBIAN_CACHES[c.arch] as string, 'hex');
      const lib = (is64: boolean) =>
        image(
          {
            [`/usr/lib/${c.triplet}/libc.so.6`]: 'x',
            '/usr/local/lib/libz.so.1.2.13': sharedObject(c.machine, is64, 'libz.so.1', c.big),
          },
          { '/usr/local/lib/libz.so.1': 'libz.so.1.2.13' },
        );
      const ours = await ldSoCacheBytes(lib(true), c.arch);
      assert.ok(ours, c.arch);
      assert.ok(ours.subarray(0, 24).equals(debian.subarray(0, 24)), c.arch); // magic, version, count
      assert.equal(ours[28], debian[28], c.arch); // the byte order: 3 big, 2 little
      assert.ok(ours.subarray(48, 52).equals(debian.subarray(48, 52)), c.arch); // the entry's flags
      const both = new Map([['libz.so.1', '/usr/local/lib/libz.so.1']]);
      assert.deepEqual(decodeLdSoCache(debian), both, c.arch);
      assert.deepEqual(decodeLdSoCache(ours), both, c.arch);
      // A 32-bit library of the same machine (31-bit s390, o32/n32 MIPS) is not the loader's.
      assert.equal(await ldSoCacheBytes(lib(false), c.arch), undefined, c.arch);
    }
  });

  test('written for /usr/local/lib and conf-named /opt libraries; glibc reads it; the run check and the warning use it', {
    skip: (!hasGcc || !hasLdconfig) && 'needs gcc and ldconfig',
  }, async () => {
    const files = {
      '/etc/ld.so.conf': 'include /etc/ld.so.conf.d/*.conf\n',
      '/etc/ld.so.conf.d/app.conf': '/opt/app/lib\n',
      '/usr/local/lib/libfoo.so.1.2.3': built['libfoo.so.1.2.3'] as Buffer,
      '/usr/local/lib/libjunk.so': 'not an ELF file',
      '/opt/app/lib/libbar.so.10': built['libbar.so.10'] as Buffer,
      '/usr/local/bin/prog': built.prog as Buffer,
    };
    const links = {
      '/usr/local/lib/libfoo.so.1': 'libfoo.so.1.2.3',
      '/usr/local/lib/libfoo.so': 'libfoo.so.1',
    };
    const t = image(files, links);
    assert.deepEqual(
      (await missingLibraries(t, 'usr/local/bin/prog', {})).map((m) => m.name),
      ['libfoo.so.1'],
    );
    assert.equal((await libraryPathNotes(t)).length, 2);
    const bytes = await ldSoCacheBytes(t, 'amd64');
    assert.ok(bytes);
    const file = join(work, 'ld.so.cache');
    await writeFile(file, bytes);
    const { stdout } = await run('sh', ['-c', `PATH=$PATH:/sbin:/usr/sbin ldconfig -p -C ${file}`]);
    assert.match(stdout, /^2 libs found in cache/m);
    assert.match(stdout, /\tlibfoo\.so\.1 \(libc6,x86-64\) => \/usr\/local\/lib\/libfoo\.so\.1$/m);
    assert.match(stdout, /\tlibbar\.so\.10 \(libc6,x86-64\) => \/opt\/app\/lib\/libbar\.so\.10$/m);
    // Deterministic: the same tree, the same bytes.
    assert.ok(bytes.equals((await ldSoCacheBytes(image(files, links), 'amd64')) as Buffer));
    t.add('/etc/ld.so.cache', {
      kind: 'file',
      size: bytes.length,
      content: bytesOpener(bytes),
      mode: 0o644,
      ...meta,
      origin: LD_CACHE_ORIGIN, // as the build adds it: no note that it lacks the system directories' libraries
    });
    assert.deepEqual(await missingLibraries(t, 'usr/local/bin/prog', {}), []);
    assert.deepEqual(await libraryPathNotes(t), []);
    // Not written: a cache is there already, another architecture, no such libraries.
    assert.equal(await ldSoCacheBytes(t, 'amd64'), undefined);
    assert.equal(await ldSoCacheBytes(image(files, links), 'arm64'), undefined); // x86-64 libraries only
    assert.equal(await ldSoCacheBytes(image(files, links), 'riscv64'), undefined); // x86-64 libraries only
    assert.equal(await ldSoCacheBytes(image(files, links), 's390x'), undefined);
    assert.equal(
      await ldSoCacheBytes(image({ [`${LIB}/libz.so.1`]: built['libbar.so.10'] as Buffer }), 'amd64'),
      undefined,
    );
  });
});
