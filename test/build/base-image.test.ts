// Images built FROM a base image pulled from a real registry on 127.0.0.1 (Debian's docker-registry):
// lock pins the base by digest, base layers are reused byte for byte, removals become whiteouts, the
// config is inherited, and the result runs under podman.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { ImageConfig, ImageIndex, ImageManifest } from '../../src/oci/types.js';
import { validateImage } from '../../src/oci/validate.js';
import { parseReference, readImageSet } from '../../src/transport/index.js';
import { assertOk, runImprint } from '../helpers/cli.js';
import { readLayerFiles } from '../helpers/layers.js';
import { podmanForLayout } from '../helpers/podman.js';
import { canRunRegistry, startRegistry, type TestRegistry } from '../helpers/registry.js';
import { canCompileStatic, compileStatic, succeeds } from '../helpers/static-c.js';

const run = promisify(execFile);

// Prints a file (argv[1]) and the uid: enough to see both the base's and the build's layers at run time.
const SHOW_C = `#include <stdio.h>
#include <unistd.h>
int main(int argc, char **argv) {
  char buf[256] = {0};
  FILE *f = argc > 1 ? fopen(argv[1], "r") : NULL;
  if (!f) { printf("cannot open %s\\n", argc > 1 ? argv[1] : "(nothing)"); return 3; }
  if (!fgets(buf, sizeof buf, f)) buf[0] = 0;
  printf("%s uid=%d\\n", buf, (int)getuid());
  return 0;
}
`;

async function json<T>(dir: string, digest: string): Promise<T> {
  return JSON.parse(await readFile(join(dir, 'blobs', 'sha256', digest.slice(7)), 'utf8')) as T;
}

/** The one platform manifest of a layout written by `imprint build` (index.json -> image index -> manifest). */
async function manifestOf(
  dir: string,
): Promise<{ manifest: ImageManifest; config: ImageConfig; index: string }> {
  const root = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as ImageIndex;
  const index = root.manifests[0]!.digest;
  const images = await json<ImageIndex>(dir, index);
  const manifest = await json<ImageManifest>(dir, images.manifests[0]!.digest);
  return { manifest, config: await json<ImageConfig>(dir, manifest.config.digest), index };
}

