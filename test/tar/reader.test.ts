import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { isImprintError } from '../../src/errors.js';
import { encodeBase256, FIELD, writeChecksum } from '../../src/tar/header.js';
import { readTar } from '../../src/tar/reader.js';
import type { TarWriteEntry } from '../../src/tar/types.js';
import { tarStream } from '../../src/tar/writer.js';
import {
  chunked,
  collect,
  END,
  header,
  member,
  padded,
  paxMember,
  RandomBytes,
  readAll,
  rejectsWith,
} from './archive-fixtures.js';

const base = { mode: 0o644, uid: 0, gid: 0, mtime: 0, size: 0 };
const file = (path: string, body: string | Buffer, extra: Partial<TarWriteEntry> = {}): TarWriteEntry => {
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body);
  return { ...base, path, type: 'file', size: bytes.length, body: () => Readable.from([bytes]), ...extra };
};

describe('tar reader: round trip with the writer', () => {
  const longDir = `${'d'.repeat(120)}/${'e'.repeat(90)}/`;
  const entries: TarWriteEntry[] = [
    { ...base, path: 'etc/', type: 'dir', mode: 0o755, mtime: 1700000000 },
    file('etc/empty', ''),
    file('etc/hosts', 'x'.repeat(1000), { mode: 0o4755, uid: 1000, gid: 100 }),
    { ...base, path: 'etc/hard', type: 'hardlink', linkname: 'etc/hosts' },
    { ...base, path: 'etc/sym', type: 'symlink', linkname: '../usr/bin/x', mode: 0o777 },
    { ...base, path: 'etc/abs', type: 'symlink', linkname: '/usr/bin/x', mode: 0o777 },
    { ...base, path: 'dev/null', type: 'char', devmajor: 1, devminor: 3, mode: 0o666 },
    { ...base, path: 'dev/sda', type: 'block', devmajor: 8, devminor: 0, mode: 0o660, gid: 6 },
    { ...base, path: 'run/fifo', type: 'fifo', mode: 0o1777 },
    { ...base, path: longDir, type: 'dir', mode: 0o2755 },
    file(`${longDir}${'f'.repeat(99)}`, 'long name', { mtime: -86400 }),
    file(`${'p/'.repeat(150)}deep`, 'deeper', { mtime: 2 ** 34 }),
    { ...base, path: 'l', type: 'symlink', linkname: `/${'t/'.repeat(100)}end` },
    { ...base, path: 'h', type: 'hardlink', linkname: `${'p/'.repeat(150)}deep` },
    file('ids', '', { uid: 2 ** 31, gid: 0o7777777 + 1 }),
    file('usr/bin/ping', 'ping', {
      xattrs: { 'security.capability': Buffer.from([1, 0, 0, 2, 0x20, 0]), 'user.a': Buffer.from('b') },
    }),
    file('ünïcödé/名前.txt', 'utf-8'),
    { ...base, path: `${'é'.repeat(60)}/`, type: 'dir' },
  ];

  it('reads back every field of every entry type', async () => {
    const archive = await collect(tarStream(entries));
    const read = await readAll(archive, { chunk: 700 });
    assert.equal(read.length, entries.length);
    for (const [i, want] of entries.entries()) {
      const got = read[i]!;
      const { body, ...meta } = want;
      const expect = {
        linkname: undefined,
        devmajor: undefined,
        devminor: undefined,
        xattrs: undefined,
        ...meta,
      };
      assert.deepEqual(
        {
          path: got.path,
          type: got.type,
          mode: got.mode,
          uid: got.uid,
          gid: got.gid,
          mtime: got.mtime,
          size: got.size,
        },
        {
          path: expect.path,
          type: expect.type,
          mode: expect.mode,
          uid: expect.uid,
          gid: expect.gid,
          mtime: expect.mtime,
          size: expect.size,
        },
      );
      assert.deepEqual(
        [got.linkname, got.devmajor, got.devminor, got.xattrs],
        [expect.linkname, expect.devmajor, expect.devminor, expect.xattrs],
        want.path,
      );
      const data = body ? await collect(await body()) : Buffer.alloc(0);
      assert.deepEqual(got.data, data, want.path);
      // offsets index the archive: the body sits at dataOffset, the first header block at headerOffset
      assert.deepEqual(archive.subarray(got.dataOffset, got.dataOffset + got.size), data);
      assert.equal(got.headerOffset % 512, 0);
      assert.ok(got.headerOffset <= got.dataOffset - 512);
    }
    const deep = read.find((e) => e.path.endsWith('deep'))!;
    assert.equal(deep.pax.path, deep.path);
    assert.equal(deep.dataOffset - deep.headerOffset, 3 * 512, 'PAX block, one record block, ustar block');
    assert.equal(archive.subarray(deep.headerOffset + 156, deep.headerOffset + 157).toString(), 'x');
    assert.deepEqual(read.find((e) => e.path === 'etc/hosts')!.pax, {});
    // random access: the slice from headerOffset to the end of the padded body is a readable archive
    for (const e of read) {
      const end = e.dataOffset + Math.ceil(e.size / 512) * 512;
      const [again] = await readAll(archive.subarray(e.headerOffset, end));
      assert.deepEqual(
        { ...again, headerOffset: 0, dataOffset: 0 },
        { ...e, headerOffset: 0, dataOffset: 0 },
      );
    }
  });

  it('streams a 20 MB body through writer and reader without buffering it', async () => {
    const size = 20 * 1024 * 1024 + 3;
    const rnd = new RandomBytes(size, 7);
    const want = createHash('sha256');
    for await (const c of new RandomBytes(size, 7).stream()) want.update(c as Buffer);
    const archive = tarStream([
      file('before', 'b'),
      { ...base, path: 'big', type: 'file', size, body: () => rnd.stream() },
      file('after', 'a'),
    ]);
    const seen: string[] = [];
    let maxLead = 0;
    for await (const e of readTar(archive, { archive: 'pipe.tar' })) {
      seen.push(e.path);
      if (e.path !== 'big') continue;
      const h = createHash('sha256');
      let got = 0;
      for await (const c of e.body) {
        h.update(c as Buffer);
        got += (c as Buffer).length;
        maxLead = Math.max(maxLead, rnd.produced - got);
        if (got % (1024 * 1024) < (c as Buffer).length) await new Promise((r) => setImmediate(r));
      }
      assert.equal(got, size);
      assert.equal(h.digest('hex'), want.digest('hex'));
    }
    assert.deepEqual(seen, ['before', 'big', 'after']);
    assert.ok(maxLead < 1024 * 1024, `the producer ran ${maxLead} bytes ahead of the body consumer`);
  });
});

