import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { isImprintError } from '../../src/errors.js';
import { encodeEntryHeaders, splitUstarPath } from '../../src/tar/entry-header.js';
import { decodeHeader, field } from '../../src/tar/header.js';
import { decodePax } from '../../src/tar/pax.js';
import type { TarWriteEntry } from '../../src/tar/types.js';
import { tarParts, tarStream } from '../../src/tar/writer.js';
import { collect, RandomBytes, rejectsWith } from './archive-fixtures.js';

const ascii = (b: Buffer): string => b.toString('latin1');
const base = { mode: 0o644, uid: 0, gid: 0, mtime: 0, size: 0 };
const file = (path: string, body: string | Buffer, extra: Partial<TarWriteEntry> = {}): TarWriteEntry => {
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body);
  return { ...base, path, type: 'file', size: bytes.length, body: () => Readable.from([bytes]), ...extra };
};
const write = (entries: TarWriteEntry[]): Promise<Buffer> => collect(tarStream(entries, { what: 'out.tar' }));

/** The ustar block and PAX records of a single-entry header run. */
function headersOf(entry: TarWriteEntry): {
  ustar: ReturnType<typeof decodeHeader>;
  block: Buffer;
  pax: Record<string, string> | null;
  paxBlock?: Buffer;
} {
  const bytes = encodeEntryHeaders(entry, 'out.tar');
  const last = bytes.subarray(bytes.length - 512);
  if (bytes.length === 512) return { ustar: decodeHeader(last), block: last, pax: null };
  const paxBlock = bytes.subarray(0, 512);
  const ph = decodeHeader(paxBlock);
  assert.equal(ph.typeflag, 'x');
  const records = decodePax(bytes.subarray(512, 512 + ph.size));
  const pax = Object.fromEntries(records.map((r) => [r.key, r.value.toString('utf8')]));
  return { ustar: decodeHeader(last), block: last, pax, paxBlock };
}

describe('tar writer: exact bytes', () => {
  it('writes a small archive with fixed offsets and a pinned digest', async () => {
    const out = await write([
      { ...base, path: 'etc/', type: 'dir', mode: 0o755, mtime: 1700000000 },
      file('etc/hosts', 'hello', { mtime: 1700000000 }),
      { ...base, path: 'etc/link', type: 'symlink', linkname: 'hosts', mode: 0o777, mtime: 1700000000 },
    ]);
    // 3 headers + 1 body block + 2 end blocks; no padding to a 10240-byte record
    assert.equal(out.length, 6 * 512);
    assert.equal(out.length % 512, 0);
    assert.notEqual(out.length % 10240, 0);
    const [dir, hosts, body, link] = [0, 512, 1024, 1536].map((o) => out.subarray(o, o + 512));
    assert.equal(ascii(dir!.subarray(0, 5)), 'etc/\0');
    assert.equal(ascii(field(dir!, 'mode')), '0000755\0');
    assert.equal(ascii(field(dir!, 'mtime')), '14524770400\0');
    assert.equal(ascii(field(dir!, 'typeflag')), '5');
    assert.equal(ascii(out.subarray(257, 265)), 'ustar\x0000');
    assert.ok(
      out.subarray(265, 329).every((b) => b === 0),
      'uname and gname are empty',
    );
    assert.equal(ascii(out.subarray(329, 345)), '0000000\x000000000\0');
    assert.equal(ascii(field(hosts!, 'size')), '00000000005\0');
    assert.equal(ascii(field(hosts!, 'typeflag')), '0');
    assert.equal(ascii(body!.subarray(0, 5)), 'hello');
    assert.ok(body!.subarray(5).every((b) => b === 0));
    assert.equal(ascii(field(link!, 'typeflag')), '2');
    assert.equal(ascii(field(link!, 'linkname').subarray(0, 6)), 'hosts\0');
    assert.equal(ascii(field(link!, 'size')), '00000000000\0');
    assert.ok(out.subarray(2048).every((b) => b === 0));
    // Golden digest: a change here changes every layer digest imprint produces. Deliberate events only.
    assert.equal(
      createHash('sha256').update(out).digest('hex'),
      'ae4ead9c70404a84112d1b6ebcfd0bc8f1efacbda3c8d4a901989e35b667538f',
    );
  });

  it('uses the typeflag of each entry type; only devices carry device numbers; non-files have size 0', () => {
    const cases: Array<[TarWriteEntry, string]> = [
      [file('f', ''), '0'],
      [{ ...base, path: 'h', type: 'hardlink', linkname: 'f' }, '1'],
      [{ ...base, path: 's', type: 'symlink', linkname: '/usr/bin/x' }, '2'],
      [{ ...base, path: 'c', type: 'char', devmajor: 1, devminor: 3 }, '3'],
      [{ ...base, path: 'b', type: 'block', devmajor: 8, devminor: 0o100 }, '4'],
      [{ ...base, path: 'd/', type: 'dir' }, '5'],
      [{ ...base, path: 'p', type: 'fifo' }, '6'],
    ];
    for (const [entry, flag] of cases) {
      const { block } = headersOf(entry);
      assert.equal(ascii(field(block, 'typeflag')), flag, entry.path);
      assert.equal(ascii(field(block, 'size')), '00000000000\0', entry.path);
    }
    const { block: c } = headersOf(cases[3]![0]);
    assert.equal(ascii(field(c, 'devmajor')), '0000001\0');
    assert.equal(ascii(field(c, 'devminor')), '0000003\0');
    const { block: b } = headersOf(cases[4]![0]);
    assert.equal(ascii(field(b, 'devminor')), '0000100\0');
    const { block: f } = headersOf({ ...cases[0]![0], devmajor: 0, devminor: 0 });
    assert.equal(ascii(field(f, 'devmajor')), '0000000\0');
  });
});