describe('images built on a base image from a registry', {
  skip: !canRunRegistry() && 'docker-registry is not installed',
}, async () => {
  const work = await mkdtemp(join(tmpdir(), 'imprint-base-'));
  const hasGcc = await canCompileStatic(work);
  const hasPodman = await succeeds('podman', ['--version']);
  let registry: TestRegistry;
  const baseSpec = join(work, 'base');
  const appSpec = join(work, 'app');
  const cache = join(work, 'cache');

  const imprint = (args: string[], cacheDir = cache) =>
    runImprint(['--cache-dir', cacheDir, ...args], { env: { SOURCE_DATE_EPOCH: '1700000000' } });

  before(async () => {
    registry = await startRegistry();
    await mkdir(join(baseSpec, 'bin'), { recursive: true });
    if (hasGcc) {
      await compileStatic(SHOW_C, join(baseSpec, 'bin', 'show'));
    } else {
      await writeFile(join(baseSpec, 'bin', 'show'), '#!/bin/false\n');
    }
    await writeFile(join(baseSpec, 'motd'), 'from the base');
    await writeFile(join(baseSpec, 'keep'), 'kept from the base');
    await writeFile(
      join(baseSpec, 'imprint.yaml'),
      [
        'version: 1',
        'platforms: [linux/amd64]',
        'files:',
        '  - {source: bin/show, target: /usr/bin/show, mode: "0755"}',
        '  - {source: motd, target: /etc/motd}',
        '  - {source: keep, target: /srv/keep/file}',
        'accounts:',
        '  users: [{name: base, uid: 1500}]',
        'env: {FROM_BASE: "yes", LANG: C.UTF-8}',
        'entrypoint: [/usr/bin/show]',
        'cmd: [/etc/motd]',
        'labels: {base.label: kept, shared: base}',
        '',
      ].join('\n'),
    );
    assertOk(
      await imprint([
        'build',
        baseSpec,
        '-o',
        `docker://${registry.host}/base:v1`,
        '-o',
        `oci:${join(work, 'base-layout')}`,
        '--no-attest',
      ]),
      'base build+push',
    );

    await mkdir(appSpec, { recursive: true });
    await writeFile(join(appSpec, 'greeting'), 'hello from the upper layer');
    await writeFile(
      join(appSpec, 'imprint.yaml'),
      [
        'version: 1',
        `base: docker://${registry.host}/base:v1`,
        'platforms: [linux/amd64]',
        'files:',
        '  - {source: greeting, target: /etc/greeting}',
        'remove: [/etc/motd]',
        'accounts:',
        '  users: [{name: svc, uid: 2000}]',
        'user: svc',
        'env: {FROM_APP: "1"}',
        'cmd: [/etc/greeting]',
        'labels: {shared: app}',
        '',
      ].join('\n'),
    );
  });

  after(async () => {
    await registry?.stop().catch(() => {});
    await rm(work, { recursive: true, force: true });
  });

  it('locks the base by digest and reuses its layers byte for byte', async () => {
    assertOk(await imprint(['lock', appSpec]), 'lock');
    const lock = JSON.parse(await readFile(join(appSpec, 'imprint.lock'), 'utf8'));
    const pushed = assertOk(
      await run('skopeo', [
        'inspect',
        '--tls-verify=false',
        '--raw',
        `docker://${registry.host}/base:v1`,
      ]).then((r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr })),
      'skopeo inspect',
    );
    const { createHash } = await import('node:crypto');
    assert.equal(lock.base.digest, `sha256:${createHash('sha256').update(pushed.stdout).digest('hex')}`);
    assert.equal(lock.base.ref, `docker://${registry.host}/base:v1`);
    assert.ok(lock.base.platforms['linux/amd64'].digest.startsWith('sha256:'));

    assertOk(await imprint(['build', appSpec, '-o', `oci:${join(work, 'out')}`]), 'build');
    const out = join(work, 'out');
    await validateImage(await readImageSet(parseReference(`oci:${out}`)));
    const app = await manifestOf(out);
    const base = await manifestOf(join(work, 'base-layout'));
    assert.deepEqual(
      app.manifest.layers.slice(0, base.manifest.layers.length).map((l) => [l.digest, l.size, l.mediaType]),
      base.manifest.layers.map((l) => [l.digest, l.size, l.mediaType]),
    );
    for (const l of base.manifest.layers) {
      assert.deepEqual(
        await readFile(join(out, 'blobs', 'sha256', l.digest.slice(7))),
        await readFile(join(work, 'base-layout', 'blobs', 'sha256', l.digest.slice(7))),
      );
    }
    assert.equal(app.manifest.layers.length, base.manifest.layers.length + 1);
    assert.deepEqual(app.config.rootfs.diff_ids.slice(0, 1), base.config.rootfs.diff_ids);
    assert.deepEqual(app.config.history?.slice(0, 1), base.config.history);
    assert.equal(
      app.manifest.annotations?.['org.opencontainers.image.base.name'],
      `${registry.host}/base:v1`,
    );
    assert.equal(
      app.manifest.annotations?.['org.opencontainers.image.base.digest'],
      lock.base.platforms['linux/amd64'].digest,
    );
    // The provenance names the base by the digest the lock pins.
    const root = JSON.parse(await readFile(join(out, 'index.json'), 'utf8')) as ImageIndex;
    const provenance = root.manifests.find((d) => d.artifactType === 'application/vnd.in-toto+json');
    assert.ok(provenance, 'no provenance referrer');
    const artifact = await json<ImageManifest>(out, provenance.digest);
    const statement = await json<{
      predicate: {
        buildDefinition: { resolvedDependencies: Array<{ name: string; digest: { sha256: string } }> };
      };
    }>(out, artifact.layers[0]!.digest);
    const dep = statement.predicate.buildDefinition.resolvedDependencies.find((d) =>
      d.name.startsWith('base:'),
    );
    assert.deepEqual(dep, {
      name: `base:${registry.host}/base:v1`,
      uri: `docker://${registry.host}/base:v1`,
      digest: { sha256: lock.base.digest.slice(7) },
    });
    // Config: the spec's fields over the base's.
    assert.deepEqual(app.config.config?.Entrypoint, ['/usr/bin/show']);
    assert.deepEqual(app.config.config?.Cmd, ['/etc/greeting']);
    assert.equal(app.config.config?.User, 'svc');
    assert.deepEqual(app.config.config?.Labels, { 'base.label': 'kept', shared: 'app' });
    assert.ok(app.config.config?.Env?.includes('FROM_BASE=yes'));
    assert.ok(app.config.config?.Env?.includes('FROM_APP=1'));

    // The top layer holds only what changed, and a whiteout for the removed base file.
    const files = await readLayerFiles(await readImageSet(parseReference(`oci:${out}`)));
    assert.equal(files.get('etc/motd'), undefined);
    assert.equal(files.get('srv/keep/file')?.toString(), 'kept from the base');
    assert.equal(files.get('etc/greeting')?.toString(), 'hello from the upper layer');
    const passwd = files.get('etc/passwd')?.toString() ?? '';
    assert.match(passwd, /^base:.*:1500:/m);
    assert.match(passwd, /^svc:.*:2000:/m);
  });

  it('builds on a Docker v2s2 base (layers renamed to OCI types, same bytes) and refuses a missing platform', async () => {
    await run('skopeo', [
      'copy',
      '--format',
      'v2s2',
      '--dest-tls-verify=false',
      `oci:${join(work, 'base-layout')}:latest`,
      `docker://${registry.host}/base-docker:v1`,
    ]);
    const dir = join(work, 'docker-base');
    await mkdir(dir, { recursive: true });
    await writeFile(
      join(dir, 'imprint.yaml'),
      `version: 1\nbase: ${registry.host}/base-docker:v1\nplatforms: [linux/amd64]\ncmd: [/srv/keep/file]\n`,
    );
    assertOk(await imprint(['build', dir, '-o', `oci:${join(work, 'out-docker')}`, '--no-attest']), 'build');
    const app = await manifestOf(join(work, 'out-docker'));
    const base = await manifestOf(join(work, 'base-layout'));
    assert.deepEqual(
      app.manifest.layers.map((l) => [l.digest, l.mediaType]),
      base.manifest.layers
        .map((l) => [l.digest, 'application/vnd.oci.image.layer.v1.tar+gzip'])
        .concat(
          app.manifest.layers.length > base.manifest.layers.length
            ? [[app.manifest.layers.at(-1)!.digest, 'application/vnd.oci.image.layer.v1.tar+gzip']]
            : [],
        ),
    );
    await validateImage(await readImageSet(parseReference(`oci:${join(work, 'out-docker')}`)));

    await writeFile(
      join(dir, 'imprint.yaml'),
      `version: 1\nbase: ${registry.host}/base-docker:v1\nplatforms: [linux/arm64]\n`,
    );
    const r = await imprint(['lock', dir]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /has no linux\/arm64 image/);
    assert.match(r.stderr, /It has: linux\/amd64/);
  });

  it('keeps the locked digest when the tag moves, and rebuilds offline from the cache', async () => {
    const first = await manifestOf(join(work, 'out'));
    // Move the tag: push the app image itself under base:v1.
    assertOk(
      await imprint(['copy', `oci:${join(work, 'out')}`, `docker://${registry.host}/base:v1`]),
      'retag',
    );
    assertOk(await imprint(['build', appSpec, '-o', `oci:${join(work, 'out2')}`, '--no-attest']), 'rebuild');
    assert.equal((await manifestOf(join(work, 'out2'))).index, first.index);
    // A fresh cache directory fetches the pinned digest from the registry: same image again.
    assertOk(
      await imprint(
        ['build', appSpec, '-o', `oci:${join(work, 'out3')}`, '--no-attest'],
        join(work, 'cache-b'),
      ),
      'cold build',
    );
    assert.equal((await manifestOf(join(work, 'out3'))).index, first.index);
    await registry.stop();
    assertOk(
      await imprint(
        ['build', appSpec, '--offline', '-o', `oci:${join(work, 'out4')}`, '--no-attest'],
        join(work, 'cache-b'),
      ),
      'offline build',
    );
    assert.equal((await manifestOf(join(work, 'out4'))).index, first.index);
  });

  it('runs under podman: the base binary reads the build layer, as the new user', {
    skip: (!hasGcc && 'no static libc for gcc') || (!hasPodman && 'podman is not installed'),
  }, async () => {
    const podman = await podmanForLayout(work, join(work, 'out'));
    try {
      assert.equal((await podman.run(['IMAGE'])).stdout.trim(), 'hello from the upper layer uid=2000');
      assert.equal(
        (await podman.run(['IMAGE', '/srv/keep/file'])).stdout.trim(),
        'kept from the base uid=2000',
      );
      const gone = await podman.run(['IMAGE', '/etc/motd']).then(
        () => 'opened',
        (e: { stdout?: string }) => e.stdout?.trim(),
      );
      assert.equal(gone, 'cannot open /etc/motd');
    } finally {
      await podman.close();
    }
  });

  it('refuses a user that neither the spec nor the base image has, naming the field', async () => {
    const spec = join(work, 'ghost-spec');
    await mkdir(spec, { recursive: true });
    const yaml = (user: string) =>
      writeFile(
        join(spec, 'imprint.yaml'),
        [
          'version: 1',
          `base: oci:${join(work, 'base-layout')}:latest`,
          'platforms: [linux/amd64]',
          `user: ${user}`,
          '',
        ].join('\n'),
      );
    await yaml('ghost');
    const r = await imprint(['build', spec, '-o', `oci:${join(work, 'ghost-out')}`]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /user: "ghost" is not in the image's \/etc\/passwd/);
    await yaml('root'); // the base has root (imprint writes it into every image)
    assertOk(await imprint(['build', spec, '-o', `oci:${join(work, 'ghost-out')}`]), 'build as root');
  });

  it('verify finds a base given by a relative path from the context, with a cache that lacks it', async () => {
    const spec = join(work, 'relative-base');
    await mkdir(spec, { recursive: true });
    await writeFile(join(spec, 'motd'), 'relative\n');
    await writeFile(
      join(spec, 'imprint.yaml'),
      [
        'version: 1',
        'base: oci:../base-layout:latest',
        'platforms: [linux/amd64]',
        'files: [{source: motd, target: /etc/motd}]',
        '',
      ].join('\n'),
    );
    const out = join(work, 'relative-out');
    assertOk(await imprint(['build', spec, '-o', `oci:${out}:v1`]), 'build');
    const fresh = join(work, 'fresh-verify-cache');
    const r = assertOk(
      await imprint(['verify', `oci:${out}:v1`, '--context', spec], fresh),
      'verify with a fresh cache',
    );
    assert.match(r.stdout, /verified/);
    // From another context, with a fresh cache: says where it looked, and what to pass.
    const elsewhere = join(work, 'nowhere', 'x');
    await mkdir(elsewhere, { recursive: true });
    await writeFile(join(elsewhere, 'motd'), 'relative\n');
    const lost = await imprint(['verify', `oci:${out}:v1`, '--context', elsewhere], join(work, 'fresh-2'));
    assert.equal(lost.code, 1, lost.stderr);
    assert.match(
      lost.stderr,
      /the spec's base oci:\.\.\/base-layout:latest is a path relative to the spec's directory, looked for from the context: .*nowhere\/base-layout does not exist/,
    );
    assert.match(lost.stderr, /Pass --context DIR/);
  });
});
