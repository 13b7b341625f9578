import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type ImprintError, isImprintError } from '../../src/errors.js';
import { normalizeSpec, parseSpec, type SpecIssue } from '../../src/spec/index.js';

const FILE = '/specs/imprint.yaml';

/** The error parseSpec throws for `text` (fails the test when it does not throw). */
function rejection(text: string): ImprintError {
  try {
    parseSpec(text, FILE);
  } catch (err) {
    if (isImprintError(err)) return err;
    throw err;
  }
  assert.fail(`expected the spec to be rejected:\n${text}`);
}

function issues(text: string): SpecIssue[] {
  const err = rejection(text);
  assert.equal(err.code, 'SPEC_INVALID', err.message);
  assert.equal(err.details.file, FILE);
  return err.details.issues as SpecIssue[];
}

/** The single issue of `text`, checked for its path and line. */
function oneIssue(text: string, path: string, line: number): SpecIssue {
  const list = issues(text);
  assert.equal(list.length, 1, JSON.stringify(list));
  const [issue] = list as [SpecIssue];
  assert.equal(issue.path, path);
  assert.equal(issue.line, line);
  return issue;
}

describe('parseSpec: acceptance and defaults', () => {
  it('fills every default for the smallest spec', () => {
    assert.deepEqual(parseSpec('version: 1\n', FILE), {
      version: 1,
      platforms: [{ os: 'linux', architecture: 'amd64' }],
      files: [],
      accounts: { users: [], groups: [] },
      env: {},
      labels: {},
      annotations: {},
      sources: [],
      remove: [],
      packages: [],
      fetch: { sources: [] },
      layering: { strategy: 'single' },
      compression: { algorithm: 'gzip', level: 6 },
    });
  });

  it('normalises every field of a full spec', () => {
    const spec = parseSpec(
      `version: 1
platforms: [linux/amd64, linux/arm64, linux/arm/v7]
files:
  - source: ./app//
    target: /srv//app/./
    mode: "0755"
    owner: "1000:1000"
  - source: motd.txt
    target: /etc/motd
    mode: "644"
accounts:
  users:
    - {name: app, uid: 1000}
    - {name: root, uid: 0}
    - {name: web, uid: 33, gid: 1000, home: /var/www, shell: /bin/sh}
  groups:
    - {name: app, gid: 1000, members: [web]}
user: app
workdir: /srv//app/
env: {GREETING: hello, _X1: ""}
entrypoint: [/app/run, --flag]
cmd: []
labels: {org.opencontainers.image.title: hello}
annotations: {a.b: c}
epoch: 1700000000
sources:
  - url: https://archive.example/debian
    suites: [bookworm, bookworm-updates]
    keyring: keys/archive.gpg
    architectures: [amd64, arm64]
    check-valid-until: false
  - suites: [bookworm]
packages: [curl, "libc6=2.36-9+deb12u4", ca-certificates]
fetch: {sources: ["file:///mirror/{sha256}"]}
layering: {strategy: per-package, budget: 20}
compression: {algorithm: zstd}
`,
      FILE,
    );
    assert.deepEqual(spec.platforms, [
      { os: 'linux', architecture: 'amd64' },
      { os: 'linux', architecture: 'arm64' },
      { os: 'linux', architecture: 'arm', variant: 'v7' },
    ]);
    assert.deepEqual(spec.files, [
      { source: 'app', target: '/srv/app/', mode: 0o755, owner: { uid: 1000, gid: 1000 } },
      { source: 'motd.txt', target: '/etc/motd', mode: 0o644, owner: { uid: 0, gid: 0 } },
    ]);
    assert.deepEqual(spec.accounts, {
      users: [
        { name: 'app', uid: 1000, gid: 1000, home: '/home/app', shell: '/usr/sbin/nologin' },
        { name: 'root', uid: 0, gid: 0, home: '/root', shell: '/usr/sbin/nologin' },
        { name: 'web', uid: 33, gid: 1000, home: '/var/www', shell: '/bin/sh' },
      ],
      // root's gid 0 is declared by no group, so root gets a group of its own name
      groups: [
        { name: 'app', gid: 1000, members: ['web'] },
        { name: 'root', gid: 0, members: [], implicit: true },
      ],
    });
    assert.equal(spec.user, 'app');
    assert.equal(spec.workdir, '/srv/app');
    assert.deepEqual(spec.env, { GREETING: 'hello', _X1: '' });
    assert.deepEqual(spec.entrypoint, ['/app/run', '--flag']);
    assert.deepEqual(spec.cmd, []);
    assert.deepEqual(spec.labels, { 'org.opencontainers.image.title': 'hello' });
    assert.deepEqual(spec.annotations, { 'a.b': 'c' });
    assert.equal(spec.epoch, 1700000000);
    assert.deepEqual(spec.sources, [
      {
        url: 'https://archive.example/debian',
        suites: ['bookworm', 'bookworm-updates'],
        components: ['main'],
        keyring: 'keys/archive.gpg',
        architectures: ['amd64', 'arm64'],
        checkValidUntil: false,
      },
      { suites: ['bookworm'], components: ['main'] },
    ]);
    assert.deepEqual(spec.packages, [
      { name: 'curl' },
      { name: 'libc6', version: '2.36-9+deb12u4' },
      { name: 'ca-certificates' },
    ]);
    assert.deepEqual(spec.fetch, { sources: ['file:///mirror/{sha256}'] });
    assert.deepEqual(spec.layering, { strategy: 'per-package', budget: 20 });
    assert.deepEqual(spec.compression, { algorithm: 'zstd', level: 3 });
  });

  it("reads a package's suite as name/suite or {name, suite}, with a version or not", () => {
    const spec = parseSpec(
      'version: 1\nsources: [{suites: [bookworm, bookworm-backports]}]\npackages:\n  - curl/bookworm-backports\n  - git=1:2.39.5-0+deb12u2/bookworm\n  - {name: "tzdata", suite: bookworm-backports, dependencies: false}\n  - zstd\n',
      FILE,
    );
    assert.deepEqual(spec.packages, [
      { name: 'curl', suite: 'bookworm-backports' },
      { name: 'git', version: '1:2.39.5-0+deb12u2', suite: 'bookworm' },
      { name: 'tzdata', suite: 'bookworm-backports', dependencies: false },
      { name: 'zstd' },
    ]);
  });

  it('keeps the order of files and of map keys as written', () => {
    const spec = parseSpec(
      'version: 1\nenv: {Z: "1", A: "2"}\nfiles:\n  - {source: b, target: /b}\n  - {source: a, target: /a}\n',
      FILE,
    );
    assert.deepEqual(Object.keys(spec.env), ['Z', 'A']);
    assert.deepEqual(
      spec.files.map((f) => f.source),
      ['b', 'a'],
    );
  });

  it('accepts numeric users and a whole-directory source', () => {
    const spec = parseSpec('version: 1\nuser: "1000:1000"\nfiles: [{source: ., target: /}]\n', FILE);
    assert.equal(spec.user, '1000:1000');
    assert.deepEqual(spec.files[0], { source: '.', target: '/', owner: { uid: 0, gid: 0 } });
    assert.equal(parseSpec('version: 1\nuser: "0"\n', FILE).user, '0');
  });

  it('lets two users share a gid no group declares (one implicit group, named after the first)', () => {
    const spec = parseSpec(
      'version: 1\naccounts:\n  users: [{name: a, uid: 10, gid: 50}, {name: b, uid: 11, gid: 50}]\n',
      FILE,
    );
    assert.deepEqual(spec.accounts.groups, [{ name: 'a', gid: 50, members: [], implicit: true }]);
  });

  it('uses the default compression level of each algorithm and accepts explicit ones', () => {
    assert.deepEqual(parseSpec('version: 1\ncompression: {algorithm: gzip, level: 9}\n', FILE).compression, {
      algorithm: 'gzip',
      level: 9,
    });
    assert.deepEqual(parseSpec('version: 1\ncompression: {level: 1}\n', FILE).compression, {
      algorithm: 'gzip',
      level: 1,
    });
    assert.deepEqual(parseSpec('version: 1\ncompression: {algorithm: zstd, level: 19}\n', FILE).compression, {
      algorithm: 'zstd',
      level: 19,
    });
  });

  it('names the level range of the algorithm when a level is out of range', () => {
    for (const [text, range] of [
      ['{algorithm: gzip, level: 99}', 'gzip level from 1 to 9'],
      ['{algorithm: gzip, level: 0}', 'gzip level from 1 to 9'],
      ['{algorithm: gzip, level: 12}', 'gzip level from 1 to 9'],
      ['{algorithm: zstd, level: 20}', 'zstd level from 1 to 19'],
      ['{level: 42}', 'gzip level from 1 to 9'],
    ] as const) {
      const issue = oneIssue(`version: 1\ncompression: ${text}\n`, 'compression.level', 2);
      assert.match(issue.message, new RegExp(`expected a ${range}, found the number`), text);
      assert.doesNotMatch(issue.message, /whole number/, text);
    }
  });

  it('refuses a layer budget above 127, the most layers Docker, Podman and CRI-O run', () => {
    const issue = oneIssue(
      'version: 1\nlayering: {strategy: per-package, budget: 500}\n',
      'layering.budget',
      2,
    );
    assert.match(issue.message, /expected a number <= 127 .*found the number 500/);
    assert.equal(
      parseSpec('version: 1\nlayering: {strategy: per-package, budget: 127}\n', FILE).layering.budget,
      127,
    );
  });

  it('refuses a layer budget for strategy single (the default), which makes one layer', () => {
    for (const layering of ['{budget: 8}', '{strategy: single, budget: 2}']) {
      const issue = oneIssue(`version: 1\nlayering: ${layering}\n`, 'layering.budget', 2);
      assert.match(
        issue.message,
        /is for strategy per-package; the strategy is single \(the default\), which makes one layer: add strategy: per-package, or drop budget/,
      );
    }
    assert.deepEqual(parseSpec('version: 1\nlayering: {strategy: single, budget: 1}\n', FILE).layering, {
      strategy: 'single',
      budget: 1,
    });
  });

  it('normalizeSpec takes already parsed values (no positions)', () => {
    assert.equal(normalizeSpec({ version: 1, epoch: 0 }).epoch, 0);
    try {
      normalizeSpec({ version: 1, mode: 1 }, { file: 'inline.yaml' });
      assert.fail('expected SPEC_INVALID');
    } catch (err) {
      assert.ok(isImprintError(err, 'SPEC_INVALID'));
      const [issue] = err.details.issues as [SpecIssue];
      assert.equal(issue.path, 'mode');
      assert.equal(issue.line, undefined);
      assert.equal(err.details.file, 'inline.yaml');
    }
  });
});

