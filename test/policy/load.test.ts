import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type ImprintError, isImprintError } from '../../src/errors.js';
import { loadPolicy, MAX_POLICY_BYTES, normalizePolicy, parsePolicy } from '../../src/policy/index.js';
import type { SpecIssue } from '../../src/spec/index.js';

const FILE = '/policies/policy.json';

/** The POLICY_INVALID error parsePolicy throws for `text`. */
function rejection(text: string): ImprintError {
  try {
    parsePolicy(text, FILE);
  } catch (err) {
    if (isImprintError(err)) {
      assert.equal(err.code, 'POLICY_INVALID', err.message);
      assert.equal(err.details.file, FILE);
      return err;
    }
    throw err;
  }
  assert.fail(`expected the policy to be rejected:\n${text}`);
}

/** 1-based line and column of the first occurrence of `needle` in `text`. */
function position(text: string, needle: string): [number, number] {
  const at = text.indexOf(needle);
  assert.ok(at >= 0, `${needle} is not in the text`);
  const before = text.slice(0, at).split('\n');
  return [before.length, (before.at(-1)?.length ?? 0) + 1];
}

/** The single issue of `text`, checked for its path and for pointing at the first occurrence of `at`. */
function oneIssue(text: string, path: string, at: string): SpecIssue {
  const [line, column] = position(text, at);
  const err = rejection(text);
  const issues = err.details.issues as SpecIssue[];
  assert.equal(issues.length, 1, JSON.stringify(issues));
  const [issue] = issues as [SpecIssue];
  assert.deepEqual([issue.path, issue.line, issue.column], [path, line, column]);
  assert.equal(err.details.field, path);
  assert.ok(err.message.includes(`${FILE}:${line}:${column}: ${path}: `), err.message);
  return issue;
}

const rules = (...r: string[]): string => `{\n  "rules": [\n${r.join(',\n')}\n  ]\n}\n`;

describe('parsePolicy: the BuildKit format', () => {
  it('reads the rules in order with their positions', () => {
    const policy = parsePolicy(
      rules(
        '    {"action": "CONVERT", "selector": {"identifier": "docker-image://docker.io/library/alpine:latest"}, "updates": {"identifier": "docker-image://docker.io/library/alpine:3.20"}}',
        '    {"action": "DENY", "selector": {"identifier": "docker-image://*", "match_type": "WILDCARD"}}',
        '    {"action": "ALLOW", "selector": {"identifier": "^https://", "match_type": "REGEX"}}',
        '    {"action": "ALLOW", "selector": {"identifier": "http://archive.test/debian", "match_type": "EXACT"}}',
      ),
      FILE,
    );
    assert.equal(policy.file, FILE);
    assert.deepEqual(
      policy.rules.map((r) => [
        r.index,
        r.action,
        r.selector.matchType,
        r.selector.identifier,
        r.updates?.identifier,
        r.line,
        r.column,
      ]),
      [
        [
          0,
          'CONVERT',
          'WILDCARD',
          'docker-image://docker.io/library/alpine:latest',
          'docker-image://docker.io/library/alpine:3.20',
          3,
          5,
        ],
        [1, 'DENY', 'WILDCARD', 'docker-image://*', undefined, 4, 5],
        [2, 'ALLOW', 'REGEX', '^https://', undefined, 5, 5],
        [3, 'ALLOW', 'EXACT', 'http://archive.test/debian', undefined, 6, 5],
      ],
    );
    assert.equal(policy.rules[2]?.selector.pattern?.source, '^https:\\/\\/');
    assert.equal(policy.rules[3]?.selector.pattern, undefined);
  });

  it('defaults as BuildKit: no action is ALLOW, no match_type is WILDCARD; version 1 and [] constraints/attrs accepted', () => {
    const policy = normalizePolicy({
      version: 1,
      rules: [{ selector: { identifier: 'docker-image://docker.io/*', constraints: [] } }],
    });
    assert.equal(policy.file, '(inline policy)');
    assert.deepEqual(
      policy.rules.map((r) => [r.action, r.selector.matchType]),
      [['ALLOW', 'WILDCARD']],
    );
    assert.deepEqual(normalizePolicy({}).rules, []);
    const convert = normalizePolicy({
      rules: [
        {
          action: 'CONVERT',
          selector: { identifier: 'http://a.test/x' },
          updates: { identifier: 'http://b.test/x', attrs: {} },
        },
      ],
    });
    assert.equal(convert.rules[0]?.updates?.identifier, 'http://b.test/x');
  });

  it("takes the enums' numeric forms, as Go's decoder does", () => {
    const policy = normalizePolicy({
      rules: [
        { action: 1, selector: { identifier: 'a', match_type: 2 } },
        { action: 2, selector: { identifier: 'b', match_type: 1 }, updates: { identifier: 'c' } },
        { action: 0, selector: { identifier: 'd', match_type: 0 } },
      ],
    });
    assert.deepEqual(
      policy.rules.map((r) => [r.action, r.selector.matchType]),
      [
        ['DENY', 'REGEX'],
        ['CONVERT', 'EXACT'],
        ['ALLOW', 'WILDCARD'],
      ],
    );
  });

  it('reads YAML with the same fields', () => {
    const yaml = parsePolicy(
      'rules:\n  - action: DENY\n    selector:\n      identifier: "http://*"\n  - action: ALLOW\n    selector: {identifier: "http://archive.test/*"}\n',
      '/p/policy.yaml',
    );
    const json = normalizePolicy({
      rules: [
        { action: 'DENY', selector: { identifier: 'http://*' } },
        { action: 'ALLOW', selector: { identifier: 'http://archive.test/*' } },
      ],
    });
    const strip = (p: typeof json) => p.rules.map(({ line, column, ...r }) => r);
    assert.deepEqual(strip(yaml), strip(json));
    assert.deepEqual([yaml.rules[1]?.line, yaml.rules[1]?.column], [5, 5]);
  });
});

