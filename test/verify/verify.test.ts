import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { attestBuild } from '../../src/attest/attest-build.js';
import { buildImage } from '../../src/build/build.js';
import { VERSION } from '../../src/cli/version.js';
import type { ImprintError } from '../../src/errors.js';
import { selectPlatform } from '../../src/oci/select.js';
import { validateImage } from '../../src/oci/validate.js';
import { loadSpec } from '../../src/spec/index.js';
import { BlobStore } from '../../src/store/index.js';
import { parseReference, readImageSet, writeImageSet } from '../../src/transport/index.js';
import { verifyImage } from '../../src/verify/verify.js';
import { writeSmallSpec } from '../attest/fixtures.js';
import { assertOk, runImprint } from '../helpers/cli.js';
import { tamperFile } from './tamper.js';

async function builtExample(work: string) {
  const dir = join(work, 'spec');
  await writeSmallSpec(dir);
  const cacheDir = join(work, 'cache');
  const store = new BlobStore(cacheDir);
  const loaded = await loadSpec(dir);
  const result = await buildImage({ loaded, env: {}, store, cacheDir });
  const attested = await attestBuild({ loaded, result, store, version: VERSION });
  const ref = parseReference(`oci:${join(work, 'image')}`);
  await writeImageSet(ref, attested.set);
  return { dir, cacheDir, store, ref, result };
}

