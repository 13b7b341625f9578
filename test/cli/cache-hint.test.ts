import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { withCacheHint } from '../../src/cli/cache.js';
import { ImprintError, isImprintError } from '../../src/errors.js';

describe('withCacheHint', () => {
  const cache = '/srv/ci-cache/imprint';
  const denied = (file: string, code = 'EACCES') =>
    new ImprintError('IO', `writing ${file}: no permission to create a file in ${join(file, '..')}`, {
      hint: 'Name a path in a directory you can write to.',
      details: { file, code },
    });

  it('says to name a writable cache when a cache file cannot be written (another user, read-only)', () => {
    for (const code of ['EACCES', 'EPERM', 'EROFS']) {
      const file = join(cache, 'debian', 'release', 'x.json');
      const err = withCacheHint(denied(file, code), cache);
      assert.ok(isImprintError(err, 'IO'));
      assert.equal(err.message, denied(file).message);
      assert.match(
        err.hint ?? '',
        /in the cache directory \/srv\/ci-cache\/imprint, and this user cannot write there/,
      );
      assert.match(err.hint ?? '', /--cache-dir DIR/);
      assert.deepEqual(err.details, { file, code });
    }
  });

  it('says so too when the cache directory itself, or a parent of it, cannot be made (HOME not writable)', () => {
    for (const file of [cache, '/srv/ci-cache', '/srv']) {
      const err = withCacheHint(denied(file), cache);
      assert.ok(isImprintError(err, 'IO'));
      assert.match(err.hint ?? '', /--cache-dir DIR/, file);
    }
    const sibling = denied('/srv/ci');
    assert.equal(withCacheHint(sibling, cache), sibling);
  });

  it("looks through an error given the spec's file and field in front to the cache file that failed", () => {
    // atSpecSource (lock/create.ts): a source's Release written into the cache, `sources[0]: ...`.
    const file = join(cache, 'debian', 'release', 'x.json');
    const cause = denied(file);
    const wrapped = new ImprintError('IO', `/specs/imprint.yaml:4:5: sources[0]: ${cause.message}`, {
      hint: cause.hint,
      cause,
      details: { ...cause.details, file: '/specs/imprint.yaml', field: 'sources[0]' },
    });
    const err = withCacheHint(wrapped, cache);
    assert.ok(isImprintError(err, 'IO'));
    assert.equal(err.message, wrapped.message);
    assert.match(
      err.hint ?? '',
      /in the cache directory \/srv\/ci-cache\/imprint, and this user cannot write there/,
    );
    assert.deepEqual(err.details, wrapped.details);
    // A cause outside the cache leaves the error as it is.
    const outside = denied('/srv/elsewhere/x.json');
    const other = new ImprintError('IO', `sources[0]: ${outside.message}`, {
      cause: outside,
      details: { file: '/specs/imprint.yaml', code: 'EACCES' },
    });
    assert.equal(withCacheHint(other, cache), other);
  });

  it('leaves other errors as they are: a file outside the cache, another errno, another code', () => {
    const outside = denied('/srv/ci-cache/imprint-out/index.json');
    assert.equal(withCacheHint(outside, cache), outside);
    const full = denied(join(cache, 'x'), 'ENOSPC');
    assert.equal(withCacheHint(full, cache), full);
    const other = new ImprintError('NETWORK', 'down', {
      details: { file: join(cache, 'x'), code: 'EACCES' },
    });
    assert.equal(withCacheHint(other, cache), other);
  });
});