describe('parseSpec: YAML errors are SPEC_PARSE with a line', () => {
  it('reports duplicate keys', () => {
    const err = rejection('version: 1\nuser: a\nworkdir: /x\nuser: b\n');
    assert.equal(err.code, 'SPEC_PARSE');
    assert.equal(err.details.line, 4);
    assert.equal((err.details.issues as SpecIssue[])[0]?.line, 4);
    assert.match(err.message, /imprint\.yaml:4:1/);
  });

  it('reports duplicate keys in nested mappings', () => {
    const err = rejection('version: 1\nfiles:\n  - source: a\n    target: /a\n    source: b\n');
    assert.equal(err.code, 'SPEC_PARSE');
    assert.equal(err.details.line, 5);
  });

  it('reports broken syntax', () => {
    const err = rejection('version: 1\nfiles: [\n  {source: a\n');
    assert.equal(err.code, 'SPEC_PARSE');
    assert.equal(typeof err.details.line, 'number');
  });

  it('reports several documents in one file', () => {
    assert.equal(rejection('version: 1\n---\nversion: 1\n').code, 'SPEC_PARSE');
  });

  it('reports unknown tags rather than guessing', () => {
    const err = rejection('version: 1\nuser: !custom app\n');
    assert.equal(err.code, 'SPEC_PARSE');
    assert.equal(err.details.line, 2);
  });
});

