import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { readAr } from '../../src/debian/ar.js';
import { type DebControl, readDeb, readDebControl } from '../../src/debian/deb.js';
import { encodeBase256, type TarReadEntry, tarStream } from '../../src/tar/index.js';
import {
  arArchive,
  buildDeb,
  type Compression,
  chunked,
  compressBytes,
  controlText,
  DEFAULT_MTIME,
  type DebSpec,
  rawTar,
  type TarEntrySpec,
  withParents,
} from '../helpers/debfile.js';

interface Seen {
  path: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  linkname?: string;
  content?: string;
}

async function readAll(
  bytes: Buffer,
  chunk = 0,
  size?: number,
): Promise<{ control: DebControl; entries: Seen[] }> {
  const entries: Seen[] = [];
  const control = await readDeb(() => (chunk > 0 ? chunked(bytes, chunk) : Readable.from([bytes])), {
    what: 'pkg_1.0_amd64.deb',
    ...(size === undefined ? {} : { size }),
    onEntry: async (e: TarReadEntry) => {
      const parts: Buffer[] = [];
      for await (const c of e.body) parts.push(c as Buffer);
      entries.push({
        path: e.path,
        type: e.type,
        mode: e.mode,
        uid: e.uid,
        gid: e.gid,
        mtime: e.mtime,
        ...(e.linkname === undefined ? {} : { linkname: e.linkname }),
        ...(e.type === 'file' ? { content: Buffer.concat(parts).toString('utf8') } : {}),
      });
    },
  });
  return { control, entries };
}

const sample: DebSpec = {
  name: 'hello',
  version: '2.10-3',
  fields: { Depends: 'libc6 (>= 2.34)', 'Multi-Arch': 'foreign' },
  entries: [
    { path: './usr/bin/hello', content: 'binary\n', mode: 0o4755 },
    { path: './usr/share/doc/hello/copyright', content: 'odd-sized content!' },
    { path: './bin/hello-link', type: 'symlink', linkname: '../usr/bin/hello' },
    { path: './usr/bin/hello2', type: 'hardlink', linkname: './usr/bin/hello' },
    { path: './etc/hello.conf', content: 'greeting=hi\n', uid: 0, gid: 50 },
  ],
  conffiles: ['/etc/hello.conf'],
};