describe('verifyImage', () => {
  it('verifies a fresh build, and names the changed file of a tampered one', async () => {
    const work = await mkdtemp(join(tmpdir(), 'imprint-verify-test-'));
    try {
      const { dir, store, ref, result } = await builtExample(work);
      const ok = await verifyImage({ ref, context: dir, store, version: VERSION });
      assert.equal(ok.verified, true);
      assert.equal(ok.rebuilt.index, result.index.digest);
      assert.deepEqual(ok.differences, []);

      const tampered = await tamperFile(
        await readImageSet(ref),
        store,
        'app/hello.txt',
        'hello, tampered world\n',
      );
      await validateImage(tampered);
      const badRef = parseReference(`oci:${join(work, 'tampered')}`);
      await writeImageSet(badRef, tampered);
      const bad = await verifyImage({ ref: badRef, context: dir, store, version: VERSION });
      assert.equal(bad.verified, false);
      assert.notEqual(bad.image.index, result.index.digest);
      assert.equal(bad.rebuilt.index, result.index.digest);
      const content = bad.differences.filter((d) => d.kind === 'content');
      assert.deepEqual(
        content.map((d) => d.path),
        ['app/hello.txt'],
      );
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });

  it('reads the rebuild as what the image should be: a planted file is entry-added, in column B', async () => {
    const work = await mkdtemp(join(tmpdir(), 'imprint-verify-test-'));
    try {
      const { dir, cacheDir, store, ref } = await builtExample(work);
      const planted = await tamperFile(await readImageSet(ref), store, 'app/hello.txt', undefined, {
        path: 'app/backdoor.sh',
        content: 'echo pwned\n',
      });
      const plantedRef = parseReference(`oci:${join(work, 'planted')}`);
      await writeImageSet(plantedRef, planted);
      const bad = await verifyImage({ ref: plantedRef, context: dir, store, version: VERSION });
      assert.equal(bad.verified, false);
      const entries = bad.differences.filter((d) => d.path === 'app/backdoor.sh');
      assert.deepEqual(
        entries.map((d) => [d.kind, d.a === null, d.b !== null]),
        [['entry-added', true, true]],
      );
      const cli = await runImprint(['--cache-dir', cacheDir, 'verify', `oci:${join(work, 'planted')}`], {
        cwd: dir,
      });
      assert.equal(cli.code, 1, cli.stderr);
      assert.match(cli.stdout, /rebuild and oci:\S+ differ/);
      assert.match(cli.stdout, /entry-added\s+linux\/amd64\s+layer 0 \/app\/backdoor\.sh\s+-\s+type=file/);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });

  it('refuses another imprint version unless allowed, and a changed context file', async () => {
    const work = await mkdtemp(join(tmpdir(), 'imprint-verify-test-'));
    try {
      const { dir, store, ref } = await builtExample(work);
      await assert.rejects(
        verifyImage({ ref, context: dir, store, version: '0.0.0-other' }),
        (e: ImprintError) => e.code === 'VERSION_MISMATCH',
      );
      const allowed = await verifyImage({
        ref,
        context: dir,
        store,
        version: '0.0.0-other',
        allowVersionMismatch: true,
      });
      assert.equal(allowed.verified, true);
      await assert.rejects(
        verifyImage({ ref, store, version: VERSION }),
        (e: ImprintError) => e.code === 'USAGE',
      );
      // A context that is not the spec's directory (the repository root, say): the hint says which.
      await assert.rejects(
        verifyImage({ ref, context: work, store, version: VERSION }),
        (e: ImprintError) => e.code === 'IO' && /the spec's directory/.test(e.hint ?? ''),
      );
      await writeFile(join(dir, 'app', 'hello.txt'), 'changed\n');
      await assert.rejects(
        verifyImage({ ref, context: dir, store, version: VERSION }),
        (e: ImprintError) => e.code === 'DIGEST_MISMATCH',
      );
      const plain = parseReference(`oci:${join(work, 'plain')}`);
      await writeImageSet(plain, {
        index: {
          ...(await readImageSet(ref)).index,
          manifests: [(await readImageSet(ref)).index.manifests[0]!],
        },
        blobs: store,
      });
      await assert.rejects(
        verifyImage({ ref: plain, context: dir, store, version: VERSION }),
        (e: ImprintError) => e.code === 'PROVENANCE_INVALID',
      );
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });

  it("a dirty checkout is reported as the image's, not as the verifier's checkout", async () => {
    const work = await mkdtemp(join(tmpdir(), 'imprint-verify-test-'));
    try {
      const dir = join(work, 'spec');
      await writeSmallSpec(dir);
      const env = { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_SYSTEM: '/dev/null' };
      const git = (...args: string[]) =>
        execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@e', '-C', dir, ...args], { env });
      git('init', '-q');
      git('add', '-A');
      git('commit', '-q', '-m', 'spec');
      await writeFile(join(dir, 'app', 'hello.txt'), 'uncommitted\n');
      const store = new BlobStore(join(work, 'cache'));
      const loaded = await loadSpec(dir);
      const result = await buildImage({ loaded, env: {}, store, cacheDir: join(work, 'cache') });
      assert.ok(result.warnings.some((w) => w.startsWith('the git checkout has uncommitted changes')));
      const attested = await attestBuild({ loaded, result, store, version: VERSION });
      const ref = parseReference(`oci:${join(work, 'image')}`);
      await writeImageSet(ref, attested.set);
      const verified = await verifyImage({ ref, context: dir, store, version: VERSION });
      assert.equal(verified.verified, true);
      assert.ok(
        !verified.warnings.some((w) => w.startsWith('the git checkout has uncommitted changes')),
        verified.warnings.join('\n'),
      );
      assert.ok(
        verified.warnings.some((w) =>
          w.startsWith('the image was built from a git checkout with uncommitted'),
        ),
        verified.warnings.join('\n'),
      );
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });

  it("a rebuild's warning names the provenance's spec, not the removed workspace it was rebuilt in", async () => {
    const work = await mkdtemp(join(tmpdir(), 'imprint-verify-test-'));
    try {
      const dir = join(work, 'spec');
      await writeSmallSpec(dir);
      // env naming $PATH: the build warns at the spec's file:line:column
      await writeFile(join(dir, 'imprint.yaml'), 'env: {PATH: "/app/bin:$PATH"}\n', { flag: 'a' });
      const store = new BlobStore(join(work, 'cache'));
      const loaded = await loadSpec(dir);
      const result = await buildImage({ loaded, env: {}, store, cacheDir: join(work, 'cache') });
      assert.ok(
        result.warnings.some((w) => w.startsWith(join(dir, 'imprint.yaml'))),
        result.warnings.join('\n'),
      );
      const attested = await attestBuild({ loaded, result, store, version: VERSION });
      const ref = parseReference(`oci:${join(work, 'image')}`);
      await writeImageSet(ref, attested.set);
      const tmpDir = join(work, 'tmp');
      await mkdir(tmpDir);
      const verified = await verifyImage({ ref, context: dir, store, version: VERSION, tmpDir });
      assert.equal(verified.verified, true);
      const env = verified.warnings.filter((w) => w.includes('env.PATH'));
      assert.equal(env.length, 1, verified.warnings.join('\n'));
      assert.match(env[0]!, /^the provenance's imprint\.yaml:\d+:\d+: env\.PATH/);
      assert.ok(!verified.warnings.some((w) => w.includes(tmpDir)), verified.warnings.join('\n'));
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });

  it("a platform manifest two builds share is verified from the statement naming the image's index, without a warning", async () => {
    const work = await mkdtemp(join(tmpdir(), 'imprint-verify-test-'));
    try {
      const store = new BlobStore(join(work, 'cache'));
      const layout = join(work, 'image');
      const built: Record<string, string> = {};
      // The same spec for amd64 alone and for amd64 and arm64: one amd64 manifest, two builds.
      for (const [tag, platforms] of [
        ['single', 'linux/amd64'],
        ['multi', 'linux/amd64, linux/arm64'],
      ] as const) {
        const dir = join(work, tag);
        await writeSmallSpec(dir);
        const spec = await readFile(join(dir, 'imprint.yaml'), 'utf8');
        await writeFile(join(dir, 'imprint.yaml'), spec.replace('[linux/amd64]', `[${platforms}]`));
        const loaded = await loadSpec(dir);
        const result = await buildImage({ loaded, env: {}, store, cacheDir: join(work, 'cache') });
        const attested = await attestBuild({ loaded, result, store, version: VERSION });
        await writeImageSet(parseReference(`oci:${layout}:${tag}`), attested.set);
        built[tag] = result.images[0]!.manifest.digest;
      }
      assert.equal(built.single, built.multi, 'the amd64 manifest is shared');
      for (const tag of ['single', 'multi']) {
        const ref = parseReference(`oci:${layout}:${tag}`);
        const v = await verifyImage({ ref, context: join(work, tag), store, version: VERSION });
        assert.equal(v.verified, true, tag);
        assert.deepEqual(
          v.warnings.filter((w) => w.includes('provenance')),
          [],
          `${tag}: ${v.warnings.join('\n')}`,
        );
      }
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });

  it('imprint verify: exit 0, --json and --attest; exit 1 naming the file after tampering', async () => {
    const work = await mkdtemp(join(tmpdir(), 'imprint-verify-test-'));
    try {
      const { dir, cacheDir, store, ref, result } = await builtExample(work);
      const good = assertOk(
        await runImprint(
          [
            '--cache-dir',
            cacheDir,
            'verify',
            `oci:${join(work, 'image')}`,
            '--json',
            '--attest',
            join(work, 'vsa.json'),
          ],
          { cwd: dir },
        ),
        'imprint verify',
      );
      assert.equal(JSON.parse(good.stdout).verified, true);
      assert.equal(JSON.parse(good.stdout).schemaVersion, 1);
      const vsa = JSON.parse(await readFile(join(work, 'vsa.json'), 'utf8'));
      assert.equal(vsa.predicateType, 'https://slsa.dev/verification_summary/v1');
      assert.equal(vsa.predicate.verificationResult, 'PASSED');
      assert.deepEqual(vsa.subject[0].digest, { sha256: result.index.digest.slice(7) });
      const inspected = assertOk(
        await runImprint(['inspect', `oci:${join(work, 'image')}`]),
        'imprint inspect',
      ).stdout;
      const manifest = result.images[0]!.manifest.digest;
      assert.match(
        inspected,
        new RegExp(`application/vnd\\.in-toto\\+json +sha256:[0-9a-f]{64}  subject ${manifest}`),
      );
      assert.match(
        inspected,
        new RegExp(`application/spdx\\+json +sha256:[0-9a-f]{64}  subject ${manifest}`),
      );

      await writeImageSet(
        parseReference(`oci:${join(work, 'tampered')}`),
        await tamperFile(await readImageSet(ref), store, 'app/hello.txt', 'evil\n'),
      );
      const bad = await runImprint([
        '--cache-dir',
        cacheDir,
        'verify',
        `oci:${join(work, 'tampered')}`,
        '--context',
        dir,
        '--attest',
        join(work, 'vsa-bad.json'),
      ]);
      assert.equal(bad.code, 1, bad.stderr);
      assert.match(bad.stdout, /MISMATCH/);
      assert.match(bad.stdout, /\/app\/hello\.txt/);
      assert.equal(
        JSON.parse(await readFile(join(work, 'vsa-bad.json'), 'utf8')).predicate.verificationResult,
        'FAILED',
      );

      // Two provenance statements for the image (a re-push from a spec with a changed comment):
      // the first is used, and the verifier is told.
      const twice = join(work, 'twice');
      await cp(join(work, 'image'), twice, { recursive: true });
      const index = JSON.parse(await readFile(join(twice, 'index.json'), 'utf8'));
      const prov = index.manifests.find(
        (m: { artifactType?: string }) => m.artifactType === 'application/vnd.in-toto+json',
      );
      const blobPath = (d: string) => join(twice, 'blobs', 'sha256', d.slice(7));
      const art = JSON.parse(await readFile(blobPath(prov.digest), 'utf8'));
      const statement = JSON.parse(await readFile(blobPath(art.layers[0].digest), 'utf8'));
      const other = Buffer.from(JSON.stringify({ ...statement, note: 'another build' }));
      const otherDigest = `sha256:${createHash('sha256').update(other).digest('hex')}`;
      await writeFile(blobPath(otherDigest), other);
      const art2 = Buffer.from(
        JSON.stringify({ ...art, layers: [{ ...art.layers[0], digest: otherDigest, size: other.length }] }),
      );
      const art2Digest = `sha256:${createHash('sha256').update(art2).digest('hex')}`;
      await writeFile(blobPath(art2Digest), art2);
      index.manifests.push({ ...prov, digest: art2Digest, size: art2.length });
      await writeFile(join(twice, 'index.json'), JSON.stringify(index));
      const both = assertOk(
        await runImprint(['--cache-dir', cacheDir, 'verify', `oci:${twice}`, '--context', dir]),
        'verify with two provenances',
      );
      assert.match(both.stderr, /has 2 different provenance statements .*; rebuilding from the first/);

      // One byte of a layer blob changed on disk: the digests still match the rebuild, the bytes do not.
      const altered = join(work, 'altered');
      await cp(join(work, 'image'), altered, { recursive: true });
      const layer = result.images[0]!.layers.at(-1)!.digest.slice(7);
      const blob = join(altered, 'blobs', 'sha256', layer);
      const bytes = await readFile(blob);
      const middle = bytes.length >> 1;
      bytes[middle] = (bytes[middle] as number) ^ 1;
      await writeFile(blob, bytes);
      const flipped = await runImprint([
        '--cache-dir',
        cacheDir,
        'verify',
        `oci:${altered}`,
        '--context',
        dir,
      ]);
      assert.equal(flipped.code, 1, flipped.stderr);
      assert.match(flipped.stderr, new RegExp(`the blob stored as sha256:${layer} is not those bytes`));
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });

  it('a docker-archive, which holds no referrers, verifies with the provenance build --provenance-out wrote', async () => {
    const work = await mkdtemp(join(tmpdir(), 'imprint-verify-test-'));
    try {
      const dir = join(work, 'spec');
      await writeSmallSpec(dir);
      const cacheDir = join(work, 'cache');
      const archive = `docker-archive:${join(work, 'image.tar')}`;
      const provenance = join(work, 'out', 'provenance.json');
      const build = (...extra: string[]) =>
        runImprint([
          '--cache-dir',
          cacheDir,
          'build',
          dir,
          '-o',
          archive,
          '--provenance-out',
          provenance,
          ...extra,
        ]);
      const refused = await build('--no-attest');
      assert.equal(refused.code, 2, refused.stderr);
      assertOk(await build(), 'imprint build');
      const statement = JSON.parse(await readFile(provenance, 'utf8'));
      assert.equal(statement.predicateType, 'https://slsa.dev/provenance/v1');
      const bare = await runImprint(['--cache-dir', cacheDir, 'verify', archive], { cwd: dir });
      assert.equal(bare.code, 1);
      assert.match(bare.stderr, /holds no attestations: pass --provenance FILE/);
      const good = await runImprint(
        ['--cache-dir', cacheDir, 'verify', archive, '--provenance', provenance],
        {
          cwd: dir,
        },
      );
      assertOk(good, 'imprint verify --provenance');
      assert.match(good.stdout + good.stderr, /verified/);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });

  it('a tampered single-platform docker-archive of a multi-platform build is compared with its own platform only', async () => {
    const work = await mkdtemp(join(tmpdir(), 'imprint-verify-test-'));
    try {
      const dir = join(work, 'spec');
      await writeSmallSpec(dir);
      const specFile = join(dir, 'imprint.yaml');
      const spec = await readFile(specFile, 'utf8');
      await writeFile(specFile, spec.replace('[linux/amd64]', '[linux/amd64, linux/arm64]'));
      const cacheDir = join(work, 'cache');
      const provenance = join(work, 'provenance.json');
      const layout = `oci:${join(work, 'image')}`;
      assertOk(
        await runImprint([
          '--cache-dir',
          cacheDir,
          'build',
          dir,
          '-o',
          layout,
          '--provenance-out',
          provenance,
        ]),
        'imprint build',
      );
      const store = new BlobStore(cacheDir);
      const whole = await readImageSet(parseReference(layout));
      const tampered = await tamperFile(whole, store, 'app/hello.txt', 'hello, tampered world\n');
      const amd64 = await selectPlatform(tampered, { os: 'linux', architecture: 'amd64' });
      const archive = parseReference(`docker-archive:${join(work, 'image.tar')}`);
      await writeImageSet(archive, amd64);
      const bad = await verifyImage({
        ref: archive,
        context: dir,
        store,
        version: VERSION,
        provenanceFile: provenance,
      });
      assert.equal(bad.verified, false);
      assert.equal(bad.image.index, undefined);
      // only the changed file: not the arm64 image the archive never held, nor manifest vs index
      assert.deepEqual(
        bad.differences.map((d) => [d.kind, d.platform, d.path]),
        [['content', 'linux/amd64', 'app/hello.txt']],
      );
      const cli = await runImprint(
        [
          '--cache-dir',
          cacheDir,
          'verify',
          `docker-archive:${join(work, 'image.tar')}`,
          '--provenance',
          provenance,
        ],
        { cwd: dir },
      );
      assert.equal(cli.code, 1, cli.stderr);
      assert.match(
        cli.stdout,
        new RegExp(`the rebuild is ${bad.rebuilt.manifests['linux/amd64']} \\(linux/amd64\\)`),
      );
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });

  it('verify --offline with a cache that lacks an input names it as the provenance does, and says to verify once online', async () => {
    const work = await mkdtemp(join(tmpdir(), 'imprint-verify-offline-'));
    try {
      const base = join(work, 'base');
      await mkdir(base, { recursive: true });
      await writeFile(join(base, 'b.txt'), 'base\n');
      await writeFile(join(base, 'imprint.yaml'), 'version: 1\nfiles: [{source: b.txt, target: /b.txt}]\n');
      const cache = join(work, 'cache');
      assertOk(await runImprint(['--cache-dir', cache, 'build', base]), 'build the base');
      const app = join(work, 'app');
      await mkdir(app, { recursive: true });
      await writeFile(join(app, 'imprint.yaml'), 'version: 1\nbase: oci:../base/out:latest\n');
      assertOk(await runImprint(['--cache-dir', cache, 'build', app]), 'build on it');
      const r = await runImprint([
        ...['--cache-dir', join(work, 'empty-cache'), 'verify', `oci:${join(app, 'out')}:latest`],
        ...['--context', app, '--offline'],
      ]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(
        r.stderr,
        /error: the provenance's imprint\.yaml:2:7: base: base image oci:\.\.\/base\/out:latest: offline, and it is not in the cache/,
      );
      assert.match(r.stderr, /hint: Run the same `imprint verify` once without --offline/);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });
});
