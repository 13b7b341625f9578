// The resolver against a generated, signed archive read through the archive API, and (where apt-get
// is installed) against apt-get's own choices on an empty dpkg status for the same archive.
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { openArchive } from '../../src/debian/archive.js';
import { loadKeyring } from '../../src/debian/keyring.js';
import { PackageUniverse, resolvePackages } from '../../src/debian/resolve.js';
import { isImprintError } from '../../src/errors.js';
import { createFetcher } from '../../src/net/http.js';
import { createDebRepo, type DebPackageSpec, type DebRepo } from '../helpers/debrepo.js';

const PACKAGES: DebPackageSpec[] = [
  // closure, versions, alternatives, :any, virtual with one provider, Architecture: all
  {
    name: 'app',
    version: '1.0-1',
    depends: 'libfoo (>= 2.0), absent-browser | lynx, interp:any, mail-transport-agent, data-all',
  },
  { name: 'libfoo', version: '2.1-1', multiArch: 'same', preDepends: 'libc' },
  { name: 'libc', version: '2.36-9', multiArch: 'same' },
  { name: 'lynx', version: '2.9-1', depends: 'libc (>= 2.30)' },
  { name: 'interp', version: '3.11-1', multiArch: 'allowed', depends: 'interp-minimal (= 3.11-1)' },
  { name: 'interp-minimal', version: '3.11-1', depends: 'interp (= 3.11-1) | absent' },
  {
    name: 'tinymta',
    version: '0.5-1',
    provides: 'mail-transport-agent',
    conflicts: 'mail-transport-agent',
    priority: 'optional',
  },
  { name: 'data-all', version: '7', architecture: 'all', depends: 'libc' },
  // several providers: apt prefers the higher Priority
  { name: 'mailer', version: '1', depends: 'mta' },
  { name: 'mta-a', version: '1', provides: 'mta', priority: 'optional' },
  { name: 'mta-b', version: '1', provides: 'mta', priority: 'standard' },
  // equal providers: apt takes the one its cache met last, here the last in the index (which Debian
  // sorts by source, then name), not the first by name (bookworm's phpapi-20220829: php8.2-phpdbg)
  { name: 'ext', version: '1', depends: 'sapi-api' },
  { name: 'sapi-apache', version: '1', source: 'sapi', provides: 'sapi-api' },
  { name: 'sapi-cli', version: '1', source: 'sapi', provides: 'sapi-api' },
  { name: 'sapi-dbg', version: '1', source: 'sapi', provides: 'sapi-api' },
  // versioned Provides
  { name: 'client', version: '1', depends: 'api (>= 2)' },
  { name: 'api-old', version: '1', provides: 'api (= 1.0)' },
  { name: 'api-new', version: '1', provides: 'api (= 2.5)' },
  // Pre-Depends before Depends
  { name: 'early', version: '1', depends: 'alt-a | alt-b', preDepends: 'alt-b' },
  { name: 'alt-a', version: '1' },
  { name: 'alt-b', version: '1' },
  // the first alternative cannot be installed (its dependency does not exist)
  { name: 'picky', version: '1', depends: 'broken-alt | alt-a' },
  { name: 'broken-alt', version: '1', depends: 'nowhere' },
  // a later hard dependency displaces an earlier alternative it conflicts with
  { name: 'office', version: '1', depends: 'office-base' },
  { name: 'office-base', version: '1', depends: 'base-core, core' },
  { name: 'base-core', version: '1', depends: 'core-nogui | core' },
  { name: 'core', version: '1', depends: 'common', conflicts: 'core-nogui' },
  { name: 'core-nogui', version: '1', depends: 'common', conflicts: 'core' },
  { name: 'common', version: '1', architecture: 'all' },
  // a cycle
  { name: 'cyc-a', version: '1', depends: 'cyc-b' },
  { name: 'cyc-b', version: '1', depends: 'cyc-a' },
  // Breaks by version
  { name: 'breaker', version: '1', breaks: 'alt-a (<< 2)' },
  // an alternative that conflicts with the chosen set (either direction, or a requested package) is passed over
  { name: 'skipconf', version: '1', depends: 'zz, ca | cb' },
  { name: 'zz', version: '1' },
  { name: 'ca', version: '1', conflicts: 'zz' },
  { name: 'cb', version: '1' },
  { name: 'rev', version: '1', depends: 'rz, ra | rb' },
  { name: 'rz', version: '1', conflicts: 'ra' },
  { name: 'ra', version: '1' },
  { name: 'rb', version: '1' },
  { name: 'rootc', version: '1', depends: 'ca2 | cb2' },
  { name: 'ca2', version: '1', conflicts: 'alt-b' },
  { name: 'cb2', version: '1' },
];

