import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { type PackageRecord, parsePackages, type RepoRef } from '../../src/debian/packages-index.js';
import { findRecords, findRecordsIn, scannedRecords, scanPackages } from '../../src/debian/packages-scan.js';
import { isImprintError } from '../../src/errors.js';

const repo: RepoRef = {
  sourceIndex: 1,
  url: 'http://archive.invalid/debian',
  suite: 'stable',
  component: 'main',
  arch: 'amd64',
};
const SHA = 'b'.repeat(64);

/** Every field of PackageRecord: a scanned record must read the same as a parsed one in each. */
const FIELDS = [
  'name',
  'version',
  'architecture',
  'multiArch',
  'source',
  'filename',
  'size',
  'sha256',
  'depends',
  'preDepends',
  'provides',
  'conflicts',
  'breaks',
  'replaces',
  'essential',
  'priority',
  'section',
  'installedSize',
  'maintainer',
  'description',
  'raw',
  'repo',
] as const;

function assertSameRecords(scanned: readonly PackageRecord[], parsed: readonly PackageRecord[]): void {
  assert.equal(scanned.length, parsed.length);
  for (let i = 0; i < parsed.length; i++) {
    for (const f of FIELDS) assert.deepEqual(scanned[i]?.[f], parsed[i]?.[f], `record ${i} field ${f}`);
  }
}

function pkg(name: string, extra = ''): string {
  return `Package: ${name}\nVersion: 1.0\nArchitecture: amd64\nFilename: pool/${name}.deb\nSize: 1\nSHA256: ${SHA}\n${extra}`;
}

// The spellings a line scanner can get wrong: field names in any case, Package not first,
// continuation lines in Package and Provides, CRLF, trailing blanks, whitespace-only separators,
// UTF-8 in other fields, and Provides with versions and architecture qualifiers.
const TRICKY = [
  `Package: libfoo1\nSource: foo (1.2-3)\nVersion: 1.2-3+b1\nMaintainer: Jörg Möller <j@example.invalid>\nArchitecture: amd64\nMulti-Arch: same\nDepends: libc6 (>= 2.34), libbar2 | libbar1 (>> 1:0.5~),\n zlib1g:any\nProvides: libfoo (= 1.2),\n foo-api\nDescription: the foo library — ünïcode\n A longer description.\nFilename: pool/main/f/foo/libfoo1.deb\nSize: 12345\nSHA256: ${SHA.toUpperCase()}\n`,
  `version: 2.0\npackage: lower-case\narchitecture: all\nPROVIDES: shout:any, x (= 1)\nfilename: pool/l.deb\nsize: 7\nsha256: ${SHA}\n`,
  `Package: crlf\r\nVersion: 3\r\nArchitecture: amd64\r\nProvides: crlf-virtual\r\nFilename: pool/c.deb\r\nSize: 3\r\nSHA256: ${SHA}\r\n`,
  `Package:   spaced   \nVersion: 4\nArchitecture: amd64 \nProvides:\n a,\n b (= 2)\nFilename: pool/s.deb\nSize: 4\nSHA256: ${SHA}\nPriority: required\nEssential: yes\n`,
  pkg('plain', 'Pre-Depends: dpkg\nPriority: optional\n'),
];
const TRICKY_INDEX = `${TRICKY[0]}\n${TRICKY[1]}\r\n${TRICKY[2]} \t \n\n\n${TRICKY[3]}\n  \n${TRICKY[4]}`;

