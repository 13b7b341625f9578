import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { compareVersions, formatVersion, parseVersion, satisfies } from '../../src/debian/version.js';
import { isImprintError } from '../../src/errors.js';

/** [a, b, expected compareVersions(a, b)] — each also checked reversed. */
const CASES: Array<[string, string, -1 | 0 | 1]> = [
  // equal spellings
  ['1.0', '1.0', 0],
  ['1.0', '0:1.0', 0],
  ['1.0', '1.0-0', 0],
  ['1.00', '1.0', 0],
  ['1.01', '1.1', 0],
  ['0009', '9', 0],
  ['1.0-1', '0:1.0-1', 0],
  // epochs dominate
  ['1:0.1', '2.0', 1],
  ['2:1.0', '1:9.9', 1],
  ['0:5', '1:1', -1],
  ['10:1', '9:1', 1],
  // tilde sorts before everything, even the end
  ['1.0~rc1', '1.0', -1],
  ['1.0~~', '1.0~~a', -1],
  ['1.0~~a', '1.0~', -1],
  ['1.0~', '1.0', -1],
  ['1.0', '1.0a', -1],
  ['1.0~rc1', '1.0~rc2', -1],
  ['2.0-1~bpo12+1', '2.0-1', -1],
  ['1.0-1~', '1.0-1', -1],
  // letters sort before non-letters; uppercase before lowercase
  ['1.0a', '1.0+', -1],
  ['1.0a', '1.0.', -1],
  ['1.0A', '1.0a', -1],
  ['1.0z', '1.0+', -1],
  ['1.0+', '1.0.', -1], // '+' (43) before '.' (46)
  ['1.0', '1.0.', -1],
  ['1.0', '1.0+', -1],
  ['1.2.3+dfsg-1', '1.2.3-1', 1],
  ['1.2.3+dfsg1-1', '1.2.3+dfsg-1', 1],
  // numbers compare numerically, at any length
  ['10', '9', 1],
  ['1.10', '1.9', 1],
  ['1.99999999999999999999', '1.100000000000000000000', -1],
  ['1.123456789012345678901234567890', '1.123456789012345678901234567891', -1],
  ['2.0', '10.0', -1],
  // revisions
  ['1.0-1', '1.0-2', -1],
  ['1.0-10', '1.0-9', 1],
  ['1.0-1', '1.0', 1],
  ['1.0-1+b1', '1.0-1', 1],
  ['1.0-1.1', '1.0-1+deb12u1', 1], // '.' sorts after '+'
  ['1.0-1+deb12u1', '1.0-1+deb12u2', -1],
  ['1.0-a', '1.0-1', 1], // revision: letter before digit loses? non-digit run 'a' vs '' : 'a' > end
  // hyphens in upstream (the last hyphen starts the revision)
  ['1.0-beta-1', '1.0-beta-2', -1],
  ['1.0-beta-1', '1.0-1', 1],
  // colons in upstream (allowed with an epoch)
  ['1:1.0:2-1', '1:1.0:1-1', 1],
  // digits vs non-digits
  ['1a', '1.0', -1],
  ['1.0a1', '1.0a', 1],
  ['1.0.1', '1.0a', 1],
  ['3.0.0', '3.0', 1],
];

describe('compareVersions', () => {
  for (const [a, b, want] of CASES) {
    it(`${a} vs ${b}`, () => {
      assert.equal(compareVersions(a, b), want);
      assert.equal(compareVersions(b, a), want === 0 ? 0 : -want);
    });
  }

  it('is a total order on a set of tricky versions (sorting is consistent)', () => {
    const vs = [
      '1.0~~',
      '1.0~~a',
      '1.0~',
      '1.0',
      '1.0a',
      '1.0+',
      '1.0.',
      '1.0-1',
      '1:0.1',
      '0.9',
      '1.0~rc1',
      '1.0.1',
      '1.0a1',
    ];
    const sorted = [...vs].sort(compareVersions);
    for (let i = 1; i < sorted.length; i++)
      assert.ok(compareVersions(sorted[i - 1] as string, sorted[i] as string) <= 0);
    assert.deepEqual(sorted, [
      '0.9',
      '1.0~~',
      '1.0~~a',
      '1.0~',
      '1.0~rc1',
      '1.0',
      '1.0-1',
      '1.0a',
      '1.0a1',
      '1.0+',
      '1.0.',
      '1.0.1',
      '1:0.1',
    ]);
  });
});

