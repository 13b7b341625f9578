import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseLock, sha256sums } from '../../src/lock/index.js';
import { assertOk, runImprint } from '../helpers/cli.js';
import { createDebRepo, type DebRepo } from '../helpers/debrepo.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const tempDir = tempDirs();

describe('imprint lock', () => {
  let repo: DebRepo;
  let dir: string;
  let cache: string;
  const spec = (packages: string): void =>
    writeFileSync(
      join(dir, 'imprint.yaml'),
      [
        'version: 1',
        'platforms: [linux/amd64, linux/arm64]',
        'sources:',
        `  - url: ${repo.url}`,
        `    suites: [${repo.suite}]`,
        `    keyring: ${repo.keyringPath}`,
        `packages: [${packages}]`,
        '',
      ].join('\n'),
    );
  const imprint = (...args: string[]) =>
    runImprint(['--cache-dir', cache, ...args], { env: { NO_COLOR: '1' } });

  before(async () => {
    repo = await createDebRepo({
      architectures: ['amd64', 'arm64'],
      packages: [
        { name: 'hello', version: '2.10-3', architecture: 'amd64', depends: 'libhello' },
        { name: 'hello', version: '2.10-3', architecture: 'arm64', depends: 'libhello' },
        { name: 'libhello', version: '1.0-1', architecture: 'amd64' },
        { name: 'libhello', version: '1.0-1', architecture: 'arm64' },
        { name: 'hello-doc', version: '2.10-3', architecture: 'all' },
      ],
    });
    dir = tempDir('imprint-cli-lock-');
    cache = tempDir('imprint-cli-cache-');
  });
  after(() => repo.close());

  it('writes imprint.lock, relocks to the same bytes, and --check follows spec changes', async () => {
    spec('hello');
    const first = assertOk(await imprint('lock', dir), 'lock');
    assert.match(first.stdout, /linux\/amd64 +2 packages/);
    assert.match(first.stdout, /linux\/arm64 +2 packages/);
    assert.match(first.stdout, new RegExp(`wrote ${join(dir, 'imprint.lock')}`));
    const bytes = readFileSync(join(dir, 'imprint.lock'));
    const lock = parseLock(bytes, 'imprint.lock');
    assert.deepEqual(
      lock.platforms['linux/arm64']?.map((p) => `${p.name}_${p.architecture}`),
      ['hello_arm64', 'libhello_arm64'],
    );

    const again = assertOk(await imprint('lock', join(dir, 'imprint.yaml')), 'relock');
    assert.match(again.stdout, /unchanged /);
    assert.ok(readFileSync(join(dir, 'imprint.lock')).equals(bytes));

    const fresh = await imprint('lock', '--check', dir);
    assert.equal(fresh.code, 0, fresh.stderr);
    assert.match(fresh.stdout, /up to date/);

    spec('hello, hello-doc');
    const stale = await imprint('lock', '--check', dir);
    assert.equal(stale.code, 1);
    assert.match(stale.stderr, /stale/);
    assert.match(stale.stderr, /imprint lock/);
    assert.ok(readFileSync(join(dir, 'imprint.lock')).equals(bytes), '--check writes nothing');

    assertOk(await imprint('lock', dir), 'relock after the change');
    assertOk(await imprint('lock', '--check', dir), 'check after relock');
  });

  it('--check without a lock exits 1', async () => {
    const empty = tempDir('imprint-cli-lock-');
    writeFileSync(join(empty, 'imprint.yaml'), 'version: 1\n');
    const r = await imprint('lock', '--check', empty);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /imprint lock/);
  });

  it('flags lock would ignore are usage errors, before anything is resolved or written', async () => {
    const none = tempDir('imprint-cli-lock-flags-');
    writeFileSync(join(none, 'imprint.yaml'), 'version: 1\n');
    for (const [args, message] of [
      [['--fetch-source', 'file:///srv/{filename}'], /--fetch-source .* --fetch is not given/],
      [['--check', '--fetch'], /--check writes and fetches nothing, so --fetch would do nothing/],
      [['--check', '--format', 'sha256sums'], /so --format sha256sums would do nothing/],
      [['--fetch', '--fetch-source', '{uri}/{filename}'], /--fetch-source: .*unknown placeholder \{uri\}/],
      [
        ['--fetch', '--fetch-source', '/srv/{filename}'],
        /--fetch-source: .*expected an http\(s\):\/\/ or file:\/\//,
      ],
    ] as const) {
      const r = await imprint('lock', ...args, none);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.equal(existsSync(join(none, 'imprint.lock')), false, args.join(' '));
    }
  });

  it('--format sha256sums also writes SHA256SUMS-<arch> files', async () => {
    spec('hello');
    assertOk(await imprint('lock', '--format', 'sha256sums', dir), 'lock --format sha256sums');
    const lock = parseLock(readFileSync(join(dir, 'imprint.lock')), 'imprint.lock');
    for (const arch of ['amd64', 'arm64']) {
      const text = readFileSync(join(dir, `SHA256SUMS-${arch}`), 'utf8');
      assert.equal(text, sha256sums(lock, `linux/${arch}`));
      const hello = repo.debs.find((d) => d.name === 'hello' && d.architecture === arch)!;
      assert.ok(text.includes(`${hello.sha256}  ${hello.filename}\n`));
    }
    const bad = await imprint('lock', '--format', 'yaml', dir);
    assert.equal(bad.code, 2);
  });

  it('--format sha256sums removes the SHA256SUMS file it wrote for a platform dropped from the spec, and only that', async () => {
    const own = tempDir('imprint-cli-lock-sums-');
    const write = (platforms: string) =>
      writeFileSync(
        join(own, 'imprint.yaml'),
        readFileSync(join(dir, 'imprint.yaml'), 'utf8').replace(
          /^platforms: .*$/m,
          `platforms: [${platforms}]`,
        ),
      );
    spec('hello');
    write('linux/amd64, linux/arm64');
    assertOk(await imprint('lock', '--format', 'sha256sums', own), 'lock both');
    assert.ok(existsSync(join(own, 'SHA256SUMS-arm64')));
    write('linux/amd64');
    const dropped = assertOk(await imprint('lock', '--format', 'sha256sums', own), 'lock amd64 only');
    assert.equal(existsSync(join(own, 'SHA256SUMS-arm64')), false, 'the dropped platform keeps its sums');
    assert.match(dropped.stdout, /removed .*SHA256SUMS-arm64/);
    assert.ok(existsSync(join(own, 'SHA256SUMS-amd64')));
    // A file of that name that imprint did not write (edited) is left, with a warning.
    write('linux/amd64, linux/arm64');
    assertOk(await imprint('lock', '--format', 'sha256sums', own), 'lock both again');
    writeFileSync(join(own, 'SHA256SUMS-arm64'), 'mine\n');
    write('linux/amd64');
    const kept = assertOk(await imprint('lock', own), 'lock amd64 only, json');
    assert.equal(readFileSync(join(own, 'SHA256SUMS-arm64'), 'utf8'), 'mine\n');
    assert.match(
      kept.stderr,
      /SHA256SUMS-arm64 is for a platform no longer in the spec, but is not what imprint wrote/,
    );
  });

  it('--fetch downloads the locked packages into the store; --offline then needs no network', async () => {
    spec('hello, hello-doc');
    const fetched = assertOk(await imprint('lock', '--fetch', dir), 'lock --fetch');
    assert.match(fetched.stdout, /fetched 5 package/);
    const blobs = readdirSync(join(cache, 'blobs', 'sha256'));
    for (const d of repo.debs) assert.ok(blobs.includes(d.sha256), d.filename);

    const before = readFileSync(join(dir, 'imprint.lock'));
    repo.requests.length = 0;
    const offline = assertOk(await imprint('lock', '--offline', '--fetch', dir), 'lock --offline --fetch');
    assert.match(offline.stdout, /fetched 0 package.*5 already/);
    assert.deepEqual(repo.requests, []);
    assert.ok(readFileSync(join(dir, 'imprint.lock')).equals(before));
  });

  it('a tampered InRelease fails and leaves the previous lock as it was', async () => {
    spec('hello');
    assertOk(await imprint('lock', dir), 'lock');
    const before = readFileSync(join(dir, 'imprint.lock'));
    spec('hello, hello-doc');
    const fresh = tempDir('imprint-cli-cache-');
    repo.override(`/dists/${repo.suite}/InRelease`, { body: repo.tamperedInRelease() });
    try {
      const r = await runImprint(['--cache-dir', fresh, 'lock', dir], { env: { NO_COLOR: '1' } });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /signature/i);
    } finally {
      repo.clearOverrides();
    }
    assert.ok(readFileSync(join(dir, 'imprint.lock')).equals(before));
    assert.deepEqual(
      readdirSync(dir).filter((f) => f.endsWith('.tmp')),
      [],
    );

    const elsewhere = tempDir('imprint-cli-lock-');
    writeFileSync(join(elsewhere, 'imprint.yaml'), readFileSync(join(dir, 'imprint.yaml')));
    repo.override(`/dists/${repo.suite}/InRelease`, { body: repo.tamperedInRelease() });
    try {
      const r = await runImprint(['--cache-dir', tempDir('imprint-cli-cache-'), 'lock', elsewhere], {
        env: { NO_COLOR: '1' },
      });
      assert.equal(r.code, 1);
    } finally {
      repo.clearOverrides();
    }
    assert.equal(existsSync(join(elsewhere, 'imprint.lock')), false);
  });
});
