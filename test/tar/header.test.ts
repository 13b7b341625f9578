import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  checksums,
  decodeHeader,
  decodeNumber,
  encodeBase256,
  encodeHeader,
  FIELD,
  field,
  isZeroBlock,
  writeChecksum,
} from '../../src/tar/header.js';

const ascii = (b: Buffer): string => b.toString('latin1');

describe('tar header codec', () => {
  const input = {
    name: 'usr/bin/env',
    prefix: 'some/prefix',
    linkname: 'target',
    mode: 0o4755,
    uid: 1000,
    gid: 0o7777777,
    size: 0o77777777777,
    mtime: 1700000000,
    typeflag: '0',
    devmajor: 0,
    devminor: 0,
  };

  it('round-trips every field', () => {
    const block = encodeHeader(input);
    assert.equal(block.length, 512);
    const h = decodeHeader(block);
    assert.equal(h.format, 'ustar');
    assert.equal(ascii(h.name), input.name);
    assert.equal(ascii(h.prefix), input.prefix);
    assert.equal(ascii(h.linkname), input.linkname);
    assert.deepEqual(
      [h.mode, h.uid, h.gid, h.size, h.mtime, h.typeflag, h.devmajor, h.devminor],
      [0o4755, 1000, 0o7777777, 0o77777777777, 1700000000, '0', 0, 0],
    );
    assert.equal(h.uname.length, 0);
    assert.equal(h.gname.length, 0);
  });

  it('writes exact field bytes: octal NUL-terminated, magic, version, empty names, checksum', () => {
    const block = encodeHeader({
      name: 'a',
      mode: 0o644,
      uid: 0,
      gid: 0,
      size: 5,
      mtime: 0o1234,
      typeflag: '0',
    });
    assert.equal(ascii(field(block, 'mode')), '0000644\0');
    assert.equal(ascii(field(block, 'uid')), '0000000\0');
    assert.equal(ascii(field(block, 'size')), '00000000005\0');
    assert.equal(ascii(field(block, 'mtime')), '00000001234\0');
    assert.equal(ascii(field(block, 'magic')), 'ustar\0');
    assert.equal(ascii(field(block, 'version')), '00');
    assert.equal(ascii(field(block, 'devmajor')), '0000000\0');
    assert.equal(ascii(field(block, 'devminor')), '0000000\0');
    assert.ok(field(block, 'uname').every((b) => b === 0));
    assert.ok(field(block, 'gname').every((b) => b === 0));
    assert.ok(block.subarray(500).every((b) => b === 0));
    const sum = checksums(block).unsigned;
    assert.equal(ascii(field(block, 'chksum')), `${sum.toString(8).padStart(6, '0')}\0 `);
    // the checksum counts its own field as spaces: recompute by hand
    let manual = 0;
    for (let i = 0; i < 512; i++) manual += i >= 148 && i < 156 ? 32 : block[i]!;
    assert.equal(sum, manual);
  });

  it('rejects a corrupted block and accepts the historic signed sum', () => {
    const block = encodeHeader({
      name: 'é-name',
      mode: 0o644,
      uid: 0,
      gid: 0,
      size: 0,
      mtime: 0,
      typeflag: '0',
    });
    const bad = Buffer.from(block);
    bad[10] = 0x41;
    assert.throws(() => decodeHeader(bad), { code: 'TAR_INVALID' });

    const signed = Buffer.from(block);
    const sum = checksums(signed).signed;
    assert.notEqual(sum, checksums(signed).unsigned); // the name has bytes >= 0x80
    signed.write(`${sum.toString(8).padStart(6, '0')}\0 `, FIELD.chksum[0], 'latin1');
    assert.equal(decodeHeader(signed).name.toString('utf8'), 'é-name');
  });

  it('refuses values that do not fit instead of truncating them', () => {
    const base = { name: 'a', mode: 0o644, uid: 0, gid: 0, size: 0, mtime: 0, typeflag: '0' };
    assert.throws(() => encodeHeader({ ...base, uid: 0o7777777 + 1 }), { code: 'TAR_INVALID' });
    assert.throws(() => encodeHeader({ ...base, size: 0o77777777777 + 1 }), { code: 'TAR_INVALID' });
    assert.throws(() => encodeHeader({ ...base, mtime: -1 }), { code: 'TAR_INVALID' });
    assert.throws(() => encodeHeader({ ...base, name: 'x'.repeat(101) }), { code: 'TAR_INVALID' });
    assert.throws(() => encodeHeader({ ...base, prefix: 'x'.repeat(156) }), { code: 'TAR_INVALID' });
    assert.throws(() => encodeHeader({ ...base, name: 'a\0b' }), { code: 'TAR_INVALID' });
    // exactly 100 bytes fills the field with no terminator
    const full = encodeHeader({ ...base, name: 'n'.repeat(100) });
    assert.equal(decodeHeader(full).name.length, 100);
  });

  it('decodes base-256 numbers, positive and negative', () => {
    assert.equal(decodeNumber(Buffer.from([0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x00])), 256);
    assert.equal(decodeNumber(Buffer.from([0x80, 0, 0, 0, 0, 0, 0x02, 0, 0, 0, 0, 0])), 2 ** 41);
    assert.equal(decodeNumber(Buffer.alloc(12, 0xff)), -1);
    assert.equal(decodeNumber(Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe])), -2);
    for (const v of [0, 1, 0o7777777 + 1, 2 ** 40 + 3, Number.MAX_SAFE_INTEGER, -1, -86400, -(2 ** 40)]) {
      assert.equal(decodeNumber(encodeBase256(v, 12)), v);
    }
    assert.deepEqual([...encodeBase256(2 ** 21, 8)], [0x80, 0, 0, 0, 0, 0x20, 0, 0]);
    assert.throws(
      () =>
        decodeNumber(Buffer.from([0x80, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])),
      {
        code: 'TAR_INVALID',
      },
    );
    assert.throws(() => encodeBase256(2 ** 62, 8), { code: 'TAR_INVALID' });
  });

  it('decodes octal with space/NUL padding, and rejects non-octal', () => {
    assert.equal(decodeNumber(Buffer.from('  644 \0\0', 'latin1')), 0o644);
    assert.equal(decodeNumber(Buffer.from('0000644 ', 'latin1')), 0o644);
    assert.equal(decodeNumber(Buffer.alloc(8)), 0);
    assert.throws(
      () => decodeNumber(Buffer.from('0000648\0', 'latin1'), 'mode'),
      (e: unknown) => {
        const err = e as { code: string; details: { field: string } };
        return err.code === 'TAR_INVALID' && err.details.field === 'mode';
      },
    );
    assert.throws(() => decodeNumber(Buffer.from('12 34\0\0\0', 'latin1')), { code: 'TAR_INVALID' });
  });

  it('reads base-256 fields inside a header', () => {
    const block = encodeHeader({
      name: 'big',
      mode: 0o644,
      uid: 0,
      gid: 0,
      size: 0,
      mtime: 0,
      typeflag: '0',
    });
    encodeBase256(2 ** 33, 8).copy(block, FIELD.uid[0]);
    encodeBase256(-1000, 12).copy(block, FIELD.mtime[0]);
    writeChecksum(block);
    const h = decodeHeader(block);
    assert.equal(h.uid, 2 ** 33);
    assert.equal(h.mtime, -1000);
  });

  it('recognises old GNU and v7 headers and ignores fields they do not have', () => {
    const gnu = encodeHeader({
      name: 'g',
      mode: 0o644,
      uid: 0,
      gid: 0,
      size: 0,
      mtime: 0,
      typeflag: '0',
      prefix: 'junk',
    });
    gnu.write('ustar  \0', 257, 'latin1');
    writeChecksum(gnu);
    const g = decodeHeader(gnu);
    assert.equal(g.format, 'gnu');
    assert.equal(g.prefix.length, 0);

    const v7 = encodeHeader({
      name: 'v',
      mode: 0o644,
      uid: 0,
      gid: 0,
      size: 0,
      mtime: 0,
      typeflag: '0',
      uname: 'root',
    });
    v7.fill(0, 257);
    writeChecksum(v7);
    const v = decodeHeader(v7);
    assert.equal(v.format, 'v7');
    assert.equal(v.uname.length, 0);
  });

  it('knows a zero block', () => {
    assert.ok(isZeroBlock(Buffer.alloc(512)));
    const b = Buffer.alloc(512);
    b[511] = 1;
    assert.ok(!isZeroBlock(b));
  });
});