describe('parseVersion', () => {
  it('splits epoch, upstream and revision at the first colon and the last hyphen', () => {
    assert.deepEqual(parseVersion('1:2.3-4-5'), { epoch: 1, upstream: '2.3-4', revision: '5' });
    assert.deepEqual(parseVersion('2.3'), { epoch: 0, upstream: '2.3', revision: '' });
    assert.deepEqual(parseVersion('7:1.0:2~x+y.z-0ubuntu1.2'), {
      epoch: 7,
      upstream: '1.0:2~x+y.z',
      revision: '0ubuntu1.2',
    });
    assert.equal(formatVersion(parseVersion('0:1.0-1')), '1.0-1');
  });

  for (const bad of [
    '',
    ' 1.0',
    '1.0 ',
    '1 0',
    'a1.0',
    ':1.0',
    'x:1.0',
    '-1:1.0',
    '1:',
    '1.0-',
    '1.0-a_b',
    '1_0',
    '1.0-1:2',
    '99999999999:1',
    '1.0-b@d',
    'ä1',
  ]) {
    it(`rejects ${JSON.stringify(bad)} with VERSION_INVALID`, () => {
      assert.throws(
        () => parseVersion(bad),
        (e) => isImprintError(e, 'VERSION_INVALID'),
      );
      assert.throws(
        () => compareVersions(bad, '1.0'),
        (e) => isImprintError(e, 'VERSION_INVALID'),
      );
    });
  }
});

describe('satisfies', () => {
  it('implements << <= = >= >> and the obsolete < and > (meaning <= and >=)', () => {
    const t = (v: string, op: Parameters<typeof satisfies>[1], r: string): boolean => satisfies(v, op, r);
    assert.equal(t('1.0', '<<', '1.1'), true);
    assert.equal(t('1.1', '<<', '1.1'), false);
    assert.equal(t('1.1', '<=', '1.1'), true);
    assert.equal(t('1.1', '=', '1.1-0'), true);
    assert.equal(t('1.1', '=', '1.1-1'), false);
    assert.equal(t('1.1', '>=', '1.1'), true);
    assert.equal(t('1.1', '>>', '1.1'), false);
    assert.equal(t('1.2', '>>', '1.1'), true);
    assert.equal(t('1.1', '<', '1.1'), true);
    assert.equal(t('1.0', '<', '1.1'), true);
    assert.equal(t('1.2', '<', '1.1'), false);
    assert.equal(t('1.1', '>', '1.1'), true);
    assert.equal(t('1.0', '>', '1.1'), false);
    assert.equal(t('1.0~rc1', '>=', '1.0~'), true);
  });
});

/** Version strings of the host's apt lists (Packages files in any compression apt keeps). */
function hostVersions(): string[] | string {
  const dir = '/var/lib/apt/lists';
  if (!existsSync(dir)) return `${dir} does not exist`;
  const files = readdirSync(dir)
    .filter((n) => /_Packages(\.(lz4|gz|xz|zst))?$/.test(n))
    .sort();
  if (files.length === 0) return `no *_Packages files in ${dir} (run apt-get update)`;
  const versions = new Set<string>();
  for (const f of files) {
    const out = spawnSync('/usr/lib/apt/apt-helper', ['cat-file', join(dir, f)], { maxBuffer: 1 << 30 });
    if (out.status !== 0) continue;
    for (const m of out.stdout.toString('utf8').matchAll(/^(?:Version: (\S+)|Source: \S+ \((\S+)\))$/gm))
      versions.add((m[1] ?? m[2]) as string);
  }
  return [...versions].sort();
}

function dpkgAvailable(): boolean {
  return spawnSync('dpkg', ['--version']).status === 0 && existsSync('/usr/lib/apt/apt-helper');
}

