// `imprint verify --policy FILE`: the rebuild's recorded inputs (here a local base image) must pass
// the source policy, as `build --policy` applies it; the verification summary names the policy.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { assertOk, runImprint } from '../helpers/cli.js';

describe('imprint verify --policy', () => {
  it('fails on a base the policy denies, naming the rule; passes and records the policy when allowed', async () => {
    const work = await mkdtemp(join(tmpdir(), 'imprint-verify-policy-'));
    try {
      const cacheDir = join(work, 'cache');
      const base = join(work, 'base');
      await mkdir(join(base, 'etc'), { recursive: true });
      await writeFile(join(base, 'etc', 'base.txt'), 'base\n');
      await writeFile(
        join(base, 'imprint.yaml'),
        'version: 1\nplatforms: [linux/amd64]\nfiles:\n  - {source: etc/, target: /etc/}\n',
      );
      assertOk(await runImprint(['--cache-dir', cacheDir, 'build', base]), 'build the base');
      const app = join(work, 'app');
      await mkdir(join(app, 'data'), { recursive: true });
      await writeFile(join(app, 'data', 'app.txt'), 'app\n');
      await writeFile(
        join(app, 'imprint.yaml'),
        'version: 1\nplatforms: [linux/amd64]\nbase: oci:../base/out:latest\nfiles:\n  - {source: data/, target: /data/}\n',
      );
      assertOk(await runImprint(['--cache-dir', cacheDir, 'build', app]), 'build on the base');
      const image = `oci:${join(app, 'out')}`;
      const deny = join(work, 'deny.json');
      await writeFile(
        deny,
        JSON.stringify({ rules: [{ action: 'DENY', selector: { identifier: 'oci://*' } }] }),
      );
      const deniedVsa = join(work, 'vsa-denied.json');
      const denied = await runImprint(
        ['--cache-dir', cacheDir, 'verify', image, '--policy', deny, '--json', '--attest', deniedVsa],
        { cwd: app },
      );
      assert.equal(denied.code, 1, denied.stderr);
      assert.match(denied.stderr, /DENY/);
      // --json: one document on stdout, also when the policy denies; --attest: a FAILED summary naming the policy.
      const doc = JSON.parse(denied.stdout);
      assert.equal(doc.schemaVersion, 1);
      assert.equal(doc.verified, false);
      assert.equal(doc.error.code, 'POLICY_DENIED');
      assert.match(doc.image.index, /^sha256:[0-9a-f]{64}$/);
      const failed = JSON.parse(await readFile(deniedVsa, 'utf8'));
      assert.equal(failed.predicate.verificationResult, 'FAILED');
      assert.equal(failed.subject[0].digest.sha256, doc.image.index.slice(7));
      assert.deepEqual(failed.predicate.policy.annotations.sourcePolicy.digest, {
        sha256: createHash('sha256')
          .update(await readFile(deny))
          .digest('hex'),
      });
      const allow = join(work, 'allow.json');
      await writeFile(allow, JSON.stringify({ rules: [{ action: 'ALLOW', selector: { identifier: '*' } }] }));
      const vsa = join(work, 'vsa.json');
      assertOk(
        await runImprint(['--cache-dir', cacheDir, 'verify', image, '--policy', allow, '--attest', vsa], {
          cwd: app,
        }),
        'verify --policy (allowed)',
      );
      const summary = JSON.parse(await readFile(vsa, 'utf8'));
      assert.equal(summary.predicate.verificationResult, 'PASSED');
      assert.deepEqual(summary.predicate.policy.annotations.sourcePolicy.digest, {
        sha256: createHash('sha256')
          .update(await readFile(allow))
          .digest('hex'),
      });
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });
});
