import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { type PackageRecord, parsePackages, type RepoRef } from '../../src/debian/packages-index.js';
import {
  dpkgArch,
  PackageUniverse,
  parsePackageRequest,
  type Resolution,
  resolvePackages,
} from '../../src/debian/resolve.js';
import { boundedDistance, nearestNames } from '../../src/debian/resolve-names.js';
import { type ImprintError, isImprintError } from '../../src/errors.js';

// ---- fixture: synthetic Packages paragraphs parsed by the real parser -------------------------------

interface P {
  name: string;
  version?: string;
  arch?: string;
  ma?: string;
  depends?: string;
  preDepends?: string;
  recommends?: string;
  provides?: string;
  conflicts?: string;
  breaks?: string;
  essential?: boolean;
  priority?: string;
  protected?: boolean;
  /** Index of the source (spec order); default 0. */
  source?: number;
  /** The Source field (the source package's name); default none, i.e. the package's own name. */
  src?: string;
  suite?: string;
  /** The suite's apt priority (its Release's NotAutomatic: 1; with ButAutomaticUpgrades: 100). */
  suitePriority?: number;
}

function paragraph(p: P): string {
  const version = p.version ?? '1.0';
  const arch = p.arch ?? 'amd64';
  const lines = [`Package: ${p.name}`, `Version: ${version}`, `Architecture: ${arch}`];
  if (p.src !== undefined) lines.push(`Source: ${p.src}`);
  if (p.ma !== undefined) lines.push(`Multi-Arch: ${p.ma}`);
  if (p.essential === true) lines.push('Essential: yes');
  if (p.protected === true) lines.push('Protected: yes');
  if (p.priority !== undefined) lines.push(`Priority: ${p.priority}`);
  if (p.preDepends !== undefined) lines.push(`Pre-Depends: ${p.preDepends}`);
  if (p.depends !== undefined) lines.push(`Depends: ${p.depends}`);
  if (p.recommends !== undefined) lines.push(`Recommends: ${p.recommends}`);
  if (p.provides !== undefined) lines.push(`Provides: ${p.provides}`);
  if (p.conflicts !== undefined) lines.push(`Conflicts: ${p.conflicts}`);
  if (p.breaks !== undefined) lines.push(`Breaks: ${p.breaks}`);
  const file = `${p.name}_${version.replace(':', '%3a')}_${arch}.deb`;
  const sha = createHash('sha256')
    .update(`${p.source ?? 0}/${p.suite ?? 'stable'}/${file}`)
    .digest('hex');
  lines.push(`Filename: pool/main/${p.name[0]}/${p.name}/${file}`, 'Size: 1000', `SHA256: ${sha}`);
  return lines.join('\n');
}

/** Parses the packages, one index per (source, suite), in the given order. */
function records(pkgs: P[]): PackageRecord[] {
  const groups = new Map<string, P[]>();
  for (const p of pkgs) {
    const key = `${p.source ?? 0}\0${p.suite ?? 'stable'}\0${p.suitePriority ?? ''}`;
    groups.set(key, [...(groups.get(key) ?? []), p]);
  }
  const out: PackageRecord[] = [];
  for (const [key, list] of groups) {
    const [source, suite, priority] = key.split('\0') as [string, string, string];
    const repo: RepoRef = {
      sourceIndex: Number(source),
      url: `http://127.0.0.1/${source}`,
      suite,
      component: 'main',
      arch: 'amd64',
      ...(priority === '' ? {} : { priority: Number(priority) }),
    };
    out.push(...parsePackages(`${list.map(paragraph).join('\n\n')}\n`, repo, `Packages ${source}/${suite}`));
  }
  return out;
}

const universe = (pkgs: P[]): PackageUniverse => new PackageUniverse(records(pkgs));

function resolve(
  pkgs: P[] | PackageUniverse,
  names: string[],
  opts: { arch?: string; essential?: boolean } = {},
): Resolution {
  const u = pkgs instanceof PackageUniverse ? pkgs : universe(pkgs);
  return resolvePackages(u, {
    names: names.map(parsePackageRequest),
    arch: opts.arch ?? 'amd64',
    includeEssential: opts.essential,
  });
}

/** `name=version` (or `name:arch=version` for foreign architectures) of the result, in result order. */
function picked(res: Resolution): string[] {
  return res.packages.map(
    (r) =>
      `${r.name}${r.architecture === 'amd64' || r.architecture === 'all' ? '' : `:${r.architecture}`}=${r.version}`,
  );
}

function fails(fn: () => unknown, code: string): ImprintError {
  try {
    fn();
  } catch (err) {
    assert.ok(isImprintError(err), String(err));
    assert.equal(err.code, code, err.message);
    return err;
  }
  assert.fail(`expected ${code}`);
}

// ---- closure basics ---------------------------------------------------------------------------------

