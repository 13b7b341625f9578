import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { editDistance, nearest } from '../../src/spec/index.js';
import { formatPath } from '../../src/spec/locate.js';
import { normalizeImagePath, normalizeSourcePath } from '../../src/spec/paths.js';

describe('editDistance', () => {
  it('counts insertions, deletions, substitutions and adjacent transpositions', () => {
    assert.equal(editDistance('', ''), 0);
    assert.equal(editDistance('abc', ''), 3);
    assert.equal(editDistance('entrypiont', 'entrypoint'), 1);
    assert.equal(editDistance('mdoe', 'mode'), 1);
    assert.equal(editDistance('kitten', 'sitting'), 3);
    assert.equal(editDistance('usr', 'user'), 1);
  });
});

describe('nearest', () => {
  const keys = ['cmd', 'entrypoint', 'env', 'epoch', 'user', 'workdir'];
  it('suggests the closest candidate within distance 3', () => {
    assert.equal(nearest('entrypiont', keys), 'entrypoint');
    assert.equal(nearest('wrkdir', keys), 'workdir');
    assert.equal(nearest('Env', keys), 'env');
    assert.equal(nearest('enviroment', keys), undefined);
  });
  it('offers nothing for unrelated short words', () => {
    assert.equal(nearest('xyz', keys), undefined);
  });
  it('breaks ties by byte order', () => {
    assert.equal(nearest('ab', ['ac', 'aa']), 'aa');
  });
});

describe('paths', () => {
  it('normalises sources and refuses escapes', () => {
    assert.deepEqual(normalizeSourcePath('./a//b/'), { ok: true, path: 'a/b' });
    assert.deepEqual(normalizeSourcePath('./'), { ok: true, path: '.' });
    assert.equal(normalizeSourcePath('a/../..').ok, false);
    assert.equal(normalizeSourcePath('/etc').ok, false);
  });
  it('normalises image paths, keeping a trailing slash only when asked', () => {
    assert.deepEqual(normalizeImagePath('/a//b/./c/', true), { ok: true, path: '/a/b/c/' });
    assert.deepEqual(normalizeImagePath('/a//b/./c/'), { ok: true, path: '/a/b/c' });
    assert.deepEqual(normalizeImagePath('//', true), { ok: true, path: '/' });
    assert.equal(normalizeImagePath('/a/../b').ok, false);
    assert.equal(normalizeImagePath('a/b').ok, false);
  });
  it('refuses an image path with a name longer than 255 bytes, which no runtime can unpack (podman: file name too long)', () => {
    assert.deepEqual(normalizeImagePath(`/opt/${'é'.repeat(127)}/x`), {
      ok: true,
      path: `/opt/${'é'.repeat(127)}/x`,
    });
    const result = normalizeImagePath(`/opt/${'é'.repeat(128)}/`, true);
    assert.equal(result.ok, false);
    assert.match(
      (result as { reason: string }).reason,
      /^expected names of at most 255 bytes .*, found one of 256 bytes starting "é{24}" in the path$/,
    );
  });
  it('formats field paths as users write them', () => {
    assert.equal(formatPath(['files', 2, 'mode']), 'files[2].mode');
    assert.equal(formatPath(['env', 'A B']), 'env["A B"]');
    assert.equal(formatPath([]), '(document)');
  });
});