describe('tar writer: ustar vs PAX', () => {
  it('puts paths up to 100 bytes in name, longer splittable ones in prefix/name, others in PAX', () => {
    const p100 = `${'a'.repeat(49)}/${'b'.repeat(50)}`;
    const short = headersOf(file(p100, ''));
    assert.equal(short.pax, null);
    assert.equal(ascii(short.ustar.name), p100);

    const p200 = `${'d'.repeat(60)}/${'e'.repeat(60)}/${'f'.repeat(78)}`;
    const split = headersOf(file(p200, ''));
    assert.equal(split.pax, null);
    assert.equal(ascii(split.ustar.prefix), `${'d'.repeat(60)}/${'e'.repeat(60)}`);
    assert.equal(ascii(split.ustar.name), 'f'.repeat(78));

    const dir = headersOf({ ...base, path: `${'d'.repeat(150)}/${'n'.repeat(99)}/`, type: 'dir' });
    assert.equal(dir.pax, null);
    assert.equal(ascii(dir.ustar.name), `${'n'.repeat(99)}/`);

    const longComponent = `x/${'c'.repeat(101)}`;
    const pc = headersOf(file(longComponent, ''));
    assert.deepEqual(pc.pax, { path: longComponent });
    assert.equal(ascii(pc.ustar.name), longComponent.slice(0, 100));
    assert.equal(pc.ustar.prefix.length, 0);

    const p300 = Array.from({ length: 30 }, (_, i) => `dir${String(i).padStart(6, '0')}`).join('/');
    assert.deepEqual(headersOf(file(p300, '')).pax, { path: p300 });

    assert.equal(splitUstarPath(Buffer.from(`${'p'.repeat(156)}/n`)), null); // prefix would be 156
  });

  it('writes non-ASCII paths as UTF-8 and switches to PAX on byte length, not character count', () => {
    const fits = 'é'.repeat(50); // 100 bytes
    const h = headersOf(file(fits, ''));
    assert.equal(h.pax, null);
    assert.equal(h.ustar.name.toString('utf8'), fits);
    const over = `${'é'.repeat(50)}x`; // 51 characters, 101 bytes, no '/'
    const p = headersOf(file(over, ''));
    assert.deepEqual(p.pax, { path: over });
    // the truncated ustar name never splits a character
    assert.equal(p.ustar.name.toString('utf8'), fits);
  });

  it('moves long link targets, big ids, huge sizes and out-of-range mtimes to PAX, zeroing the ustar field', () => {
    const target = `/${'t'.repeat(120)}`;
    const l = headersOf({ ...base, path: 'l', type: 'symlink', linkname: target });
    assert.deepEqual(l.pax, { linkpath: target });
    assert.equal(ascii(l.ustar.linkname), target.slice(0, 100));

    const ids = headersOf({ ...file('f', ''), uid: 0o7777777 + 1, gid: 0o7777777 });
    assert.deepEqual(ids.pax, { uid: String(0o7777777 + 1) });
    assert.equal(ids.ustar.uid, 0);
    assert.equal(ids.ustar.gid, 0o7777777);

    const big = headersOf({ ...base, path: 'big', type: 'file', size: 2 ** 34 });
    assert.deepEqual(big.pax, { size: String(2 ** 34) });
    assert.equal(big.ustar.size, 0);

    assert.deepEqual(headersOf({ ...file('f', ''), mtime: -1 }).pax, { mtime: '-1' });
    assert.deepEqual(headersOf({ ...file('f', ''), mtime: 0o77777777777 + 1 }).pax, {
      mtime: String(0o77777777777 + 1),
    });
    assert.equal(headersOf({ ...file('f', ''), mtime: 0o77777777777 }).pax, null);
  });

  it('writes xattrs as sorted SCHILY.xattr records behind a deterministic PAX block', () => {
    const h = headersOf({
      ...file('usr/bin/ping', ''),
      xattrs: { 'user.z': Buffer.from('1'), 'security.capability': Buffer.from([1, 0, 0, 2]) },
    });
    assert.deepEqual(Object.keys(h.pax!), ['SCHILY.xattr.security.capability', 'SCHILY.xattr.user.z']);
    const pb = h.paxBlock!;
    assert.equal(ascii(pb.subarray(0, 17)), 'PaxHeaders/ping\0\0');
    assert.equal(ascii(field(pb, 'mode')), '0000644\0');
    assert.equal(ascii(field(pb, 'uid')), '0000000\0');
    assert.equal(ascii(field(pb, 'mtime')), '00000000000\0');
    assert.equal(ascii(field(pb, 'magic')), 'ustar\0');
    // records appear in byte order of keys, whatever the object's insertion order
    const again = headersOf({
      ...file('usr/bin/ping', ''),
      xattrs: { 'security.capability': Buffer.from([1, 0, 0, 2]), 'user.z': Buffer.from('1') },
    });
    assert.deepEqual(again.paxBlock, pb);
  });
});