describe('parseSpec: schema errors are SPEC_INVALID with path, line and column', () => {
  it('requires version 1', () => {
    oneIssue('platforms: [linux/amd64]\n', 'version', 1);
    const issue = oneIssue('# comment\nversion: 2\n', 'version', 2);
    assert.equal(issue.column, 10);
  });

  it('rejects a document that is not a mapping', () => {
    oneIssue('- version: 1\n', '(document)', 1);
    oneIssue('', '(document)', 1);
  });

  it('suggests the nearest key for an unknown key, at the key itself', () => {
    const issue = oneIssue('version: 1\nentrypiont: [/bin/app]\n', 'entrypiont', 2);
    assert.equal(issue.suggestion, 'entrypoint');
    assert.equal(issue.column, 1);
    assert.match(issue.message, /did you mean entrypoint\?/);
  });

  it("says what to write for a Dockerfile instruction's name, not the nearest key", () => {
    const expose = oneIssue('version: 1\nexpose: [8080]\n', 'expose', 2);
    assert.equal(expose.suggestion, undefined);
    assert.match(expose.message, /^unknown key "expose"; EXPOSE is exposedPorts: \[8080, 53\/udp\]/);
    assert.match(
      oneIssue('version: 1\nSTOPSIGNAL: SIGINT\n', 'STOPSIGNAL', 2).message,
      /STOPSIGNAL is stopSignal: SIGQUIT/,
    );
    assert.match(
      oneIssue('version: 1\nhealthcheck: {test: [CMD, true]}\n', 'healthcheck', 2).message,
      /--health-cmd/,
    );
    assert.match(
      oneIssue('version: 1\nfrom: debian:bookworm\n', 'from', 2).message,
      /base: \(e\.g\. base: debian:bookworm\)/,
    );
    // A Dockerfile's shell form: a string, which nothing would split or run through /bin/sh -c.
    assert.match(
      oneIssue('version: 1\ncmd: /app/run.sh --flag\n', 'cmd', 2).message,
      /expected a list of arguments in exec form \(\[\/app\/run\.sh, --flag\]; a string is not run by a shell\), found the string/,
    );
    // Only at the top: a nested key of that name gets the nearest valid key as before.
    assert.doesNotMatch(
      oneIssue('version: 1\naccounts: {ports: []}\n', 'accounts.ports', 2).message,
      /EXPOSE/,
    );
  });

  it('suggests keys inside nested mappings and lists', () => {
    const text =
      'version: 1\nfiles:\n  - source: a\n    target: /a\n  - source: b\n    taget: /b\n    mdoe: "0644"\n';
    const list = issues(text);
    const byPath = new Map(list.map((i) => [i.path, i]));
    assert.equal(byPath.get('files[1].taget')?.suggestion, 'target');
    assert.equal(byPath.get('files[1].taget')?.line, 6);
    assert.equal(byPath.get('files[1].mdoe')?.suggestion, 'mode');
    assert.equal(byPath.get('files[1].mdoe')?.line, 7);
    // the missing target is reported at the list item
    assert.equal(byPath.get('files[1].target')?.line, 5);
    assert.equal(list.length, 3);
  });

  it('suggests keys in accounts, sources and compression', () => {
    assert.equal(oneIssue('version: 1\naccounts:\n  usres: []\n', 'accounts.usres', 3).suggestion, 'users');
    assert.equal(
      oneIssue(
        'version: 1\nsources:\n  - suites: [a]\n    check-valid-untill: true\n',
        'sources[0].check-valid-untill',
        4,
      ).suggestion,
      'check-valid-until',
    );
    assert.equal(
      oneIssue('version: 1\ncompression: {algorithm: gzip, levle: 3}\n', 'compression.levle', 2).suggestion,
      'level',
    );
  });

  it('says a YAML merge key (<<) is not read, instead of listing the valid keys', () => {
    const issue = oneIssue(
      'version: 1\nfiles:\n  - {<<: {mode: "0600"}, source: a, target: /a}\n',
      'files[0]["<<"]',
      3,
    );
    assert.match(issue.message, /unknown key "<<"; YAML merge keys are not read/);
  });

  it('lists the valid keys when none is close', () => {
    const issue = oneIssue('version: 1\nlayering: {zzzzzzzz: 1}\n', 'layering.zzzzzzzz', 2);
    assert.equal(issue.suggestion, undefined);
    assert.match(issue.message, /expected one of: budget, strategy/);
  });

  it('suggests the nearest enum value', () => {
    const issue = oneIssue('version: 1\nlayering:\n  strategy: per-packge\n', 'layering.strategy', 3);
    assert.equal(issue.suggestion, 'per-package');
  });

  it('reports every problem at once, in document order', () => {
    const text = [
      'version: 1', // 1
      'entrypiont: [x]', // 2
      'files:', // 3
      '  - source: ../outside', // 4
      '    target: relative', // 5
      '    mode: 0755', // 6
      '  - source: /etc/passwd', // 7
      '    target: /a/../b', // 8
      '    owner: 1000', // 9
      'env: {"B=AD": x, GOOD: 3}', // 10
      'epoch: -1', // 11
    ].join('\n');
    const list = issues(text);
    assert.deepEqual(
      list.map((i) => [i.path, i.line]),
      [
        ['entrypiont', 2],
        ['files[0].source', 4],
        ['files[0].target', 5],
        ['files[0].mode', 6],
        ['files[1].source', 7],
        ['files[1].target', 8],
        ['files[1].owner', 9],
        ['env["B=AD"]', 10],
        ['env.GOOD', 10],
        ['epoch', 11],
      ],
    );
    const err = rejection(text);
    for (const i of list)
      assert.ok(err.message.includes(`${FILE}:${i.line}:${i.column}: ${i.path}: `), i.path);
  });

  it('asks for a quoted mode and owner', () => {
    const mode = oneIssue(
      'version: 1\nfiles:\n  - source: a\n    target: /a\n    mode: 0755\n',
      'files[0].mode',
      5,
    );
    assert.match(mode.message, /mode: "0755"/);
    assert.equal(mode.column, 11);
    oneIssue('version: 1\nfiles: [{source: a, target: /a, mode: "0855"}]\n', 'files[0].mode', 2);
    oneIssue('version: 1\nfiles: [{source: a, target: /a, mode: "75"}]\n', 'files[0].mode', 2);
    oneIssue('version: 1\nfiles: [{source: a, target: /a, mode: "01755"}]\n', 'files[0].mode', 2);
    oneIssue('version: 1\nfiles: [{source: a, target: /a, owner: "app:app"}]\n', 'files[0].owner', 2);
    oneIssue('version: 1\nfiles: [{source: a, target: /a, owner: "1:99999999999"}]\n', 'files[0].owner', 2);
  });

  it('rejects sources that leave the spec directory', () => {
    for (const source of ['..', '../x', 'a/../../x', '/abs', '']) {
      oneIssue(`version: 1\nfiles: [{source: "${source}", target: /a}]\n`, 'files[0].source', 2);
    }
    assert.equal(
      parseSpec('version: 1\nfiles: [{source: a/../b, target: /a}]\n', FILE).files[0]?.source,
      'b',
    );
  });

  it('rejects bad platforms and duplicates', () => {
    assert.match(
      oneIssue('version: 1\nplatforms: [linux/amd64, linux/sparc]\n', 'platforms[1]', 2).message,
      /linux\/sparc/,
    );
    // uname's and dpkg's names, or an architecture alone, get the OCI platform meant.
    assert.match(
      oneIssue('version: 1\nplatforms: [amd64]\n', 'platforms[0]', 2).message,
      /found the string "amd64"; did you mean linux\/amd64\?/,
    );
    assert.match(
      oneIssue('version: 1\nplatforms: [linux/x86_64]\n', 'platforms[0]', 2).message,
      /did you mean linux\/amd64\?/,
    );
    assert.match(
      oneIssue('version: 1\nplatforms: [linux/aarch64]\n', 'platforms[0]', 2).message,
      /Did you mean linux\/arm64\?/,
    );
    oneIssue('version: 1\nplatforms: [linux/arm/7]\n', 'platforms[0]', 2);
    assert.match(oneIssue('version: 1\nuser: 1000\n', 'user', 2).message, /write user: "1000"/);
    // A platform no Debian architecture builds is the spec's error, at its line (it was found by the
    // build, naming neither file nor field).
    for (const p of ['linux/arm/v9', 'windows/amd64'])
      assert.match(
        oneIssue(`version: 1\nplatforms: [linux/amd64, ${p}]\n`, 'platforms[1]', 2).message,
        /has no Debian architecture/,
      );
    oneIssue('version: 1\nplatforms: []\n', 'platforms', 2);
    const dup = oneIssue(
      'version: 1\nplatforms:\n  - linux/arm64\n  - linux/amd64\n  - linux/arm64\n',
      'platforms[2]',
      5,
    );
    assert.match(dup.message, /duplicate platform linux\/arm64/);
  });

  it('rejects bad env names and non-string values', () => {
    const key = oneIssue('version: 1\nenv:\n  OK: x\n  BAD NAME: y\n', 'env["BAD NAME"]', 4);
    assert.equal(key.column, 3);
    oneIssue('version: 1\nenv:\n  "A=B": y\n', 'env["A=B"]', 3);
    oneIssue('version: 1\nenv:\n  "": y\n', 'env[""]', 3);
    oneIssue('version: 1\nenv:\n  ÉTÉ: y\n', 'env["ÉTÉ"]', 3);
    // Names Docker's ENV and Kubernetes take, which are not shell identifiers.
    const spec = parseSpec('version: 1\nenv: {discovery.type: single-node, my-var: a, 1ST: b}\n', FILE);
    assert.deepEqual(spec.env, { 'discovery.type': 'single-node', 'my-var': 'a', '1ST': 'b' });
    oneIssue('version: 1\nenv:\n  PORT: 8080\n', 'env.PORT', 3);
    oneIssue('version: 1\nenv: [A=b]\n', 'env', 2);
  });

  it('rejects bad image paths', () => {
    oneIssue('version: 1\nworkdir: app\n', 'workdir', 2);
    oneIssue('version: 1\nworkdir: /app/../etc\n', 'workdir', 2);
    oneIssue(
      'version: 1\naccounts:\n  users: [{name: a, uid: 1, home: home/a}]\n',
      'accounts.users[0].home',
      3,
    );
  });

  it('rejects bad lists and scalars', () => {
    oneIssue('version: 1\nentrypoint: /bin/sh\n', 'entrypoint', 2);
    oneIssue('version: 1\ncmd: [1]\n', 'cmd[0]', 2);
    oneIssue('version: 1\nepoch: 1.5\n', 'epoch', 2);
    oneIssue('version: 1\nepoch: 253402300800\n', 'epoch', 2);
    oneIssue('version: 1\nlabels: {"": x}\n', 'labels[""]', 2);
  });

  it('rejects bad Debian fields', () => {
    oneIssue('version: 1\nsources: [{url: https://archive.example/debian}]\n', 'sources[0].suites', 2);
    oneIssue('version: 1\nsources: [{suites: []}]\n', 'sources[0].suites', 2);
    oneIssue('version: 1\nsources: [{url: "ftp://x/debian", suites: [a]}]\n', 'sources[0].url', 2);
    oneIssue('version: 1\nsources: [{url: not a url, suites: [a]}]\n', 'sources[0].url', 2);
    const creds = oneIssue(
      'version: 1\nsources: [{url: "https://u:p@archive.example/", suites: [a]}]\n',
      'sources[0].url',
      2,
    );
    assert.match(creds.message, /credentials/);
    oneIssue(
      'version: 1\nsources: [{suites: [a], check-valid-until: "no"}]\n',
      'sources[0].check-valid-until',
      2,
    );
    oneIssue(
      'version: 1\nsources: [{suites: [a], architectures: [AMD64]}]\n',
      'sources[0].architectures[0]',
      2,
    );
    oneIssue('version: 1\npackages: [Curl]\n', 'packages[0]', 2);
    oneIssue('version: 1\npackages: ["curl="]\n', 'packages[0]', 2);
    // apt's name:arch: the spec installs each platform's own architecture, which the message says.
    for (const text of ['curl:amd64', 'libc6:i386', 'curl:arm64=7.88.1-10'])
      assert.match(
        oneIssue(`version: 1\npackages: ["${text}"]\n`, 'packages[0]', 2).message,
        new RegExp(`without an architecture, found "${text}".*write "${text.split(':')[0]}"`),
      );
    assert.match(
      oneIssue('version: 1\npackages: [{name: "curl:amd64"}]\n', 'packages[0].name', 2).message,
      /without an architecture/,
    );
    assert.doesNotMatch(oneIssue('version: 1\npackages: [Curl]\n', 'packages[0]', 2).message, /architecture/);
    const dup = oneIssue('version: 1\npackages:\n  - curl\n  - bash\n  - curl=7.88.1-10\n', 'packages[2]', 5);
    assert.match(dup.message, /duplicate package curl/);
    // One suite of one archive twice (any spelling of its URL; both without url: the host's apt source).
    const twice = oneIssue(
      'version: 1\nsources:\n  - {url: "http://h/debian", suites: [bookworm]}\n  - url: HTTP://h/debian/\n    suites: [bookworm-updates, bookworm]\n',
      'sources[1].suites[1]',
      5,
    );
    assert.match(
      twice.message,
      /suite bookworm of http:\/\/h\/debian is listed again: first in sources\[0\]\.suites\[0\] \(line 3\)/,
    );
    const again = oneIssue('version: 1\nsources: [{suites: [a, a]}]\n', 'sources[0].suites[1]', 2);
    assert.match(
      again.message,
      /suite a of the host's apt source is listed again.*list it once in sources\[0\]\.suites/,
    );
    // Suites and components are paths in the archive's URLs: they may not leave dists/.
    const climb = oneIssue('version: 1\nsources: [{suites: ["../../x"]}]\n', 'sources[0].suites[0]', 2);
    assert.match(
      climb.message,
      /expected a suite such as bookworm.*found "\.\.\/\.\.\/x": it has a "\.\." segment/,
    );
    // apt's flat repositories (`deb URL ./`, no dists/) are not read: the suite says so.
    for (const flat of ['./', 'bookworm/'])
      assert.match(
        oneIssue(`version: 1\nsources: [{suites: ["${flat}"]}]\n`, 'sources[0].suites[0]', 2).message,
        /it ends in \/ \(apt's flat repository form, `deb URL \.\/`, which imprint does not read/,
      );
    oneIssue('version: 1\nsources: [{suites: [a], components: [/main]}]\n', 'sources[0].components[0]', 2);
    const comp = oneIssue(
      'version: 1\nsources: [{suites: [a], components: [main, contrib, main]}]\n',
      'sources[0].components[2]',
      2,
    );
    assert.match(comp.message, /duplicate component main \(also components\[0\]\)/);
    parseSpec('version: 1\nsources: [{suites: [buster/updates], components: [updates/main]}]\n', FILE);
    assert.match(
      oneIssue('version: 1\nsources: [{suites: [" a"]}]\n', 'sources[0].suites[0]', 2).message,
      /it holds whitespace/,
    );
    assert.match(
      oneIssue(
        'version: 1\nsources: [{suites: [a], architectures: [amd64, arm64, amd64]}]\n',
        'sources[0].architectures[2]',
        2,
      ).message,
      /duplicate architecture amd64 \(also architectures\[0\]\)/,
    );
    // (an entry with url and one without may still be one archive: that is for lock time)
    parseSpec('version: 1\nsources: [{suites: [a]}, {url: "http://h/d", suites: [a]}]\n', FILE);
    oneIssue('version: 1\npackages: ["curl/"]\n', 'packages[0]', 2);
    const suite = oneIssue(
      'version: 1\nsources: [{suites: [bookworm]}]\npackages:\n  - curl/bookworm-backports\n',
      'packages[0]',
      4,
    );
    assert.match(suite.message, /suite bookworm-backports, which no source lists \(they list bookworm\)/);
    // A mapping where a name or a mapping may be: the mapping's own problems, with suggestions.
    oneIssue('version: 1\npackages: [{name: curl, suite: "a b"}]\n', 'packages[0].suite', 2);
    const suit = oneIssue('version: 1\npackages: [{name: curl, suit: x}]\n', 'packages[0].suit', 2);
    assert.match(suit.message, /did you mean suite\?/);
    oneIssue('version: 1\npackages: [{name: Curl}]\n', 'packages[0].name', 2);
    oneIssue('version: 1\nfetch: {sources: [1]}\n', 'fetch.sources[0]', 2);
    // A template's placeholders and scheme are the spec's to check, at its line (they were found only
    // at fetch time, after the lock was resolved and written, without file, line or field).
    const uri = oneIssue(
      'version: 1\nfetch:\n  sources:\n    - "{url}/{filename}"\n    - "{uri}/{filename}"\n',
      'fetch.sources[1]',
      5,
    );
    assert.match(uri.message, /unknown placeholder \{uri\}; did you mean \{url\}\?/);
    assert.match(
      oneIssue('version: 1\nfetch: {sources: ["/srv/{filename}"]}\n', 'fetch.sources[0]', 2).message,
      /expected an http\(s\):\/\/ or file:\/\/ URL template.*file:\/\/\/path\/to\/dir\/\{filename\}/,
    );
    oneIssue('version: 1\nlayering: {budget: 0}\n', 'layering.budget', 2);
    oneIssue('version: 1\ncompression: {algorithm: xz}\n', 'compression.algorithm', 2);
    oneIssue('version: 1\ncompression: {algorithm: gzip, level: 12}\n', 'compression.level', 2);
    oneIssue('version: 1\ncompression: {algorithm: zstd, level: 0}\n', 'compression.level', 2);
  });
});

describe('parseSpec: account rules', () => {
  it('rejects duplicate names and ids', () => {
    const text = [
      'version: 1',
      'accounts:',
      '  users:',
      '    - {name: a, uid: 1}',
      '    - {name: a, uid: 2}',
      '    - {name: b, uid: 1}',
      '  groups:',
      '    - {name: g, gid: 1}',
      '    - {name: g, gid: 2}',
      '    - {name: h, gid: 2}',
    ].join('\n');
    assert.deepEqual(
      issues(text).map((i) => [i.path, i.line]),
      [
        ['accounts.users[1].name', 5],
        ['accounts.users[2].uid', 6],
        ['accounts.groups[1].name', 9],
        ['accounts.groups[2].gid', 10],
      ],
    );
  });

  it('requires group members listed once (any account name: the build checks the image has it); user is a name or uid[:gid]', () => {
    const spec = parseSpec(
      'version: 1\naccounts:\n  users: [{name: app, uid: 1}]\n  groups: [{name: g, gid: 5, members: [app, www-data]}]\n',
      'x.yaml',
    );
    assert.deepEqual(spec.accounts.groups[0]?.members, ['app', 'www-data']);
    oneIssue(
      'version: 1\naccounts:\n  users: [{name: app, uid: 1}]\n  groups: [{name: g, gid: 5, members: [app, app]}]\n',
      'accounts.groups[0].members[1]',
      4,
    );
    oneIssue('version: 1\naccounts:\n  users: [{name: root, uid: 5}]\n', 'accounts.users[0].uid', 3);
    oneIssue('version: 1\naccounts:\n  users: [{name: app, uid: 0}]\n', 'accounts.users[0].name', 3);
    // Any account name: whether the image has it is checked against the /etc/passwd the build makes.
    for (const user of ['root', 'nobody', 'www-data', 'daemon'])
      assert.equal(parseSpec(`version: 1\nuser: ${user}\n`, 'x.yaml').user, user);
    oneIssue('version: 1\nuser: "1:99999999999"\n', 'user', 2);
    assert.match(oneIssue('version: 1\nuser: App\n', 'user', 2).message, /account name .* or a numeric id/);
    // user[:group] as the OCI config takes it: names (checked against the image at build time) or ids.
    for (const user of ['app:staff', 'app:1000', '1000:staff', 'www-data:www-data'])
      assert.equal(parseSpec(`version: 1\nuser: "${user}"\n`, 'x.yaml').user, user);
    for (const user of ['app:', ':app', 'a:b:c', 'app:Staff'])
      assert.match(oneIssue(`version: 1\nuser: "${user}"\n`, 'user', 2).message, /expected user\[:group\]/);
    oneIssue('version: 1\nuser: "app:99999999999"\n', 'user', 2);
  });

  it('rejects a gid no group has when a group of the user name has another gid', () => {
    const issue = oneIssue(
      'version: 1\naccounts:\n  users: [{name: app, uid: 1000}]\n  groups: [{name: app, gid: 2000}]\n',
      'accounts.users[0].gid',
      3,
    );
    assert.match(issue.message, /gid: 2000/);
  });

  it('rejects bad account names and ids', () => {
    oneIssue('version: 1\naccounts:\n  users: [{name: App, uid: 1}]\n', 'accounts.users[0].name', 3);
    oneIssue('version: 1\naccounts:\n  users: [{name: a, uid: -1}]\n', 'accounts.users[0].uid', 3);
    oneIssue('version: 1\naccounts:\n  users: [{name: a, uid: 4294967295}]\n', 'accounts.users[0].uid', 3);
    oneIssue('version: 1\naccounts:\n  users: [{name: a}]\n', 'accounts.users[0].uid', 3);
  });
});
