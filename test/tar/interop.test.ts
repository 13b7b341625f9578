// GNU tar (the `tar` on PATH) must list and extract what imprint writes; imprint must read what GNU tar writes.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import type { TarWriteEntry } from '../../src/tar/types.js';
import { tarStream } from '../../src/tar/writer.js';
import { collect, type ReadBack, readAll } from './archive-fixtures.js';

const gnuTar = spawnSync('tar', ['--version'], { encoding: 'utf8' });
const hasGnuTar = gnuTar.status === 0 && gnuTar.stdout.includes('GNU tar');
const isRoot = process.getuid?.() === 0;
const work = fs.mkdtempSync(join(tmpdir(), 'imprint-tar-interop-'));
after(() => fs.rmSync(work, { recursive: true, force: true }));

/** Runs GNU tar; fails the test on a non-zero exit or any warning on stderr. */
function tar(args: string[], cwd = work): string {
  const r = spawnSync('tar', args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, TZ: 'UTC', LC_ALL: 'C' },
  });
  assert.equal(r.status, 0, `tar ${args.join(' ')} failed: ${r.stderr}`);
  assert.equal(r.stderr, '', `tar ${args.join(' ')} warned`);
  return r.stdout;
}

const T = 1000000000; // 2001-09-09 01:46:40 UTC
const base = { uid: 0, gid: 0, mtime: T, size: 0 };
const file = (
  path: string,
  body: string,
  mode = 0o644,
  extra: Partial<TarWriteEntry> = {},
): TarWriteEntry => ({
  ...base,
  path,
  type: 'file',
  mode,
  size: Buffer.byteLength(body),
  body: () => Readable.from([Buffer.from(body)]),
  ...extra,
});