describe('scanPackages', () => {
  it('reads every field exactly as parsePackages does, whatever the spelling', () => {
    const parsed = parsePackages(TRICKY_INDEX, repo, 'P');
    assert.equal(parsed.length, 5);
    const { records, scan } = scanPackages(Buffer.from(TRICKY_INDEX), repo, 'P');
    assertSameRecords(records, parsed);
    assert.deepEqual(scan?.names, ['libfoo1', 'lower-case', 'crlf', 'spaced', 'plain']);
    assert.deepEqual([...(scan?.provides.keys() ?? [])], [0, 1, 2, 3]);
    assert.ok(records.every((r) => r.repo === repo));
  });

  it('rebuilds the same records from a scan without reading the bytes again', () => {
    const bytes = Buffer.from(TRICKY_INDEX);
    const { records, scan } = scanPackages(bytes, repo, 'P');
    assert.ok(scan !== undefined);
    assertSameRecords(scannedRecords(bytes, repo, 'P', scan), records);
  });

  it('catches a scan that is not of these bytes (names or Provides moved) when a record is read', () => {
    const bytes = Buffer.from(TRICKY_INDEX);
    const { scan } = scanPackages(bytes, repo, 'P');
    assert.ok(scan !== undefined);
    const swapped = {
      ...scan,
      names: [scan.names[1] as string, scan.names[0] as string, ...scan.names.slice(2)],
    };
    const records = scannedRecords(bytes, repo, 'P', swapped);
    assert.throws(
      () => records[0]?.version,
      (e) => isImprintError(e, 'INTERNAL'),
    );
    const moved = { ...scan, provides: new Map([...scan.provides].map(([i, p]) => [i === 2 ? 4 : i, p])) };
    assert.throws(
      () => scannedRecords(bytes, repo, 'P', moved)[4]?.version,
      (e) => isImprintError(e, 'INTERNAL'),
    );
    assert.equal(scannedRecords(bytes, repo, 'P', scan)[4]?.version, '1.0');
  });

  it('fails at once where the Package or Provides field is broken, naming the line', () => {
    const cases: Array<[string, number]> = [
      [`${pkg('a')}\nVersion: 1\nArchitecture: amd64\n`, 8], // no Package
      [`${pkg('a')}\n${pkg('b', 'Package: b2\n')}`, 8], // Package twice
      [`${pkg('a')}\n${pkg('b', 'Provides: x\nprovides: y\n')}`, 8], // Provides twice
      [`${pkg('a')}\n${pkg('b', 'Provides: x | y\n')}`, 8], // alternatives in Provides
      [`${pkg('a')}\n${pkg('b', 'Provides: Not_A_Name\n')}`, 8],
      [`${pkg('a')}\n P: continuation without a field\n`, 8],
      [`${pkg('a')}\n${pkg('b', 'Pnocolon\n')}`, 8],
    ];
    for (const [text, line] of cases) {
      assert.throws(
        () => scanPackages(Buffer.from(text), repo, 'P'),
        (e) =>
          isImprintError(e, 'DEB822_PARSE') &&
          e.details.line !== undefined &&
          (e.details.line as number) >= line,
        text,
      );
    }
  });

  it('parses the other fields of a record only when one is read, with the same errors', () => {
    const text = `${pkg('good')}\n${pkg('bad').replace('Version: 1.0', 'Version: x1').replace('Size: 1', 'Size: 1k')}`;
    assert.throws(
      () => parsePackages(text, repo, 'P'),
      (e) => isImprintError(e, 'VERSION_INVALID'),
    );
    const { records } = scanPackages(Buffer.from(text), repo, 'P');
    const [good, bad] = records as [PackageRecord, PackageRecord];
    assert.equal(good.version, '1.0');
    assert.equal(bad.name, 'bad');
    assert.deepEqual(bad.provides, []);
    assert.throws(
      () => bad.version,
      (e) => isImprintError(e, 'VERSION_INVALID'),
    );
    assert.throws(
      () => bad.sha256,
      (e) => isImprintError(e, 'VERSION_INVALID'),
    );
  });

  it('reads an empty index as no records', () => {
    const { records, scan } = scanPackages(Buffer.alloc(0), repo, 'P');
    assert.deepEqual(records, []);
    assert.deepEqual(scan?.names, []);
  });
});

describe('scanPackages on the host Packages indexes', () => {
  const dir = '/var/lib/apt/lists';
  const files = existsSync(dir)
    ? readdirSync(dir)
        .filter((n) => /_Packages(\.(lz4|gz|xz))?$/.test(n))
        .sort()
    : [];
  const helper = existsSync('/usr/lib/apt/apt-helper');
  it('gives the records parsePackages gives, field for field', {
    skip: files.length > 0 && helper ? false : 'skipped: no apt lists on this host (run apt-get update)',
  }, () => {
    for (const f of files) {
      const out = spawnSync('/usr/lib/apt/apt-helper', ['cat-file', join(dir, f)], { maxBuffer: 1 << 30 });
      assert.equal(out.status, 0);
      const { records, scan } = scanPackages(out.stdout, repo, f);
      assert.ok(scan !== undefined, f);
      assertSameRecords(records, parsePackages(out.stdout.toString('utf8'), repo, f));
    }
  });
});