describe('parsePolicy: invalid files', () => {
  it('a misspelt top-level key, with the nearest valid key', () => {
    const issue = oneIssue('{"rule": []}', 'rule', '"rule"');
    assert.equal(issue.suggestion, 'rules');
  });

  it('a bad action, with a suggestion', () => {
    const text = rules('    {"action": "ALOW", "selector": {"identifier": "x"}}');
    const issue = oneIssue(text, 'rules[0].action', '"ALOW"');
    assert.equal(issue.suggestion, 'ALLOW');
    assert.equal(rejection(text).details.rule, 0);
  });

  it('a bad match type, and the protojson spelling matchType', () => {
    const text = rules(
      '    {"action": "DENY", "selector": {"identifier": "x"}}',
      '    {"selector": {"identifier": "x", "match_type": "GLOB"}}',
    );
    oneIssue(text, 'rules[1].selector.match_type', '"GLOB"');
    assert.equal(rejection(text).details.rule, 1);
    const issue = oneIssue(
      rules('    {"selector": {"identifier": "x", "matchType": "EXACT"}}'),
      'rules[0].selector.matchType',
      '"matchType"',
    );
    assert.equal(issue.suggestion, 'match_type');
  });

  it('an invalid regex and a ** wildcard, at the selector identifier', () => {
    oneIssue(
      rules('    {"selector": {"identifier": "golang:(", "match_type": "REGEX"}}'),
      'rules[0].selector.identifier',
      '"golang:("',
    );
    oneIssue(
      rules('    {"selector": {"identifier": "docker-image://**"}}'),
      'rules[0].selector.identifier',
      '"docker-image://**"',
    );
  });

  it('a literal docker-image selector that is not in normal form, naming the form to write', () => {
    const issue = oneIssue(
      rules(
        '    {"action": "DENY", "selector": {"identifier": "docker-image://alpine", "match_type": "EXACT"}}',
      ),
      'rules[0].selector.identifier',
      '"docker-image://alpine"',
    );
    assert.match(issue.message, /"docker-image:\/\/docker\.io\/library\/alpine:latest"/);
    // a wildcard without * is a literal too
    oneIssue(
      rules('    {"selector": {"identifier": "docker-image://alpine:3"}}'),
      'rules[0].selector.identifier',
      '"docker-image',
    );
    oneIssue(
      rules('    {"selector": {"identifier": "docker-image://Alpine"}}'),
      'rules[0].selector.identifier',
      '"docker-image',
    );
    const star = oneIssue(
      rules('    {"selector": {"identifier": "docker-image://docker.io/library/*", "match_type": "EXACT"}}'),
      'rules[0].selector.identifier',
      '"docker-image',
    );
    assert.match(star.message, /WILDCARD/);
    // patterns are the user's business
    normalizePolicy({ rules: [{ selector: { identifier: 'docker-image://alpine*' } }] });
    normalizePolicy({ rules: [{ selector: { identifier: 'docker-image://alpine', match_type: 'REGEX' } }] });
  });

  it('CONVERT without updates.identifier; updates on ALLOW/DENY', () => {
    oneIssue(
      rules('    {"action": "CONVERT", "selector": {"identifier": "x"}}'),
      'rules[0].updates',
      '{"action"',
    );
    oneIssue(
      rules('    {"action": "CONVERT", "selector": {"identifier": "x"}, "updates": {}}'),
      'rules[0].updates.identifier',
      '{}',
    );
    oneIssue(
      rules('    {"action": "DENY", "selector": {"identifier": "x"}, "updates": {"identifier": "y"}}'),
      'rules[0].updates',
      '{"identifier": "y"}',
    );
  });

  it('attributes: updates.attrs (BuildKit http.checksum) and selector.constraints are refused', () => {
    oneIssue(
      rules(
        '    {"action": "CONVERT", "selector": {"identifier": "https://h.test/f"}, "updates": {"identifier": "https://h.test/f", "attrs": {"http.checksum": "sha256:00"}}}',
      ),
      'rules[0].updates.attrs',
      '{"http.checksum"',
    );
    oneIssue(
      rules('    {"selector": {"identifier": "x", "constraints": [{"key": "k", "value": "v"}]}}'),
      'rules[0].selector.constraints',
      '[{"key"',
    );
  });

  it('another version, a missing selector, a non-list rules', () => {
    oneIssue('{"version": 2, "rules": []}', 'version', '2');
    oneIssue(rules('    {"action": "DENY"}'), 'rules[0].selector', '{"action"');
    oneIssue('{"rules": {"action": "DENY"}}', 'rules', '{"action"');
  });

  it('lists every problem at once, in file order', () => {
    const err = rejection(
      rules(
        '    {"action": "NOPE", "selector": {"identifier": ""}}',
        '    {"action": "DENY", "selector": {"identifier": "x", "extra": 1}}',
      ),
    );
    assert.deepEqual(
      (err.details.issues as SpecIssue[]).map((i) => i.path),
      ['rules[0].action', 'rules[0].selector.identifier', 'rules[1].selector.extra'],
    );
    assert.equal(err.details.rule, 0);
  });

  it('JSON/YAML syntax errors and duplicate keys, with their position', () => {
    const syntax = rejection('{"rules": [\n  {"action": "DENY",,}\n]}');
    assert.equal(syntax.details.line, 2);
    const dup = rejection('{"rules": [], "rules": []}');
    assert.deepEqual([dup.details.line, dup.details.column], [1, 15]);
  });
});