test('closure follows Depends and Pre-Depends, not Recommends, and reports the chain that pulled each package', () => {
  const res = resolve(
    [
      { name: 'app', depends: 'libfoo (>= 1.0), tzdata', recommends: 'docs', preDepends: 'init-helper' },
      { name: 'libfoo', version: '1.2', depends: 'libc6' },
      { name: 'libc6', version: '2.36-9' },
      { name: 'tzdata', version: '2024a', arch: 'all' },
      { name: 'init-helper' },
      { name: 'docs' },
    ],
    ['app'],
  );
  assert.deepEqual(picked(res), ['app=1.0', 'init-helper=1.0', 'libc6=2.36-9', 'libfoo=1.2', 'tzdata=2024a']);
  assert.deepEqual(res.reasons.get('libc6'), ['app', 'libfoo', 'libc6']);
  assert.deepEqual(res.reasons.get('app'), ['app']);
});

test('Pre-Depends are satisfied before Depends (a Pre-Depends can satisfy a later alternative)', () => {
  const res = resolve(
    [{ name: 'x', depends: 'a | b', preDepends: 'b' }, { name: 'a' }, { name: 'b' }],
    ['x'],
  );
  assert.deepEqual(picked(res), ['b=1.0', 'x=1.0']);
});

test('dependency cycles terminate', () => {
  const res = resolve(
    [
      { name: 'a', depends: 'b' },
      { name: 'b', depends: 'c' },
      { name: 'c', depends: 'a' },
    ],
    ['a'],
  );
  assert.deepEqual(picked(res), ['a=1.0', 'b=1.0', 'c=1.0']);
});

// ---- alternatives -----------------------------------------------------------------------------------

test('alternatives: the first satisfiable one wins', () => {
  const base: P[] = [{ name: 'a' }, { name: 'b' }];
  assert.deepEqual(picked(resolve([{ name: 'x', depends: 'a | b' }, ...base], ['x'])), ['a=1.0', 'x=1.0']);
  assert.deepEqual(picked(resolve([{ name: 'x', depends: 'missing | b' }, ...base], ['x'])), [
    'b=1.0',
    'x=1.0',
  ]);
  // the first alternative exists but its version does not fit
  assert.deepEqual(picked(resolve([{ name: 'x', depends: 'a (>= 2) | b' }, ...base], ['x'])), [
    'b=1.0',
    'x=1.0',
  ]);
  // the first alternative fits but cannot be installed (its own dependency is missing)
  assert.deepEqual(
    picked(resolve([{ name: 'x', depends: 'a | b' }, { name: 'a', depends: 'gone' }, { name: 'b' }], ['x'])),
    ['b=1.0', 'x=1.0'],
  );
  // a failed alternative leaves nothing behind
  const res = resolve(
    [{ name: 'x', depends: 'a | b' }, { name: 'a', depends: 'c, gone' }, { name: 'b' }, { name: 'c' }],
    ['x'],
  );
  assert.deepEqual(picked(res), ['b=1.0', 'x=1.0']);
});

test('alternatives: a group already satisfied by a chosen package (any alternative) installs nothing', () => {
  assert.deepEqual(
    picked(resolve([{ name: 'x', depends: 'a | b' }, { name: 'a' }, { name: 'b' }], ['x', 'b'])),
    ['b=1.0', 'x=1.0'],
  );
});

test('alternatives: an alternative that conflicts with the chosen set is skipped', () => {
  const res = resolve(
    [{ name: 'x', depends: 'z, a | b' }, { name: 'a', conflicts: 'z' }, { name: 'b' }, { name: 'z' }],
    ['x'],
  );
  assert.deepEqual(picked(res), ['b=1.0', 'x=1.0', 'z=1.0']);
});

// ---- versions ---------------------------------------------------------------------------------------

test('versioned relations: every operator, including the obsolete < and >', () => {
  const cases: Array<[string, boolean]> = [
    ['<< 2.0', true],
    ['<< 1.5', false],
    ['<= 1.5', true],
    ['<= 1.4', false],
    ['= 1.5', true],
    ['= 1.5-1', false],
    ['>= 1.5', true],
    ['>= 1.6', false],
    ['>> 1.4', true],
    ['>> 1.5', false],
    ['< 1.5', true],
    ['> 1.5', true],
    ['> 1:0', false],
  ];
  for (const [constraint, ok] of cases) {
    const pkgs: P[] = [
      { name: 'x', depends: `lib (${constraint}) | other` },
      { name: 'lib', version: '1.5' },
      { name: 'other' },
    ];
    assert.deepEqual(
      picked(resolve(pkgs, ['x'])),
      ok ? ['lib=1.5', 'x=1.0'] : ['other=1.0', 'x=1.0'],
      constraint,
    );
  }
});

test('versions: the candidate is the highest version; equal versions go to the first source', () => {
  const pkgs: P[] = [
    { name: 'x', depends: 'lib' },
    { name: 'lib', version: '1.0', source: 0 },
    { name: 'lib', version: '1.1', source: 1 },
    { name: 'tie', version: '3', source: 1 },
    { name: 'tie', version: '3', source: 0 },
  ];
  const res = resolve(pkgs, ['x', 'tie']);
  assert.deepEqual(picked(res), ['lib=1.1', 'tie=3', 'x=1.0']);
  assert.equal(res.packages.find((r) => r.name === 'tie')?.repo.sourceIndex, 0);
});

