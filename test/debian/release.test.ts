import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DEBIAN_ARCHIVE_KEYRING, type Keyring, loadKeyring } from '../../src/debian/keyring.js';
import {
  checkReleaseDate,
  checkValidUntil,
  formatRfc2822,
  parseRelease,
  parseRfc2822,
  verifyDetached,
  verifyInRelease,
} from '../../src/debian/release.js';
import { isImprintError } from '../../src/errors.js';
import { createDebRepo, type DebRepo, generateTestKey, type TestKey } from '../helpers/debrepo.js';

const now = new Date(); // keys made by this test process are valid from about now on

function sign(key: TestKey, args: string[], input: Buffer): Buffer {
  return execFileSync(
    'gpg',
    [
      '--batch',
      '--quiet',
      '--pinentry-mode',
      'loopback',
      '--passphrase',
      '',
      '--local-user',
      key.fingerprint,
      ...args,
    ],
    {
      env: { ...process.env, GNUPGHOME: key.gnupgHome },
      input,
    },
  );
}

const isSigInvalid = (e: unknown): boolean => isImprintError(e, 'SIGNATURE_INVALID');

describe('Release signatures', () => {
  let repo: DebRepo;
  let keyring: Keyring;
  let other: TestKey;
  let inRelease: Buffer;
  let release: Buffer;
  let releaseGpg: Buffer;

  before(async () => {
    repo = await createDebRepo({ packages: [{ name: 'hello', version: '1.0-1' }] });
    keyring = await loadKeyring(repo.keyringPath);
    other = generateTestKey('imprint wrong <wrong@invalid>');
    const dists = join(repo.dir, 'dists', repo.suite);
    inRelease = readFileSync(join(dists, 'InRelease'));
    release = readFileSync(join(dists, 'Release'));
    releaseGpg = readFileSync(join(dists, 'Release.gpg'));
  });
  after(() => repo.close());

  it('verifies a clearsigned InRelease and returns exactly the signed text', async () => {
    const v = await verifyInRelease(inRelease, keyring.keys, { what: 'InRelease', now });
    assert.deepEqual(v.signers, [repo.key.fingerprint]);
    assert.equal(`${v.text}\n`, release.toString('utf8'));
    assert.equal(parseRelease(v.text).suite, repo.suite);
  });

  it('rejects a tampered InRelease', async () => {
    await assert.rejects(
      verifyInRelease(Buffer.from(repo.tamperedInRelease()), keyring.keys, { what: 'InRelease', now }),
      isSigInvalid,
    );
  });

  it('rejects a signature by a key outside the keyring, and accepts it in a keyring of several keys', async () => {
    const wrong = await loadKeyring(other.keyringPath);
    await assert.rejects(verifyInRelease(inRelease, wrong.keys, { what: 'InRelease', now }), (e) => {
      assert.ok(isSigInvalid(e));
      assert.deepEqual((e as { details: { signatureKeyIds: string[] } }).details.signatureKeyIds, [
        repo.key.fingerprint.slice(-16),
      ]);
      return true;
    });
    const both = await loadKeyring([other.keyringPath, repo.keyringPath]);
    assert.deepEqual((await verifyInRelease(inRelease, both.keys, { what: 'InRelease', now })).signers, [
      repo.key.fingerprint,
    ]);
  });

  it('rejects content outside the signed message and unsigned text', async () => {
    const text = inRelease.toString('utf8');
    for (const bad of [
      `Suite: evil\n${text}`,
      `${text}\nSuite: evil\n`,
      release.toString('utf8'),
      `${text}${text}`,
    ]) {
      await assert.rejects(
        verifyInRelease(Buffer.from(bad), keyring.keys, { what: 'InRelease', now }),
        isSigInvalid,
      );
    }
    await assert.rejects(
      verifyInRelease(Buffer.from([0xff, 0xfe, 0x00]), keyring.keys, { what: 'InRelease', now }),
      (e) => isImprintError(e, 'RELEASE_INVALID'),
    );
  });

  it('verifies Release with an armored or binary detached signature, and rejects a modified Release', async () => {
    const v = await verifyDetached(release, releaseGpg, keyring.keys, { what: 'Release', now });
    assert.equal(v.text, release.toString('utf8'));
    assert.deepEqual(v.signers, [repo.key.fingerprint]);
    const binarySig = sign(repo.key, ['--detach-sign'], release);
    assert.notEqual(binarySig[0], '-'.charCodeAt(0));
    await verifyDetached(release, binarySig, keyring.keys, { what: 'Release', now });
    const changed = Buffer.from(release.toString('utf8').replace('Imprint Test', 'Imprint Tesu'));
    await assert.rejects(
      verifyDetached(changed, releaseGpg, keyring.keys, { what: 'Release', now }),
      isSigInvalid,
    );
    await assert.rejects(
      verifyDetached(release, Buffer.from('not a signature'), keyring.keys, { what: 'Release', now }),
      isSigInvalid,
    );
    const wrong = await loadKeyring(other.keyringPath);
    await assert.rejects(
      verifyDetached(release, releaseGpg, wrong.keys, { what: 'Release', now }),
      isSigInvalid,
    );
  });

  it('rejects SHA-1 signatures', async () => {
    const sha1 = sign(repo.key, ['--digest-algo', 'SHA1', '--clearsign'], release);
    await assert.rejects(verifyInRelease(sha1, keyring.keys, { what: 'InRelease', now }), isSigInvalid);
  });

  it('rejects signatures by keys that expired or were revoked by `now`', async () => {
    const expiring = generateTestKey('imprint expiring <exp@invalid>', 'rsa2048');
    execFileSync(
      'gpg',
      [
        '--batch',
        '--quiet',
        '--pinentry-mode',
        'loopback',
        '--passphrase',
        '',
        '--quick-set-expire',
        expiring.fingerprint,
        '1d',
      ],
      {
        env: { ...process.env, GNUPGHOME: expiring.gnupgHome },
      },
    );
    const expKeyFile = join(expiring.gnupgHome, 'expiring.gpg');
    writeFileSync(
      expKeyFile,
      execFileSync('gpg', ['--export', expiring.fingerprint], {
        env: { ...process.env, GNUPGHOME: expiring.gnupgHome },
      }),
    );
    const expKeys = (await loadKeyring(expKeyFile)).keys;
    const signed = sign(expiring, ['--clearsign'], release);
    await verifyInRelease(signed, expKeys, { what: 'InRelease', now });
    const later = new Date(Date.now() + 3 * 86_400_000);
    await assert.rejects(
      verifyInRelease(signed, expKeys, { what: 'InRelease', now: later }),
      (e: unknown) => {
        assert.ok(isSigInvalid(e));
        assert.match((e as { hint?: string }).hint ?? '', /check the system clock/);
        return true;
      },
    );
    // A Release a lock pins is judged when it was signed: the key since expired still verifies it
    // (inline and detached), a clock before the signature does not matter, and another key does not.
    await verifyInRelease(signed, expKeys, { what: 'InRelease', now: later, atSigningTime: true });
    const detached = sign(expiring, ['--detach-sign'], release);
    await verifyDetached(release, detached, expKeys, { what: 'Release', now: later, atSigningTime: true });
    await verifyInRelease(signed, expKeys, { what: 'InRelease', now: new Date(0), atSigningTime: true });
    await assert.rejects(
      verifyInRelease(signed, keyring.keys, { what: 'InRelease', now, atSigningTime: true }),
      isSigInvalid,
    );

    const revoked = generateTestKey('imprint revoked <rev@invalid>');
    const signedByRevoked = sign(revoked, ['--clearsign'], release);
    const env = { ...process.env, GNUPGHOME: revoked.gnupgHome };
    const revDir = join(revoked.gnupgHome, 'openpgp-revocs.d');
    const cert = readFileSync(join(revDir, readdirSync(revDir)[0] as string), 'utf8').replace(
      /^:-----BEGIN/m,
      '-----BEGIN',
    );
    execFileSync('gpg', ['--batch', '--quiet', '--import'], { env, input: cert });
    const revFile = join(revoked.gnupgHome, 'revoked.gpg');
    writeFileSync(revFile, execFileSync('gpg', ['--export', revoked.fingerprint], { env }));
    await assert.rejects(
      verifyInRelease(signedByRevoked, (await loadKeyring(revFile)).keys, { what: 'InRelease', now }),
      isSigInvalid,
    );
    await assert.rejects(
      verifyInRelease(signedByRevoked, (await loadKeyring(revFile)).keys, {
        what: 'InRelease',
        now,
        atSigningTime: true,
      }),
      isSigInvalid,
    );
    // The same signature verifies against the key as it was before the revocation: the test can fail.
    await verifyInRelease(signedByRevoked, (await loadKeyring(revoked.keyringPath)).keys, {
      what: 'InRelease',
      now,
    });
  });

  const hostInRelease = existsSync('/var/lib/apt/lists')
    ? readdirSync('/var/lib/apt/lists')
        .filter((n) => n.endsWith('_InRelease'))
        .sort()
    : [];
  it("verifies the host's cached InRelease files against the host Debian archive keyring (several keys and signatures)", {
    skip:
      hostInRelease.length > 0 && existsSync(DEBIAN_ARCHIVE_KEYRING)
        ? false
        : 'skipped: no host InRelease or archive keyring',
  }, async () => {
    const keys = (await loadKeyring(DEBIAN_ARCHIVE_KEYRING)).keys;
    for (const name of hostInRelease) {
      const bytes = readFileSync(join('/var/lib/apt/lists', name));
      const v = await verifyInRelease(bytes, keys, { what: name, now });
      assert.ok(v.signers.length >= 1, name);
      const info = parseRelease(v.text, name);
      assert.ok(info.sha256.size > 10, name);
      assert.ok(info.date !== undefined);
    }
  });
});

