import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  findAptSource,
  parseSourcesFile,
  parseSourcesList,
  readAptSources,
} from '../../src/debian/apt-sources.js';
import { isImprintError } from '../../src/errors.js';

// Example hosts use the reserved .invalid TLD: no real archive host appears in tests.
const MAIN = 'http://mirror.invalid/debian';
const SECURITY = 'http://security.invalid/debian-security';

const root = mkdtempSync(join(tmpdir(), 'imprint-aptroot-'));
after(() => rmSync(root, { recursive: true, force: true }));

function write(rel: string, text: string): void {
  const file = join(root, rel);
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, text);
}

write(
  'etc/apt/sources.list',
  `# the classic file
deb [arch=amd64,arm64 signed-by=/usr/share/keyrings/old.gpg] http://oneline.invalid/debian oldstable main contrib # trailing comment
deb-src http://oneline.invalid/debian oldstable main

`,
);
write(
  'etc/apt/sources.list.d/debian.sources',
  `# deb822 sources
Types: deb deb-src
URIs: ${MAIN}/
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
# a comment between fields
URIs: ${SECURITY}
Suites: bookworm-security
Components: main
Architectures: amd64
Check-Valid-Until: no
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://disabled.invalid/debian
Suites: trixie
Components: main
Enabled: no
`,
);
write(
  'etc/apt/sources.list.d/inline.sources',
  `Types: deb
URIs: http://inline.invalid/repo
Suites: inline
Components: main
Signed-By:
 -----BEGIN PGP PUBLIC KEY BLOCK-----
 .
 mQENBFAKEKEY
 =abcd
 -----END PGP PUBLIC KEY BLOCK-----
`,
);
write('etc/apt/sources.list.d/ignored.list.disabled', 'deb http://ignored.invalid/debian trixie main\n');
write('etc/apt/sources.list.d/zz-extra.list', 'deb http://extra.invalid/debian bookworm main\n');

