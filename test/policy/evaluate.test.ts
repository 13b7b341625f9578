// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${1} is BuildKit's capture syntax in updates.identifier, not a template literal
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ImprintError, isImprintError } from '../../src/errors.js';
import {
  enforcePolicy,
  evaluatePolicy,
  MAX_CONVERSIONS,
  normalizePolicy,
  type Policy,
  parsePolicy,
} from '../../src/policy/index.js';

const BUSYBOX = 'docker-image://docker.io/library/busybox:latest';
const ALPINE = 'docker-image://docker.io/library/alpine:latest';
const DIGEST = `sha256:${'c0'.repeat(32)}`;

type RuleInput = {
  action?: string;
  selector: { identifier: string; match_type?: string };
  updates?: { identifier: string };
};
const policy = (...rules: RuleInput[]): Policy => normalizePolicy({ rules }, { file: 'policy.json' });
const allow = (identifier: string, match_type?: string): RuleInput => ({
  action: 'ALLOW',
  selector: { identifier, ...(match_type ? { match_type } : {}) },
});
const deny = (identifier: string, match_type?: string): RuleInput => ({
  action: 'DENY',
  selector: { identifier, ...(match_type ? { match_type } : {}) },
});
const convert = (identifier: string, to: string, match_type?: string): RuleInput => ({
  action: 'CONVERT',
  selector: { identifier, ...(match_type ? { match_type } : {}) },
  updates: { identifier: to },
});

/** The error `fn` throws, checked for its code. */
function thrown(fn: () => unknown, code: string): ImprintError {
  try {
    fn();
  } catch (err) {
    assert.ok(isImprintError(err), String(err));
    assert.equal(err.code, code, err.message);
    return err;
  }
  assert.fail(`expected ${code}`);
}

describe('evaluatePolicy: ALLOW and DENY', () => {
  it('allows what no rule matches', () => {
    assert.deepEqual(evaluatePolicy(policy(), BUSYBOX), {
      decision: 'allow',
      input: BUSYBOX,
      identifier: BUSYBOX,
      conversions: [],
    });
    assert.equal(evaluatePolicy(policy(deny(ALPINE)), BUSYBOX).decision, 'allow');
  });

  it('denies with the rule that decided', () => {
    const d = evaluatePolicy(policy(allow(ALPINE), deny('docker-image://*')), BUSYBOX);
    assert.equal(d.decision, 'deny');
    assert.deepEqual(d.rule, {
      index: 1,
      action: 'DENY',
      selector: { identifier: 'docker-image://*', matchType: 'WILDCARD' },
    });
  });

  it('the last matching ALLOW or DENY wins (BuildKit)', () => {
    assert.equal(evaluatePolicy(policy(allow(BUSYBOX), deny(BUSYBOX)), BUSYBOX).decision, 'deny');
    const d = evaluatePolicy(policy(deny(BUSYBOX), allow(BUSYBOX)), BUSYBOX);
    assert.equal(d.decision, 'allow');
    assert.equal(d.rule?.index, 1);
    assert.equal(
      evaluatePolicy(policy(allow(BUSYBOX), deny(BUSYBOX), allow(BUSYBOX)), BUSYBOX).decision,
      'allow',
    );
    // deny everything, then allow one registry
    const p = policy(deny('docker-image://*'), allow('docker-image://registry.test/*'));
    assert.equal(evaluatePolicy(p, 'docker-image://registry.test/app:1').decision, 'allow');
    assert.equal(evaluatePolicy(p, BUSYBOX).decision, 'deny');
  });

  it('EXACT, WILDCARD and REGEX select differently', () => {
    const star = 'http://archive.test/*';
    const url = 'http://archive.test/debian';
    assert.equal(evaluatePolicy(policy(deny(star, 'EXACT')), url).decision, 'allow');
    assert.equal(evaluatePolicy(policy(deny(star, 'EXACT')), star).decision, 'deny');
    assert.equal(evaluatePolicy(policy(deny(star, 'WILDCARD')), url).decision, 'deny');
    assert.equal(evaluatePolicy(policy(deny(star)), url).decision, 'deny', 'WILDCARD is the default');
    assert.equal(
      evaluatePolicy(policy(deny('docker-image://docker.io/library/*')), BUSYBOX).decision,
      'deny',
    );
    // a regex matches anywhere in the identifier
    assert.equal(evaluatePolicy(policy(deny('busybox', 'REGEX')), BUSYBOX).decision, 'deny');
    assert.equal(evaluatePolicy(policy(deny('^busybox', 'REGEX')), BUSYBOX).decision, 'allow');
    assert.equal(
      evaluatePolicy(policy(deny('^http://', 'REGEX')), 'http://archive.test/debian').decision,
      'deny',
    );
  });
});

