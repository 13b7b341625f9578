import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { difference, sortDifferences } from '../../src/diff/classify.js';
import { type DiffResult, renderHtml, renderJson, renderText, unifiedDiff } from '../../src/diff/index.js';
import { showValue } from '../../src/diff/render-text.js';

function result(): DiffResult {
  const content = difference(
    'content',
    'substance',
    { platform: 'linux/amd64', layer: 0, path: 'etc/motd' },
    { size: 3, sha256: 'sha256:aa' },
    { size: 3, sha256: 'sha256:bb' },
  );
  content.detail = { text: { a: 'one\ntwo\n<b>\n', b: 'one\nTWO\n<b>\n' } };
  const bin = difference(
    'content',
    'substance',
    { platform: 'linux/amd64', layer: 0, path: 'usr/bin/x' },
    { size: 4, sha256: 'sha256:cc' },
    { size: 4, sha256: 'sha256:dd' },
  );
  bin.detail = { bytes: { offset: 2, start: 0, a: '00010203', b: '0001ff03' } };
  const mtime = difference(
    'mtime',
    'timestamp',
    { platform: 'linux/amd64', layer: 0, path: 'etc/', field: 'mtime' },
    1,
    2,
  );
  const env = difference('env', 'substance', { platform: 'linux/amd64', field: 'LANG' }, 'C', null);
  return {
    schemaVersion: 1,
    a: 'oci:a',
    b: 'oci:b',
    identical: false,
    differences: sortDifferences([mtime, content, env, bin]),
    ignored: { history: 2 },
    platforms: ['linux/amd64'],
  };
}

describe('diff renderers', () => {
  test('text: a summary line and a table, most important first', () => {
    assert.equal(
      renderText(result()),
      [
        'oci:a and oci:b differ: 4 differences (ignored: 2 history)',
        '',
        'SEVERITY  KIND     PLATFORM     WHERE                  A                 B',
        'high      env      linux/amd64  LANG                   C                 -',
        'high      content  linux/amd64  layer 0 /etc/motd      size=3 sha256:aa  size=3 sha256:bb',
        'high      content  linux/amd64  layer 0 /usr/bin/x     size=4 sha256:cc  size=4 sha256:dd',
        'low       mtime    linux/amd64  layer 0 /etc/ (mtime)  1                 2',
        '',
      ].join('\n'),
    );
  });

  test('text: digests by 12 hex digits, no null fields, and a long path widens only its own row', () => {
    const digest = `sha256:${'ab'.repeat(32)}`;
    const entry = difference(
      'entry-added',
      'substance',
      { platform: 'linux/amd64', layer: 0, path: `usr/share/${'deep/'.repeat(20)}file` },
      null,
      { type: 'file', size: 7, sha256: digest, linkname: null },
    );
    const layers = difference(
      'layer-count',
      'substance',
      { platform: 'linux/amd64', field: 'layers' },
      [digest],
      [],
    );
    const text = renderText({ ...result(), differences: [entry, layers] });
    assert.match(text, /type=file size=7 sha256:abababababab…\n/);
    assert.match(text, /\[sha256:abababababab…\] {2}\[\]\n/);
    assert.doesNotMatch(text, /linkname/);
    const short = text.split('\n').find((l) => l.includes('layers'))!;
    assert.ok(short.length < 140, short);
  });

  test('text: a compression row shows both media types whole (gzip against plain tar)', () => {
    const layer = (hex: string, mediaType: string) => ({
      digest: `sha256:${hex.repeat(64)}`,
      mediaType,
      size: 745127,
    });
    const d = difference(
      'compression',
      'tar-format',
      { platform: 'linux/amd64', layer: 0, field: 'digest' },
      layer('a', 'application/vnd.oci.image.layer.v1.tar+gzip'),
      layer('b', 'application/vnd.oci.image.layer.v1.tar'),
    );
    const row = renderText({ ...result(), differences: [d] })
      .split('\n')
      .find((l) => l.includes('compression'))!;
    assert.match(
      row,
      /sha256:aaaaaaaaaaaa… oci\.image\.layer\.v1\.tar\+gzip size=745127 +sha256:bbbbbbbbbbbb… oci\.image\.layer\.v1\.tar size=745127$/,
    );
  });

  test('text: an empty string value is shown as "", apart from an absent one (-)', () => {
    // buildah writes org.opencontainers.image.base.digest "" for FROM scratch; imprint writes none.
    const annotation = difference(
      'annotation',
      'substance',
      { platform: 'linux/amd64', field: 'manifest.org.opencontainers.image.base.digest' },
      null,
      '',
    );
    const r: DiffResult = { ...result(), differences: [annotation] };
    const row = renderText(r)
      .split('\n')
      .find((l) => l.includes('base.digest'));
    assert.match(row ?? '', /base\.digest\s+-\s+""$/);
    assert.equal(showValue({ name: '' }), 'name=""');
  });

  test('text: the same', () => {
    const r = { ...result(), identical: true, differences: [], ignored: {} };
    assert.equal(renderText(r), 'oci:a and oci:b are the same\n');
  });

  test('json: stable key order', () => {
    const parsed = JSON.parse(renderJson(result())) as DiffResult;
    assert.deepEqual(Object.keys(parsed), [
      'schemaVersion',
      'a',
      'b',
      'identical',
      'differences',
      'ignored',
      'platforms',
    ]);
    assert.deepEqual(Object.keys(parsed.differences[1]!), [
      'kind',
      'class',
      'severity',
      'platform',
      'layer',
      'path',
      'a',
      'b',
      'detail',
    ]);
  });

  test('html: self-contained, a tree of paths, a unified diff and a hex view', () => {
    const html = renderHtml(result());
    assert.match(html, /^<!DOCTYPE html>/);
    assert.doesNotMatch(html, /<script|src=|href=/);
    assert.match(html, /<summary>linux\/amd64 layer 0<\/summary>/);
    assert.match(html, /<summary>etc<\/summary>.*<summary>motd<\/summary>/s);
    assert.match(html, /<span class="del">-two<\/span>\n<span class="add">\+TWO<\/span>\n &lt;b&gt;/);
    assert.match(html, /first differing byte at offset 2/);
    assert.match(html, /00000000 {2}00 01 <mark>ff<\/mark> 03/);
  });

  test('unified diff: hunks with three lines of context', () => {
    const a = 'a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n';
    const b = 'a\nB\nc\nd\ne\nf\ng\nh\ni\nj\nk\n';
    assert.equal(
      unifiedDiff(a, b),
      '@@ -1,5 +1,5 @@\n a\n-b\n+B\n c\n d\n e\n@@ -8,3 +8,4 @@\n h\n i\n j\n+k\n',
    );
    assert.equal(unifiedDiff(a, a), '');
    assert.equal(unifiedDiff('', 'x\n'), '@@ -0,0 +1,1 @@\n+x\n');
  });
});

test('text output shows control characters of paths and values as \\xHH (an image cannot drive the terminal)', () => {
  const evil = difference(
    'entry-added',
    'substance',
    { platform: 'linux/amd64', layer: 0, path: 'evil\u001b[31mRED\u001b[0m\nline\u009b.txt' },
    null,
    { size: 1, sha256: 'sha256:ee' },
  );
  const text = renderText({ ...result(), differences: [evil] });
  assert.match(text, /\/evil\\x1b\[31mRED\\x1b\[0m\\x0aline\\x9b\.txt/);
  assert.ok(!text.includes('\u001b') && !text.includes('\u009b'), 'no raw escape characters');
  assert.equal(text.split('\n').length, 5, 'one line per row');
});