test('versions: like apt, alternatives only consider candidates; an older version is used only when nothing else fits', () => {
  const pkgs: P[] = [
    { name: 'lib', version: '1.0', source: 0 },
    { name: 'lib', version: '2.0', source: 1 },
    { name: 'other' },
  ];
  assert.deepEqual(picked(resolve([...pkgs, { name: 'x', depends: 'lib (<< 2) | other' }], ['x'])), [
    'other=1.0',
    'x=1.0',
  ]);
  assert.deepEqual(picked(resolve([...pkgs, { name: 'x', depends: 'lib (<< 2)' }], ['x'])), [
    'lib=1.0',
    'x=1.0',
  ]);
});

test('suite priorities, as apt: a NotAutomatic suite (backports) gives a package only when pinned or when nothing else fits', () => {
  const pkgs: P[] = [
    { name: 'curl', version: '7.88', depends: 'libcurl4 (= 7.88)' },
    { name: 'libcurl4', version: '7.88' },
    { name: 'libonly', version: '1.0' },
    {
      name: 'curl',
      version: '8.14~bpo',
      depends: 'libcurl4 (= 8.14~bpo)',
      suite: 'backports',
      suitePriority: 1,
    },
    { name: 'libcurl4', version: '8.14~bpo', suite: 'backports', suitePriority: 1 },
    { name: 'newthing', version: '2.0', depends: 'libonly', suite: 'backports', suitePriority: 1 },
  ];
  // Newer in backports, but the stable versions are the candidates.
  assert.deepEqual(picked(resolve(pkgs, ['curl'])), ['curl=7.88', 'libcurl4=7.88']);
  // Pinned: backports' curl, and the libcurl4 it needs (not a candidate, but the only fit).
  assert.deepEqual(picked(resolve(pkgs, ['curl=8.14~bpo'])), ['curl=8.14~bpo', 'libcurl4=8.14~bpo']);
  // Only in backports: its one version is the candidate.
  assert.deepEqual(picked(resolve(pkgs, ['newthing'])), ['libonly=1.0', 'newthing=2.0']);
  // ButAutomaticUpgrades (100) still loses to a default suite (500); between two NotAutomatic
  // suites the higher priority wins, whatever the versions.
  const two: P[] = [
    { name: 'tool', version: '3', suite: 'experimental', suitePriority: 1 },
    { name: 'tool', version: '2', suite: 'backports', suitePriority: 100 },
  ];
  assert.deepEqual(picked(resolve(two, ['tool'])), ['tool=2']);
  assert.deepEqual(picked(resolve([...two, { name: 'tool', version: '1' }], ['tool'])), ['tool=1']);
  // A pin that fits nothing names what dropping it gives: the candidate, not backports' newest.
  const err = fails(() => resolve(pkgs, ['curl=9.9']), 'PACKAGE_NOT_FOUND');
  assert.match(err.hint ?? '', /drop the pin to get the candidate \(7\.88\)/);
  // A version of a suite the sources do not list (backports left out) says to add it.
  const stable = pkgs.filter((p) => p.suite !== 'backports');
  const bpo = fails(() => resolve(stable, ['curl=8.14~bpo12+1']), 'PACKAGE_NOT_FOUND');
  assert.match(
    bpo.hint ?? '',
    /add the suite that has 8\.14~bpo12\+1 to a source's suites \(a ~bpo version is in a -backports suite\)/,
  );
});

test("a requested suite (apt's name/suite) gives that suite's newest version, and its dependencies where needed", () => {
  const pkgs: P[] = [
    { name: 'curl', version: '7.88', depends: 'libcurl4 (= 7.88)' },
    { name: 'libcurl4', version: '7.88' },
    {
      name: 'curl',
      version: '8.14~bpo',
      depends: 'libcurl4 (= 8.14~bpo)',
      suite: 'backports',
      suitePriority: 1,
    },
    { name: 'curl', version: '8.10~bpo', suite: 'backports', suitePriority: 1 },
    { name: 'libcurl4', version: '8.14~bpo', suite: 'backports', suitePriority: 1 },
  ];
  const u = universe(pkgs);
  const req = (names: Array<{ name: string; suite?: string }>) =>
    picked(resolvePackages(u, { names, arch: 'amd64' }));
  assert.deepEqual(req([{ name: 'curl', suite: 'backports' }]), ['curl=8.14~bpo', 'libcurl4=8.14~bpo']);
  assert.deepEqual(req([{ name: 'curl', suite: 'stable' }]), ['curl=7.88', 'libcurl4=7.88']);
  // Reached first through another package at stable's version: the message says what to list.
  const first = universe([...pkgs, { name: 'helper', version: '1', depends: 'libcurl4' }]);
  const clash = fails(
    () =>
      resolvePackages(first, {
        names: [{ name: 'helper' }, { name: 'curl', suite: 'backports' }],
        arch: 'amd64',
      }),
    'UNSATISFIABLE',
  );
  assert.match(clash.message, /list libcurl4\/backports in packages to choose that one/);
  const err = fails(() => req([{ name: 'libcurl4', suite: 'nosuch' }]), 'PACKAGE_NOT_FOUND');
  assert.match(
    err.message,
    /libcurl4 is not in suite nosuch; the sources have 8\.14~bpo \(backports\), 7\.88 \(stable\)/,
  );
});