describe('apt sources', () => {
  it('parses one-line entries with options and comments', () => {
    const entries = parseSourcesList(
      'deb [ arch=amd64 signed-by=/k.gpg check-valid-until=no check-date=no ] http://x.invalid/d stable main non-free\n#deb http://y.invalid sid main\n',
      'f.list',
    );
    assert.equal(entries.length, 1);
    assert.deepEqual(entries[0], {
      types: ['deb'],
      uris: ['http://x.invalid/d'],
      suites: ['stable'],
      components: ['main', 'non-free'],
      architectures: ['amd64'],
      signedBy: ['/k.gpg'],
      checkValidUntil: false,
      checkDate: false,
      enabled: true,
      file: 'f.list',
      line: 1,
    });
    assert.throws(
      () => parseSourcesList('rpm http://x.invalid/ stable\n', 'f.list'),
      (e) => isImprintError(e, 'DEB822_PARSE'),
    );
    assert.throws(
      () => parseSourcesList('deb http://x.invalid/\n', 'f.list'),
      (e) => isImprintError(e, 'DEB822_PARSE'),
    );
  });

  it('parses deb822 entries, including an embedded Signed-By key block', () => {
    const entries = parseSourcesFile(
      'Types: deb\nURIs: http://a.invalid\nSuites: s\nSigned-By:\n -----BEGIN PGP PUBLIC KEY BLOCK-----\n .\n abc\n -----END PGP PUBLIC KEY BLOCK-----\n',
      'x.sources',
    );
    assert.equal(
      entries[0]?.signedByKey,
      '-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nabc\n-----END PGP PUBLIC KEY BLOCK-----\n',
    );
    assert.deepEqual(entries[0]?.signedBy, []);
  });

  it('reads sources.list first, then sources.list.d/*.list and *.sources in name order', async () => {
    const entries = await readAptSources(root);
    assert.deepEqual(
      entries.map((e) => `${e.file.slice(root.length)}:${e.line}`),
      [
        '/etc/apt/sources.list:2',
        '/etc/apt/sources.list:3',
        '/etc/apt/sources.list.d/debian.sources:2',
        '/etc/apt/sources.list.d/debian.sources:8',
        '/etc/apt/sources.list.d/debian.sources:17',
        '/etc/apt/sources.list.d/inline.sources:1',
        '/etc/apt/sources.list.d/zz-extra.list:1',
      ],
    );
  });

  it('maps a suite to the URL and Signed-By keyring of the first source serving it', async () => {
    const main = await findAptSource('bookworm', { root });
    assert.equal(main.url, MAIN);
    assert.equal(main.keyring, join(root, 'usr/share/keyrings/debian-archive-keyring.gpg'));
    assert.deepEqual(main.components, ['main']);
    assert.equal(main.checkValidUntil, undefined);

    const security = await findAptSource('bookworm-security', { root });
    assert.equal(security.url, SECURITY);
    assert.equal(security.checkValidUntil, false);
    assert.deepEqual(security.architectures, ['amd64']);

    const old = await findAptSource('oldstable', { root });
    assert.equal(old.url, 'http://oneline.invalid/debian');
    assert.deepEqual(old.architectures, ['amd64', 'arm64']);
    assert.deepEqual(old.keyrings, [join(root, 'usr/share/keyrings/old.gpg')]);

    const inline = await findAptSource('inline', { root });
    assert.equal(inline.keyring, undefined);
    assert.match(inline.keyringArmored ?? '', /^-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQENBFAKEKEY\n/);
  });

  it('fails with APT_SOURCE_NOT_FOUND, hinting at `url`, for a suite no enabled source serves', async () => {
    for (const suite of ['sid', 'trixie']) {
      await assert.rejects(findAptSource(suite, { root }), (e) => {
        assert.ok(isImprintError(e, 'APT_SOURCE_NOT_FOUND'));
        assert.match(e.hint ?? '', /url/);
        assert.ok((e.details.knownSuites as string[]).includes('bookworm-security'));
        return true;
      });
    }
  });

  it("takes the first mirror of a local mirror list (mirror+file:, as Debian's cloud images write)", async () => {
    const cloud = mkdtempSync(join(tmpdir(), 'imprint-aptcloud-'));
    try {
      const put = (rel: string, text: string) => {
        mkdirSync(join(cloud, rel, '..'), { recursive: true });
        writeFileSync(join(cloud, rel), text);
      };
      put(
        'etc/apt/sources.list.d/debian.sources',
        `Types: deb deb-src
URIs: mirror+file:///etc/apt/mirrors/debian.list
Suites: bookworm bookworm-updates bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb deb-src
URIs: mirror+file:/etc/apt/mirrors/debian-security.list
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: mirror+file:/etc/apt/mirrors/ranked.list
Suites: ranked
Components: main

Types: deb
URIs: mirror+file:/etc/apt/mirrors/missing.list
Suites: missing
Components: main
`,
      );
      put('etc/apt/mirrors/debian.list', `${MAIN}/\n`);
      put('etc/apt/mirrors/debian-security.list', `# comment\n\n${SECURITY}\n`);
      put(
        'etc/apt/mirrors/ranked.list',
        [
          'cdrom:[Debian]/',
          'http://any.invalid/debian/',
          'http://partial.invalid/debian/\tpriority:1 arch:amd64',
          'http://other-suite.invalid/debian/\tpriority:1 suite:trixie',
          'http://ranked.invalid/debian/\tpriority:2',
          '',
        ].join('\n'),
      );
      const main = await findAptSource('bookworm-backports', { root: cloud });
      assert.equal(main.url, MAIN);
      assert.equal(main.keyring, join(cloud, 'usr/share/keyrings/debian-archive-keyring.gpg'));
      assert.equal((await findAptSource('bookworm-security', { root: cloud })).url, SECURITY);
      assert.equal((await findAptSource('ranked', { root: cloud })).url, 'http://ranked.invalid/debian');
      await assert.rejects(findAptSource('missing', { root: cloud }), (e) => {
        assert.ok(isImprintError(e, 'APT_SOURCE_NOT_FOUND'));
        assert.match(
          e.message,
          /mirror\+file:\/etc\/apt\/mirrors\/missing\.list \(.*debian\.sources, line 18\): its mirror list .*missing\.list does not exist/,
        );
        assert.match(e.hint ?? '', /url/);
        return true;
      });
      put('etc/apt/sources.list.d/zz.list', 'deb http://fallback.invalid/debian missing main\n');
      assert.equal((await findAptSource('missing', { root: cloud })).url, 'http://fallback.invalid/debian');
    } finally {
      rmSync(cloud, { recursive: true, force: true });
    }
  });

  it('reads copy: as file:, and names the entries it cannot use (cdrom:, a remote mirror list, credentials)', async () => {
    const list = (text: string) => parseSourcesList(text, 'sources.list');
    assert.equal(
      (await findAptSource('bookworm', { entries: list('deb copy:/srv/debian/ bookworm main\n') })).url,
      'file:/srv/debian',
    );
    const dvd = 'cdrom:[Debian GNU/Linux 12.5.0 _Bookworm_ - Official amd64 DVD Binary-1 20240210-11:28]/';
    const [cdrom] = list(`deb ${dvd} bookworm contrib main\n`);
    assert.deepEqual(
      [cdrom?.uris, cdrom?.suites, cdrom?.components],
      [[dvd], ['bookworm'], ['contrib', 'main']],
    );
    const entries = list(
      [
        `deb ${dvd} bookworm contrib main`,
        'deb mirror+http://mirrors.invalid/list.txt bookworm main',
        'deb https://user:secret@private.invalid/debian bookworm main',
        '',
      ].join('\n'),
    );
    await assert.rejects(findAptSource('bookworm', { entries }), (e) => {
      assert.ok(isImprintError(e, 'APT_SOURCE_NOT_FOUND'));
      assert.match(
        e.message,
        /cdrom:\[Debian GNU\/Linux 12\.5\.0 [^\]]*\]\/ \(sources\.list, line 1\): a method imprint cannot fetch from/,
      );
      assert.match(e.message, /mirror\+http:\/\/mirrors\.invalid\/list\.txt \(sources\.list, line 2\)/);
      assert.match(
        e.message,
        /https:\/\/\*\*\*@private\.invalid\/debian \(sources\.list, line 3\): credentials in the URL/,
      );
      assert.doesNotMatch(e.message, /secret/);
      return true;
    });
  });

  it('treats a root without apt configuration as having no sources', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'imprint-aptempty-'));
    try {
      assert.deepEqual(await readAptSources(empty), []);
      await assert.rejects(findAptSource('bookworm', { root: empty }), (e) =>
        isImprintError(e, 'APT_SOURCE_NOT_FOUND'),
      );
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
