// Hostile archives, each built here byte by byte; every rejection names the archive and the entry.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodeBase256, FIELD, writeChecksum } from '../../src/tar/header.js';
import { END, header, member, padded, paxMember, readAll, rejectsWith } from './archive-fixtures.js';

const ok = member({ name: 'fine' }, Buffer.from('fine'));
const archive = (...parts: Buffer[]): Buffer => Buffer.concat([ok, ...parts, END]);

async function rejects(
  buf: Buffer,
  code: string,
  entry: string,
  opts: { offset?: number } = {},
): Promise<void> {
  const err = await rejectsWith(readAll(buf), code);
  assert.equal(err.details.archive, 'test.tar');
  assert.equal(err.details.entry, entry);
  if (opts.offset !== undefined) assert.equal(err.details.offset, opts.offset);
}

describe('tar reader rejects unsafe paths (TAR_UNSAFE_PATH)', () => {
  it('absolute path', () =>
    rejects(archive(member({ name: '/etc/passwd' })), 'TAR_UNSAFE_PATH', '/etc/passwd', { offset: 1024 }));
  it('.. component in ustar name', () =>
    rejects(archive(member({ name: 'a/../../etc/x' })), 'TAR_UNSAFE_PATH', 'a/../../etc/x'));
  it('.. hidden in the prefix field', () =>
    rejects(archive(member({ name: 'x', prefix: '..' })), 'TAR_UNSAFE_PATH', '../x'));
  it('.. as the whole path of a directory', () =>
    rejects(archive(member({ name: '..', typeflag: '5' })), 'TAR_UNSAFE_PATH', '..'));
  it('.. through a PAX path', () =>
    rejects(
      archive(paxMember({ path: '../escape' }), member({ name: 'innocent' })),
      'TAR_UNSAFE_PATH',
      '../escape',
    ));
  it('absolute through a GNU long name', () => {
    const long = header({ name: '././@LongLink', typeflag: 'L', size: 12 });
    return rejects(
      archive(long, padded(Buffer.from('/etc/shadow\0')), member({ name: 'x' })),
      'TAR_UNSAFE_PATH',
      '/etc/shadow',
    );
  });
  it('NUL inside a PAX path', () =>
    rejects(
      archive(paxMember({ path: 'a\0/etc/passwd' }), member({ name: 'a' })),
      'TAR_UNSAFE_PATH',
      'a\0/etc/passwd',
    ));
});

describe('tar reader rejects unsafe links (TAR_UNSAFE_LINK)', () => {
  it('absolute hardlink target', () =>
    rejects(archive(member({ name: 'h', typeflag: '1', linkname: '/etc/shadow' })), 'TAR_UNSAFE_LINK', 'h'));
  it('hardlink target with ..', () =>
    rejects(archive(member({ name: 'h', typeflag: '1', linkname: 'a/../../x' })), 'TAR_UNSAFE_LINK', 'h'));
  it('symlink climbing above the root from a subdirectory', () =>
    rejects(archive(member({ name: 'a/b', typeflag: '2', linkname: '../../x' })), 'TAR_UNSAFE_LINK', 'a/b'));
  it('symlink climbing out and back in still counts as an escape', () =>
    rejects(archive(member({ name: 'x', typeflag: '2', linkname: '../fine' })), 'TAR_UNSAFE_LINK', 'x'));
  it('symlink escape through a PAX linkpath', () =>
    rejects(
      archive(
        paxMember({ linkpath: `a/${'../'.repeat(3)}etc` }),
        member({ name: 'l', typeflag: '2', linkname: 'ok' }),
      ),
      'TAR_UNSAFE_LINK',
      'l',
    ));
  it('allows symlinks that stay inside, and absolute symlinks (they resolve in the container root)', async () => {
    const read = await readAll(
      archive(
        member({ name: 'a/b', typeflag: '2', linkname: '../x' }),
        member({ name: './a/c', typeflag: '2', linkname: './../a/../y' }),
        member({ name: 'd', typeflag: '2', linkname: '/usr/bin/x' }),
      ),
    );
    assert.deepEqual(
      read.slice(1).map((e) => e.linkname),
      ['../x', './../a/../y', '/usr/bin/x'],
    );
  });
});