describe('evaluatePolicy: CONVERT', () => {
  it('pins a tag to a digest', () => {
    const pinned = `docker-image://docker.io/library/alpine:latest@${DIGEST}`;
    const d = evaluatePolicy(policy(convert(ALPINE, pinned, 'EXACT')), ALPINE);
    assert.equal(d.decision, 'convert');
    assert.equal(d.identifier, pinned);
    assert.deepEqual(
      d.conversions.map((c) => [c.rule.index, c.from, c.to]),
      [[0, ALPINE, pinned]],
    );
    assert.equal(d.rule?.action, 'CONVERT');
  });

  it('substitutes wildcard and regex captures', () => {
    const w = policy(
      convert('docker-image://docker.io/library/golang:*', 'docker-image://mirror.test/library/golang:${1}'),
    );
    assert.equal(
      evaluatePolicy(w, 'docker-image://docker.io/library/golang:1.19').identifier,
      'docker-image://mirror.test/library/golang:1.19',
    );
    const r = policy(
      convert(
        'docker\\-image://docker\\.io/library/golang:(.*)',
        'docker-image://mirror.test/library/golang:${1}',
        'REGEX',
      ),
    );
    assert.equal(
      evaluatePolicy(r, 'docker-image://docker.io/library/golang:1.19').identifier,
      'docker-image://mirror.test/library/golang:1.19',
    );
    const named = policy(convert('^http://(?P<host>[^/]+)/(.*)$', 'https://${host}/$2', 'REGEX'));
    assert.equal(
      evaluatePolicy(named, 'http://archive.test/debian').identifier,
      'https://archive.test/debian',
    );
  });

  it('normalises a converted image identifier before evaluating it again', () => {
    const p = policy(
      convert(BUSYBOX, 'docker-image://alpine:3'),
      deny('docker-image://docker.io/library/alpine:3'),
    );
    const d = evaluatePolicy(p, BUSYBOX);
    assert.equal(d.decision, 'deny');
    assert.equal(d.identifier, 'docker-image://docker.io/library/alpine:3');
  });

  it('re-evaluates the converted identifier against every rule, earlier ones too', () => {
    // BuildKit's "convert deny": the DENY comes first in the file, yet applies to the converted image
    const d = evaluatePolicy(
      policy(deny('docker-image://docker.io/library/alpine:*'), convert(BUSYBOX, ALPINE)),
      BUSYBOX,
    );
    assert.equal(d.decision, 'deny');
    assert.equal(d.identifier, ALPINE);
    assert.equal(d.rule?.index, 0);
    assert.equal(d.conversions.length, 1);
  });

  it('a conversion drops the verdict the input had reached', () => {
    const d = evaluatePolicy(policy(deny(BUSYBOX), convert(BUSYBOX, ALPINE)), BUSYBOX);
    assert.equal(d.decision, 'convert');
    assert.equal(d.identifier, ALPINE);
  });

  it('the last matching DENY after a conversion decides (BuildKit "allow convert deny")', () => {
    const d = evaluatePolicy(
      policy(
        convert(BUSYBOX, ALPINE),
        allow(ALPINE),
        deny('docker-image://docker.io/library/alpine:*'),
        deny(BUSYBOX),
      ),
      BUSYBOX,
    );
    assert.equal(d.decision, 'deny');
    assert.equal(d.identifier, ALPINE);
    assert.equal(d.rule?.index, 2);
  });

  it('follows a chain of conversions', () => {
    const buster = 'docker-image://docker.io/library/debian:buster';
    const bullseye = 'docker-image://docker.io/library/debian:bullseye';
    const d = evaluatePolicy(
      policy(convert(BUSYBOX, ALPINE), convert(ALPINE, buster), convert(buster, bullseye)),
      BUSYBOX,
    );
    assert.equal(d.identifier, bullseye);
    assert.deepEqual(
      d.conversions.map((c) => c.rule.index),
      [0, 1, 2],
    );
  });

  it('a CONVERT that changes nothing is passed over, so later rules still apply', () => {
    const p = policy(
      convert('docker-image://docker.io/library/*', 'docker-image://docker.io/library/${1}'),
      deny('docker-image://docker.io/library/busybox:*'),
    );
    const d = evaluatePolicy(p, BUSYBOX);
    assert.equal(d.decision, 'deny');
    assert.deepEqual(d.conversions, []);
  });

  it(`stops a loop after ${MAX_CONVERSIONS} conversions with POLICY_INVALID`, () => {
    const err = thrown(
      () => evaluatePolicy(policy(convert(BUSYBOX, ALPINE), convert(ALPINE, BUSYBOX)), BUSYBOX),
      'POLICY_INVALID',
    );
    assert.equal((err.details.conversions as unknown[]).length, MAX_CONVERSIONS + 1);
    assert.equal(err.details.identifier, BUSYBOX);
  });

  it(`allows exactly ${MAX_CONVERSIONS} conversions, as BuildKit`, () => {
    const id = (n: number) => `docker-image://docker.io/library/step:${n}`;
    const chain = (n: number) => policy(...Array.from({ length: n }, (_, i) => convert(id(i), id(i + 1))));
    assert.equal(evaluatePolicy(chain(MAX_CONVERSIONS), id(0)).identifier, id(MAX_CONVERSIONS));
    thrown(() => evaluatePolicy(chain(MAX_CONVERSIONS + 1), id(0)), 'POLICY_INVALID');
  });

  it('refuses a conversion to an invalid identifier or another kind of source, naming the rule', () => {
    const toUrl = thrown(
      () => evaluatePolicy(policy(allow(ALPINE), convert(BUSYBOX, 'https://h.test/x')), BUSYBOX),
      'POLICY_INVALID',
    );
    assert.equal((toUrl.details.rule as { index: number }).index, 1);
    assert.equal(toUrl.details.field, 'rules[1].updates.identifier');
    thrown(() => evaluatePolicy(policy(convert(BUSYBOX, 'docker-image://Bad')), BUSYBOX), 'POLICY_INVALID');
    thrown(
      () => evaluatePolicy(policy(convert('http://a.test/*', 'ftp://b.test/${1}')), 'http://a.test/debian'),
      'POLICY_INVALID',
    );
    // a caller's normaliser decides for identifiers of its own
    const d = evaluatePolicy(policy(convert('x', 'y')), 'x', { normalize: (s) => s.toUpperCase() });
    assert.equal(d.identifier, 'Y');
  });

  it('converts package source URLs (normalised)', () => {
    const p = policy(convert('http://old.test/*', 'HTTP://Mirror.test/${1}/'));
    assert.equal(evaluatePolicy(p, 'http://old.test/debian').identifier, 'http://mirror.test/debian');
  });
});

