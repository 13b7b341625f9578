import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { RepoRef } from '../../src/debian/packages-index.js';
import { type PackagesScan, scanPackages } from '../../src/debian/packages-scan.js';
import {
  decodePackagesScan,
  encodePackagesScan,
  packagesScanPath,
  readPackagesScan,
  writePackagesScan,
} from '../../src/debian/packages-scan-cache.js';

const repo: RepoRef = {
  sourceIndex: 0,
  url: 'http://archive.invalid/debian',
  suite: 's',
  component: 'main',
  arch: 'amd64',
};
const SHA = 'c'.repeat(64);

function pkg(name: string, extra = ''): string {
  return `Package: ${name}\nVersion: 1.0\nArchitecture: amd64\nFilename: pool/${name}.deb\nSize: 1\nSHA256: ${SHA}\n${extra}`;
}

const INDEX = Buffer.from(
  [
    pkg('a', 'Provides: va, vb (= 1:2.0~rc1), vq:any, vr (>= 1)\n'),
    pkg('b'),
    pkg('c-ünï', 'Provides: vc\n'),
    pkg('d', 'Provides:\n x,\n y\n'),
  ].join('\n'),
);
const KEY = createHash('sha256').update(INDEX).digest('hex');

function scanOf(bytes: Buffer): PackagesScan {
  const { scan } = scanPackages(bytes, repo, 'P');
  assert.ok(scan !== undefined);
  return scan;
}

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('the Packages scan cache', () => {
  it('decodes what it encodes: names, offsets, lines and every Provides form', () => {
    const scan = scanOf(INDEX);
    const decoded = decodePackagesScan(encodePackagesScan(scan, KEY, INDEX.length), KEY, INDEX.length);
    assert.deepEqual(decoded, scan);
    assert.deepEqual(decoded?.provides.get(0), [
      { name: 'va' },
      { name: 'vb', op: '=', version: '1:2.0~rc1' },
      { name: 'vq', archQualifier: 'any' },
      { name: 'vr', op: '>=', version: '1' },
    ]);
    assert.ok(Object.isFrozen(decoded?.provides.get(0)) && Object.isFrozen(decoded?.provides.get(0)?.[1]));
    const empty = scanOf(Buffer.alloc(0));
    assert.deepEqual(decodePackagesScan(encodePackagesScan(empty, KEY, 0), KEY, 0), empty);
  });

  it('is a pure function of the scan', () => {
    const scan = scanOf(INDEX);
    assert.ok(
      encodePackagesScan(scan, KEY, INDEX.length).equals(
        encodePackagesScan(scanOf(INDEX), KEY, INDEX.length),
      ),
    );
  });

  it('ignores an entry for another index, size or format, and any changed byte', () => {
    const entry = encodePackagesScan(scanOf(INDEX), KEY, INDEX.length);
    assert.equal(decodePackagesScan(entry, 'd'.repeat(64), INDEX.length), undefined);
    assert.equal(decodePackagesScan(entry, KEY, INDEX.length + 1), undefined);
    const text = entry.toString('latin1');
    assert.equal(
      decodePackagesScan(Buffer.from(text.replace(' 1 ', ' 2 '), 'latin1'), KEY, INDEX.length),
      undefined,
    );
    for (let i = 0; i < entry.length; i += 7) {
      const bad = Buffer.from(entry);
      bad[i] = (bad[i] as number) ^ 0x20;
      assert.equal(decodePackagesScan(bad, KEY, INDEX.length), undefined, `byte ${i}`);
    }
    assert.equal(decodePackagesScan(entry.subarray(0, entry.length - 1), KEY, INDEX.length), undefined);
    assert.equal(decodePackagesScan(Buffer.alloc(0), KEY, INDEX.length), undefined);
  });

  it('ignores a well-checksummed entry whose paragraphs do not fit the index', () => {
    const scan = scanOf(INDEX);
    const outside = { ...scan, ends: scan.ends.map((e, i) => (i === 3 ? INDEX.length + 1 : e)) };
    assert.equal(
      decodePackagesScan(encodePackagesScan(outside, KEY, INDEX.length), KEY, INDEX.length),
      undefined,
    );
    const unordered = {
      ...scan,
      starts: Int32Array.from([scan.starts[1] as number, ...scan.starts.slice(1)]),
    };
    assert.equal(
      decodePackagesScan(encodePackagesScan(unordered, KEY, INDEX.length), KEY, INDEX.length),
      undefined,
    );
    const nameless = { ...scan, names: ['a', '', 'c', 'd'] };
    assert.equal(
      decodePackagesScan(encodePackagesScan(nameless, KEY, INDEX.length), KEY, INDEX.length),
      undefined,
    );
  });

  it('writes atomically into <cache>/debian/packages-scan and reads back; a corrupt file reads as none', async () => {
    const cache = mkdtempSync(join(tmpdir(), 'imprint-scan-cache-'));
    dirs.push(cache);
    assert.equal(await readPackagesScan(cache, KEY, INDEX.length), undefined);
    const scan = scanOf(INDEX);
    await writePackagesScan(cache, KEY, INDEX.length, scan);
    const file = packagesScanPath(cache, KEY);
    assert.equal(file, join(cache, 'debian', 'packages-scan', `${KEY}.scan`));
    assert.deepEqual(await readPackagesScan(cache, KEY, INDEX.length), scan);
    const bytes = readFileSync(file);
    bytes[bytes.length - 2] = (bytes[bytes.length - 2] as number) ^ 1;
    writeFileSync(file, bytes);
    assert.equal(await readPackagesScan(cache, KEY, INDEX.length), undefined);
  });
});
