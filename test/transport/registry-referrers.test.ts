// `imprint build -o docker://`, `inspect` and `copy --all` with attestations, against docker-registry 2.8
// (no referrers API: sha256-<hex> fallback tags) and the same registry behind a proxy that implements
// the OCI 1.1 referrers API (OCI-Subject on push, GET /v2/<repo>/referrers/<digest>).
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Inspection } from '../../src/cli/inspect.js';
import { MediaType } from '../../src/oci/media-types.js';
import { assertOk, runImprint } from '../helpers/cli.js';
import {
  canRunRegistry,
  listTags,
  type ReferrersProxy,
  referrersProxy,
  startRegistry,
  type TestRegistry,
} from '../helpers/registry.js';

describe('referrers through imprint build, inspect and copy', {
  skip: !canRunRegistry() && 'docker-registry or python3 is not installed',
}, () => {
  let work: string;
  let reg: TestRegistry;
  let proxy: ReferrersProxy;
  const imprint = (args: string[]) =>
    runImprint(['--cache-dir', join(work, 'cache'), ...args], { env: { SOURCE_DATE_EPOCH: '1700000000' } });
  const inspect = async (ref: string): Promise<Inspection> =>
    JSON.parse(assertOk(await imprint(['inspect', '--json', ref]), `inspect ${ref}`).stdout) as Inspection;
  /** The referrers as [digest, artifactType, subject], sorted by digest. */
  const referrers = (i: Inspection): string[][] =>
    i.referrers
      .map((r) => [r.digest, r.artifactType, r.subject])
      .sort((a, b) => ((a[0] ?? '') < (b[0] ?? '') ? -1 : 1));
  // One per platform manifest, and one for the index (the provenance is attached to it too).
  const fallbackTags = (i: Inspection): string[] =>
    [...i.images.map((img) => img.manifest.digest), i.roots[0]!.digest]
      .map((d) => `sha256-${d.slice(7)}`)
      .sort();

  let built: Inspection;

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'imprint-referrers-'));
    reg = await startRegistry();
    proxy = await referrersProxy(reg.host);
    const spec = join(work, 'spec');
    await mkdir(spec, { recursive: true });
    await writeFile(join(spec, 'hello.txt'), 'hello referrers\n');
    await writeFile(
      join(spec, 'imprint.yaml'),
      [
        'version: 1',
        'platforms: [linux/amd64, linux/arm64]',
        'files:',
        '  - {source: hello.txt, target: /etc/hello.txt}',
        'cmd: [/bin/true]',
        '',
      ].join('\n'),
    );
    // one build, pushed through the proxy (referrers API) and straight to the registry (fallback tags)
    assertOk(
      await imprint([
        'build',
        spec,
        '-o',
        `docker://${proxy.host}/api/app:1`,
        '-o',
        `docker://${reg.host}/fallback/app:1`,
        '-o',
        `oci:${join(work, 'layout')}`,
      ]),
      'build',
    );
    built = await inspect(`oci:${join(work, 'layout')}`);
  });

  after(async () => {
    await proxy?.stop();
    await reg?.stop();
    await rm(work, { recursive: true, force: true });
  });

  it('the build attaches provenance and an SBOM to each platform manifest, and the provenance to the index', () => {
    assert.equal(built.images.length, 2);
    assert.equal(built.referrers.length, 5);
    assert.deepEqual(
      built.referrers.map((r) => r.artifactType).sort(),
      [MediaType.spdx, MediaType.spdx, MediaType.inToto, MediaType.inToto, MediaType.inToto].sort(),
    );
  });

  it('through the referrers API: no sha256-<hex> tag is written; inspect lists them from the API', async () => {
    assert.deepEqual(await listTags(reg.host, 'api/app'), ['1']);
    const before = proxy.requests().length;
    const got = await inspect(`docker://${proxy.host}/api/app:1`);
    assert.equal(got.roots[0]?.digest, built.roots[0]?.digest);
    assert.deepEqual(referrers(got), referrers(built));
    const seen = proxy.requests().slice(before);
    const asked = seen.filter((l) => l.includes('/referrers/'));
    // the index, its two manifests, and the five referrers themselves (none has referrers)
    assert.equal(asked.length, 8);
    assert.ok(asked.every((l) => l.endsWith(' 200')));
    assert.deepEqual(
      seen.filter((l) => l.includes('/manifests/sha256-')),
      [],
    );
  });

  it('straight to docker-registry 2.8: fallback tags, and inspect finds the referrers through them', async () => {
    assert.deepEqual(await listTags(reg.host, 'fallback/app'), ['1', ...fallbackTags(built)]);
    const got = await inspect(`docker://${reg.host}/fallback/app:1`);
    assert.equal(got.roots[0]?.digest, built.roots[0]?.digest);
    assert.deepEqual(referrers(got), referrers(built));
  });

  it('copy --all from the API to a registry without it writes fallback tags, and back', async () => {
    assertOk(
      await imprint(['copy', '--all', `docker://${proxy.host}/api/app:1`, `docker://${reg.host}/from/api:1`]),
      'copy api -> fallback',
    );
    assert.deepEqual(await listTags(reg.host, 'from/api'), ['1', ...fallbackTags(built)]);
    const a = await inspect(`docker://${reg.host}/from/api:1`);
    assert.equal(a.roots[0]?.digest, built.roots[0]?.digest);
    assert.deepEqual(referrers(a), referrers(built));

    assertOk(
      await imprint([
        'copy',
        '--all',
        `docker://${reg.host}/fallback/app:1`,
        `docker://${proxy.host}/from/fallback:1`,
      ]),
      'copy fallback -> api',
    );
    assert.deepEqual(await listTags(reg.host, 'from/fallback'), ['1']);
    const b = await inspect(`docker://${proxy.host}/from/fallback:1`);
    assert.equal(b.roots[0]?.digest, built.roots[0]?.digest);
    assert.deepEqual(referrers(b), referrers(built));
  });

  it('verify finds the provenance through the registry (fallback tags and the referrers API)', async () => {
    for (const host of [reg.host, proxy.host]) {
      const repo = host === reg.host ? 'fallback/app' : 'api/app';
      const r = assertOk(
        await imprint(['verify', `docker://${host}/${repo}:1`, '--context', join(work, 'spec'), '--json']),
        `verify ${host}`,
      );
      assert.equal(JSON.parse(r.stdout).verified, true);
    }
  });

  it('build -t names the tag of a registry output that names none', async () => {
    assertOk(
      await imprint(['build', join(work, 'spec'), '-o', `docker://${reg.host}/tagged/app`, '-t', 'v9']),
      'build -t',
    );
    const tags = await listTags(reg.host, 'tagged/app');
    assert.ok(tags.includes('v9'), tags.join(' '));
    assert.ok(!tags.includes('latest'), tags.join(' '));
  });
});