describe('parseRelease', () => {
  const text = [
    'Origin: Test',
    'Suite: stable',
    'Codename: bookworm',
    'Date: Sat, 10 Jun 2023 08:52:47 UTC',
    'Valid-Until: Sat, 17 Jun 2023 08:52:47 +0100',
    'Acquire-By-Hash: yes',
    'Architectures: amd64 arm64',
    'Components: main contrib',
    'MD5Sum:',
    ' d41d8cd98f00b204e9800998ecf8427e 0 main/binary-amd64/Packages',
    'SHA256:',
    ` ${'B'.repeat(64)}   123 main/binary-amd64/Packages`,
    ` ${'c'.repeat(64)} 45 main/binary-amd64/Packages.xz`,
  ].join('\n');

  it('reads the fields imprint needs', () => {
    const r = parseRelease(text, 'Release');
    assert.equal(r.suite, 'stable');
    assert.equal(r.codename, 'bookworm');
    assert.equal(r.date?.toISOString(), '2023-06-10T08:52:47.000Z');
    assert.equal(r.validUntil?.toISOString(), '2023-06-17T07:52:47.000Z');
    assert.equal(r.acquireByHash, true);
    assert.deepEqual(r.architectures, ['amd64', 'arm64']);
    assert.deepEqual(r.components, ['main', 'contrib']);
    assert.equal(r.priority, 500);
    // apt's default pin priorities: NotAutomatic 1, with ButAutomaticUpgrades 100.
    assert.equal(parseRelease(text.replace('Suite:', 'NotAutomatic: yes\nSuite:')).priority, 1);
    assert.equal(
      parseRelease(text.replace('Suite:', 'NotAutomatic: yes\nButAutomaticUpgrades: yes\nSuite:')).priority,
      100,
    );
    assert.equal(parseRelease(text.replace('Suite:', 'ButAutomaticUpgrades: yes\nSuite:')).priority, 500);
    assert.deepEqual(
      [...r.sha256],
      [
        ['main/binary-amd64/Packages', { size: 123, sha256: 'b'.repeat(64) }],
        ['main/binary-amd64/Packages.xz', { size: 45, sha256: 'c'.repeat(64) }],
      ],
    );
  });

  it('rejects releases without SHA256, with malformed lines or dates, or with several paragraphs', () => {
    for (const bad of [
      text.replace(/SHA256:[\s\S]*/, ''),
      `${text}\n nothex 1 x`,
      text.replace('Sat, 10 Jun 2023 08:52:47 UTC', 'yesterday'),
      `${text}\n\nOrigin: second`,
      ' broken',
    ]) {
      assert.throws(
        () => parseRelease(bad, 'Release'),
        (e) => isImprintError(e, 'RELEASE_INVALID'),
        bad.slice(0, 40),
      );
    }
  });

  it('formats and parses RFC 2822 dates', () => {
    const d = new Date('2024-02-29T23:59:01Z');
    assert.equal(formatRfc2822(d), 'Thu, 29 Feb 2024 23:59:01 UTC');
    assert.equal(parseRfc2822(formatRfc2822(d), 'x').getTime(), d.getTime());
    assert.equal(parseRfc2822('1 Jan 2024 00:00 -0230', 'x').toISOString(), '2024-01-01T02:30:00.000Z');
  });

  it('refuses a Release dated more than 10 minutes ahead of now unless check-date is false', () => {
    const r = parseRelease(text, 'Release');
    const date = (r.date as Date).getTime();
    checkReleaseDate(r, { now: new Date(date - 10 * 60_000), what: 'Release' });
    assert.throws(
      () =>
        checkReleaseDate(r, {
          now: new Date(date - (86_400 + 3_600 + 60 + 1) * 1000 - 10 * 60_000),
          what: 'R',
        }),
      (e) =>
        isImprintError(e, 'RELEASE_NOT_YET_VALID') &&
        /^R is not valid yet: its Date is .*, 1d 1h 11min 1s after this machine's time /.test(e.message) &&
        /check-date: false/.test(e.hint ?? ''),
    );
    checkReleaseDate(r, { now: new Date(0), what: 'Release', checkDate: false });
    checkReleaseDate(parseRelease(text.replace(/^Date:.*\n/m, ''), 'Release'), {
      now: new Date(0),
      what: 'R',
    });
  });

  it('refuses an expired Valid-Until unless check-valid-until is false', () => {
    const r = parseRelease(text, 'Release');
    checkValidUntil(r, { now: new Date('2023-06-17T07:52:47Z'), what: 'Release' });
    assert.throws(
      () => checkValidUntil(r, { now: new Date('2023-06-17T07:52:48Z'), what: 'Release' }),
      (e) => isImprintError(e, 'RELEASE_EXPIRED'),
    );
    checkValidUntil(r, { now: new Date('2030-01-01T00:00:00Z'), what: 'Release', checkValidUntil: false });
    const noLimit = parseRelease(text.replace(/Valid-Until.*\n/, ''), 'Release');
    checkValidUntil(noLimit, { now: new Date('2099-01-01T00:00:00Z'), what: 'Release' });
  });
});
