// bin/imprint runs the bundle scripts/bundle.mjs makes (dist/bundle), not the sources the other tests
// run. This bundles the current sources and checks that the bundle reports the version and builds the
// same image as the sources: packages from a generated signed repository (unpacked with xz and in
// WebAssembly, large bodies compressed ahead in the deflate workers) and the spec's files.
import assert from 'node:assert/strict';
import { isAscii } from 'node:buffer';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { assertOk, ROOT, runImprint } from '../helpers/cli.js';
import { createDebRepo, type DebRepo } from '../helpers/debrepo.js';

/** Bytes that xz cannot shrink much, so the data.tar.xz member is large enough for the xz process. */
function noise(size: number, seed: number): Buffer {
  const out = Buffer.alloc(size);
  let x = seed;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

describe('the bundled CLI', () => {
  const dirs: string[] = [];
  let bundle: string;
  let repo: DebRepo;

  before(async () => {
    mkdirSync(join(ROOT, '.cache'), { recursive: true });
    // Inside the checkout: the bundle loads xz-decompress from node_modules at run time.
    bundle = mkdtempSync(join(ROOT, '.cache', 'bundle-test-'));
    dirs.push(bundle);
    const made = spawnSync(process.execPath, [join(ROOT, 'scripts', 'bundle.mjs'), join(bundle, 'out')], {
      encoding: 'utf8',
    });
    assert.equal(made.status, 0, made.stderr);
    // Loaded as bin/imprint loads dist/bundle: through bin/load-bundle.mjs, with its code cache.
    writeFileSync(
      join(bundle, 'run.mjs'),
      `import { loadBundle } from ${JSON.stringify(pathToFileURL(join(ROOT, 'bin', 'load-bundle.mjs')).href)};\n` +
        `const cli = await loadBundle(${JSON.stringify(join(bundle, 'out'))});\n` +
        'process.exitCode = await cli.main(process.argv.slice(2));\n',
    );
    repo = await createDebRepo({
      packages: [
        {
          name: 'bigdata',
          version: '1.0-1',
          files: [
            { path: '/usr/share/bigdata/blob', content: noise(2 * 1024 * 1024 + 123, 1) },
            { path: '/usr/share/bigdata/medium', content: noise(200 * 1024, 2) },
            { path: '/usr/share/bigdata/small', content: 'small\n' },
          ],
        },
        { name: 'tiny', version: '1.0-1', files: { '/usr/share/tiny/readme': 'tiny\n' } },
      ],
    });
  });
  after(() => {
    repo?.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  // Asynchronous (runImprint): the repository's HTTP server runs in this process.
  const runBundle = (args: string[]) => runImprint(args, { script: join(bundle, 'run.mjs') });

  it('reports the version of package.json', async () => {
    const r = await runBundle(['--version']);
    assert.equal(r.code, 0, r.stderr);
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    assert.equal(r.stdout.trim(), version);
  });

  it('is ASCII (read as Latin-1), and its code cache is primed without failing', async () => {
    const bytes = readFileSync(join(bundle, 'out', 'main.cjs'));
    assert.ok(isAscii(bytes), 'esbuild escapes other characters; comments are dropped');
    // A failing primeCodeCache (say a sample spec the schema no longer takes) leaves no cache at all.
    const { primeCodeCache } = await import('../../src/cli/main.js');
    await primeCodeCache();
  });

  it('loads with a V8 code cache made for this Node, and replaces a cache V8 rejects', async () => {
    const out = join(bundle, 'out');
    const caches = () => readdirSync(out).filter((f) => f.endsWith('.v8cache'));
    assert.equal(caches().length, 1, 'scripts/bundle.mjs made the cache for the Node running it');
    const file = join(out, caches()[0] as string);
    const made = statSync(file);
    assert.equal((await runBundle(['--version'])).code, 0);
    assert.equal(statSync(file).ino, made.ino, 'an accepted cache is not written again');
    writeFileSync(file, Buffer.alloc(made.size, 7)); // what V8 rejects (a cache of other code, corrupt)
    const r = await runBundle(['--version']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^\d+\.\d+\.\d+/);
    assert.notDeepEqual(readFileSync(file), Buffer.alloc(made.size, 7), 'the rejected cache was replaced');
    assert.deepEqual(caches(), [caches()[0]], 'no temporary file is left');
    const again = statSync(file).ino;
    assert.equal((await runBundle(['--version'])).code, 0);
    assert.equal(statSync(file).ino, again, 'the new cache is accepted');
  });

  it('runs without writing a cache where its directory is not writable', {
    skip: process.getuid?.() !== 0 && 'needs root (to run as nobody)',
  }, async () => {
    const out = join(bundle, 'out');
    for (const f of readdirSync(out)) if (f.endsWith('.v8cache')) rmSync(join(out, f));
    chmodSync(bundle, 0o755); // mkdtemp made it 0700: nobody must reach the bundle, not write in it
    const r = await runImprint(['--version'], {
      script: join(bundle, 'run.mjs'),
      wrapper: ['runuser', '-u', 'nobody', '--'],
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^\d+\.\d+\.\d+/);
    assert.deepEqual(
      readdirSync(out).filter((f) => f.includes('.v8cache')),
      [],
      'no cache and no temporary file',
    );
    assert.equal((await runBundle(['--version'])).code, 0); // root may write: the cache is back
    assert.equal(readdirSync(out).filter((f) => f.endsWith('.v8cache')).length, 1);
  });

  it('builds the same image as the sources', async () => {
    const spec = mkdtempSync(join(tmpdir(), 'imprint-bundle-spec-'));
    dirs.push(spec);
    mkdirSync(join(spec, 'app'));
    writeFileSync(join(spec, 'app', 'large.bin'), noise(300 * 1024, 3));
    writeFileSync(
      join(spec, 'imprint.yaml'),
      [
        'version: 1',
        'platforms: [linux/amd64]',
        'epoch: 1700000000',
        'sources:',
        `  - url: ${repo.url}`,
        `    suites: [${repo.suite}]`,
        `    keyring: ${repo.keyringPath}`,
        'packages: [bigdata, tiny]',
        'files:',
        '  - {source: app/, target: /app/}',
        '',
      ].join('\n'),
    );
    const index = (stdout: string): string => /index +(sha256:[0-9a-f]{64})/.exec(stdout)?.[1] ?? stdout;
    const cacheA = mkdtempSync(join(tmpdir(), 'imprint-bundle-cache-'));
    const cacheB = mkdtempSync(join(tmpdir(), 'imprint-bundle-cache-'));
    dirs.push(cacheA, cacheB);
    const fromSource = assertOk(
      await runImprint(['--cache-dir', cacheA, 'build', spec, '-o', `oci:${join(spec, 'a')}`]),
      'source build',
    );
    const fromBundle = await runBundle([
      '--cache-dir',
      cacheB,
      'build',
      spec,
      '-o',
      `oci:${join(spec, 'b')}`,
    ]);
    assert.equal(fromBundle.code, 0, fromBundle.stderr);
    assert.match(fromBundle.stdout, /index +sha256:/);
    assert.equal(index(fromBundle.stdout), index(fromSource.stdout));
  });
});