describe('GNU tar reads archives imprint writes', { skip: !hasGnuTar && 'GNU tar is not installed' }, () => {
  const longDir = `d/${'l'.repeat(120)}/${'m'.repeat(120)}/`;
  const entries: TarWriteEntry[] = [
    { ...base, path: 'd/', type: 'dir', mode: 0o755 },
    file('d/f', 'hello\n', 0o640, { uid: 1234, gid: 4321 }),
    file('d/suid', '#!/bin/sh\n', 0o4755),
    file('d/empty', ''),
    file('d/old', 'old', 0o644, { mtime: -86400 }),
    file('d/ünïcödé', 'utf8'),
    file('d/xattr', 'x', 0o644, { xattrs: { 'user.imprint': Buffer.from('yes') } }),
    { ...base, path: 'd/link', type: 'symlink', mode: 0o777, linkname: 'f' },
    { ...base, path: 'd/abs', type: 'symlink', mode: 0o777, linkname: '/nonexistent/target' },
    { ...base, path: 'd/longlink', type: 'symlink', mode: 0o777, linkname: `${'t'.repeat(150)}` },
    { ...base, path: 'd/hard', type: 'hardlink', mode: 0o640, linkname: 'd/f' },
    { ...base, path: 'd/fifo', type: 'fifo', mode: 0o600 },
    ...(isRoot
      ? [{ ...base, path: 'd/null', type: 'char', mode: 0o666, devmajor: 1, devminor: 3 } as TarWriteEntry]
      : []),
    { ...base, path: 'd/sub/', type: 'dir', mode: 0o2775 },
    { ...base, path: longDir, type: 'dir', mode: 0o755 },
    file(`${longDir}${'n'.repeat(80)}`, 'deep', 0o600),
  ];
  let archive: Buffer;

  it('lists every entry with its type, mode, owner and target', async () => {
    archive = await collect(tarStream(entries, { what: 'interop.tar' }));
    fs.writeFileSync(join(work, 'imprint.tar'), archive);
    const lines = tar(['--numeric-owner', '--quoting-style=literal', '-tvf', 'imprint.tar'])
      .trimEnd()
      .split('\n');
    assert.equal(lines.length, entries.length);
    const expectLine = (i: number, re: RegExp): void => assert.match(lines[i]!, re);
    expectLine(0, /^drwxr-xr-x 0\/0 +0 2001-09-09 01:46 d\/$/);
    expectLine(1, /^-rw-r----- 1234\/4321 +6 2001-09-09 01:46 d\/f$/);
    expectLine(2, /^-rwsr-xr-x 0\/0 +10 .* d\/suid$/);
    expectLine(4, /^-rw-r--r-- 0\/0 +3 1969-12-31 00:00 d\/old$/);
    expectLine(5, /d\/ünïcödé$/);
    expectLine(7, /^lrwxrwxrwx 0\/0 +0 .* d\/link -> f$/);
    expectLine(9, new RegExp(`d/longlink -> ${'t'.repeat(150)}$`));
    expectLine(10, /^hrw-r----- 0\/0 +0 .* d\/hard link to d\/f$/);
    expectLine(11, /^prw------- /);
    assert.match(lines.at(-1)!, new RegExp(`${longDir}${'n'.repeat(80)}$`));
  });

  it('extracts contents, modes, owners, links and mtimes', () => {
    const out = join(work, 'extract');
    fs.mkdirSync(out);
    // GNU tar warns about pre-1970 times ("implausibly old"); that is its opinion, not a format problem
    tar(['--numeric-owner', '--xattrs', '--warning=no-timestamp', '-xf', 'imprint.tar', '-C', out]);
    const st = (p: string): fs.Stats => fs.lstatSync(join(out, p));
    assert.equal(fs.readFileSync(join(out, 'd/f'), 'utf8'), 'hello\n');
    assert.equal(st('d/f').mode & 0o7777, 0o640);
    assert.equal(st('d/suid').mode & 0o7777, 0o4755);
    assert.equal(st('d/sub').mode & 0o7777, 0o2775);
    assert.equal(st('d/f').mtimeMs, T * 1000);
    assert.equal(st('d/old').mtimeMs, -86400 * 1000);
    if (isRoot) {
      assert.equal(st('d/f').uid, 1234);
      assert.equal(st('d/f').gid, 4321);
      assert.ok(st('d/null').isCharacterDevice());
      assert.equal(st('d/null').rdev, fs.statSync('/dev/null').rdev);
    }
    assert.equal(st('d/empty').size, 0);
    assert.equal(fs.readFileSync(join(out, 'd/ünïcödé'), 'utf8'), 'utf8');
    assert.equal(fs.readlinkSync(join(out, 'd/link')), 'f');
    assert.equal(fs.readlinkSync(join(out, 'd/abs')), '/nonexistent/target');
    assert.equal(fs.readlinkSync(join(out, 'd/longlink')), 't'.repeat(150));
    assert.equal(st('d/hard').ino, st('d/f').ino);
    assert.ok(st('d/fifo').isFIFO());
    assert.equal(fs.readFileSync(join(out, `${longDir}${'n'.repeat(80)}`), 'utf8'), 'deep');
    assert.deepEqual(fs.readdirSync(out), ['d'], 'no PaxHeaders directory is extracted');
  });

  it('round-trips xattrs through GNU tar', async () => {
    // re-archive what GNU tar extracted and read the xattr back with imprint's reader
    tar(['--xattrs', '--format=posix', '-cf', 'xattr.tar', '-C', join(work, 'extract'), 'd/xattr']);
    const read = await readAll(fs.readFileSync(join(work, 'xattr.tar')));
    assert.deepEqual(read[0]!.xattrs, { 'user.imprint': Buffer.from('yes') });
  });
});

