import assert from 'node:assert/strict';
import { chmod, chown, lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { sha256 } from '../../src/digest/index.js';
import { isImprintError } from '../../src/errors.js';
import { changesSince, lockChanges } from '../../src/lock/changes.js';
import {
  checkLock,
  type LockFile,
  type LockSpecInput,
  lockPathFor,
  lockSpecHash,
  parseLock,
  readLock,
  serializeLock,
  writeLock,
} from '../../src/lock/index.js';

const H = (c: string): string => c.repeat(64);

function sampleLock(): LockFile {
  return {
    version: 1,
    specHash: sha256('spec'),
    sources: [
      {
        url: 'http://127.0.0.1:8080/debian',
        suite: 'bookworm',
        components: ['main'],
        release: { sha256: H('a'), date: 'Sat, 10 Jun 2023 08:53:33 UTC' },
      },
    ],
    platforms: {
      'linux/arm64': [
        {
          name: 'zlib1g',
          version: '1:1.2.13.dfsg-1',
          architecture: 'arm64',
          source: 'zlib (1:1.2.13.dfsg-1)',
          filename: 'pool/main/z/zlib/zlib1g_1.2.13.dfsg-1_arm64.deb',
          size: 80000,
          sha256: H('c'),
        },
      ],
      'linux/amd64': [
        {
          name: 'zlib1g',
          version: '1:1.2.13.dfsg-1',
          architecture: 'amd64',
          source: 'zlib (1:1.2.13.dfsg-1)',
          filename: 'pool/main/z/zlib/zlib1g_1.2.13.dfsg-1_amd64.deb',
          size: 90000,
          sha256: H('d'),
        },
        {
          name: 'base-files',
          version: '12.4+deb12u1',
          architecture: 'amd64',
          source: 'base-files',
          filename: 'pool/main/b/base-files/base-files_12.4+deb12u1_amd64.deb',
          size: 70000,
          sha256: H('e'),
        },
      ],
    },
  };
}

test('serializeLock writes sorted keys, sorted packages, two-space indentation and a final newline', () => {
  const text = serializeLock(sampleLock()).toString('utf8');
  const expected = `{
  "platforms": {
    "linux/amd64": [
      {
        "architecture": "amd64",
        "filename": "pool/main/b/base-files/base-files_12.4+deb12u1_amd64.deb",
        "name": "base-files",
        "sha256": "${H('e')}",
        "size": 70000,
        "source": "base-files",
        "version": "12.4+deb12u1"
      },
      {
        "architecture": "amd64",
        "filename": "pool/main/z/zlib/zlib1g_1.2.13.dfsg-1_amd64.deb",
        "name": "zlib1g",
        "sha256": "${H('d')}",
        "size": 90000,
        "source": "zlib (1:1.2.13.dfsg-1)",
        "version": "1:1.2.13.dfsg-1"
      }
    ],
    "linux/arm64": [
      {
        "architecture": "arm64",
        "filename": "pool/main/z/zlib/zlib1g_1.2.13.dfsg-1_arm64.deb",
        "name": "zlib1g",
        "sha256": "${H('c')}",
        "size": 80000,
        "source": "zlib (1:1.2.13.dfsg-1)",
        "version": "1:1.2.13.dfsg-1"
      }
    ]
  },
  "sources": [
    {
      "components": [
        "main"
      ],
      "release": {
        "date": "Sat, 10 Jun 2023 08:53:33 UTC",
        "sha256": "${H('a')}"
      },
      "suite": "bookworm",
      "url": "http://127.0.0.1:8080/debian"
    }
  ],
  "specHash": "${sha256('spec')}",
  "version": 1
}
`;
  assert.equal(text, expected);
});

test('parse then serialize is byte-identical, and input order does not change the bytes', () => {
  const first = serializeLock(sampleLock());
  const parsed = parseLock(first, 'imprint.lock');
  assert.deepEqual(serializeLock(parsed), first);
  const shuffled = sampleLock();
  shuffled.platforms = {
    'linux/amd64': [...(shuffled.platforms['linux/amd64'] ?? [])].reverse(),
    'linux/arm64': shuffled.platforms['linux/arm64'] ?? [],
  };
  assert.deepEqual(serializeLock(shuffled), first);
  assert.deepEqual(
    parsed.platforms['linux/amd64']?.map((p) => p.name),
    ['base-files', 'zlib1g'],
  );
});

test('each spec file has its own lock beside it: imprint.yaml -> imprint.lock, NAME.yaml -> NAME.lock', () => {
  assert.equal(lockPathFor('/s/imprint.yaml'), '/s/imprint.lock');
  assert.equal(lockPathFor('/s/imprint.yml'), '/s/imprint.lock');
  assert.equal(lockPathFor('/s/web.yaml'), '/s/web.lock');
  assert.equal(lockPathFor('/s/Worker.YML'), '/s/Worker.lock');
  assert.equal(lockPathFor('/s/spec'), '/s/spec.lock');
});

test('writeLock is atomic and readLock round-trips; a missing lock is LOCK_NOT_FOUND', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'imprint-lock-'));
  try {
    const path = lockPathFor(join(dir, 'imprint.yaml'));
    assert.equal(path, join(dir, 'imprint.lock'));
    await assert.rejects(readLock(path), (e) => isImprintError(e, 'LOCK_NOT_FOUND'));
    const bytes = await writeLock(path, sampleLock());
    assert.deepEqual(await readFile(path), bytes);
    const again = await writeLock(path, await readLock(path));
    assert.deepEqual(again, bytes);
    assert.deepEqual((await readdir(dir)).sort(), ['imprint.lock']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("writeLock keeps a lock's mode (and owner, where allowed); a new lock is 0666 less the umask", async () => {
  const dir = await mkdtemp(join(tmpdir(), 'imprint-lock-mode-'));
  const umask = process.umask(0o027);
  try {
    const path = join(dir, 'imprint.lock');
    await writeLock(path, sampleLock());
    assert.equal((await stat(path)).mode & 0o777, 0o640);
    for (const mode of [0o600, 0o664, 0o444]) {
      await chmod(path, mode);
      await writeLock(path, sampleLock());
      assert.equal((await stat(path)).mode & 0o777, mode, mode.toString(8));
    }
    if (process.getuid?.() === 0) {
      // root (sudo imprint lock) leaves the user's lock the user's
      await chown(path, 12345, 23456);
      await writeLock(path, sampleLock());
      const after = await stat(path);
      assert.deepEqual([after.uid, after.gid], [12345, 23456]);
    }
    assert.deepEqual(await readdir(dir), ['imprint.lock']);
    // A lock that is a symbolic link to a shared one is written through the link.
    await mkdir(join(dir, 'app'));
    await symlink('../imprint.lock', join(dir, 'app', 'imprint.lock'));
    await writeLock(join(dir, 'app', 'imprint.lock'), { ...sampleLock(), specHash: sha256('other') });
    assert.ok((await lstat(join(dir, 'app', 'imprint.lock'))).isSymbolicLink());
    assert.equal((await readLock(path)).specHash, sha256('other'));
  } finally {
    process.umask(umask);
    await rm(dir, { recursive: true, force: true });
  }
});

test('checkLock: LOCK_STALE when the spec hash differs, silent when equal', () => {
  const lock = sampleLock();
  checkLock(lock, sha256('spec'));
  assert.throws(
    () => checkLock(lock, sha256('other')),
    (e) =>
      isImprintError(e, 'LOCK_STALE') &&
      /imprint lock/.test(e.hint ?? '') &&
      // What a user can change: no spec has an "essential flag".
      /sources, packages, platforms or base image/.test(e.hint ?? '') &&
      e.details.found === sha256('spec'),
  );
});

/** The lock as parsed JSON, mutated freely by the cases below. */
// biome-ignore lint/suspicious/noExplicitAny: the cases reach into untyped JSON on purpose
type LockJson = Record<string, any>;

function invalid(mutate: (o: LockJson) => void): unknown {
  const o = JSON.parse(serializeLock(sampleLock()).toString('utf8'));
  mutate(o);
  try {
    parseLock(JSON.stringify(o), 'x/imprint.lock');
  } catch (err) {
    return err;
  }
  assert.fail('expected LOCK_INVALID');
}

test('parseLock reports LOCK_INVALID with the JSON path of the offending field', () => {
  const cases: Array<[string, (o: LockJson) => void]> = [
    [
      '$.version',
      (o) => {
        o.version = 2;
      },
    ],
    [
      '$.specHash',
      (o) => {
        o.specHash = 'md5:abc';
      },
    ],
    [
      '$.sources[0].release.sha256',
      (o) => {
        o.sources[0].release.sha256 = 'ABC';
      },
    ],
    [
      '$.sources[0].components[0]',
      (o) => {
        o.sources[0].components[0] = 3;
      },
    ],
    [
      '$.sources[0].url',
      (o) => {
        delete o.sources[0].url;
      },
    ],
    [
      '$.platforms["linux/amd64"][1].size',
      (o) => {
        o.platforms['linux/amd64'][1].size = -1;
      },
    ],
    [
      '$.platforms["linux/amd64"][0].sha256',
      (o) => {
        o.platforms['linux/amd64'][0].sha256 = H('g');
      },
    ],
    [
      '$.platforms["linux/amd64"][0].filename',
      (o) => {
        o.platforms['linux/amd64'][0].filename = '../../../etc/x.deb';
      },
    ],
    [
      '$.platforms["linux/amd64"][1].filename',
      (o) => {
        o.platforms['linux/amd64'][1].filename = 'http://elsewhere.invalid/x.deb';
      },
    ],
    [
      '$.platforms["linux/amd64"][0].extra',
      (o) => {
        o.platforms['linux/amd64'][0].extra = 1;
      },
    ],
    [
      '$.platforms["linux/amd64"][1]',
      (o) => {
        o.platforms['linux/amd64'][1] = { ...o.platforms['linux/amd64'][0] };
      },
    ],
    [
      '$.platforms["amd64"]',
      (o) => {
        o.platforms.amd64 = [];
      },
    ],
    [
      '$.platforms',
      (o) => {
        o.platforms = [];
      },
    ],
    [
      '$.comment',
      (o) => {
        o.comment = 'x';
      },
    ],
  ];
  for (const [path, mutate] of cases) {
    const err = invalid(mutate);
    assert.ok(isImprintError(err, 'LOCK_INVALID'), `${path}: ${String(err)}`);
    assert.equal(err.details.path, path);
    assert.equal(err.details.file, 'x/imprint.lock');
  }
  assert.throws(
    () => parseLock('{', 'l'),
    (e) => isImprintError(e, 'LOCK_INVALID') && e.details.path === '$',
  );
});

test('parseLock says a newer format needs a newer imprint', () => {
  const err = invalid((o) => {
    o.version = 7;
  });
  assert.ok(isImprintError(err, 'LOCK_INVALID') && /newer/.test(err.hint ?? ''));
});

test('lockSpecHash: stable, sensitive to resolution inputs, blind to platform order', () => {
  const base: LockSpecInput = {
    sources: [{ url: 'http://127.0.0.1/debian', suites: ['bookworm'], components: ['main'] }],
    packages: ['python3', 'ca-certificates'],
    platforms: ['linux/amd64', 'linux/arm64'],
    essential: false,
  };
  const h = lockSpecHash(base);
  assert.match(h, /^sha256:[a-f0-9]{64}$/);
  assert.equal(lockSpecHash({ ...base, platforms: ['linux/arm64', 'linux/amd64', 'linux/amd64'] }), h);
  const changed: LockSpecInput[] = [
    { ...base, packages: ['ca-certificates', 'python3'] },
    { ...base, packages: ['python3'] },
    { ...base, essential: true },
    { ...base, platforms: ['linux/amd64'] },
    { ...base, sources: [{ ...base.sources[0]!, suites: ['bookworm', 'bookworm-updates'] }] },
    { ...base, sources: [{ ...base.sources[0]!, components: ['main', 'contrib'] }] },
    { ...base, sources: [{ ...base.sources[0]!, url: 'http://127.0.0.1/other' }] },
    { ...base, sources: [{ ...base.sources[0]!, architectures: ['amd64'] }] },
    { ...base, extra: { base: 'x' } },
  ];
  for (const c of changed) assert.notEqual(lockSpecHash(c), h, JSON.stringify(c));
  // Golden value: a change here makes every existing lock stale; make it deliberately and note it.
  assert.equal(h, 'sha256:bc85d88d46dadef2d0f6c00479fd577229f03dc8657313cbd913a009bf8d01b3');
});

test('lockChanges lists what a re-lock changed: versions, other .debs, packages and platforms added or removed', () => {
  const before = sampleLock();
  const after = structuredClone(before);
  const arm = after.platforms['linux/arm64'] as LockFile['platforms'][string];
  arm[0] = { ...arm[0]!, version: '1:1.3-1', sha256: H('9') };
  arm.push({ ...arm[0]!, name: 'newlib', version: '2' });
  after.platforms['linux/s390x'] = [];
  const lines = lockChanges(before, after);
  assert.ok(lines.includes('linux/arm64: zlib1g 1:1.2.13.dfsg-1 -> 1:1.3-1'), lines.join('\n'));
  // An older version (a security suite dropped from the spec) is said to be one.
  assert.ok(
    lockChanges(after, before).includes('linux/arm64: zlib1g 1:1.3-1 -> 1:1.2.13.dfsg-1 (a downgrade)'),
  );
  assert.ok(lines.includes('linux/arm64: + newlib 2'));
  assert.ok(lines.includes('linux/s390x: platform added'));
  assert.deepEqual(lockChanges(before, before), []);
  assert.deepEqual(
    lockChanges(after, before).filter((l) => l.includes('newlib')),
    ['linux/arm64: - newlib 2'],
  );
  // The previous bytes of a lock: nothing to tell when there were none or they do not parse.
  assert.deepEqual(changesSince(undefined, after, 'imprint.lock'), []);
  assert.deepEqual(changesSince(new TextEncoder().encode('{'), after, 'imprint.lock'), []);
  assert.deepEqual(changesSince(serializeLock(before), after, 'imprint.lock'), lines);
});

test('lockChanges says what changed when the packages did not: a source, a new Release, the spec hash', () => {
  const before = sampleLock();
  const source = before.sources[0]!;
  const release = { sha256: H('7'), date: 'Tue, 02 Jan 2024 00:00:00 UTC' };
  assert.deepEqual(lockChanges(before, { ...before, sources: [{ ...source, release }] }), [
    `sources[0]: ${source.url} ${source.suite}: Release of ${source.release.date} -> ${release.date}, same packages`,
  ]);
  const moved = { ...source, url: 'http://127.0.0.1:1/other' };
  assert.deepEqual(lockChanges(before, { ...before, sources: [moved] }), [
    `sources[0]: ${source.url} ${source.suite} [main] -> http://127.0.0.1:1/other ${source.suite} [main]`,
  ]);
  assert.deepEqual(lockChanges(before, { ...before, specHash: sha256('x') }), [
    `spec hash ${before.specHash} -> ${sha256('x')}: the spec changed, the packages did not`,
  ]);
});

test('lockChanges says when the base image a tag names moved', () => {
  const D = (c: string) => `sha256:${H(c)}` as const;
  const image = { digest: D('c'), size: 500, mediaType: 'application/vnd.oci.image.manifest.v1+json' };
  const before: LockFile = {
    ...sampleLock(),
    base: { ref: 'docker://127.0.0.1:5000/base:1', digest: D('a'), platforms: { 'linux/amd64': image } },
  };
  const after: LockFile = { ...before, base: { ...before.base!, digest: D('b') } };
  assert.deepEqual(lockChanges(before, after), [
    `base docker://127.0.0.1:5000/base:1: ${D('a')} -> ${D('b')}`,
  ]);
  assert.deepEqual(lockChanges(before, before), []);
  const { base: _, ...without } = before;
  assert.deepEqual(lockChanges(without, before), [`base docker://127.0.0.1:5000/base:1: added (${D('a')})`]);
});