describe('tar reader: streaming protocol', () => {
  const archive = (): Promise<Buffer> =>
    collect(tarStream([file('a', 'A'.repeat(3000)), file('b', 'B'.repeat(10)), file('c', 'C'.repeat(600))]));

  it('drains unread and half-read bodies when the next entry is requested', async () => {
    const buf = await archive();
    const paths: string[] = [];
    const bodies: Buffer[] = [];
    for await (const e of readTar(chunked(buf, 333), { archive: 'x.tar' })) {
      paths.push(e.path);
      if (e.path === 'b') bodies.push(await collect(e.body));
      if (e.path === 'a') {
        e.body.read(0); // starts one read, then abandons it
        await new Promise((r) => setImmediate(r));
      }
    }
    assert.deepEqual(paths, ['a', 'b', 'c']);
    assert.deepEqual(bodies, [Buffer.from('B'.repeat(10))]);
  });

  it('makes a body that was skipped fail when read late', async () => {
    const buf = await archive();
    const kept: Readable[] = [];
    for await (const e of readTar(chunked(buf), { archive: 'x.tar' })) kept.push(e.body);
    await assert.rejects(collect(kept[0]!));
  });

  it('reports a failing source as IO (or its own ImprintError) to the body and to the next step', async () => {
    const buf = await archive();
    const failing = (err: Error): Readable =>
      Readable.from(
        (function* () {
          yield buf.subarray(0, 1000);
          throw err;
        })(),
        { objectMode: false },
      );
    const it1 = readTar(failing(new Error('connection reset')), { archive: 'x.tar' });
    const first = await it1.next();
    assert.ok(!first.done);
    await assert.rejects(collect(first.value.body), { code: 'IO' });
    await assert.rejects(it1.next(), (e: unknown) => {
      const err = e as { code: string; details: Record<string, unknown> };
      return err.code === 'IO' && err.details.archive === 'x.tar' && err.details.offset === 1000;
    });
    const { ImprintError } = await import('../../src/errors.js');
    const it2 = readTar(failing(new ImprintError('COMPRESSION_INVALID', 'bad gzip')), { archive: 'x.tar' });
    await it2.next();
    await assert.rejects(it2.next(), { code: 'COMPRESSION_INVALID' });
  });

  it('closes the source when the consumer stops early', async () => {
    const src = chunked(await archive(), 512);
    for await (const e of readTar(src, { archive: 'x.tar' })) {
      assert.equal(e.path, 'a');
      break;
    }
    assert.ok(src.destroyed);
  });

  it('drains the source after the end marker (e.g. record padding), so digests can be checked at end', async () => {
    const buf = Buffer.concat([await archive(), Buffer.alloc(10240 - 0)]);
    const src = new PassThrough();
    src.end(buf);
    let ended = false;
    src.on('end', () => {
      ended = true;
    });
    assert.equal((await readAll(src)).length, 3);
    assert.ok(ended);
  });

  it('tolerates end of stream after one zero block, after the last padding, and an empty stream', async () => {
    const one = member({ name: 'x' }, Buffer.from('x'));
    assert.deepEqual(
      (await readAll(Buffer.concat([one, Buffer.alloc(512)]))).map((e) => e.path),
      ['x'],
    );
    assert.deepEqual(
      (await readAll(one)).map((e) => e.path),
      ['x'],
    );
    assert.deepEqual(await readAll(Buffer.alloc(0)), []);
  });

  it('enforces maxEntries and maxEntrySize with TAR_LIMIT', async () => {
    const buf = await archive();
    const many = await rejectsWith(readAll(buf, { limits: { maxEntries: 2 } }), 'TAR_LIMIT');
    assert.equal(many.details.entry, 'c');
    const big = await rejectsWith(readAll(buf, { limits: { maxEntrySize: 2999 } }), 'TAR_LIMIT');
    assert.deepEqual(big.details, { archive: 'test.tar', entry: 'a', offset: 0 });
    assert.equal((await readAll(buf, { limits: { maxEntries: 3, maxEntrySize: 3000 } })).length, 3);
  });
});