test('pinned versions: name=version picks that version and satisfies dependencies on it', () => {
  const pkgs: P[] = [
    { name: 'x', depends: 'lib (>= 1)' },
    { name: 'lib', version: '1.0', source: 0 },
    { name: 'lib', version: '2.0', source: 1 },
  ];
  assert.deepEqual(picked(resolve(pkgs, ['x', 'lib=1.0'])), ['lib=1.0', 'x=1.0']);
  const err = fails(() => resolve(pkgs, ['lib=3.0']), 'PACKAGE_NOT_FOUND');
  assert.deepEqual(err.details.available, ['2.0', '1.0']);
  assert.match(err.message, /lib=3\.0.*2\.0, 1\.0/);
  fails(() => resolve(pkgs, ['lib=1.0', 'lib=2.0']), 'UNSATISFIABLE');
});

test('UNSATISFIABLE names the relation and the chain that needs it', () => {
  const err = fails(
    () =>
      resolve(
        [
          { name: 'python3', depends: 'python3.11' },
          { name: 'python3.11', depends: 'libc6 (>= 2.99)' },
          { name: 'libc6', version: '2.36-9' },
        ],
        ['python3'],
      ),
    'UNSATISFIABLE',
  );
  assert.deepEqual(err.details.chain, ['python3', 'python3.11', 'libc6 (>= 2.99)']);
  assert.equal(err.details.relation, 'libc6 (>= 2.99)');
  assert.match(err.message, /python3 → python3\.11 → libc6 \(>= 2\.99\)/);
  assert.match(err.message, /2\.36-9/);
});

test('a version already chosen blocks another version of the same package', () => {
  const pkgs: P[] = [
    { name: 'a', depends: 'lib (>= 2)' },
    { name: 'b', depends: 'lib (<< 2)' },
    { name: 'lib', version: '1.0', source: 1 },
    { name: 'lib', version: '2.0', source: 0 },
  ];
  const err = fails(() => resolve(pkgs, ['a', 'b']), 'UNSATISFIABLE');
  assert.deepEqual(err.details.chain, ['b', 'lib (<< 2)']);
  assert.match(err.message, /already chosen \(a → lib\); list lib=1\.0 in packages to choose that one/);
});

// ---- virtual packages -------------------------------------------------------------------------------

test('virtual packages: a single provider is taken, for dependencies and for requested names', () => {
  const pkgs: P[] = [
    { name: 'x', depends: 'awk' },
    { name: 'mawk', provides: 'awk' },
  ];
  assert.deepEqual(picked(resolve(pkgs, ['x'])), ['mawk=1.0', 'x=1.0']);
  assert.deepEqual(picked(resolve(pkgs, ['awk'])), ['mawk=1.0']);
});

test('virtual packages: a requested name with several providers is refused (as apt does), naming them', () => {
  const err = fails(
    () =>
      resolve(
        [
          { name: 'mawk', provides: 'awk' },
          { name: 'gawk', provides: 'awk' },
        ],
        ['awk'],
      ),
    'PACKAGE_NOT_FOUND',
  );
  assert.deepEqual(err.details.providers, ['mawk', 'gawk']);
});

test('virtual packages: several providers are ordered like apt (Essential, Protected, Priority, then the last in the index)', () => {
  const mta = (extra: P[]): string[] => picked(resolve([{ name: 'x', depends: 'mta' }, ...extra], ['x']));
  assert.deepEqual(
    mta([
      { name: 'zz', provides: 'mta' },
      { name: 'aa', provides: 'mta' },
    ]),
    ['x=1.0', 'zz=1.0'],
  );
  assert.deepEqual(
    mta([
      { name: 'aa', provides: 'mta', priority: 'optional' },
      { name: 'zz', provides: 'mta', priority: 'important' },
    ]),
    ['x=1.0', 'zz=1.0'],
  );
  assert.deepEqual(
    mta([
      { name: 'aa', provides: 'mta', priority: 'required' },
      { name: 'zz', provides: 'mta', priority: 'optional', essential: true },
    ]),
    ['x=1.0', 'zz=1.0'],
  );
  assert.deepEqual(
    mta([
      { name: 'aa', provides: 'mta' },
      { name: 'zz', provides: 'mta', protected: true },
    ]),
    ['x=1.0', 'zz=1.0'],
  );
});

