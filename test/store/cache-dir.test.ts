import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultCacheDir } from '../../src/store/index.js';

describe('defaultCacheDir', () => {
  it('prefers IMPRINT_CACHE_DIR, then XDG_CACHE_HOME/imprint, then ~/.cache/imprint', () => {
    assert.equal(defaultCacheDir({ IMPRINT_CACHE_DIR: '/c', XDG_CACHE_HOME: '/x' }, '/h'), '/c');
    assert.equal(defaultCacheDir({ XDG_CACHE_HOME: '/x' }, '/h'), '/x/imprint');
    assert.equal(defaultCacheDir({}, '/h'), '/h/.cache/imprint');
  });
  it('ignores empty values and a relative XDG_CACHE_HOME', () => {
    assert.equal(defaultCacheDir({ IMPRINT_CACHE_DIR: '', XDG_CACHE_HOME: '' }, '/h'), '/h/.cache/imprint');
    assert.equal(defaultCacheDir({ XDG_CACHE_HOME: 'rel/cache' }, '/h'), '/h/.cache/imprint');
  });
});