function expectedEntries(): Seen[] {
  return withParents(sample.entries).map((e) => {
    const type = e.type ?? (e.path.endsWith('/') ? 'dir' : 'file');
    const path = e.path.replace(/^\.\//, '');
    return {
      path,
      type,
      mode: e.mode ?? (type === 'dir' ? 0o755 : type === 'symlink' ? 0o777 : 0o644),
      uid: e.uid ?? 0,
      gid: e.gid ?? 0,
      mtime: DEFAULT_MTIME,
      ...(type === 'symlink' ? { linkname: e.linkname as string } : {}),
      ...(type === 'hardlink' ? { linkname: 'usr/bin/hello' } : {}),
      ...(type === 'file' ? { content: String(e.content) } : {}),
    };
  });
}

describe('readDeb', () => {
  for (const compression of ['gzip', 'xz', 'zstd', 'none'] as Compression[]) {
    it(`reads control and data with data.tar ${compression}`, async () => {
      const bytes = buildDeb({
        ...sample,
        compression,
        controlCompression: compression === 'none' ? 'gzip' : compression,
      });
      const { control, entries } = await readAll(bytes, 0, bytes.length);
      assert.equal(control.paragraph.get('Package'), 'hello');
      assert.equal(control.paragraph.get('Version'), '2.10-3');
      assert.deepEqual(control.paragraph.names, [
        'Package',
        'Version',
        'Architecture',
        'Maintainer',
        'Installed-Size',
        'Depends',
        'Multi-Arch',
        'Description',
      ]);
      assert.deepEqual(control.conffiles, ['/etc/hello.conf']);
      assert.match(control.md5sums ?? '', /^[0-9a-f]{32} {2}usr\/bin\/hello\n/);
      assert.equal(
        control.dataMember,
        `data.tar${{ gzip: '.gz', xz: '.xz', zstd: '.zst', none: '' }[compression]}`,
      );
      assert.deepEqual(entries, expectedEntries());
    });
  }

  for (const arStyle of ['gnu', 'bsd'] as const) {
    it(`reads ${arStyle} ar member names, in 7-byte chunks`, async () => {
      const bytes = buildDeb({ ...sample, arStyle, compression: 'gzip' });
      const { entries } = await readAll(bytes, 7);
      assert.deepEqual(entries, expectedEntries());
    });
  }

  it('refuses a data.tar path longer than PATH_MAX (4096 bytes): deep paths multiply into tree nodes', async () => {
    // The entry's path in a PAX record, as imprint's tar writer (and GNU tar) write long paths.
    const tarOf = async (path: string) => {
      const parts: Buffer[] = [];
      const entry = { path, type: 'file' as const, mode: 0o644, uid: 0, gid: 0, mtime: 0, size: 1 };
      for await (const c of tarStream([{ ...entry, body: () => Readable.from([Buffer.from('x')]) }]))
        parts.push(c as Buffer);
      return gzipSync(Buffer.concat(parts));
    };
    const deb = async (path: string) =>
      buildDeb({ ...sample, compression: 'gzip', dataTar: await tarOf(path) });
    const bytes = await deb(`${'d/'.repeat(2100)}f`);
    await assert.rejects(readAll(bytes), (err: { code?: string; message?: string }) => {
      assert.match(String(err.code), /^TAR_(HEADER_TOO_LARGE|UNSAFE_PATH)$/, err.message);
      return true;
    });
    assert.equal((await readAll(await deb(`${'d/'.repeat(1000)}f`))).entries.length, 1);
  });

  it('skips _-members (signatures) and reads control only on request', async () => {
    const bytes = buildDeb({ ...sample, extraMembers: [{ name: '_gpgorigin', data: Buffer.from('sig') }] });
    assert.equal((await readAll(bytes)).entries.length, expectedEntries().length);
    // readDebControl never touches data.tar: garbage there goes unnoticed
    const broken = buildDeb({ ...sample, compression: 'gzip', dataTar: Buffer.from('not gzip at all') });
    const control = await readDebControl(() => Readable.from([broken]), { what: 'x.deb' });
    assert.equal(control.paragraph.get('Package'), 'hello');
    await assert.rejects(readAll(broken), { code: 'COMPRESSION_INVALID' });
  });

  it('reads a .deb built by dpkg-deb --build (gzip, xz, zstd)', async (t) => {
    if (spawnSync('dpkg-deb', ['--version']).status !== 0) return t.skip('dpkg-deb not installed');
    const dir = mkdtempSync(join(tmpdir(), 'imprint-deb-'));
    try {
      const root = join(dir, 'root');
      mkdirSync(join(root, 'DEBIAN'), { recursive: true });
      mkdirSync(join(root, 'usr/bin'), { recursive: true });
      writeFileSync(join(root, 'DEBIAN/control'), controlText({ name: 'built', entries: [] }));
      writeFileSync(join(root, 'usr/bin/tool'), '#!/bin/sh\necho hi\n', { mode: 0o755 });
      symlinkSync('tool', join(root, 'usr/bin/tool-alias'));
      for (const z of ['gzip', 'xz', 'zstd']) {
        const out = join(dir, `built-${z}.deb`);
        const r = spawnSync('dpkg-deb', ['--root-owner-group', `-Z${z}`, '--build', root, out], {
          env: { ...process.env, SOURCE_DATE_EPOCH: '1700000000' },
        });
        assert.equal(r.status, 0, r.stderr.toString());
        const { control, entries } = await readAll(readFileSync(out));
        assert.equal(control.paragraph.get('Package'), 'built');
        assert.deepEqual(
          entries.map((e) => [e.path, e.type, e.mode, e.linkname ?? e.content ?? '']),
          [
            ['', 'dir', 0o755, ''],
            ['usr/', 'dir', 0o755, ''],
            ['usr/bin/', 'dir', 0o755, ''],
            ['usr/bin/tool', 'file', 0o755, '#!/bin/sh\necho hi\n'],
            ['usr/bin/tool-alias', 'symlink', 0o777, 'tool'],
          ],
        );
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('hostile .deb files', () => {
  const good = buildDeb({ ...sample, compression: 'gzip' });
  const rejects = (bytes: Buffer, code: string, opts: { size?: number; entry?: string } = {}) =>
    assert.rejects(
      readAll(bytes, 0, opts.size),
      (err: Error & { code?: string; details?: Record<string, unknown> }) => {
        assert.equal(err.code, code, err.message);
        assert.match(err.message, /pkg_1\.0_amd64\.deb/);
        if (opts.entry !== undefined) assert.equal(err.details?.entry, opts.entry);
        return true;
      },
    );

  it('refuses a truncated archive (AR_INVALID), at every cut inside the members', async () => {
    for (const cut of [4, 8 + 30, 8 + 60 + 2, good.length - 100, good.length - 1])
      await rejects(good.subarray(0, cut), 'AR_INVALID');
  });

  it('refuses a bad magic, a malformed header, a size past the file and path-like names', async () => {
    await rejects(Buffer.concat([Buffer.from('!<arhc>\n'), good.subarray(8)]), 'AR_INVALID');
    const badSize = Buffer.from(good);
    badSize.write('12x4      ', 8 + 48, 'latin1');
    await rejects(badSize, 'AR_INVALID');
    const badMagic = Buffer.from(good);
    badMagic.write('``', 8 + 58, 'latin1');
    await rejects(badMagic, 'AR_INVALID');
    const huge = arArchive([{ name: 'debian-binary', data: Buffer.from('2.0\n') }]);
    huge.write('9999999999', 8 + 48, 'latin1');
    await rejects(huge, 'AR_INVALID', { size: huge.length });
    await rejects(arArchive([{ name: '../debian-binary', data: Buffer.from('2.0\n') }], 'bsd'), 'AR_INVALID');
    await rejects(arArchive([{ name: 'a/b', data: Buffer.from('x') }], 'gnu'), 'AR_INVALID');
  });

  it('refuses wrong layouts and formats (DEB_INVALID, COMPRESSION_UNSUPPORTED)', async () => {
    await rejects(arArchive([{ name: 'control.tar.gz', data: Buffer.alloc(0) }]), 'DEB_INVALID');
    await rejects(buildDeb({ ...sample, debianBinary: '3.0\n' }), 'DEB_INVALID');
    await rejects(arArchive([{ name: 'debian-binary', data: Buffer.from('2.0\n') }]), 'DEB_INVALID');
    const bz2 = arArchive([
      { name: 'debian-binary', data: Buffer.from('2.0\n') },
      {
        name: 'control.tar.gz',
        data: compressBytes(rawTar([{ path: './control', content: controlText(sample) }]), 'gzip'),
      },
      { name: 'data.tar.bz2', data: Buffer.from('BZh9') },
    ]);
    await rejects(bz2, 'COMPRESSION_UNSUPPORTED');
    const noControl = arArchive([
      { name: 'debian-binary', data: Buffer.from('2.0\n') },
      { name: 'control.tar.gz', data: compressBytes(rawTar([{ path: './md5sums', content: '' }]), 'gzip') },
      { name: 'data.tar.gz', data: compressBytes(rawTar([]), 'gzip') },
    ]);
    await rejects(noControl, 'DEB_INVALID');
  });

  it("refuses '../' paths and escaping links in data.tar, naming the .deb and entry", async () => {
    await rejects(
      buildDeb({ ...sample, compression: 'xz', entries: [{ path: './usr/../../etc/passwd', content: 'x' }] }),
      'TAR_UNSAFE_PATH',
    );
    await rejects(
      buildDeb({ ...sample, entries: [{ path: '/etc/passwd', content: 'x' }], autoDirs: false }),
      'TAR_UNSAFE_PATH',
    );
    await rejects(
      buildDeb({
        ...sample,
        entries: [{ path: './usr/lib/evil', type: 'symlink', linkname: '../../../etc/shadow' }],
      }),
      'TAR_UNSAFE_LINK',
      { entry: 'usr/lib/evil' },
    );
    await rejects(
      buildDeb({ ...sample, entries: [{ path: './usr/x', type: 'hardlink', linkname: '/etc/shadow' }] }),
      'TAR_UNSAFE_LINK',
    );
  });

  it('refuses owners, times and device numbers no installed file can have, naming the .deb and entry', async () => {
    const file = (over: Partial<TarEntrySpec>): TarEntrySpec => ({
      path: './usr/bin/x',
      content: 'x',
      ...over,
    });
    const hostile: Array<[field: string, entry: TarEntrySpec]> = [
      ['uid', file({ raw: { uid: encodeBase256(2 ** 40, 8) } })], // GNU base-256
      ['uid', file({ pax: { uid: String(Number.MAX_SAFE_INTEGER) } })],
      ['gid', file({ pax: { gid: '4294967295' } })], // (gid_t)-1: "no id"
      ['mtime', file({ raw: { mtime: encodeBase256(-1, 12) } })],
      ['mtime', file({ pax: { mtime: '-86400.5' } })],
      ['mtime', file({ raw: { mtime: encodeBase256(2 ** 50, 12) } })], // far beyond year 9999
      ['devmajor', { path: './dev/x', type: 'char', raw: { devmajor: encodeBase256(2 ** 30, 8) } }],
      ['devminor', { path: './dev/x', type: 'block', raw: { devminor: encodeBase256(-2, 8) } }],
    ];
    for (const [field, entry] of hostile) {
      await assert.rejects(
        readAll(buildDeb({ ...sample, entries: [entry] })),
        (err: Error & { code?: string; details?: Record<string, unknown> }) => {
          assert.equal(err.code, 'TAR_INVALID', err.message);
          assert.match(
            err.message,
            /^pkg_1\.0_amd64\.deb: data\.tar\.xz: entry "(usr\/bin|dev)\/x" at byte \d+: /,
          );
          assert.equal(err.details?.entry, entry.path.slice(2));
          assert.equal(err.details?.field, field, err.message);
          return true;
        },
        `${field} ${JSON.stringify(entry.raw ?? entry.pax)}`,
      );
    }
    // Beyond 2^53 the tar reader itself refuses the field, naming the package as well: 2^60 in base-256.
    const huge = Buffer.from([0x90, 0, 0, 0, 0, 0, 0, 0]);
    await rejects(buildDeb({ ...sample, entries: [file({ raw: { uid: huge } })] }), 'TAR_INVALID');
    // The bounds themselves pass.
    const { entries } = await readAll(
      buildDeb({
        ...sample,
        entries: [
          file({ raw: { uid: encodeBase256(4294967294, 8), gid: encodeBase256(4294967294, 8) }, mtime: 0 }),
          file({ path: './usr/bin/y', pax: { mtime: '253402300799' } }),
        ],
      }),
    );
    const x = entries.find((e) => e.path === 'usr/bin/x')!;
    assert.deepEqual([x.uid, x.gid, x.mtime], [4294967294, 4294967294, 0]);
    assert.equal(entries.find((e) => e.path === 'usr/bin/y')!.mtime, 253402300799);
  });

  it('refuses a decompression bomb: past the ratio, beyond what its Installed-Size declares', async () => {
    const bomb = buildDeb({
      ...sample,
      installedSize: 1,
      compression: 'gzip',
      entries: [{ path: './zeros', content: Buffer.alloc(8 * 1024 * 1024) }],
    });
    await assert.rejects(
      readDeb(() => Readable.from([bomb]), {
        what: 'pkg_1.0_amd64.deb',
        limits: { decompress: { maxRatio: 50, ratioGraceBytes: 1024 * 1024 } },
        onEntry: async (e) => {
          for await (const _ of e.body);
        },
      }),
      (err: Error & { code?: string }) =>
        err.code === 'DECOMPRESSION_BOMB' && /pkg_1\.0_amd64\.deb: data\.tar\.gz/.test(err.message),
    );
  });

  it('unpacks data that compresses past the ratio when its Installed-Size declares it (libjs-moment-timezone: 38 MB from 193 KB of xz)', async () => {
    const dense = buildDeb({
      ...sample,
      compression: 'gzip',
      entries: [{ path: './zones.json', content: Buffer.alloc(40 * 1024 * 1024, 0x20) }],
    });
    let bytes = 0;
    await readDeb(() => Readable.from([dense]), {
      what: 'pkg_1.0_amd64.deb',
      onEntry: async (e) => {
        for await (const c of e.body) bytes += (c as Buffer).length;
      },
    });
    assert.equal(bytes, 40 * 1024 * 1024);
  });

  it('lists ar members with offsets', async () => {
    const names: string[] = [];
    for await (const m of readAr(Readable.from([good]), { archive: 'x' }))
      names.push(`${m.name}@${m.headerOffset}`);
    assert.equal(names[0], 'debian-binary@8');
    assert.equal(names.length, 3);
  });
});