describe('tar reader rejects oversized metadata before reading it (TAR_HEADER_TOO_LARGE)', () => {
  // No data follows these headers: a reader that read before checking would report truncation instead.
  it('PAX header larger than maxPaxBytes', () =>
    rejects(
      Buffer.concat([ok, header({ name: 'PaxHeaders/big', typeflag: 'x', size: 1024 * 1024 + 1 })]),
      'TAR_HEADER_TOO_LARGE',
      'PaxHeaders/big',
      {
        offset: 1024,
      },
    ));
  it('global PAX header larger than maxPaxBytes', () =>
    rejects(
      Buffer.concat([header({ name: 'g', typeflag: 'g', size: 0o7777777777 })]),
      'TAR_HEADER_TOO_LARGE',
      'g',
    ));
  it('GNU long name larger than maxPathBytes', () =>
    rejects(
      Buffer.concat([ok, header({ name: '././@LongLink', typeflag: 'L', size: 64 * 1024 + 1 })]),
      'TAR_HEADER_TOO_LARGE',
      '././@LongLink',
    ));
  it('GNU long link larger than maxPathBytes', () =>
    rejects(
      Buffer.concat([header({ name: '././@LongLink', typeflag: 'K', size: 1 << 30 })]),
      'TAR_HEADER_TOO_LARGE',
      '././@LongLink',
    ));
  it('many small PAX headers that add up past the limit', async () => {
    const parts = Array.from({ length: 3 }, () => paxMember({ comment: 'c'.repeat(400) }));
    const err = await rejectsWith(
      readAll(archive(...parts, member({ name: 'x' })), { limits: { maxPaxBytes: 1000 } }),
      'TAR_HEADER_TOO_LARGE',
    );
    assert.equal(err.details.entry, 'PaxHeaders/x');
  });
  it('a PAX path longer than maxPathBytes', async () => {
    const err = await rejectsWith(
      readAll(archive(paxMember({ path: 'p'.repeat(300) }), member({ name: 'x' })), {
        limits: { maxPathBytes: 256 },
      }),
      'TAR_HEADER_TOO_LARGE',
    );
    assert.equal(err.details.entry, 'p'.repeat(300));
  });
  it('accepts metadata right at the limits', async () => {
    const name = 'n'.repeat(255);
    const long = header({ name: '././@LongLink', typeflag: 'L', size: 256 });
    const read = await readAll(archive(long, padded(Buffer.from(`${name}\0`)), member({ name: 'x' })), {
      limits: { maxPathBytes: 256 },
    });
    assert.equal(read[1]!.path, name);
  });
});

