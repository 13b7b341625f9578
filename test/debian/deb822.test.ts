import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  Deb822Paragraph,
  formatDeb822,
  formatDeb822All,
  parseDeb822,
  splitWords,
} from '../../src/debian/deb822.js';
import { isImprintError } from '../../src/errors.js';

describe('parseDeb822', () => {
  it('parses several paragraphs with continuation lines, keeping field order', () => {
    const text = [
      'Package: hello',
      'Version: 2.10-3',
      'Description: example package',
      ' It prints a greeting.',
      ' .',
      ' Second paragraph.',
      'Depends: libc6 (>= 2.34),',
      '         base-files',
      '',
      '',
      'Package: other',
      'Empty:',
      ' first line after an empty value',
      '',
    ].join('\n');
    const ps = parseDeb822(text, 'Packages');
    assert.equal(ps.length, 2);
    const [a, b] = ps as [Deb822Paragraph, Deb822Paragraph];
    assert.deepEqual(a.names, ['Package', 'Version', 'Description', 'Depends']);
    assert.equal(a.get('description'), 'example package\n It prints a greeting.\n .\n Second paragraph.');
    assert.equal(a.get('DEPENDS'), 'libc6 (>= 2.34),\n         base-files');
    assert.equal(a.line, 1);
    assert.equal(b.line, 11);
    assert.equal(b.get('Empty'), '\n first line after an empty value');
    assert.equal(b.get('Missing'), undefined);
    assert.equal(b.has('package'), true);
  });

  it('treats whitespace-only lines as separators and tolerates CRLF and a missing final newline', () => {
    const ps = parseDeb822('A: 1\r\nB:  two  \r\n \t \nA: 3', 'x');
    assert.equal(ps.length, 2);
    assert.equal(ps[0]?.get('b'), 'two');
    assert.equal(ps[1]?.get('a'), '3');
  });

  it('skips # comments only when asked (sources files)', () => {
    const text = '# leading comment\nTypes: deb\n# inside\nURIs: http://example.invalid/debian\n';
    const ps = parseDeb822(text, 'x.sources', { comments: true });
    assert.deepEqual(ps[0]?.entries(), [
      ['Types', 'deb'],
      ['URIs', 'http://example.invalid/debian'],
    ]);
    assert.throws(
      () => parseDeb822(text, 'Packages'),
      (e) => isImprintError(e, 'DEB822_PARSE'),
    );
  });

  it('reports malformed input with DEB822_PARSE and the line number', () => {
    const cases: Array<[string, number]> = [
      [' continuation first\n', 1],
      ['A: 1\nno colon here\n', 2],
      ['A: 1\n\nB: 2\nB: 3\n', 4],
      ['A: 1\nBad Name: x\n', 2],
      [': empty name\n', 1],
    ];
    for (const [text, line] of cases) {
      assert.throws(
        () => parseDeb822(text, 'input'),
        (e) => isImprintError(e, 'DEB822_PARSE') && (e.details.line === line || e.details.line === undefined),
        JSON.stringify(text),
      );
    }
    try {
      parseDeb822('A: 1\nno colon here\n', 'Packages');
      assert.fail('expected an error');
    } catch (e) {
      assert.ok(isImprintError(e, 'DEB822_PARSE'));
      assert.equal(e.details.line, 2);
      assert.match(e.message, /Packages, line 2/);
    }
  });

  it('honours firstLine for errors in a chunk of a larger file', () => {
    assert.throws(
      () => parseDeb822('A: 1\nbroken\n', 'Packages', { firstLine: 100 }),
      (e) => isImprintError(e) && e.details.line === 101,
    );
  });
});

describe('formatDeb822', () => {
  it('round-trips multi-line fields byte for byte', () => {
    const text =
      'Package: hello\nDescription: synopsis\n long\n .\n more\nSHA256:\n abc 1 file\n def 2 other\n';
    const ps = parseDeb822(text, 'x');
    assert.equal(formatDeb822(ps[0] as Deb822Paragraph), text);
  });

  it('is deterministic for paragraphs built in code, folding continuation lines', () => {
    const p = new Deb822Paragraph();
    p.add('Package', 'x');
    p.add('Description', 'short\nlong line\n\nafter blank');
    p.set('package', 'y');
    assert.equal(formatDeb822(p), 'Package: y\nDescription: short\n long line\n .\n after blank\n');
    assert.throws(
      () => p.add('PACKAGE', 'z'),
      (e) => isImprintError(e, 'DEB822_PARSE'),
    );
    const q = new Deb822Paragraph();
    q.add('A', '1');
    assert.equal(formatDeb822All([p, q]), `${formatDeb822(p)}\nA: 1\n`);
  });

  it('splitWords splits on any whitespace', () => {
    assert.deepEqual(splitWords(' amd64  arm64\n i386 '), ['amd64', 'arm64', 'i386']);
    assert.deepEqual(splitWords(undefined), []);
  });
});