describe('tar writer: validation', () => {
  const badPaths: Array<[TarWriteEntry, string]> = [
    [file('/etc/passwd', ''), 'TAR_UNSAFE_PATH'],
    [file('a/../b', ''), 'TAR_UNSAFE_PATH'],
    [file('..', ''), 'TAR_UNSAFE_PATH'],
    [file('a\0b', ''), 'TAR_UNSAFE_PATH'],
    [file('./a', ''), 'VFS_INVALID_PATH'],
    [file('a/./b', ''), 'VFS_INVALID_PATH'],
    [file('a//b', ''), 'VFS_INVALID_PATH'],
    [file('', ''), 'VFS_INVALID_PATH'],
    [file('a/', ''), 'VFS_INVALID_PATH'],
    [{ ...base, path: 'd', type: 'dir' }, 'VFS_INVALID_PATH'],
    [{ ...base, path: './', type: 'dir' }, 'VFS_INVALID_PATH'],
  ];
  for (const [entry, code] of badPaths) {
    it(`rejects ${entry.type} path ${JSON.stringify(entry.path)} with ${code}`, async () => {
      const err = await rejectsWith(write([file('ok', 'x'), entry]), code);
      assert.deepEqual(err.details, { archive: 'out.tar', entry: entry.path });
    });
  }

  const badFields: Array<[string, TarWriteEntry, string]> = [
    ['mode above 07777', { ...file('f', ''), mode: 0o10644 }, 'TAR_INVALID'],
    ['negative uid', { ...file('f', ''), uid: -1 }, 'TAR_INVALID'],
    ['fractional mtime', { ...file('f', ''), mtime: 1.5 }, 'TAR_INVALID'],
    ['a dir with a size', { ...base, path: 'd/', type: 'dir', size: 3 }, 'TAR_INVALID'],
    [
      'a hardlink with a size',
      { ...base, path: 'h', type: 'hardlink', linkname: 'f', size: 3 },
      'TAR_INVALID',
    ],
    ['device numbers on a file', { ...file('f', ''), devmajor: 1 }, 'TAR_INVALID'],
    ['a symlink without target', { ...base, path: 's', type: 'symlink' }, 'TAR_INVALID'],
    [
      'a symlink climbing out',
      { ...base, path: 'a/b', type: 'symlink', linkname: '../../x' },
      'TAR_UNSAFE_LINK',
    ],
    [
      'an absolute hardlink',
      { ...base, path: 'h', type: 'hardlink', linkname: '/etc/passwd' },
      'TAR_UNSAFE_LINK',
    ],
    [
      'a hardlink with ..',
      { ...base, path: 'h', type: 'hardlink', linkname: 'a/../../b' },
      'TAR_UNSAFE_LINK',
    ],
    ['a linkname on a file', { ...file('f', ''), linkname: 'x' }, 'TAR_INVALID'],
    ['an xattr name with =', { ...file('f', ''), xattrs: { 'a=b': Buffer.from('') } }, 'TAR_INVALID'],
    ['an unknown type', { ...base, path: 'f', type: 'socket' as 'file' }, 'TAR_INVALID'],
  ];
  for (const [what, entry, code] of badFields) {
    it(`rejects ${what} with ${code}`, async () => {
      const err = await rejectsWith(write([entry]), code);
      assert.equal(err.details.entry, entry.path);
    });
  }

  it('allows symlinks that stay inside, and absolute symlinks', async () => {
    await write([
      { ...base, path: 'a/b/c', type: 'symlink', linkname: '../../x' },
      { ...base, path: 'a/b', type: 'symlink', linkname: '/usr/bin/x' },
    ]);
  });

  it('rejects a body longer or shorter than size, naming the entry', async () => {
    const more = await rejectsWith(write([file('f', 'hello', { size: 4 })]), 'TAR_INVALID');
    assert.deepEqual(more.details, { archive: 'out.tar', entry: 'f', expected: 4 });
    const fewer = await rejectsWith(write([file('g', 'hi', { size: 3 })]), 'TAR_INVALID');
    assert.deepEqual(fewer.details, { archive: 'out.tar', entry: 'g', expected: 3, found: 2 });
    await rejectsWith(write([{ ...base, path: 'h', type: 'file', size: 1 }]), 'TAR_INVALID');
  });

  it("takes a body from its opener's own sync when the entry has no bodySync (a layer's entries)", async () => {
    const bytes = Buffer.from('hello, world');
    const streamed = await write([file('a', bytes)]);
    const body = Object.assign(() => Promise.reject(new Error('not called')), { sync: () => bytes });
    assert.ok((await write([{ ...file('a', bytes), body }])).equals(streamed));
  });

  it('takes a body from bodySync when it gives one (same bytes), else from body; checks its size', async () => {
    const bytes = Buffer.from('hello, world');
    const streamed = await write([file('a', bytes), file('b', '')]);
    const synced = await write([
      { ...file('a', bytes), body: () => Promise.reject(new Error('not called')), bodySync: () => bytes },
      { ...file('b', ''), bodySync: () => Buffer.alloc(0) },
    ]);
    assert.ok(synced.equals(streamed));
    assert.ok(
      (await write([{ ...file('a', bytes), bodySync: () => undefined }, file('b', '')])).equals(streamed),
    );
    const wrong = await rejectsWith(
      write([{ ...file('a', bytes), bodySync: () => bytes.subarray(1) }]),
      'TAR_INVALID',
    );
    assert.deepEqual(wrong.details, { archive: 'out.tar', entry: 'a', expected: 12, found: 11 });
  });

  it('wraps a failing body stream as IO naming the entry', async () => {
    const failing = new Readable({
      read() {
        this.destroy(new Error('disk on fire'));
      },
    });
    const err = await rejectsWith(
      write([{ ...base, path: 'x', type: 'file', size: 1, body: () => failing }]),
      'IO',
    );
    assert.equal(err.details.entry, 'x');
  });
});