describe('enforcePolicy', () => {
  const text = `{
  "rules": [
    {"action": "CONVERT", "selector": {"identifier": "${BUSYBOX}"}, "updates": {"identifier": "${ALPINE}"}},
    {"action": "DENY", "selector": {"identifier": "docker-image://docker.io/library/alpine:*"}}
  ]
}`;
  const p = parsePolicy(text, '/p/policy.json');

  it('throws POLICY_DENIED naming the rule, its selector and position, and the source', () => {
    const err = thrown(() => enforcePolicy(p, BUSYBOX), 'POLICY_DENIED');
    assert.equal(
      err.message,
      `source ${ALPINE} (converted from ${BUSYBOX} by rules[0]) is denied by rules[1] (DENY WILDCARD "docker-image://docker.io/library/alpine:*") at /p/policy.json:4:5`,
    );
    assert.ok(err.hint?.includes('last one decides'));
    assert.deepEqual(err.details.rule, {
      index: 1,
      action: 'DENY',
      selector: { identifier: 'docker-image://docker.io/library/alpine:*', matchType: 'WILDCARD' },
      line: 4,
      column: 5,
    });
    assert.equal(err.details.identifier, ALPINE);
    assert.equal(err.details.input, BUSYBOX);
    assert.equal(err.details.file, '/p/policy.json');
  });

  it('returns the decision when allowed', () => {
    assert.equal(enforcePolicy(p, 'docker-image://docker.io/library/debian:12').decision, 'allow');
  });
});
