import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DEBIAN_ARCHIVE_KEYRING, keyringFingerprints } from '../../src/debian/keyring.js';
import { resolveSourceSpec } from '../../src/debian/sources.js';
import { isImprintError } from '../../src/errors.js';
import { parseSpec } from '../../src/spec/index.js';
import { copyInto, generateTestKey, testKey } from '../helpers/debrepo.js';

const root = mkdtempSync(join(tmpdir(), 'imprint-sources-'));
after(() => rmSync(root, { recursive: true, force: true }));

const archiveKey = testKey();
const securityKey = generateTestKey('imprint security <sec@invalid>');
copyInto(archiveKey.keyringPath, join(root, DEBIAN_ARCHIVE_KEYRING));
copyInto(securityKey.keyringPath, join(root, 'usr/share/keyrings/security.gpg'));
mkdirSync(join(root, 'etc/apt/sources.list.d'), { recursive: true });
writeFileSync(
  join(root, 'etc/apt/sources.list.d/host.sources'),
  `Types: deb
URIs: http://mirror.invalid/debian
Suites: bookworm bookworm-updates
Components: main

Types: deb
URIs: http://security.invalid/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/security.gpg
Check-Valid-Until: no
Check-Date: no
`,
);

describe('resolveSourceSpec', () => {
  it('maps each suite to its host apt source, keyring, Check-Valid-Until and Check-Date', async () => {
    const out = await resolveSourceSpec(
      { suites: ['bookworm', 'bookworm-security'] },
      { sourceIndex: 2, baseDir: '/spec', root },
    );
    assert.deepEqual(
      out.map((s) => [
        s.sourceIndex,
        s.url,
        s.suite,
        s.components,
        s.checkValidUntil,
        s.checkDate,
        keyringFingerprints(s.keyring),
      ]),
      [
        [2, 'http://mirror.invalid/debian', 'bookworm', ['main'], true, true, [archiveKey.fingerprint]],
        [
          2,
          'http://security.invalid/debian-security',
          'bookworm-security',
          ['main'],
          false,
          false,
          [securityKey.fingerprint],
        ],
      ],
    );
  });

  it('uses an explicit url and keyring (relative to the spec directory) as given', async () => {
    const specDir = join(root, 'project');
    copyInto(securityKey.armoredKeyringPath, join(specDir, 'keys', 'repo.asc'));
    const [s] = await resolveSourceSpec(
      {
        url: 'file:///srv/repo/',
        suites: ['anything'],
        components: ['main', 'contrib'],
        keyring: 'keys/repo.asc',
        checkValidUntil: false,
      },
      { sourceIndex: 0, baseDir: specDir, root },
    );
    assert.equal(s?.url, 'file:///srv/repo');
    assert.deepEqual(s?.components, ['main', 'contrib']);
    assert.equal(s?.checkValidUntil, false);
    assert.deepEqual(s?.keyring.files, [join(specDir, 'keys', 'repo.asc')]);
  });

  it("a spec source that leaves check-valid-until and check-date unset takes the host apt source's", async () => {
    const resolve = async (yaml: string) => {
      const [source] = parseSpec(`version: 1\nsources: [${yaml}]\n`, 'imprint.yaml').sources;
      const [s] = await resolveSourceSpec(source as never, { sourceIndex: 0, baseDir: '/', root });
      return [s?.checkValidUntil, s?.checkDate];
    };
    assert.deepEqual(await resolve('{suites: [bookworm-security]}'), [false, false]);
    assert.deepEqual(await resolve('{suites: [bookworm]}'), [true, true]);
    assert.deepEqual(
      await resolve('{suites: [bookworm-security], check-valid-until: true, check-date: true}'),
      [true, true],
    );
  });

  it('fails with APT_SOURCE_NOT_FOUND when no host source serves a suite and there is no url', async () => {
    await assert.rejects(
      resolveSourceSpec({ suites: ['trixie'] }, { sourceIndex: 0, baseDir: '/', root }),
      (e) => isImprintError(e, 'APT_SOURCE_NOT_FOUND'),
    );
  });

  it('fails with KEYRING_NOT_FOUND when nothing provides a keyring', async () => {
    const bare = mkdtempSync(join(tmpdir(), 'imprint-sources-bare-'));
    try {
      await assert.rejects(
        resolveSourceSpec(
          { url: 'http://repo.invalid/debian', suites: ['x'] },
          { sourceIndex: 0, baseDir: '/', root: bare },
        ),
        (e) => isImprintError(e, 'KEYRING_NOT_FOUND'),
      );
    } finally {
      rmSync(bare, { recursive: true, force: true });
    }
  });
});