describe('loadPolicy', () => {
  let dir = '';
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'imprint-policy-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads a JSON file and names it by its absolute path', async () => {
    const file = join(dir, 'policy.json');
    await writeFile(file, rules('    {"action": "DENY", "selector": {"identifier": "http://*"}}'));
    const policy = await loadPolicy(file);
    assert.equal(policy.file, file);
    assert.equal(policy.rules[0]?.action, 'DENY');
  });

  it('POLICY_INVALID names the file, rule and field', async () => {
    const file = join(dir, 'bad.yaml');
    await writeFile(file, 'rules:\n  - action: DENY\n    selector: {identifier: "x", match_type: EXACTLY}\n');
    await assert.rejects(loadPolicy(file), (e) => {
      assert.ok(isImprintError(e, 'POLICY_INVALID'));
      assert.deepEqual(
        [e.details.file, e.details.rule, e.details.field, e.details.line],
        [file, 0, 'rules[0].selector.match_type', 3],
      );
      assert.ok(e.message.includes(`${file}:3:45: rules[0].selector.match_type`), e.message);
      return true;
    });
  });

  it('IO for a missing file; POLICY_INVALID for a large or non-UTF-8 one', async () => {
    await assert.rejects(loadPolicy(join(dir, 'missing.json')), (e) => isImprintError(e, 'IO'));
    const big = join(dir, 'big.json');
    await writeFile(big, Buffer.alloc(MAX_POLICY_BYTES + 1, 0x20));
    await assert.rejects(loadPolicy(big), (e) => isImprintError(e, 'POLICY_INVALID'));
    const latin = join(dir, 'latin.json');
    await writeFile(latin, Buffer.from([0x7b, 0xe9, 0x7d]));
    await assert.rejects(loadPolicy(latin), (e) => isImprintError(e, 'POLICY_INVALID'));
  });
});