describe('findRecords / findRecordsIn: a few packages of an index, without scanning it', () => {
  // As archives write indexes: `Package: ` spelled so, paragraphs between empty lines; one paragraph
  // with Package not first, UTF-8, two versions of one name, and a last paragraph without a newline.
  const INDEX = [
    TRICKY[0] as string,
    `Version: 7\nPackage: late-name\nArchitecture: all\nFilename: pool/late.deb\nSize: 9\nSHA256: ${SHA}\n`,
    pkg('plain', 'Pre-Depends: dpkg\n'),
    pkg('twice'),
    pkg('twice').replace('Version: 1.0', 'Version: 2.0'),
    pkg('last').trimEnd(),
  ].join('\n');
  const names = new Set(['libfoo1', 'late-name', 'twice', 'last', 'absent']);
  const expected = () => parsePackages(INDEX, repo, 'P').filter((r) => names.has(r.name));

  it('finds the same records parsePackages gives, field for field', () => {
    const found = findRecords(Buffer.from(INDEX), names, repo, 'P');
    assert.deepEqual(
      found.map((r) => `${r.name} ${r.version}`),
      ['libfoo1 1.2-3+b1', 'late-name 7', 'twice 1.0', 'twice 2.0', 'last 1.0'],
    );
    assertSameRecords(found, expected());
  });

  it('gives the same from a stream cut anywhere', async () => {
    const bytes = Buffer.from(INDEX);
    for (const size of [1, 2, 3, 7, 64, bytes.length]) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
      assertSameRecords(await findRecordsIn(Readable.from(chunks), names, repo, 'P'), expected());
    }
  });

  it('finds nothing for names the index lacks, and nothing in an empty index', async () => {
    assert.deepEqual(findRecords(Buffer.from(INDEX), new Set(['nope']), repo, 'P'), []);
    assert.deepEqual(findRecords(Buffer.alloc(0), names, repo, 'P'), []);
    assert.deepEqual(await findRecordsIn(Readable.from([]), names, repo, 'P'), []);
  });

  it('refuses a stream with no paragraph break in 16 MiB', async () => {
    const big = Buffer.alloc(1 << 20, 0x61);
    const chunks = Array.from({ length: 17 }, () => big);
    await assert.rejects(findRecordsIn(Readable.from(chunks), names, repo, 'P'), (err: unknown) =>
      isImprintError(err, 'DEB822_PARSE'),
    );
  });

  const dir = '/var/lib/apt/lists';
  const files = existsSync(dir) ? readdirSync(dir).filter((n) => /_Packages(\.(lz4|gz|xz))?$/.test(n)) : [];
  it('on the host Packages indexes: the records scanPackages gives for the same names', {
    skip:
      files.length > 0 && existsSync('/usr/lib/apt/apt-helper')
        ? false
        : 'skipped: no apt lists on this host',
  }, async () => {
    for (const f of files.sort()) {
      const out = spawnSync('/usr/lib/apt/apt-helper', ['cat-file', join(dir, f)], { maxBuffer: 1 << 30 });
      const { records } = scanPackages(out.stdout, repo, f);
      // Every 97th name: a spread over the index, first and last included.
      const some = new Set(
        records.filter((_, i) => i % 97 === 0 || i === records.length - 1).map((r) => r.name),
      );
      const want = records.filter((r) => some.has(r.name));
      assertSameRecords(findRecords(out.stdout, some, repo, f), want);
      assertSameRecords(
        await findRecordsIn(
          Readable.from([out.stdout.subarray(0, 1000), out.stdout.subarray(1000)]),
          some,
          repo,
          f,
        ),
        want,
      );
    }
  });
});