test('virtual packages: equal providers go to the greatest source, then binary name, as apt on Debian indexes (phpapi)', () => {
  // bookworm: php8.2-maxminddb depends on phpapi-20220829, provided by five SAPIs of source php8.2;
  // apt takes the provider its cache met last, php8.2-phpdbg (indexes are sorted by source, then
  // name), not libapache2-mod-php8.2, which would bring Apache.
  const php = (name: string): P => ({
    name,
    src: 'php8.2',
    provides: 'phpapi-20220829',
    priority: 'optional',
  });
  const res = resolve(
    [
      { name: 'php8.2-maxminddb', src: 'php-maxminddb', depends: 'phpapi-20220829' },
      { ...php('libapache2-mod-php8.2'), depends: 'apache2-bin' },
      { name: 'apache2-bin' },
      php('php8.2-cgi'),
      php('php8.2-cli'),
      php('php8.2-fpm'),
      php('php8.2-phpdbg'),
      { name: 'zz-api', src: 'aa-src', provides: 'phpapi-20220829', priority: 'optional' },
    ],
    ['php8.2-maxminddb'],
  );
  assert.deepEqual(picked(res), ['php8.2-maxminddb=1.0', 'php8.2-phpdbg=1.0']);
});

test('virtual packages: the real package comes before providers of the same name', () => {
  const res = resolve(
    [{ name: 'x', depends: 'foo' }, { name: 'afoo', provides: 'foo', essential: true }, { name: 'foo' }],
    ['x'],
  );
  assert.deepEqual(picked(res), ['foo=1.0', 'x=1.0']);
});

test('virtual packages: versioned Provides satisfy versioned dependencies; unversioned ones do not', () => {
  const pkgs: P[] = [
    { name: 'x', depends: 'libapi (>= 2)' },
    { name: 'old', provides: 'libapi' },
    { name: 'new', provides: 'libapi (= 2.1)' },
  ];
  assert.deepEqual(picked(resolve(pkgs, ['x'])), ['new=1.0', 'x=1.0']);
  const err = fails(() => resolve([pkgs[0] as P, pkgs[1] as P], ['x']), 'UNSATISFIABLE');
  assert.match(err.message, /provided by old, none with a matching version/);
});

// ---- conflicts --------------------------------------------------------------------------------------

test('like apt, a later hard dependency displaces an earlier alternative it conflicts with', () => {
  const pkgs: P[] = [
    { name: 'office', depends: 'office-base' },
    { name: 'office-base', depends: 'base-core, core' },
    { name: 'base-core', depends: 'core-nogui | core' },
    { name: 'core', depends: 'common', conflicts: 'core-nogui' },
    { name: 'core-nogui', depends: 'common, nogui-only', conflicts: 'core' },
    { name: 'common' },
    { name: 'nogui-only' },
  ];
  const res = resolve(pkgs, ['office']);
  assert.deepEqual(picked(res), ['base-core=1.0', 'common=1.0', 'core=1.0', 'office=1.0', 'office-base=1.0']);
  assert.deepEqual(res.reasons.get('core'), ['office', 'office-base', 'base-core', 'core']);
  // a requested package is never displaced: the conflict is reported
  const err = fails(() => resolve(pkgs, ['core-nogui', 'office']), 'PACKAGE_CONFLICT');
  assert.deepEqual(err.details.packages, ['core', 'core-nogui']);
});

test('Conflicts inside the chosen set are PACKAGE_CONFLICT with both chains', () => {
  const pkgs: P[] = [
    { name: 'web', depends: 'ssl-old' },
    { name: 'db', depends: 'libx' },
    { name: 'libx', depends: 'ssl-new' },
    { name: 'ssl-old' },
    { name: 'ssl-new', version: '3.0', conflicts: 'ssl-old' },
  ];
  const err = fails(() => resolve(pkgs, ['web', 'db']), 'PACKAGE_CONFLICT');
  assert.deepEqual(err.details.packages, ['ssl-new', 'ssl-old']);
  assert.deepEqual(err.details.chains, [
    ['db', 'libx', 'ssl-new'],
    ['web', 'ssl-old'],
  ]);
  assert.equal(err.details.kind, 'Conflicts');
  assert.match(err.message, /ssl-new comes from db → libx → ssl-new, ssl-old comes from web → ssl-old$/);
  // the other direction: the package already chosen declares the conflict
  const err2 = fails(() => resolve(pkgs, ['db', 'web']), 'PACKAGE_CONFLICT');
  assert.deepEqual(err2.details.chains, [
    ['db', 'libx', 'ssl-new'],
    ['web', 'ssl-old'],
  ]);
});

test('Breaks count only when the version matches', () => {
  const base: P[] = [{ name: 'a', breaks: 'b (<< 2.0)' }];
  assert.deepEqual(picked(resolve([...base, { name: 'b', version: '2.0' }], ['a', 'b'])), ['a=1.0', 'b=2.0']);
  const err = fails(() => resolve([...base, { name: 'b', version: '1.9' }], ['a', 'b']), 'PACKAGE_CONFLICT');
  assert.equal(err.details.kind, 'Breaks');
  assert.equal(err.details.relation, 'b (<< 2.0)');
});