describe('tar reader: foreign dialects', () => {
  it("strips a leading './', yields './' as the root '', and adds '/' to directories", async () => {
    const buf = Buffer.concat([
      member({ name: './', typeflag: '5', mode: 0o755 }),
      member({ name: './usr', typeflag: '5' }),
      member({ name: './usr//bin/./env' }, Buffer.from('#!')),
      member({ name: './usr/bin/env2', typeflag: '1', linkname: './usr/bin/env' }),
      member({ name: 'old-style-dir/', typeflag: '\0' }),
      member({ name: 'odd-dir/' }, Buffer.from('data a directory header should not have')),
      END,
    ]);
    const read = await readAll(buf);
    assert.deepEqual(
      read.map((e) => [e.path, e.type, e.linkname]),
      [
        ['', 'dir', undefined],
        ['usr/', 'dir', undefined],
        ['usr/bin/env', 'file', undefined],
        ['usr/bin/env2', 'hardlink', 'usr/bin/env'],
        ['old-style-dir/', 'dir', undefined],
        ['odd-dir/', 'dir', undefined],
      ],
    );
    assert.equal(read[0]!.mode, 0o755);
  });

  it('reads GNU long names and long links, base-256 numbers, old GNU and v7 headers', async () => {
    const longName = `${'n/'.repeat(200)}file`;
    const longLink = `${'../'.repeat(1)}${'t'.repeat(300)}`;
    const gnuLong = (type: 'L' | 'K', value: string): Buffer => {
      const block = header({ name: '././@LongLink', typeflag: type, size: value.length + 1 });
      block.write('ustar  \0', 257, 'latin1');
      writeChecksum(block);
      return Buffer.concat([block, padded(Buffer.from(`${value}\0`))]);
    };
    const big = header({ name: 'base256', size: 0 });
    encodeBase256(5, 12).copy(big, FIELD.size[0]);
    encodeBase256(2 ** 40, 8).copy(big, FIELD.uid[0]);
    encodeBase256(-5, 12).copy(big, FIELD.mtime[0]);
    writeChecksum(big);
    const v7 = header({ name: 'v7dir/', typeflag: '\0' });
    v7.fill(0, 257);
    writeChecksum(v7);
    const buf = Buffer.concat([
      gnuLong('L', longName),
      member({ name: longName.slice(0, 100) }, Buffer.from('L')),
      gnuLong('L', 'n/sym'),
      gnuLong('K', longLink),
      member({ name: 'ignored', typeflag: '2', linkname: 'ignored' }),
      big,
      padded(Buffer.from('12345')),
      v7,
      END,
    ]);
    const read = await readAll(buf);
    assert.deepEqual(
      read.map((e) => [e.path, e.type, e.linkname ?? e.data.toString()]),
      [
        [longName, 'file', 'L'],
        ['n/sym', 'symlink', longLink],
        ['base256', 'file', '12345'],
        ['v7dir/', 'dir', ''],
      ],
    );
    assert.equal(read[0]!.headerOffset, 0);
    assert.equal(read[2]!.uid, 2 ** 40);
    assert.equal(read[2]!.mtime, -5);
  });

  it('applies global PAX headers to later entries, per-entry ones override or delete them', async () => {
    const buf = Buffer.concat([
      member({ name: 'before', mtime: 7 }),
      paxMember({ mtime: '100', comment: 'git commit' }, 'g'),
      member({ name: 'a', mtime: 7 }),
      paxMember({ mtime: '1.75' }),
      member({ name: 'b', mtime: 7 }),
      paxMember({ mtime: '-1.25' }),
      member({ name: 'c', mtime: 7 }),
      paxMember({ mtime: '' }),
      member({ name: 'd', mtime: 7 }),
      END,
    ]);
    const read = await readAll(buf);
    assert.deepEqual(
      read.map((e) => [e.path, e.mtime]),
      [
        ['before', 7],
        ['a', 100],
        ['b', 1],
        ['c', -2],
        ['d', 7],
      ],
    );
    assert.deepEqual(read[1]!.pax, { comment: 'git commit', mtime: '100' });
    assert.deepEqual(read[4]!.pax, { comment: 'git commit' });
    assert.equal(
      read[2]!.headerOffset,
      read[2]!.dataOffset - 3 * 512,
      'the x header belongs to the entry, the g header does not',
    );
    assert.equal(read[1]!.headerOffset, read[1]!.dataOffset - 512);
  });

  it('reads header-only types as bodiless whatever their size field says, and skips GNU dumpdir data', async () => {
    const dumpdir = header({ name: 'dd', typeflag: 'D', size: 5 });
    const buf = Buffer.concat([
      header({ name: 'sym', typeflag: '2', linkname: 'x', size: 1000 }),
      dumpdir,
      padded(Buffer.from('Yabc\0')),
      member({ name: 'after' }, Buffer.from('ok')),
      END,
    ]);
    const read = await readAll(buf);
    assert.deepEqual(
      read.map((e) => [e.path, e.type, e.size, e.data.toString()]),
      [
        ['sym', 'symlink', 0, ''],
        ['dd/', 'dir', 0, ''],
        ['after', 'file', 2, 'ok'],
      ],
    );
  });
});

