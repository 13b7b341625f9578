import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import {
  formatRelation,
  type PackageRecord,
  parseDependsField,
  parsePackages,
  parseRelation,
  parseRelationList,
  RelationCache,
  type RepoRef,
  readPackagesIndex,
  recordParagraph,
} from '../../src/debian/packages-index.js';
import { isImprintError } from '../../src/errors.js';

const repo: RepoRef = {
  sourceIndex: 0,
  url: 'http://archive.invalid/debian',
  suite: 'stable',
  component: 'main',
  arch: 'amd64',
};
const SHA = 'a'.repeat(64);

const INDEX = `Package: libfoo1
Source: foo (1.2-3)
Version: 1.2-3+b1
Installed-Size: 120
Maintainer: Jörg Möller <joerg@example.invalid>
Architecture: amd64
Multi-Arch: same
Pre-Depends: dpkg (>= 1.17)
Depends: libc6 (>= 2.34), libbar2 | libbar1 (>> 1:0.5~),
 zlib1g:any
Breaks: oldfoo (<< 1.0)
Replaces: oldfoo (<< 1.0)
Provides: libfoo (= 1.2), foo-api
Description: the foo library
 A longer description.
Section: libs
Priority: optional
Filename: pool/main/f/foo/libfoo1_1.2-3+b1_amd64.deb
Size: 12345
SHA256: ${SHA.toUpperCase()}

Package: foo-data
Version: 1:2.0
Architecture: all
Essential: yes
Filename: pool/main/f/foo/foo-data_2.0_all.deb
Size: 1
SHA256: ${SHA}
Conflicts: foo-data-old
Description: data
`;

describe('relations', () => {
  it('parses alternatives, versions and arch qualifiers', () => {
    assert.deepEqual(parseDependsField('a (>= 1) | b:any, c:amd64 (<< 2~), d:native', 'Depends'), [
      [
        { name: 'a', op: '>=', version: '1' },
        { name: 'b', archQualifier: 'any' },
      ],
      [{ name: 'c', archQualifier: 'amd64', op: '<<', version: '2~' }],
      [{ name: 'd', archQualifier: 'native' }],
    ]);
  });

  it('parses Build-Depends arch restrictions and build profiles, and formats relations back', () => {
    const r = parseRelation(
      '  debhelper-compat(= 13) [amd64 !i386] <!nocheck> <stage1 cross> ',
      'Build-Depends',
    );
    assert.deepEqual(r, {
      name: 'debhelper-compat',
      op: '=',
      version: '13',
      archs: ['amd64', '!i386'],
      profiles: [['!nocheck'], ['stage1', 'cross']],
    });
    assert.equal(formatRelation(r), 'debhelper-compat (= 13) [amd64 !i386] <!nocheck> <stage1 cross>');
  });

  it('accepts the obsolete < and > operators, folded lines and a trailing comma', () => {
    assert.deepEqual(parseDependsField('a (< 1),\n b (>2),', 'Depends'), [
      [{ name: 'a', op: '<', version: '1' }],
      [{ name: 'b', op: '>', version: '2' }],
    ]);
  });

  it('rejects malformed relations with DEB822_PARSE', () => {
    for (const bad of ['a (>= )', 'a (~ 1)', 'a (>= 1', 'A_B', 'a:', 'a (>= 1) junk', 'a [amd64']) {
      assert.throws(
        () => parseDependsField(bad, 'Depends'),
        (e) => isImprintError(e, 'DEB822_PARSE') || isImprintError(e, 'VERSION_INVALID'),
        bad,
      );
    }
    assert.throws(
      () => parseRelationList('a | b', 'Conflicts'),
      (e) => isImprintError(e, 'DEB822_PARSE'),
    );
  });

  it('shares frozen results through a RelationCache', () => {
    const cache = new RelationCache();
    const x = parseDependsField('libc6 (>= 2.34), zlib1g', 'Depends', cache);
    const y = parseDependsField('libc6 (>= 2.34), zlib1g', 'Depends', cache);
    const z = parseDependsField('libc6 (>= 2.34)', 'Depends', cache);
    assert.equal(x, y);
    assert.equal(x[0], z[0]);
    assert.ok(Object.isFrozen(x) && Object.isFrozen(x[0]) && Object.isFrozen(x[0]?.[0]));
  });
});

