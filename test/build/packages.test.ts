// End to end without the live archive: a signed Debian repository generated in the test (with a static
// binary compiled here), `imprint lock`, `imprint build`, and the image run under podman.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { parseDeb822 } from '../../src/debian/deb822.js';
import { validateImage } from '../../src/oci/validate.js';
import { parseReference, readImageSet } from '../../src/transport/index.js';
import { assertOk, runImprint } from '../helpers/cli.js';
import { createDebRepo, type DebRepo } from '../helpers/debrepo.js';
import { readLayerFiles } from '../helpers/layers.js';
import { podmanForLayout } from '../helpers/podman.js';
import { canCompileStatic, succeeds } from '../helpers/static-c.js';

const run = promisify(execFile);

const HELLO_C = `#include <stdio.h>
#include <unistd.h>
int main(void) {
  char buf[256] = {0};
  FILE *f = fopen("/usr/share/greeting/text", "r");
  if (!f || !fgets(buf, sizeof buf, f)) { puts("no greeting"); return 1; }
  printf("%s uid=%d\\n", buf, (int)getuid());
  return 0;
}
`;

describe('images from Debian packages (generated signed repository)', async () => {
  const work = await mkdtemp(join(tmpdir(), 'imprint-pkgs-'));
  const hasGcc = await canCompileStatic(work);
  const hasPodman = await succeeds('podman', ['--version']);
  let repo: DebRepo | undefined;
  let spec = '';

  before(async () => {
    if (!hasGcc) return;
    await writeFile(join(work, 'hello.c'), HELLO_C);
    await run('gcc', ['-static', '-O2', '-o', join(work, 'hello'), join(work, 'hello.c')]);
    repo = await createDebRepo({
      packages: [
        {
          name: 'hello',
          version: '1.0-1',
          depends: 'greeting-data (>= 2) | greeting-fallback',
          files: [{ path: '/usr/bin/hello', content: await readFile(join(work, 'hello')), mode: 0o755 }],
        },
        {
          name: 'greeting-data',
          version: '2.1-1',
          architecture: 'all',
          files: [
            { path: '/usr/share/greeting/text', content: 'hello from a package' },
            { path: '/bin/greet-link', symlink: '/usr/bin/hello' },
          ],
        },
        {
          name: 'greeting-fallback',
          version: '1.0',
          architecture: 'all',
          files: [{ path: '/usr/share/greeting/text', content: 'fallback' }],
        },
      ],
    });
    spec = join(work, 'spec');
    await run('mkdir', ['-p', spec]);
    await writeFile(join(spec, 'motd'), 'built from packages\n');
    await writeFile(
      join(spec, 'imprint.yaml'),
      [
        'version: 1',
        'platforms: [linux/amd64]',
        'sources:',
        `  - {url: "${repo.url}", suites: [${repo.suite}], components: [main], keyring: "${repo.keyringPath}"}`,
        'packages: [hello]',
        'files:',
        '  - {source: motd, target: /etc/motd}',
        'accounts:',
        '  users: [{name: app, uid: 1000}]',
        'user: app',
        'entrypoint: [/usr/bin/hello]',
        '',
      ].join('\n'),
    );
  });
  after(async () => {
    await repo?.close();
    await rm(work, { recursive: true, force: true });
  });

  const build = async (cache: string, out: string, extra: string[] = [], env: Record<string, string> = {}) =>
    JSON.parse(
      assertOk(
        await runImprint(
          [
            '--cache-dir',
            join(work, cache),
            'build',
            spec,
            '-o',
            `oci:${join(work, out)}`,
            '--json',
            ...extra,
          ],
          { env: { SOURCE_DATE_EPOCH: '1700000000', ...env } },
        ),
        'imprint build',
      ).stdout,
    ) as { index: string; images: Array<{ manifest: string; layers: unknown[] }> };

  it('locks, builds, records every package in status.d, and reproduces across caches', {
    skip: !hasGcc && 'no static libc for gcc',
  }, async () => {
    assertOk(await runImprint(['--cache-dir', join(work, 'cache-a'), 'lock', spec]), 'imprint lock');
    const lock = JSON.parse(await readFile(join(spec, 'imprint.lock'), 'utf8'));
    assert.deepEqual(
      lock.platforms['linux/amd64'].map((p: { name: string }) => p.name),
      ['greeting-data', 'hello'],
    );
    const a = await build('cache-a', 'out-a');
    const b = await build('cache-b', 'out-b'); // cold cache: fetch, install and compress again
    const c = await build('cache-a', 'out-c'); // warm: from the layer cache
    // Without the host's liblzma, libdeflate or xz program (a PATH with sh alone): the WebAssembly
    // engines, the same bytes.
    const shOnly = join(work, 'sh-only');
    await mkdir(shOnly);
    await symlink('/bin/sh', join(shOnly, 'sh'));
    const d = await build('cache-d', 'out-d', [], {
      IMPRINT_LIBLZMA: '0',
      IMPRINT_NATIVE_DEFLATE: '0',
      PATH: shOnly,
    });
    // With the xz program instead of liblzma (processes started by the helper shell).
    const e = await build('cache-e', 'out-e', [], { IMPRINT_LIBLZMA: '0' });
    assert.equal(b.index, a.index);
    assert.equal(c.index, a.index);
    assert.equal(d.index, a.index);
    assert.equal(e.index, a.index);
    const set = await readImageSet(parseReference(`oci:${join(work, 'out-a')}`));
    await validateImage(set);

    const files = await readLayerFiles(set);
    for (const name of ['hello', 'greeting-data']) {
      const status = files.get(`var/lib/dpkg/status.d/${name}`);
      assert.ok(status, `status.d/${name} is missing`);
      const p = parseDeb822(status.toString('utf8'), name)[0]!;
      assert.equal(p.get('Package'), name);
      assert.equal(p.get('Status'), 'install ok installed');
      assert.ok(p.get('Version') && p.get('Architecture'));
    }
    assert.equal(files.get('usr/share/greeting/text')?.toString(), 'hello from a package');
    assert.equal(files.get('etc/motd')?.toString(), 'built from packages\n');
    assert.match(files.get('etc/passwd')?.toString() ?? '', /^app:/m);
    // No base-files: the build says scanners cannot identify the distribution, also from cached layers.
    const buildW = async (what: string) =>
      assertOk(
        await runImprint([
          '--cache-dir',
          join(work, 'cache-w'),
          'build',
          spec,
          '-o',
          `oci:${join(work, 'out-w')}`,
        ]),
        what,
      ).stderr;
    assert.match(
      await buildW('imprint build'),
      /no \/etc\/os-release, so vulnerability scanners .* add base-files to packages/,
    );
    assert.match(await buildW('imprint build (layers cached)'), /no \/etc\/os-release/);
  });

  it('splits per-package layers that still assemble the same filesystem', {
    skip: !hasGcc && 'no static libc for gcc',
  }, async () => {
    const single = await readLayerFiles(await readImageSet(parseReference(`oci:${join(work, 'out-a')}`)));
    const yaml = await readFile(join(spec, 'imprint.yaml'), 'utf8');
    await writeFile(join(spec, 'imprint.yaml'), `${yaml}layering: {strategy: per-package, budget: 4}\n`);
    try {
      const r = await build('cache-a', 'out-layers');
      assert.equal(r.images[0]!.layers.length, 3); // greeting-data, hello, then what no package owns
      const set = await readImageSet(parseReference(`oci:${join(work, 'out-layers')}`));
      await validateImage(set);
      const layered = await readLayerFiles(set);
      assert.deepEqual([...layered.keys()].sort(), [...single.keys()].sort());
      for (const [k, v] of single) assert.deepEqual(layered.get(k), v, k);

      // A changed file on top: the package layers are found by their content, not compressed and
      // stored again (their blobs keep their inodes); only the top layer is new.
      type Layer = { digest: string };
      const blob = (l: Layer) => join(work, 'cache-a', 'blobs', 'sha256', l.digest.slice('sha256:'.length));
      const before = r.images[0]!.layers as Layer[];
      const inodes = await Promise.all(before.map(async (l) => (await stat(blob(l))).ino));
      await writeFile(join(spec, 'motd'), 'built from packages, again\n');
      const again = (await build('cache-a', 'out-layers')).images[0]!.layers as Layer[];
      assert.deepEqual(
        again.slice(0, 2).map((l) => l.digest),
        before.slice(0, 2).map((l) => l.digest),
      );
      assert.notEqual(again[2]!.digest, before[2]!.digest);
      assert.deepEqual(
        await Promise.all(again.slice(0, 2).map(async (l) => (await stat(blob(l))).ino)),
        inodes.slice(0, 2),
        'the package layers were not written again',
      );
      // The same image as a build that had no layers to reuse.
      const cold = await build('cache-layers-cold', 'out-layers-cold');
      assert.deepEqual(cold.images[0]!.layers, again);
    } finally {
      await writeFile(join(spec, 'imprint.yaml'), yaml);
      await writeFile(join(spec, 'motd'), 'built from packages\n');
    }
  });

  it('runs under podman as the non-root user', {
    skip: (!hasGcc && 'no static libc for gcc') || (!hasPodman && 'podman is not installed'),
  }, async () => {
    const podman = await podmanForLayout(work, join(work, 'out-a'));
    try {
      const out = await podman.run(['IMAGE']);
      assert.equal(out.stdout.trim(), 'hello from a package uid=1000');
    } finally {
      await podman.close();
    }
  });

  it('on a base image that has some of the closure, locks and installs only what it lacks', {
    skip: !hasGcc && 'no static libc for gcc',
  }, async () => {
    const source = `  - {url: "${repo!.url}", suites: [${repo!.suite}], components: [main], keyring: "${repo!.keyringPath}"}`;
    const baseSpec = join(work, 'base-spec');
    const appSpec = join(work, 'app-spec');
    await run('mkdir', ['-p', baseSpec, appSpec]);
    await writeFile(
      join(baseSpec, 'imprint.yaml'),
      ['version: 1', 'sources:', source, 'packages: [greeting-data]', ''].join('\n'),
    );
    await writeFile(
      join(appSpec, 'imprint.yaml'),
      [
        'version: 1',
        'base: oci:../base-spec/out:latest',
        'sources:',
        source,
        'packages: [hello]',
        'entrypoint: [/usr/bin/hello]',
        '',
      ].join('\n'),
    );
    const imprint = (args: string[]) =>
      runImprint(['--cache-dir', join(work, 'cache-base'), ...args], {
        env: { SOURCE_DATE_EPOCH: '1700000000' },
      });
    assertOk(await imprint(['build', baseSpec, '--no-attest']), 'base build');
    assertOk(await imprint(['build', appSpec, '--no-attest']), 'app build');
    const lock = JSON.parse(await readFile(join(appSpec, 'imprint.lock'), 'utf8'));
    assert.deepEqual(
      lock.platforms['linux/amd64'].map((p: { name: string }) => p.name),
      ['hello'],
    );
    const set = await readImageSet(parseReference(`oci:${join(appSpec, 'out')}`));
    await validateImage(set);
    const files = await readLayerFiles(set);
    assert.ok(files.has('var/lib/dpkg/status.d/greeting-data'));
    assert.ok(files.has('var/lib/dpkg/status.d/hello'));
    assert.equal(files.get('usr/share/greeting/text')?.toString(), 'hello from a package');
    // On a base too, a hand-edited lock is caught: the base's packages count as installed.
    const good = await readFile(join(appSpec, 'imprint.lock'), 'utf8');
    const tamper = async (edit: (pkgs: unknown[]) => unknown[]) => {
      const l = JSON.parse(good);
      l.platforms['linux/amd64'] = edit(l.platforms['linux/amd64']);
      await writeFile(join(appSpec, 'imprint.lock'), `${JSON.stringify(l, null, 2)}\n`);
      const r = await imprint(['build', appSpec, '--no-attest', '-o', `oci:${join(work, 'tampered')}`]);
      assert.equal(r.code, 1, r.stderr);
      return r.stderr;
    };
    assert.match(
      await tamper(() => []),
      /imprint\.lock \(linux\/amd64\): its packages do not satisfy .*package hello/,
    );
    await writeFile(join(appSpec, 'imprint.lock'), good);
    if (hasPodman) {
      const podman = await podmanForLayout(work, join(appSpec, 'out'));
      try {
        assert.equal((await podman.run(['IMAGE'])).stdout.trim(), 'hello from a package uid=0');
      } finally {
        await podman.close();
      }
    }
  });

  it('downloads while it installs; a package no source serves fails the build with the download error', {
    skip: !hasGcc && 'no static libc for gcc',
  }, async () => {
    assertOk(await runImprint(['--cache-dir', join(work, 'cache-f'), 'lock', spec]), 'imprint lock');
    const lock = JSON.parse(await readFile(join(spec, 'imprint.lock'), 'utf8'));
    const hello = lock.platforms['linux/amd64'].find((p: { name: string }) => p.name === 'hello');
    const deb = join((repo as DebRepo).dir, hello.filename);
    await rename(deb, `${deb}.away`);
    try {
      const r = await runImprint(
        ['--cache-dir', join(work, 'cache-f'), 'build', spec, '-o', `oci:${join(work, 'out-f')}`],
        {
          env: { SOURCE_DATE_EPOCH: '1700000000' },
        },
      );
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /hello .*no fetch source served them/);
    } finally {
      await rename(`${deb}.away`, deb);
    }
    // Once the file is back, the same cache builds the same image as before.
    const ok = await build('cache-f', 'out-f');
    assert.equal(ok.index, (await build('cache-a', 'out-g')).index);
  });
});
