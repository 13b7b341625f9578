// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${1} is BuildKit's capture syntax in updates.identifier, not a template literal
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  compileSelector,
  expandTemplate,
  formatConversion,
  regexPattern,
  replaceAll,
  selectorMatches,
  wildcardPattern,
} from '../../src/policy/match.js';

/** The match of `re` in `text` (fails the test when there is none). */
function exec(re: RegExp, text: string): RegExpExecArray {
  const m = re.exec(text);
  assert.ok(m !== null, `${re} should match ${text}`);
  return m;
}

describe('wildcardPattern', () => {
  it('matches the whole identifier, each * as a group, every other character literally', () => {
    const re = wildcardPattern('docker-image://docker.io/library/golang:*');
    assert.ok(re.test('docker-image://docker.io/library/golang:1.19'));
    assert.ok(re.test('docker-image://docker.io/library/golang:'));
    assert.ok(!re.test('docker-image://dockerXio/library/golang:1.19'), '. is literal');
    assert.ok(!re.test('xdocker-image://docker.io/library/golang:1.19'), 'anchored at the start');
    assert.deepEqual([...exec(wildcardPattern('a*b*c'), 'a1b2c')], ['a1b2c', '1', '2']);
    assert.ok(wildcardPattern('(a)[b]{1}+?|^$\\').test('(a)[b]{1}+?|^$\\'));
  });

  it('refuses ** as BuildKit does', () => {
    assert.throws(() => wildcardPattern('docker-image://**'), /\*\*/);
  });
});

describe('regexPattern', () => {
  it('reads ECMAScript syntax without the u flag, so BuildKit-style \\- escapes work', () => {
    assert.ok(regexPattern('docker\\-image://docker\\.io/(.*)').test('docker-image://docker.io/x'));
  });

  it("accepts Go's (?P<name>...) outside escapes and character classes", () => {
    const m = exec(regexPattern('golang:(?P<ver>[0-9.]+)'), 'docker-image://docker.io/library/golang:1.21');
    assert.equal(m.groups?.ver, '1.21');
    assert.ok(regexPattern('[(?P<]x').test('Px'), 'inside a class the text stays literal');
  });

  it('throws for an invalid pattern', () => {
    assert.throws(() => regexPattern('golang:('), SyntaxError);
  });
});

describe('expandTemplate (Go Regexp.Expand)', () => {
  const m = exec(/(?<repo>[a-z]+):([0-9]+)(x)?/, 'alpine:3');
  const cases: [string, string][] = [
    ['$1', 'alpine'],
    ['${1}', 'alpine'],
    ['${2}-slim', '3-slim'],
    ['$2-slim', '3-slim'],
    ['$2slim', ''], // the group named "2slim" does not exist
    ['${repo}', 'alpine'],
    ['$repo:latest', 'alpine:latest'],
    ['$0', 'alpine:3'],
    ['$3', ''], // did not take part
    ['$9', ''], // out of range
    ['$$1', '$1'],
    ['a$', 'a$'],
    ['$-', '$-'],
    ['${1', '${1'],
    ['${}', '${}'],
    ['no dollar', 'no dollar'],
  ];
  for (const [template, want] of cases) {
    it(`${JSON.stringify(template)} -> ${JSON.stringify(want)}`, () => {
      assert.equal(expandTemplate(template, m), want);
    });
  }
});

describe('replaceAll (Go Regexp.ReplaceAllString)', () => {
  it('does not replace an empty match right after a match (unlike String.replace)', () => {
    assert.equal(replaceAll(/a*/, 'baaac', 'X'), 'XbXcX');
    assert.equal('baaac'.replace(/a*/g, 'X'), 'XbXXcX');
  });

  it('keeps the text the pattern did not match', () => {
    assert.equal(
      replaceAll(/docker\.io\/library\/(.*)/, 'docker-image://docker.io/library/alpine:3', 'mirror.test/$1'),
      'docker-image://mirror.test/alpine:3',
    );
    assert.equal(replaceAll(/o/, 'foo', '0'), 'f00');
    assert.equal(replaceAll(/z/, 'foo', '0'), 'foo');
  });
});

describe('selectorMatches and formatConversion', () => {
  it('an identical identifier matches whatever the match type', () => {
    for (const type of ['EXACT', 'WILDCARD', 'REGEX'] as const) {
      assert.ok(selectorMatches(compileSelector('https://h.test/a+b', type), 'https://h.test/a+b'), type);
    }
  });

  it('EXACT compares the whole string, * included', () => {
    const s = compileSelector('docker-image://docker.io/library/alpine:*', 'EXACT');
    assert.ok(!selectorMatches(s, 'docker-image://docker.io/library/alpine:3'));
    assert.equal(
      formatConversion(s, 'x', 'docker-image://target.test/a:${1}'),
      'docker-image://target.test/a:${1}',
    );
  });

  it('REGEX matches anywhere unless anchored', () => {
    const s = compileSelector('library/alpine', 'REGEX');
    assert.ok(selectorMatches(s, 'docker-image://docker.io/library/alpine:3'));
    assert.ok(
      !selectorMatches(
        compileSelector('^library/alpine', 'REGEX'),
        'docker-image://docker.io/library/alpine:3',
      ),
    );
  });

  it('substitutes wildcard groups and regex groups', () => {
    const w = compileSelector('docker-image://docker.io/library/golang:*', 'WILDCARD');
    assert.equal(
      formatConversion(
        w,
        'docker-image://docker.io/library/golang:1.19',
        'docker-image://docker.io/library/golang:${1}-alpine',
      ),
      'docker-image://docker.io/library/golang:1.19-alpine',
    );
    const r = compileSelector('^docker-image://docker\\.io/library/(?P<name>[^:]+):(.*)$', 'REGEX');
    assert.equal(
      formatConversion(
        r,
        'docker-image://docker.io/library/golang:1.19',
        'docker-image://mirror.test/${name}:${2}',
      ),
      'docker-image://mirror.test/golang:1.19',
    );
  });
});
