import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodePax, encodePax, encodePaxRecord } from '../../src/tar/pax.js';

describe('PAX records', () => {
  it('counts the length prefix in the length, across digit boundaries', () => {
    assert.equal(encodePaxRecord('path', 'a').toString(), '9 path=a\n');
    for (let n = 0; n < 1200; n++) {
      const rec = encodePaxRecord('k', 'v'.repeat(n));
      const declared = Number(rec.toString('latin1').split(' ')[0]);
      assert.equal(declared, rec.length, `value length ${n}`);
    }
    // body of 98 bytes: "99 " would make 101, so the prefix is "101"
    const rec = encodePaxRecord('k', 'v'.repeat(94));
    assert.equal(rec.length, 101);
    assert.ok(rec.toString().startsWith('101 k='));
  });

  it('sorts records by key bytes and round-trips binary values', () => {
    const bin = Buffer.from([0, 1, 0xff, 0x0a, 0x3d]);
    const out = encodePax([
      { key: 'uid', value: Buffer.from('123') },
      { key: 'SCHILY.xattr.user.b', value: bin },
      { key: 'path', value: Buffer.from('ü/x') },
      { key: 'SCHILY.xattr.user.a', value: Buffer.from('1') },
    ]);
    const records = decodePax(out);
    assert.deepEqual(
      records.map((r) => r.key),
      ['SCHILY.xattr.user.a', 'SCHILY.xattr.user.b', 'path', 'uid'],
    );
    assert.deepEqual(records[1]!.value, bin);
    assert.equal(records[2]!.value.toString('utf8'), 'ü/x');
  });

  it('rejects keys it cannot encode and duplicate keys', () => {
    assert.throws(() => encodePaxRecord('a=b', 'x'), { code: 'TAR_INVALID' });
    assert.throws(() => encodePaxRecord('', 'x'), { code: 'TAR_INVALID' });
    assert.throws(
      () =>
        encodePax([
          { key: 'k', value: Buffer.from('1') },
          { key: 'k', value: Buffer.from('2') },
        ]),
      { code: 'TAR_INVALID' },
    );
  });

  it('rejects malformed records with the offset of the bad record', () => {
    const good = '9 path=a\n';
    for (const bad of [
      'x path=a\n',
      '9 path=a ',
      '99 path=a\n',
      '9 pathxa\n',
      '5 =a\n',
      ' 9 path=a\n',
      '9path=a\n',
    ]) {
      assert.throws(
        () => decodePax(Buffer.from(good + bad)),
        (e: unknown) => {
          const err = e as { code: string; details: { offset: number } };
          return err.code === 'TAR_INVALID' && err.details.offset === good.length;
        },
        JSON.stringify(bad),
      );
    }
    assert.deepEqual(decodePax(Buffer.alloc(0)), []);
    assert.equal(decodePax(Buffer.from('5 k=\n'))[0]!.value.length, 0); // empty value: a deletion
  });
});