/** A small deterministic PRNG (mulberry32), so the sampled pairs are the same on every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function runDpkg(lines: string[]): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'imprint-dpkgcmp-'));
  try {
    const file = join(dir, 'pairs');
    writeFileSync(file, `${lines.join('\n')}\n`);
    const script =
      'while read -r a op b; do if dpkg --compare-versions "$a" "$op" "$b" 2>/dev/null; then echo y; else echo "n $a $op $b"; fi; done < "$1"';
    return await new Promise((resolve, reject) => {
      const child = spawn('sh', ['-c', script, 'sh', file], { stdio: ['ignore', 'pipe', 'inherit'] });
      const out: Buffer[] = [];
      child.stdout.on('data', (c: Buffer) => out.push(c));
      child.on('error', reject);
      child.on('close', (code) =>
        code === 0 ? resolve(Buffer.concat(out).toString('utf8')) : reject(new Error(`sh exited ${code}`)),
      );
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('compareVersions against dpkg --compare-versions', () => {
  const versions = dpkgAvailable() ? hostVersions() : 'dpkg or apt-helper is not installed';
  const skip = typeof versions === 'string' ? `skipped: ${versions}` : false;

  // dpkg compares one pair per process (~2 ms each), so the test checks a sorted chain: when dpkg
  // confirms every adjacent relation of N versions sorted by compareVersions (lt or eq), dpkg's
  // order, being a total preorder, agrees with ours on all N*(N-1)/2 pairs. Random pairs are
  // checked directly on top, so an intransitive bug could not hide behind the chain.
  it('agrees on at least 10,000 version pairs from the host Packages indexes', {
    skip,
    timeout: 180_000,
  }, async () => {
    const vs = versions as string[];
    assert.ok(vs.length > 1000, `expected many versions, found ${vs.length}`);
    for (const v of vs) parseVersion(v, 'host index version'); // every real version parses
    const rand = rng(12345);
    const sample = new Set<string>();
    while (sample.size < Math.min(3000, vs.length)) sample.add(vs[Math.floor(rand() * vs.length)] as string);
    const chain = [...sample].sort(compareVersions);
    const lines: string[] = [];
    for (let i = 1; i < chain.length; i++) {
      const a = chain[i - 1] as string;
      const b = chain[i] as string;
      lines.push(`${a} ${compareVersions(a, b) === 0 ? 'eq' : 'lt'} ${b}`);
    }
    for (let i = 0; i < 1000; i++) {
      const a = vs[Math.floor(rand() * vs.length)] as string;
      const b = rand() < 0.1 ? a : (vs[Math.floor(rand() * vs.length)] as string);
      // Ask dpkg to confirm the relation we computed (lt, eq, gt are mutually exclusive).
      lines.push(`${a} ${['lt', 'eq', 'gt'][compareVersions(a, b) + 1]} ${b}`);
    }
    const implied = (chain.length * (chain.length - 1)) / 2 + 1000;
    assert.ok(implied >= 10_000, `only ${implied} pairs covered`);
    const half = Math.ceil(lines.length / 2);
    const outs = await Promise.all([runDpkg(lines.slice(0, half)), runDpkg(lines.slice(half))]);
    const results = outs
      .join('')
      .split('\n')
      .filter((l) => l !== '');
    assert.equal(results.length, lines.length);
    const disagreements = results.filter((l) => l !== 'y');
    assert.deepEqual(disagreements, []);
  });

  it('agrees with dpkg on the hand-written cases', {
    skip: spawnSync('dpkg', ['--version']).status === 0 ? false : 'skipped: no dpkg',
  }, () => {
    for (const [a, b, want] of CASES) {
      const op = ['lt', 'eq', 'gt'][want + 1] as string;
      const ok = spawnSync('dpkg', ['--compare-versions', a, op, b]).status === 0;
      assert.ok(ok, `dpkg disagrees: ${a} ${op} ${b}`);
    }
    assert.ok(execFileSync('dpkg', ['--version']).length > 0);
  });
});
