// `--policy`: the spec's base image, archive URLs and fetch templates go through the source policy
// before anything is fetched; denials name the rule, conversions land in the spec the lock is made from.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { applySourcePolicy } from '../../src/build/policy.js';
import { isImprintError } from '../../src/errors.js';
import { parsePolicy } from '../../src/policy/index.js';
import { loadSpec } from '../../src/spec/index.js';
import { runImprint } from '../helpers/cli.js';

const DIGEST = `sha256:${'ab'.repeat(32)}`;

describe('source policy applied to a spec', async () => {
  const work = await mkdtemp(join(tmpdir(), 'imprint-policy-'));
  const aptRoot = join(work, 'host');

  before(async () => {
    await mkdir(join(aptRoot, 'etc/apt/sources.list.d'), { recursive: true });
    await writeFile(
      join(aptRoot, 'etc/apt/sources.list.d/host.sources'),
      [
        'Types: deb',
        'URIs: http://host-mirror.invalid/debian',
        'Suites: bookworm bookworm-updates',
        'Components: main',
        'Signed-By: /usr/share/keyrings/host.gpg',
        '',
        'Types: deb',
        'URIs: http://host-security.invalid/debian-security',
        'Suites: bookworm-security',
        'Components: main',
        'Check-Valid-Until: no',
        'Check-Date: no',
        '',
      ].join('\n'),
    );
  });
  after(() => rm(work, { recursive: true, force: true }));

  async function spec(name: string, yaml: string[]) {
    const dir = join(work, name);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'imprint.yaml'), `${['version: 1', ...yaml].join('\n')}\n`);
    return loadSpec(dir);
  }
  const policy = (rules: unknown[]) => parsePolicy(JSON.stringify({ rules }), '/p/policy.json');

  it('converts a base given by tag to a pinned digest (the lock then records the digest)', async () => {
    const loaded = await spec('convert-base', ['base: debian:bookworm']);
    const out = await applySourcePolicy(
      loaded,
      policy([
        {
          action: 'CONVERT',
          selector: { identifier: 'docker-image://docker.io/library/debian:bookworm', match_type: 'EXACT' },
          updates: { identifier: `docker-image://docker.io/library/debian:bookworm@${DIGEST}` },
        },
      ]),
      { aptRoot },
    );
    assert.equal(out.spec.base, `docker://docker.io/library/debian:bookworm@${DIGEST}`);
    assert.equal(loaded.spec.base, 'debian:bookworm'); // the loaded spec itself is not changed
  });

  it('denies a base with an error naming the rule', async () => {
    const loaded = await spec('deny-base', ['base: docker://127.0.0.1:5000/app:1']);
    await assert.rejects(
      applySourcePolicy(
        loaded,
        policy([
          { action: 'ALLOW', selector: { identifier: 'docker-image://*' } },
          { action: 'DENY', selector: { identifier: 'docker-image://127.0.0.1:5000/*' } },
        ]),
        { aptRoot },
      ),
      (err: unknown) => isImprintError(err, 'POLICY_DENIED') && /rules\[1\]/.test(err.message),
    );
  });

  it('checks archive URLs, a host source per suite, and converts them', async () => {
    const loaded = await spec('urls', [
      'sources:',
      '  - {url: "http://old.invalid/debian", suites: [bookworm]}',
      '  - {suites: [bookworm, bookworm-security]}',
      'fetch: {sources: ["{url}/{filename}", "file:///srv/debs/{filename}"]}',
    ]);
    const out = await applySourcePolicy(
      loaded,
      policy([
        {
          action: 'CONVERT',
          selector: { identifier: 'http://old.invalid/*' },
          updates: { identifier: 'http://new.invalid/$' + '{1}' },
        },
        {
          action: 'CONVERT',
          selector: { identifier: 'http://host-security.invalid/*' },
          updates: { identifier: 'http://security-mirror.invalid/$1' },
        },
        {
          action: 'CONVERT',
          selector: { identifier: 'file:///srv/debs/*' },
          updates: { identifier: 'file:///mnt/debs/$1' },
        },
      ]),
      { aptRoot },
    );
    assert.equal(out.spec.sources[0]?.url, 'http://new.invalid/debian');
    // The host source is split per suite so each can carry its own (converted) URL.
    assert.deepEqual(
      out.spec.sources.slice(1).map((s) => [s.url, s.suites, s.keyring]),
      [
        ['http://host-mirror.invalid/debian', ['bookworm'], join(aptRoot, 'usr/share/keyrings/host.gpg')],
        ['http://security-mirror.invalid/debian-security', ['bookworm-security'], undefined],
      ],
    );
    assert.deepEqual(out.spec.fetch.sources, ['{url}/{filename}', 'file:///mnt/debs/{filename}']);
    // The host source's Check-Valid-Until and Check-Date go with its converted URL.
    assert.deepEqual(
      out.spec.sources.slice(1).map((s) => [s.checkValidUntil, s.checkDate]),
      [
        [undefined, undefined],
        [false, false],
      ],
    );
  });

  it('leaves a spec whose sources the policy allows unchanged', async () => {
    const loaded = await spec('allowed', ['sources:', '  - {suites: [bookworm]}']);
    const out = await applySourcePolicy(
      loaded,
      policy([{ action: 'ALLOW', selector: { identifier: '*' } }]),
      {
        aptRoot,
      },
    );
    assert.deepEqual(out.spec, loaded.spec);
  });

  it('imprint build --policy refuses a denied base before fetching anything', async () => {
    const dir = join(work, 'cli');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'imprint.yaml'), 'version: 1\nbase: docker://127.0.0.1:9/never:1\n');
    await writeFile(
      join(dir, 'policy.json'),
      JSON.stringify({
        rules: [{ action: 'DENY', selector: { identifier: 'docker-image://127.0.0.1:9/*' } }],
      }),
    );
    const r = await runImprint([
      '--cache-dir',
      join(work, 'cache'),
      'build',
      dir,
      '--policy',
      join(dir, 'policy.json'),
    ]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /denied by rules\[0\]/);
    assert.match(r.stderr, /policy\.json/);
  });
});