test('a Breaks that another version of the broken package avoids names that version (a backports tool breaking the stable helper)', () => {
  const pkgs: P[] = [
    { name: 'helper', version: '13.11' },
    { name: 'helper', version: '13.23~bpo', suite: 'backports', suitePriority: 1 },
    {
      name: 'tool',
      version: '0.1~bpo',
      depends: 'helper',
      breaks: 'helper (<= 13.19~)',
      suite: 'backports',
      suitePriority: 1,
    },
  ];
  const err = fails(() => resolve(pkgs, ['tool']), 'PACKAGE_CONFLICT');
  assert.match(err.message, /tool 0\.1~bpo breaks helper 13\.11 \(Breaks: helper \(<= 13\.19~\)\)/);
  assert.match(
    err.hint ?? '',
    /^List helper\/backports \(13\.23~bpo\) in packages: tool does not break that version/,
  );
  // What the hint says works.
  const res = resolvePackages(universe(pkgs), {
    names: [{ name: 'tool' }, { name: 'helper', suite: 'backports' }],
    arch: 'amd64',
    includeEssential: false,
  });
  assert.deepEqual(picked(res), ['helper=13.23~bpo', 'tool=0.1~bpo']);
  // An unversioned Conflicts no version avoids: the general hint.
  const hard = fails(
    () => resolve([...pkgs.slice(0, 2), { name: 'tool', depends: 'helper', conflicts: 'helper' }], ['tool']),
    'PACKAGE_CONFLICT',
  );
  assert.match(hard.hint ?? '', /^Remove one of the two/);
});

test('a package may conflict with a virtual package it provides itself; two such providers conflict', () => {
  const pkgs: P[] = [
    { name: 'exim', provides: 'mail-transport-agent', conflicts: 'mail-transport-agent' },
    { name: 'postfix', provides: 'mail-transport-agent', conflicts: 'mail-transport-agent' },
    { name: 'mailer', depends: 'exim | mail-transport-agent' },
  ];
  assert.deepEqual(picked(resolve(pkgs, ['mailer'])), ['exim=1.0', 'mailer=1.0']);
  const err = fails(() => resolve(pkgs, ['exim', 'postfix']), 'PACKAGE_CONFLICT');
  assert.deepEqual(err.details.packages, ['postfix', 'exim']);
  // Both requested: said so, not "postfix comes from postfix".
  assert.match(err.message, /; postfix is requested, exim is requested$/);
});

// ---- names, essential, determinism ------------------------------------------------------------------

test('a missing package names the nearest existing names', () => {
  const pkgs: P[] = [
    { name: 'python3' },
    { name: 'python3.11' },
    { name: 'pythonic' },
    { name: 'perl' },
    { name: 'libpython3-stdlib', provides: 'python3-stdlib' },
    { name: 'python3-stdlib-extra' },
  ];
  const err = fails(() => resolve(pkgs, ['pyton3']), 'PACKAGE_NOT_FOUND');
  assert.deepEqual(err.details.suggestions, ['python3']);
  assert.match(err.message, /nearest names: python3$/);
  const several = fails(() => resolve(pkgs, ['python3.1']), 'PACKAGE_NOT_FOUND');
  assert.deepEqual(several.details.suggestions, ['python3.11', 'python3', 'pythonic']);
  const virtual = fails(() => resolve(pkgs, ['python3-stdlb']), 'PACKAGE_NOT_FOUND');
  assert.deepEqual(virtual.details.suggestions, ['python3-stdlib', 'libpython3-stdlib']);
  const none = fails(() => resolve(pkgs, ['zzzzzzzz']), 'PACKAGE_NOT_FOUND');
  assert.deepEqual(none.details.suggestions, []);
  const other = fails(
    () => resolve([{ name: 'only-arm', arch: 'arm64' }], ['only-arm']),
    'PACKAGE_NOT_FOUND',
  );
  assert.deepEqual(other.details.architectures, ['arm64']);
});

test('nearestNames: distance, order, limit of five', () => {
  assert.equal(boundedDistance('kitten', 'sitting', 5), 3);
  assert.equal(boundedDistance('kitten', 'sitting', 2), 3);
  assert.deepEqual(
    nearestNames('libssl', [
      'libssl3',
      'libssl1',
      'libss',
      'libsl',
      'libxsl',
      'openssl',
      'libssl-dev',
      'zlib',
    ]),
    ['libsl', 'libss', 'libssl1', 'libssl3', 'libxsl'],
  );
});

test('essential packages are installed only when asked', () => {
  const pkgs: P[] = [
    { name: 'app' },
    { name: 'base-files', essential: true, depends: 'mawk' },
    { name: 'mawk' },
    { name: 'dash', essential: true },
  ];
  assert.deepEqual(picked(resolve(pkgs, ['app'])), ['app=1.0']);
  assert.deepEqual(picked(resolve(pkgs, ['app'], { essential: true })), [
    'app=1.0',
    'base-files=1.0',
    'dash=1.0',
    'mawk=1.0',
  ]);
});