describe('tar writer: streaming', () => {
  it('gives identical bytes for the same entries written twice', async () => {
    const entries = (): TarWriteEntry[] => [
      { ...base, path: 'a/', type: 'dir', mode: 0o755 },
      file('a/x', 'x'.repeat(700), { xattrs: { 'user.k': Buffer.from('v') }, uid: 2 ** 22 }),
      { ...base, path: `a/${'long'.repeat(40)}`, type: 'symlink', linkname: 'x', mtime: -86400 },
    ];
    assert.deepEqual(await write(entries()), await write(entries()));
  });

  it('accepts async iterables of entries and async body factories', async () => {
    async function* gen(): AsyncGenerator<TarWriteEntry> {
      yield { ...file('a', ''), body: async () => Readable.from([Buffer.from('abc')]), size: 3 };
    }
    const out = await collect(tarStream(gen()));
    assert.equal(out.length, 512 * 4);
  });

  it('streams a 20 MB body with backpressure instead of buffering it', async () => {
    const size = 20 * 1024 * 1024;
    const rnd = new RandomBytes(size, 42);
    const expected = createHash('sha256');
    const check = new RandomBytes(size, 42);
    for await (const c of check.stream()) expected.update(c as Buffer);

    const out = tarStream([{ ...base, path: 'blob', type: 'file', size, body: () => rnd.stream() }]);
    const got = createHash('sha256');
    let consumed = 0;
    let maxLead = 0;
    let bodyBytes = 0;
    for await (const chunk of out) {
      const c = chunk as Buffer;
      consumed += c.length;
      maxLead = Math.max(maxLead, rnd.produced - consumed);
      // the body starts after one header block and ends before its padding (none: 20 MB is block-aligned)
      const start = Math.max(0, 512 - (consumed - c.length));
      const end = Math.min(c.length, 512 + size - (consumed - c.length));
      if (end > start) {
        got.update(c.subarray(start, end));
        bodyBytes += end - start;
      }
      if (consumed % (1024 * 1024) < c.length) await new Promise((r) => setImmediate(r)); // a slow consumer
    }
    assert.equal(bodyBytes, size);
    assert.equal(consumed, 512 + size + 1024);
    assert.equal(got.digest('hex'), expected.digest('hex'));
    assert.ok(maxLead < 1024 * 1024, `the writer ran ${maxLead} bytes ahead of its consumer`);
  });
});