describe('imprint reads archives GNU tar writes', { skip: !hasGnuTar && 'GNU tar is not installed' }, () => {
  const src = join(work, 'src');
  const deep = `${'a'.repeat(70)}/${'b'.repeat(70)}/${'c'.repeat(60)}`; // 202 bytes: splits into ustar prefix/name
  const veryDeep = `${'v'.repeat(90)}/${'w'.repeat(90)}/${'x'.repeat(90)}/file`; // > 255 bytes
  const longTarget = 'z'.repeat(140);

  function buildSource(full: boolean): void {
    fs.rmSync(src, { recursive: true, force: true });
    fs.mkdirSync(join(src, 'sub'), { recursive: true });
    fs.writeFileSync(join(src, 'sub/f'), 'hi\n');
    fs.chmodSync(join(src, 'sub/f'), 0o640);
    fs.writeFileSync(join(src, 'sub/big'), Buffer.alloc(70000, 0x42));
    fs.symlinkSync('f', join(src, 'sub/link'));
    fs.linkSync(join(src, 'sub/f'), join(src, 'sub/hard'));
    execFileSync('mkfifo', [join(src, 'sub/fifo')]);
    fs.mkdirSync(join(src, deep.slice(0, deep.lastIndexOf('/'))), { recursive: true });
    fs.writeFileSync(join(src, deep), 'deep');
    if (full) {
      fs.mkdirSync(join(src, veryDeep.slice(0, veryDeep.lastIndexOf('/'))), { recursive: true });
      fs.writeFileSync(join(src, veryDeep), 'very deep');
      fs.symlinkSync(longTarget, join(src, 'sub/longlink'));
      fs.writeFileSync(join(src, 'sub/ancient'), 'old');
      execFileSync('touch', ['-d', '@-86400', join(src, 'sub/ancient')]); // node's utimes treats negative as "now"
    }
    const walk = (p: string): void => {
      const s = fs.lstatSync(p);
      if (s.isDirectory()) for (const c of fs.readdirSync(p)) walk(join(p, c));
      if (p.endsWith('ancient')) return;
      fs.lutimesSync(p, T, T);
    };
    walk(src);
  }

  for (const format of ['gnu', 'ustar', 'posix'] as const) {
    it(`reads --format=${format}`, async () => {
      const full = format !== 'ustar'; // ustar cannot hold >255-byte paths, long targets, negative times, big ids
      buildSource(full);
      const name = `${format}.tar`;
      const owner = full ? ['--owner=someone:3000000', '--group=grp:7'] : ['--owner=0', '--group=0'];
      tar([
        `--format=${format}`,
        '--sort=name',
        '--warning=no-timestamp',
        ...owner,
        '-cf',
        name,
        '-C',
        src,
        '.',
      ]);
      const buf = fs.readFileSync(join(work, name));
      const read = await readAll(buf, { chunk: 1000 });
      const by = new Map<string, ReadBack>(read.map((e) => [e.path, e]));

      assert.equal(read[0]!.path, '', "GNU tar's './' is the root");
      assert.equal(by.get('sub/')!.type, 'dir');
      const f = by.get('sub/f')!;
      assert.deepEqual([f.type, f.mode, f.data.toString(), f.mtime], ['file', 0o640, 'hi\n', T]);
      assert.equal(f.uid, full ? 3000000 : 0);
      assert.equal(f.gid, full ? 7 : 0);
      assert.deepEqual(by.get('sub/big')!.data, Buffer.alloc(70000, 0x42));
      assert.deepEqual([by.get('sub/link')!.type, by.get('sub/link')!.linkname], ['symlink', 'f']);
      assert.deepEqual([by.get('sub/hard')!.type, by.get('sub/hard')!.linkname], ['hardlink', 'sub/f']);
      assert.equal(by.get('sub/fifo')!.type, 'fifo');
      assert.equal(by.get(deep)!.data.toString(), 'deep');
      if (full) {
        assert.equal(by.get(veryDeep)!.data.toString(), 'very deep');
        assert.equal(by.get('sub/longlink')!.linkname, longTarget);
        assert.equal(by.get('sub/ancient')!.mtime, -86400);
      }
      for (const e of read)
        assert.deepEqual(buf.subarray(e.dataOffset, e.dataOffset + e.size), e.data, e.path);
    });
  }
});