test('determinism: shuffling records within a source does not change the result; source order breaks ties', () => {
  const pkgs: P[] = [
    { name: 'x', depends: 'v, lib, tool | alt' },
    { name: 'p1', provides: 'v' },
    { name: 'p2', provides: 'v' },
    { name: 'p3', provides: 'v' },
    { name: 'lib', version: '2.0', source: 0 },
    { name: 'lib', version: '2.0', source: 1 },
    { name: 'lib', version: '1.0', source: 0 },
    { name: 'tool', version: '1.0', source: 1 },
    { name: 'alt' },
  ];
  const recs = records(pkgs);
  const expected = resolvePackages(new PackageUniverse(recs), { names: [{ name: 'x' }], arch: 'amd64' });
  assert.deepEqual(picked(expected), ['lib=2.0', 'p3=1.0', 'tool=1.0', 'x=1.0']);
  assert.equal(expected.packages.find((r) => r.name === 'lib')?.repo.sourceIndex, 0);
  let seed = 7;
  const random = (): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  for (let i = 0; i < 20; i++) {
    const shuffled = [...recs];
    for (let j = shuffled.length - 1; j > 0; j--) {
      const k = Math.floor(random() * (j + 1));
      [shuffled[j], shuffled[k]] = [shuffled[k] as PackageRecord, shuffled[j] as PackageRecord];
    }
    const res = resolvePackages(new PackageUniverse(shuffled), { names: [{ name: 'x' }], arch: 'amd64' });
    assert.deepEqual(
      res.packages.map((r) => r.sha256),
      expected.packages.map((r) => r.sha256),
    );
  }
});

// ---- architectures ----------------------------------------------------------------------------------

test('Multi-Arch: dependencies resolve to the native architecture; foreign architectures only through Multi-Arch: foreign', () => {
  const pkgs: P[] = [
    { name: 'app', depends: 'libc6, tool' },
    { name: 'libc6', ma: 'same', version: '2.36' },
    { name: 'libc6', ma: 'same', arch: 'i386', version: '2.37' },
    { name: 'tool', arch: 'i386', ma: 'foreign' },
  ];
  const res = resolve(pkgs, ['app']);
  assert.deepEqual(picked(res), ['app=1.0', 'libc6=2.36', 'tool:i386=1.0']);
  assert.deepEqual(res.reasons.get('tool:i386'), ['app', 'tool:i386']);
  const err = fails(
    () =>
      resolve(
        [
          { name: 'app', depends: 'tool' },
          { name: 'tool', arch: 'i386' },
        ],
        ['app'],
      ),
    'UNSATISFIABLE',
  );
  assert.match(err.message, /tool exists only for i386/);
});

test('Multi-Arch: :any needs allowed (or foreign); :native and :arch name the architecture', () => {
  const anyDep: P = { name: 'script', depends: 'python3:any' };
  assert.deepEqual(picked(resolve([anyDep, { name: 'python3', ma: 'allowed' }], ['script'])), [
    'python3=1.0',
    'script=1.0',
  ]);
  assert.deepEqual(picked(resolve([anyDep, { name: 'python3', ma: 'foreign' }], ['script'])), [
    'python3=1.0',
    'script=1.0',
  ]);
  const err = fails(() => resolve([anyDep, { name: 'python3' }], ['script']), 'UNSATISFIABLE');
  assert.match(err.message, /not Multi-Arch: allowed/);
  assert.deepEqual(
    picked(
      resolve(
        [{ name: 'x', depends: 'lib:native, other:amd64' }, { name: 'lib' }, { name: 'other', arch: 'all' }],
        ['x'],
      ),
    ),
    ['lib=1.0', 'other=1.0', 'x=1.0'],
  );
  fails(() => resolve([{ name: 'x', depends: 'lib:i386' }, { name: 'lib' }], ['x']), 'UNSATISFIABLE');
});

test('Architecture: all packages install as native and their dependencies resolve to the native architecture', () => {
  const pkgs: P[] = [
    { name: 'tzdata', arch: 'all', depends: 'debconf (>= 0.5) | debconf-2.0' },
    { name: 'debconf', arch: 'all', ma: 'foreign', depends: 'perl-base' },
    { name: 'perl-base', arch: 'arm64' },
    { name: 'perl-base', arch: 'amd64', version: '0.9' },
  ];
  assert.deepEqual(picked(resolve(pkgs, ['tzdata'], { arch: 'arm64' })), [
    'debconf=1.0',
    'perl-base:arm64=1.0',
    'tzdata=1.0',
  ]);
  assert.deepEqual(picked(resolve(pkgs, ['tzdata'])), ['debconf=1.0', 'perl-base=0.9', 'tzdata=1.0']);
});

test('a requested package for another architecture is UNSUPPORTED', () => {
  fails(() => resolve([{ name: 'x' }], ['x:arm64']), 'UNSUPPORTED');
  assert.deepEqual(picked(resolve([{ name: 'x' }], ['x:amd64'])), ['x=1.0']);
});

