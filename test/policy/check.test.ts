// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${1} is BuildKit's capture syntax in updates.identifier, not a template literal
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isImprintError } from '../../src/errors.js';
import { checkSources, normalizePolicy, type PolicyDecision } from '../../src/policy/index.js';

const DIGEST = `sha256:${'5e'.repeat(32)}`;

const policy = normalizePolicy(
  {
    rules: [
      {
        action: 'CONVERT',
        selector: { identifier: 'docker-image://docker.io/library/alpine:3.20', match_type: 'EXACT' },
        updates: { identifier: `docker-image://docker.io/library/alpine:3.20@${DIGEST}` },
      },
      {
        action: 'CONVERT',
        selector: { identifier: 'oci:///specs/app/layouts/*' },
        updates: { identifier: 'oci:///mirror/layouts/${1}' },
      },
      {
        action: 'CONVERT',
        selector: { identifier: 'http://old.test/*' },
        updates: { identifier: 'https://mirror.test/${1}' },
      },
      { action: 'DENY', selector: { identifier: 'http://*' } },
      { action: 'DENY', selector: { identifier: 'docker-image://untrusted.test/*' } },
    ],
  },
  { file: '/specs/app/policy.json' },
);

describe('checkSources', () => {
  it('returns what to fetch, in input order, conversions applied', () => {
    const checked = checkSources(
      policy,
      {
        images: [
          'alpine:3.20',
          'docker://ghcr.io/o/app:1',
          'oci:layouts/base:v1',
          { transport: 'oci-archive', path: '/x.tar' },
        ],
        sourceUrls: ['http://old.test/debian/', 'https://archive.test/debian'],
        fetchTemplates: ['{url}/{filename}', 'https://cache.test/by-hash/{sha256}'],
      },
      { baseDir: '/specs/app' },
    );
    assert.deepEqual(
      checked.images.map((i) => [i.identifier, i.reference, i.converted]),
      [
        [
          `docker-image://docker.io/library/alpine:3.20@${DIGEST}`,
          `docker://docker.io/library/alpine:3.20@${DIGEST}`,
          true,
        ],
        ['docker-image://ghcr.io/o/app:1', 'docker://ghcr.io/o/app:1', false],
        ['oci:///mirror/layouts/base:v1', 'oci:/mirror/layouts/base:v1', true],
        ['oci-archive:///x.tar', 'oci-archive:/x.tar', false],
      ],
    );
    assert.deepEqual(checked.images[2]?.ref, { transport: 'oci', path: '/mirror/layouts/base', tag: 'v1' });
    assert.equal(checked.images[0]?.input, 'alpine:3.20');
    assert.deepEqual(
      checked.sourceUrls.map((u) => [u.url, u.converted]),
      [
        ['https://mirror.test/debian', true],
        ['https://archive.test/debian', false],
      ],
    );
    assert.deepEqual(
      checked.fetchTemplates.map((t) => [t.url, t.converted, t.decision?.decision]),
      [
        ['{url}/{filename}', false, undefined],
        ['https://cache.test/by-hash/{sha256}', false, 'allow'],
      ],
    );
  });

  it('accepts an empty request', () => {
    assert.deepEqual(checkSources(policy, {}), { images: [], sourceUrls: [], fetchTemplates: [] });
  });

  it('one denied source: POLICY_DENIED naming it and the rule', () => {
    assert.throws(
      () =>
        checkSources(policy, { sourceUrls: ['https://archive.test/debian', 'http://archive.test/debian'] }),
      (e) => {
        assert.ok(isImprintError(e, 'POLICY_DENIED'));
        assert.equal(e.details.identifier, 'http://archive.test/debian');
        assert.equal((e.details.rule as { index: number }).index, 3);
        assert.match(e.message, /rules\[3\] \(DENY WILDCARD "http:\/\/\*"\)/);
        return true;
      },
    );
  });

  it('several denied sources: one POLICY_DENIED listing each with its rule', () => {
    assert.throws(
      () =>
        checkSources(policy, {
          images: ['untrusted.test/app:1'],
          sourceUrls: ['http://archive.test/debian'],
          fetchTemplates: ['http://cache.test/{filename}'],
        }),
      (e) => {
        assert.ok(isImprintError(e, 'POLICY_DENIED'));
        const denials = e.details.denials as PolicyDecision[];
        assert.deepEqual(
          denials.map((d) => [d.identifier, d.rule?.index]),
          [
            ['docker-image://untrusted.test/app:1', 4],
            ['http://archive.test/debian', 3],
            ['http://cache.test/{filename}', 3],
          ],
        );
        assert.equal(e.message.split('\n').length, 4, e.message);
        return true;
      },
    );
  });

  it('a source denied twice (one URL for several suites) is listed once', () => {
    assert.throws(
      () =>
        checkSources(policy, {
          sourceUrls: ['http://archive.test/debian', 'http://archive.test/debian'],
        }),
      (e) => {
        assert.ok(isImprintError(e, 'POLICY_DENIED'));
        assert.equal(e.message.split('\n').length, 1, e.message);
        assert.match(e.message, /^source http:\/\/archive\.test\/debian is denied by rules\[3\]/);
        return true;
      },
    );
  });

  it('a template converted into something that is not a template is POLICY_INVALID', () => {
    const p = normalizePolicy({
      rules: [
        {
          action: 'CONVERT',
          selector: { identifier: 'https://cache.test/*' },
          updates: { identifier: 'ftp://cache.test/${1}' },
        },
      ],
    });
    assert.throws(
      () => checkSources(p, { fetchTemplates: ['https://cache.test/{sha256}'] }),
      (e) => isImprintError(e, 'POLICY_INVALID'),
    );
    const ok = normalizePolicy({
      rules: [
        {
          action: 'CONVERT',
          selector: { identifier: 'https://cache.test/*' },
          updates: { identifier: 'file:///srv/cache/${1}' },
        },
      ],
    });
    assert.equal(
      checkSources(ok, { fetchTemplates: ['https://cache.test/{sha256}'] }).fetchTemplates[0]?.url,
      'file:///srv/cache/{sha256}',
    );
  });

  it('an invalid input reference is BAD_REFERENCE', () => {
    assert.throws(
      () => checkSources(policy, { images: ['Not/Valid'] }),
      (e) => isImprintError(e, 'BAD_REFERENCE'),
    );
    assert.throws(
      () => checkSources(policy, { sourceUrls: ['ftp://x.test/'] }),
      (e) => isImprintError(e, 'BAD_REFERENCE'),
    );
  });
});