describe('tar reader rejects corrupt archives (TAR_INVALID) with the byte offset', () => {
  it('bad checksum', async () => {
    const bad = member({ name: 'corrupt' });
    bad[FIELD.mode[0]] = 0x37;
    await rejects(archive(bad), 'TAR_INVALID', 'corrupt', { offset: 1024 });
  });
  it('garbage instead of a header', async () => {
    const garbage = Buffer.alloc(1024);
    for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 131 + 7) & 0xff;
    const err = await rejectsWith(readAll(garbage), 'TAR_INVALID');
    assert.equal(err.details.offset, 0);
    assert.equal(err.details.archive, 'test.tar');
  });
  it('archive truncated inside a header', async () => {
    const err = await rejectsWith(
      readAll(Buffer.concat([ok, member({ name: 'x' }).subarray(0, 300)])),
      'TAR_INVALID',
    );
    assert.equal(err.details.offset, 1024);
  });
  it('archive truncated inside a body', () =>
    rejects(
      Buffer.concat([ok, header({ name: 'cut', size: 2000 }), Buffer.alloc(1000, 0x61)]),
      'TAR_INVALID',
      'cut',
      {
        offset: 1024,
      },
    ));
  it('archive truncated inside a body that the consumer is reading', async () => {
    const { readTar } = await import('../../src/tar/reader.js');
    const { chunked, collect } = await import('./archive-fixtures.js');
    const buf = Buffer.concat([header({ name: 'cut', size: 2000 }), Buffer.alloc(1000, 0x61)]);
    const it = readTar(chunked(buf, 100), { archive: 'test.tar' });
    const first = await it.next();
    assert.ok(!first.done);
    await assert.rejects(collect(first.value.body), { code: 'TAR_INVALID' });
    await assert.rejects(it.next(), { code: 'TAR_INVALID' });
  });
  it('archive truncated inside the padding', () =>
    rejects(Buffer.concat([ok, header({ name: 'pad', size: 10 }), Buffer.alloc(100)]), 'TAR_INVALID', 'pad'));
  it('archive truncated inside a PAX header', async () => {
    const pax = paxMember({ path: 'p'.repeat(600) });
    await rejects(Buffer.concat([ok, pax.subarray(0, 700)]), 'TAR_INVALID', 'PaxHeaders/x');
  });
  it('PAX header with no entry after it', () =>
    rejects(archive(paxMember({ path: 'x' })), 'TAR_INVALID', undefined as unknown as string));
  it('malformed PAX record', async () => {
    const body = Buffer.from('99 path=x\n');
    const err = await rejectsWith(
      readAll(archive(member({ name: 'PaxHeaders/m', typeflag: 'x' }, body), member({ name: 'x' }))),
      'TAR_INVALID',
    );
    assert.equal(err.details.offset, 1024 + 512);
  });
  it('a lone zero block followed by data', async () => {
    const err = await rejectsWith(
      readAll(Buffer.concat([ok, Buffer.alloc(512), member({ name: 'hidden' })])),
      'TAR_INVALID',
    );
    assert.equal(err.details.offset, 1536);
  });
  it('a global header setting path', () =>
    rejects(
      archive(paxMember({ path: 'every/entry' }, 'g'), member({ name: 'x' })),
      'TAR_INVALID',
      'PaxHeaders/x',
    ));
  it('a negative base-256 size, on an extended header and on an entry', async () => {
    for (const typeflag of ['x', '0']) {
      const h = header({ name: 'neg', typeflag });
      encodeBase256(-512, 12).copy(h, FIELD.size[0]);
      writeChecksum(h);
      await rejects(archive(h), 'TAR_INVALID', 'neg', { offset: 1024 });
    }
  });
  it('a PAX size that is not a number', () =>
    rejects(archive(paxMember({ size: '12abc' }), member({ name: 'x' })), 'TAR_INVALID', 'x'));
  it('a name that is not UTF-8', () =>
    rejects(archive(member({ name: Buffer.from([0x61, 0xff, 0x62]) })), 'TAR_INVALID', 'a\ufffdb'));
  it('sparse files (UNSUPPORTED)', async () => {
    await rejects(archive(member({ name: 's', typeflag: 'S' })), 'UNSUPPORTED', 's');
    await rejects(
      archive(paxMember({ 'GNU.sparse.major': '1' }), member({ name: 's2' })),
      'UNSUPPORTED',
      's2',
    );
  });
  it('unknown typeflags (UNSUPPORTED)', () =>
    rejects(archive(member({ name: 'v', typeflag: 'V' })), 'UNSUPPORTED', 'v'));
});

describe('tar reader with allowUnsafe', () => {
  it('yields absolute and .. paths and escaping links as found', async () => {
    const buf = archive(
      member({ name: '/etc/passwd' }),
      member({ name: 'a/../../b' }),
      member({ name: 'h', typeflag: '1', linkname: '/etc/shadow' }),
      member({ name: 's', typeflag: '2', linkname: '../../x' }),
    );
    const read = await readAll(buf, { allowUnsafe: true });
    assert.deepEqual(
      read.map((e) => [e.path, e.linkname]),
      [
        ['fine', undefined],
        ['/etc/passwd', undefined],
        ['a/../../b', undefined],
        ['h', '/etc/shadow'],
        ['s', '../../x'],
      ],
    );
  });
  it('still rejects NUL in paths', async () => {
    await rejectsWith(
      readAll(archive(paxMember({ path: 'a\0b' }), member({ name: 'a' })), { allowUnsafe: true }),
      'TAR_UNSAFE_PATH',
    );
  });
});

// keep the checksum helper honest: a block it fixed must read back
it('writeChecksum repairs an edited block', async () => {
  const block = header({ name: 'edit' });
  block.write('0000755\0', FIELD.mode[0], 'latin1');
  writeChecksum(block);
  const read = await readAll(Buffer.concat([block, END]));
  assert.equal(read[0]!.mode, 0o755);
});