describe('tar reader: bodies through chunks()', () => {
  it('gives the same bytes as the Readable, skips what is not read, and reports truncation', async () => {
    const big = Buffer.alloc(300_000, 7);
    big.write('start');
    const buf = Buffer.concat([
      member({ name: 'a' }, Buffer.from('alpha')),
      member({ name: 'big' }, big),
      member({ name: 'unread' }, Buffer.from('skipped')),
      member({ name: 'z' }, Buffer.from('zulu')),
      END,
    ]);
    const got: Array<[string, string]> = [];
    for await (const e of readTar(chunked(buf, 1000), { archive: 't' })) {
      if (e.path === 'unread') continue;
      const parts: Buffer[] = [];
      for await (const c of e.chunks()) parts.push(Buffer.from(c)); // views: copy before the next
      const data = Buffer.concat(parts);
      got.push([
        e.path,
        e.path === 'big' ? createHash('sha256').update(data).digest('hex') : data.toString(),
      ]);
    }
    assert.deepEqual(got, [
      ['a', 'alpha'],
      ['big', createHash('sha256').update(big).digest('hex')],
      ['z', 'zulu'],
    ]);
    const truncated = buf.subarray(0, 512 + 512 + 512 + 100_000);
    await assert.rejects(
      (async () => {
        for await (const e of readTar(chunked(truncated, 4096), { archive: 't' }))
          for await (const _ of e.chunks()) {
          }
      })(),
      (err: unknown) =>
        isImprintError(err) && err.code === 'TAR_INVALID' && /inside the body/.test(err.message),
    );
  });

  it('refuses to read one body both ways', async () => {
    const buf = Buffer.concat([member({ name: 'a' }, Buffer.from('alpha')), END]);
    for await (const e of readTar(chunked(buf), { archive: 't' })) {
      for await (const _ of e.chunks()) break;
      assert.throws(() => e.body, /already read through chunks/);
    }
  });
});
