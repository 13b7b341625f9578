import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalJson, canonicalJsonText } from '../../src/oci/canonical-json.js';
import { formatPlatform, parsePlatform, suggestPlatform } from '../../src/oci/platform.js';

describe('canonicalJson', () => {
  it('sorts keys at every depth and has no whitespace', () => {
    assert.equal(
      canonicalJsonText({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: 'x' } }),
      '{"a":{"c":"x","d":[3,{"y":2,"z":1}]},"b":1}',
    );
  });
  it('is independent of insertion order', () => {
    const a = { x: 1, y: 2, z: { p: 1, q: 2 } };
    const b = { z: { q: 2, p: 1 }, y: 2, x: 1 };
    assert.deepEqual(canonicalJson(a), canonicalJson(b));
  });
  it('orders keys by code unit, not locale', () => {
    assert.equal(canonicalJsonText({ b: 1, B: 2, a: 3, _: 4 }), '{"B":2,"_":4,"a":3,"b":1}');
  });
  it('writes UTF-8 and escapes only what JSON requires', () => {
    assert.deepEqual(canonicalJson({ k: 'é\n"' }), Buffer.from('{"k":"é\\n\\""}', 'utf8'));
  });
  it('omits undefined members and refuses non-integers and exotic values', () => {
    assert.equal(canonicalJsonText({ a: undefined, b: 1 }), '{"b":1}');
    assert.throws(() => canonicalJson({ a: 1.5 }), { code: 'INVALID_JSON' });
    assert.throws(() => canonicalJson({ a: Number.NaN }), { code: 'INVALID_JSON' });
    assert.throws(() => canonicalJson({ a: new Date(0) }), { code: 'INVALID_JSON' });
    assert.throws(() => canonicalJson({ a: 1n }), { code: 'INVALID_JSON' });
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    assert.throws(() => canonicalJson(cyclic), { code: 'INVALID_JSON' });
  });
});

describe('platforms', () => {
  it('parses and formats', () => {
    assert.deepEqual(parsePlatform('linux/arm/v7'), { os: 'linux', architecture: 'arm', variant: 'v7' });
    assert.equal(formatPlatform(parsePlatform('linux/amd64')), 'linux/amd64');
    for (const bad of ['linux', 'linux/', 'linux/x86_64', 'linux/arm/7', '/amd64', 'a/b/c/d']) {
      assert.throws(() => parsePlatform(bad), { code: 'BAD_PLATFORM' }, bad);
    }
  });

  it("suggests the OCI name for uname's, dpkg's or a bare architecture (x86_64, armhf, amd64)", () => {
    const cases: Array<[string, string | undefined]> = [
      ['linux/x86_64', 'linux/amd64'],
      ['x86_64', 'linux/amd64'],
      ['amd64', 'linux/amd64'],
      ['linux/aarch64', 'linux/arm64'],
      ['armhf', 'linux/arm/v7'],
      ['linux/i386', 'linux/386'],
      ['linux/ppc64el', 'linux/ppc64le'],
      ['LINUX/AMD64', 'linux/amd64'],
      ['linux/amd64', undefined],
      ['linux/sparc', undefined],
      ['a/b/c/d', undefined],
    ];
    for (const [text, want] of cases) assert.equal(suggestPlatform(text), want, text);
    assert.throws(
      () => parsePlatform('linux/x86_64'),
      (err: Error & { hint?: string }) => {
        assert.match(err.hint ?? '', /Did you mean linux\/amd64\?/);
        return true;
      },
    );
    assert.throws(
      () => parsePlatform('aarch64'),
      (err: Error & { hint?: string }) => {
        assert.match(err.hint ?? '', /Did you mean linux\/arm64\?/);
        return true;
      },
    );
  });
});