test('dpkgArch maps OCI platforms to dpkg architectures', () => {
  const map: Record<string, string> = {
    'linux/amd64': 'amd64',
    'linux/arm64': 'arm64',
    'linux/arm64/v8': 'arm64',
    'linux/arm/v7': 'armhf',
    'linux/arm': 'armhf',
    'linux/arm/v6': 'armel',
    'linux/386': 'i386',
    'linux/ppc64le': 'ppc64el',
    'linux/s390x': 's390x',
    'linux/riscv64': 'riscv64',
    'linux/mips64le': 'mips64el',
    'linux/loong64': 'loong64',
  };
  for (const [platform, arch] of Object.entries(map)) assert.equal(dpkgArch(platform), arch, platform);
  assert.equal(dpkgArch({ os: 'linux', architecture: 'arm', variant: 'v7' }), 'armhf');
  for (const bad of ['windows/amd64', 'linux/amd64/v3']) fails(() => dpkgArch(bad), 'UNSUPPORTED');
});

test('parsePackageRequest reads name[:arch][=version]', () => {
  assert.deepEqual(parsePackageRequest('libssl3'), { name: 'libssl3' });
  assert.deepEqual(parsePackageRequest('tzdata=2024a-0+deb12u1'), {
    name: 'tzdata',
    version: '2024a-0+deb12u1',
  });
  assert.deepEqual(parsePackageRequest('libc6:amd64=2.36-9'), {
    name: 'libc6',
    arch: 'amd64',
    version: '2.36-9',
  });
  for (const bad of ['', 'Foo', 'a b', 'x=', ':amd64']) fails(() => parsePackageRequest(bad), 'SPEC_INVALID');
});

test('a package requested with dependencies: false comes alone; the others still get their closure', () => {
  const u = universe([
    { name: 'tzdata', version: '2024a', arch: 'all', depends: 'debconf' },
    { name: 'debconf', preDepends: 'perl-base' },
    { name: 'perl-base' },
    { name: 'app', depends: 'libc6' },
    { name: 'libc6' },
  ]);
  const res = resolvePackages(u, {
    names: [{ name: 'tzdata', dependencies: false }, { name: 'app' }],
    arch: 'amd64',
  });
  assert.deepEqual(picked(res), ['app=1.0', 'libc6=1.0', 'tzdata=2024a']);
  // Without the flag, tzdata brings debconf and perl-base as usual.
  assert.deepEqual(picked(resolve(u, ['tzdata'])), ['debconf=1.0', 'perl-base=1.0', 'tzdata=2024a']);
});

test('installed packages (a base image) satisfy dependencies, provides included; older ones are upgraded', () => {
  const u = universe([
    { name: 'app', depends: 'libc6 (>= 2.36), mail-transport-agent, libssl3 (>= 3.0.11)' },
    { name: 'libc6', version: '2.36-9' },
    { name: 'libssl3', version: '3.0.11-1' },
    { name: 'postfix', provides: 'mail-transport-agent' },
  ]);
  const installed = [
    { name: 'libc6', version: '2.36-9', architecture: 'amd64', multiArch: 'same' as const, provides: [] },
    {
      name: 'exim4',
      version: '4.96',
      architecture: 'amd64',
      multiArch: 'no' as const,
      provides: [{ name: 'mail-transport-agent' }],
    },
    { name: 'libssl3', version: '3.0.9-1', architecture: 'amd64', multiArch: 'same' as const, provides: [] },
  ];
  const res = resolvePackages(u, { names: [{ name: 'app' }, { name: 'libc6' }], arch: 'amd64', installed });
  // libc6 is there (and requested at that version: skipped), an MTA is provided, libssl3 is too old.
  assert.deepEqual(picked(res), ['app=1.0', 'libssl3=3.0.11-1']);
});

test('a requested package installed and in no source, or newer than its candidate, is skipped (never downgraded)', () => {
  const u = universe([{ name: 'app', depends: 'libc6 (>= 2.36)' }]);
  const installed = [
    { name: 'libc6', version: '2.36-9', architecture: 'amd64', multiArch: 'same' as const, provides: [] },
  ];
  const res = resolvePackages(u, { names: [{ name: 'app' }, { name: 'libc6' }], arch: 'amd64', installed });
  assert.deepEqual(picked(res), ['app=1.0']);
  // Installed at a newer version than the sources have (a base with security updates, a spec
  // without that suite): kept, as apt keeps it; it was downgraded to the older candidate.
  const older = universe([
    { name: 'app', depends: 'libc6 (>= 2.36)' },
    { name: 'libc6', version: '2.36-8' },
  ]);
  const kept = resolvePackages(older, {
    names: [{ name: 'app' }, { name: 'libc6' }],
    arch: 'amd64',
    installed,
  });
  assert.deepEqual(picked(kept), ['app=1.0']);
  // Unless the spec pins that older version.
  const pinned = resolvePackages(older, {
    names: [{ name: 'libc6', version: '2.36-8' }],
    arch: 'amd64',
    installed,
  });
  assert.deepEqual(picked(pinned), ['libc6=2.36-8']);
  // Pinned to another version than the installed one: still not found.
  assert.throws(
    () => resolvePackages(u, { names: [{ name: 'libc6', version: '2.36-10' }], arch: 'amd64', installed }),
    { code: 'PACKAGE_NOT_FOUND' },
  );
});