describe('tar writer: tarParts', () => {
  const entries = (): TarWriteEntry[] => {
    const list: TarWriteEntry[] = [{ ...base, path: 'd/', type: 'dir', mode: 0o755 }];
    for (let i = 0; i < 300; i++) {
      const bytes = Buffer.from(`small file ${i}\n`.repeat(i % 7));
      // Held in memory (bodySync) like spooled package bodies, or streamed.
      list.push(
        file(`d/s${String(i).padStart(3, '0')}`, bytes, i % 50 === 0 ? {} : { bodySync: () => bytes }),
      );
    }
    const big = Buffer.alloc(100_000, 7);
    list.push(
      file('d/t-big', big, { bodySync: () => big }),
      file('d/u-big-streamed', Buffer.alloc(70_000, 9)),
    );
    return list;
  };
  const parts = async (options?: { marksFrom?: number }) => {
    const out: Array<Buffer | { body: string; entry: TarWriteEntry }> = [];
    for await (const p of tarParts(entries(), 'out.tar', options)) out.push(p);
    return out;
  };

  it('with marksFrom: the same bytes, marks only around the large bodies, small entries gathered', async () => {
    const every = await parts();
    const gathered = await parts({ marksFrom: 64 * 1024 });
    const bytes = (ps: typeof every) => Buffer.concat(ps.filter((p): p is Buffer => Buffer.isBuffer(p)));
    assert.ok(bytes(gathered).equals(bytes(every)));
    assert.ok(bytes(every).equals(await write(entries())));
    const marks = (ps: typeof every) =>
      ps
        .filter((p): p is { body: string; entry: TarWriteEntry } => !Buffer.isBuffer(p))
        .map((p) => `${p.body} ${p.entry.path}`);
    assert.equal(marks(every).length, 2 * 302);
    assert.deepEqual(marks(gathered), [
      'start d/t-big',
      'end d/t-big',
      'start d/u-big-streamed',
      'end d/u-big-streamed',
    ]);
    // The large body's header ends the part before its start mark; its bytes are between the marks.
    const start = gathered.findIndex((p) => !Buffer.isBuffer(p));
    const before = gathered[start - 1] as Buffer;
    assert.equal(decodeHeader(before.subarray(before.length - 512)).size, 100_000);
    assert.ok(gathered.length < every.length / 10, `${gathered.length} parts`);
  });

  it('a body held in memory of another size than declared is TAR_INVALID, gathered or not', async () => {
    const bad = [file('x', 'abc', { size: 4, bodySync: () => Buffer.from('abc') })];
    for (const marksFrom of [0, 1024]) {
      await assert.rejects(
        (async () => {
          for await (const _ of tarParts(bad, 'out.tar', { marksFrom })) void _;
        })(),
        (err) => isImprintError(err, 'TAR_INVALID'),
      );
    }
  });
});