const CASES: Array<{ request: string[]; expected: string[] }> = [
  {
    request: ['app'],
    expected: [
      'app=1.0-1',
      'data-all=7',
      'interp=3.11-1',
      'interp-minimal=3.11-1',
      'libc=2.36-9',
      'libfoo=2.1-1',
      'lynx=2.9-1',
      'tinymta=0.5-1',
    ],
  },
  { request: ['mailer'], expected: ['mailer=1', 'mta-b=1'] },
  { request: ['ext'], expected: ['ext=1', 'sapi-dbg=1'] },
  { request: ['client'], expected: ['api-new=1', 'client=1'] },
  { request: ['early'], expected: ['alt-b=1', 'early=1'] },
  { request: ['picky'], expected: ['alt-a=1', 'picky=1'] },
  { request: ['office'], expected: ['base-core=1', 'common=1', 'core=1', 'office=1', 'office-base=1'] },
  { request: ['skipconf'], expected: ['cb=1', 'skipconf=1', 'zz=1'] },
  { request: ['rev'], expected: ['rb=1', 'rev=1', 'rz=1'] },
  { request: ['alt-b', 'rootc'], expected: ['alt-b=1', 'cb2=1', 'rootc=1'] },
  { request: ['cyc-a', 'lynx'], expected: ['cyc-a=1', 'cyc-b=1', 'libc=2.36-9', 'lynx=2.9-1'] },
];

let repo: DebRepo;
let universe: PackageUniverse;
const dirs: string[] = [];

before(async () => {
  repo = await createDebRepo({ packages: PACKAGES });
  const cacheDir = mkdtempSync(join(tmpdir(), 'imprint-resolve-cache-'));
  dirs.push(cacheDir);
  const archive = await openArchive(
    {
      sourceIndex: 0,
      url: repo.url,
      suite: repo.suite,
      components: ['main'],
      keyring: await loadKeyring(repo.keyringPath),
    },
    { cacheDir, fetcher: createFetcher({ backoffMs: 1, random: () => 0.5 }), now: new Date() },
  );
  universe = new PackageUniverse(await archive.packages('amd64', 'main'));
});

after(async () => {
  await repo?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function ours(request: string[]): string[] {
  const res = resolvePackages(universe, { names: request.map((name) => ({ name })), arch: 'amd64' });
  return res.packages.map((r) => `${r.name}=${r.version}`);
}

describe('resolving against a generated signed archive', () => {
  it('picks the expected set for each dependency shape', () => {
    for (const c of CASES) assert.deepEqual(ours(c.request), c.expected, c.request.join(' '));
  });

  it('reports Breaks inside the set and missing names with suggestions', () => {
    assert.throws(
      () => ours(['breaker', 'alt-a']),
      (e) => isImprintError(e, 'PACKAGE_CONFLICT') && e.details.kind === 'Breaks',
    );
    assert.throws(
      () => ours(['lynks']),
      (e) => isImprintError(e, 'PACKAGE_NOT_FOUND') && (e.details.suggestions as string[])[0] === 'lynx',
    );
  });

  const hasApt = spawnSync('apt-get', ['--version']).status === 0;
  it('agrees with apt-get --simulate on an empty dpkg status', {
    skip: hasApt ? false : 'apt-get is not installed',
    timeout: 120_000,
  }, async () => {
    const apt = await aptSimulator(repo);
    for (const c of CASES)
      assert.deepEqual(
        ours(c.request).sort(),
        await apt(c.request),
        `apt-get install ${c.request.join(' ')}`,
      );
  });
});

const run = promisify(execFile);

/**
 * apt-get with private state, lists and sources: only `repo`, amd64, nothing installed. Runs apt
 * asynchronously: the repository is served by this very process.
 */
async function aptSimulator(r: DebRepo): Promise<(packages: string[]) => Promise<string[]>> {
  const work = mkdtempSync(join(tmpdir(), 'imprint-apt-'));
  dirs.push(work);
  for (const d of ['lists/partial', 'cache/archives/partial', 'etc/sources.list.d', 'etc/preferences.d'])
    mkdirSync(join(work, d), { recursive: true });
  writeFileSync(join(work, 'status'), '');
  writeFileSync(
    join(work, 'etc/sources.list'),
    `deb [signed-by=${r.keyringPath}] ${r.url} ${r.suite} main\n`,
  );
  const opts = [
    ['Dir::State::status', join(work, 'status')],
    ['Dir::State::Lists', join(work, 'lists')],
    ['Dir::Cache', join(work, 'cache')],
    ['Dir::Etc::SourceList', join(work, 'etc/sources.list')],
    ['Dir::Etc::SourceParts', join(work, 'etc/sources.list.d')],
    ['Dir::Etc::Preferences', join(work, 'etc/preferences')],
    ['Dir::Etc::PreferencesParts', join(work, 'etc/preferences.d')],
    ['APT::Architecture', 'amd64'],
    ['APT::Architectures::', 'amd64'],
    ['APT::Sandbox::User', 'root'],
    ['Acquire::Languages', 'none'],
    ['Acquire::Check-Valid-Until', 'false'],
    ['Acquire::http::Timeout', '10'],
    ['Debug::NoLocking', '1'],
  ].flatMap(([k, v]) => ['-o', `${k}=${v}`]);
  const env = { ...process.env, LC_ALL: 'C' };
  const update = await run('apt-get', [...opts, 'update'], { env, timeout: 60_000 });
  assert.doesNotMatch(update.stdout + update.stderr, /^(E|W): /m, 'apt-get update');
  return async (packages) => {
    const { stdout } = await run(
      'apt-get',
      [...opts, 'install', '--simulate', '--no-install-recommends', '-y', ...packages],
      { env, timeout: 60_000 },
    );
    return [...stdout.matchAll(/^Inst (\S+) \((\S+) /gm)].map((m) => `${m[1]}=${m[2]}`).sort();
  };
}