describe('parsePackages', () => {
  it('turns paragraphs into records with parsed relations and the raw paragraph', () => {
    const recs = parsePackages(INDEX, repo, 'Packages');
    assert.equal(recs.length, 2);
    const [lib, data] = recs as [PackageRecord, PackageRecord];
    assert.equal(lib.name, 'libfoo1');
    assert.equal(lib.version, '1.2-3+b1');
    assert.deepEqual(lib.source, { name: 'foo', version: '1.2-3' });
    assert.equal(lib.multiArch, 'same');
    assert.equal(lib.sha256, SHA);
    assert.equal(lib.size, 12345);
    assert.equal(lib.installedSize, 120);
    assert.equal(lib.maintainer, 'Jörg Möller <joerg@example.invalid>');
    assert.equal(lib.description, 'the foo library');
    assert.equal(lib.section, 'libs');
    assert.deepEqual(lib.preDepends, [[{ name: 'dpkg', op: '>=', version: '1.17' }]]);
    assert.deepEqual(lib.depends, [
      [{ name: 'libc6', op: '>=', version: '2.34' }],
      [{ name: 'libbar2' }, { name: 'libbar1', op: '>>', version: '1:0.5~' }],
      [{ name: 'zlib1g', archQualifier: 'any' }],
    ]);
    assert.deepEqual(lib.provides, [{ name: 'libfoo', op: '=', version: '1.2' }, { name: 'foo-api' }]);
    assert.deepEqual(lib.breaks, [{ name: 'oldfoo', op: '<<', version: '1.0' }]);
    assert.deepEqual(lib.conflicts, []);
    assert.equal(lib.essential, false);
    assert.equal(lib.repo, repo);
    assert.ok(lib.raw.startsWith('Package: libfoo1\n') && lib.raw.endsWith(`SHA256: ${SHA.toUpperCase()}`));
    assert.equal(recordParagraph(lib).get('Installed-Size'), '120');

    assert.equal(data.architecture, 'all');
    assert.equal(data.essential, true);
    assert.equal(data.multiArch, 'no');
    assert.deepEqual(data.source, { name: 'foo-data', version: '1:2.0' });
    assert.deepEqual(data.conflicts, [{ name: 'foo-data-old' }]);
    assert.equal(data.installedSize, undefined);
  });

  it('reports missing or malformed fields with DEB822_PARSE (and bad versions with VERSION_INVALID)', () => {
    const base = `Package: x\nVersion: 1.0\nArchitecture: amd64\nFilename: f.deb\nSize: 1\nSHA256: ${SHA}\n`;
    assert.equal(parsePackages(base, repo, 'P').length, 1);
    const cases: Array<[string, string]> = [
      [base.replace('Version: 1.0\n', ''), 'DEB822_PARSE'],
      [base.replace('Size: 1', 'Size: 1k'), 'DEB822_PARSE'],
      [base.replace(SHA, 'abc'), 'DEB822_PARSE'],
      [base.replace('Version: 1.0', 'Version: x1'), 'VERSION_INVALID'],
      [`${base}Multi-Arch: sometimes\n`, 'DEB822_PARSE'],
      [`${base}Depends: a (>= \n`, 'DEB822_PARSE'],
      [`${base}Package: again\n`, 'DEB822_PARSE'],
      [`${base}broken line\n`, 'DEB822_PARSE'],
    ];
    for (const [text, code] of cases) {
      assert.throws(
        () => parsePackages(text, repo, 'P'),
        (e) => isImprintError(e) && e.code === code,
        text,
      );
    }
  });

  it('refuses a Filename that leaves the archive, naming the index, package and field', () => {
    const text = (f: string) =>
      `Package: x\nVersion: 1.0\nArchitecture: amd64\nFilename: ${f}\nSize: 1\nSHA256: ${SHA}\n`;
    for (const ok of ['pool/main/x/x/x_1.0_amd64.deb', 'pool/main/x/x/x_1.0+b1~1_amd64.deb', 'a..b/c.deb'])
      assert.equal(parsePackages(text(ok), repo, 'P')[0]?.filename, ok);
    const bad: Array<[string, RegExp]> = [
      ['../../etc/passwd', /a "\.\." segment/],
      ['pool/../../../x.deb', /a "\.\." segment/],
      ['pool/%2e%2E/x.deb', /a "%2e%2E" segment/],
      ['pool/./x.deb', /a "\." segment/],
      ['/etc/passwd', /absolute/],
      ['http://elsewhere.invalid/x.deb', /URL scheme/],
      ['file:/etc/passwd', /URL scheme/],
      ['pool\\..\\x.deb', /holds "\\\\"/],
      ['pool/x.deb?y', /holds "\?"/],
    ];
    for (const [f, why] of bad) {
      assert.throws(
        () => parsePackages(text(f), repo, 'http://h/dists/s/main/binary-amd64/Packages.xz'),
        (e) =>
          isImprintError(e, 'DEB822_PARSE') &&
          e.message.startsWith(
            `http://h/dists/s/main/binary-amd64/Packages.xz: x: invalid Filename ${JSON.stringify(f)}: `,
          ) &&
          why.test(e.message) &&
          e.details.package === 'x' &&
          e.details.field === 'Filename',
        f,
      );
    }
  });

  it('reads a stream split at arbitrary points the same as the whole text', async () => {
    const text = Array.from({ length: 50 }, (_, i) => INDEX.replace('libfoo1', `libfoo${i}`)).join('\n');
    const whole = parsePackages(text, repo, 'P');
    const bytes = Buffer.from(text);
    for (const size of [1, 7, 64, 1000]) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
      const streamed = await readPackagesIndex(Readable.from(chunks), repo, 'P');
      assert.deepEqual(streamed, whole, `chunk size ${size}`);
    }
    assert.equal(whole.length, 100);
  });

  it('names the line of a broken paragraph deep inside a stream', async () => {
    const good = `Package: x\nVersion: 1.0\nArchitecture: amd64\nFilename: f.deb\nSize: 1\nSHA256: ${SHA}\n`;
    const text = `${good}\n${good}\n${good.replace('Size: 1', 'Size: x')}`;
    const bytes = Buffer.from(text);
    for (const size of [5, bytes.length]) {
      const chunks: Buffer[] = [];
      for (let k = 0; k < bytes.length; k += size) chunks.push(bytes.subarray(k, k + size));
      await assert.rejects(
        readPackagesIndex(Readable.from(chunks), repo, 'P'),
        (e) => isImprintError(e, 'DEB822_PARSE') && e.details.line === 15,
        `chunk size ${size}`,
      );
    }
  });
});

describe('the host Packages index', () => {
  const dir = '/var/lib/apt/lists';
  const files = existsSync(dir)
    ? readdirSync(dir)
        .filter((n) => /_Packages(\.(lz4|gz|xz))?$/.test(n))
        .sort()
    : [];
  const helper = existsSync('/usr/lib/apt/apt-helper');
  it('parses every record of every host index', {
    skip: files.length > 0 && helper ? false : 'skipped: no apt lists on this host (run apt-get update)',
  }, async () => {
    for (const f of files) {
      const out = spawnSync('/usr/lib/apt/apt-helper', ['cat-file', join(dir, f)], { maxBuffer: 1 << 30 });
      assert.equal(out.status, 0);
      const expected = (out.stdout.toString('utf8').match(/^Package: /gm) ?? []).length;
      const recs = await readPackagesIndex(Readable.from([out.stdout]), repo, f);
      assert.equal(recs.length, expected, f);
      for (const r of recs) assert.match(r.sha256, /^[0-9a-f]{64}$/);
    }
  });
});
