import assert from 'node:assert/strict';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  DEBIAN_ARCHIVE_KEYRING,
  keyringFingerprints,
  loadKeyring,
  readKeyringBytes,
  resolveKeyring,
} from '../../src/debian/keyring.js';
import { isImprintError } from '../../src/errors.js';
import { generateTestKey, testKey } from '../helpers/debrepo.js';

const dir = mkdtempSync(join(tmpdir(), 'imprint-keyring-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('keyrings', () => {
  const a = testKey();
  const b = generateTestKey('imprint other <other@invalid>');

  it('reads binary and armored keyrings to the same key', async () => {
    const bin = await loadKeyring(a.keyringPath);
    const arm = await loadKeyring(a.armoredKeyringPath);
    assert.deepEqual(keyringFingerprints(bin), [a.fingerprint]);
    assert.deepEqual(keyringFingerprints(arm), [a.fingerprint]);
    assert.deepEqual(bin.files, [a.keyringPath]);
  });

  it('knows a keyring by the sha256 of its bytes, parsed or not (parse: false leaves the keys unread)', async () => {
    const parsed = await loadKeyring(a.keyringPath);
    const unparsed = await loadKeyring(a.keyringPath, { parse: false });
    assert.match(parsed.digest, /^[0-9a-f]{64}$/);
    assert.equal(unparsed.digest, parsed.digest);
    assert.deepEqual(unparsed.keys, []);
    assert.notEqual((await loadKeyring(b.keyringPath, { parse: false })).digest, parsed.digest);
    const resolved = await resolveKeyring({ keyring: a.keyringPath }, { parse: false });
    assert.equal(resolved.digest, parsed.digest);
    // Garbage is only found out when parsed.
    const junk = join(dir, 'junk.gpg');
    writeFileSync(junk, 'not a key');
    assert.match((await loadKeyring(junk, { parse: false })).digest, /^[0-9a-f]{64}$/);
    await assert.rejects(loadKeyring(junk), (e) => isImprintError(e, 'KEYRING_NOT_FOUND'));
  });

  it('reads concatenated keyrings, several armored blocks, and directories of *.gpg/*.asc in name order', async () => {
    const both = join(dir, 'both.gpg');
    writeFileSync(both, Buffer.concat([readFileSync(a.keyringPath), readFileSync(b.keyringPath)]));
    assert.deepEqual(keyringFingerprints(await loadKeyring(both)), [a.fingerprint, b.fingerprint].sort());
    const blocks = join(dir, 'blocks.asc');
    writeFileSync(
      blocks,
      `${readFileSync(a.armoredKeyringPath, 'utf8')}\n${readFileSync(b.armoredKeyringPath, 'utf8')}`,
    );
    assert.equal((await loadKeyring(blocks)).keys.length, 2);

    const d = join(dir, 'trusted.gpg.d');
    mkdirSync(d);
    copyFileSync(b.armoredKeyringPath, join(d, 'b.asc'));
    copyFileSync(a.keyringPath, join(d, 'a.gpg'));
    writeFileSync(join(d, 'README'), 'not a key');
    const k = await loadKeyring(d);
    assert.deepEqual(k.files, [join(d, 'a.gpg'), join(d, 'b.asc')]);
    assert.equal(k.keys[0]?.getFingerprint().toUpperCase(), a.fingerprint);
  });

  it('fails with KEYRING_NOT_FOUND for missing paths, empty directories, garbage and keyboxes', async () => {
    await assert.rejects(loadKeyring(join(dir, 'missing.gpg')), (e) =>
      isImprintError(e, 'KEYRING_NOT_FOUND'),
    );
    const empty = join(dir, 'empty-dir');
    mkdirSync(empty);
    await assert.rejects(loadKeyring(empty), (e) => isImprintError(e, 'KEYRING_NOT_FOUND'));
    await assert.rejects(readKeyringBytes(Buffer.from('hello world, no keys here'), 'junk'), (e) =>
      isImprintError(e, 'KEYRING_NOT_FOUND'),
    );
    await assert.rejects(
      readKeyringBytes(Buffer.from('-----BEGIN PGP MESSAGE-----\n\n-----END PGP MESSAGE-----\n'), 'msg'),
      (e) => isImprintError(e, 'KEYRING_NOT_FOUND'),
    );
    await assert.rejects(
      readKeyringBytes(Buffer.alloc(0), 'empty.gpg'),
      (e) =>
        isImprintError(e, 'KEYRING_NOT_FOUND') &&
        /empty\.gpg holds no usable OpenPGP public keys: it is empty/.test(e.message),
    );
    const kbx = Buffer.alloc(32);
    kbx.write('KBXf', 4, 'latin1');
    await assert.rejects(
      readKeyringBytes(kbx, 'pubring.kbx'),
      (e) => isImprintError(e, 'KEYRING_NOT_FOUND') && /keybox/.test(e.message),
    );
  });

  it('resolves the keyring: the spec keyring, else Signed-By, else the host archive keyring, else an error', async () => {
    const root = join(dir, 'root');
    mkdirSync(root);
    await assert.rejects(
      resolveKeyring({ root }),
      (e) => isImprintError(e, 'KEYRING_NOT_FOUND') && /keyring/.test(e.hint ?? ''),
    );
    const fallback = join(root, DEBIAN_ARCHIVE_KEYRING);
    mkdirSync(join(fallback, '..'), { recursive: true });
    copyFileSync(b.keyringPath, fallback);
    assert.deepEqual((await resolveKeyring({ root })).files, [fallback]);
    assert.deepEqual((await resolveKeyring({ root, aptKeyrings: [a.keyringPath] })).files, [a.keyringPath]);
    const armored = readFileSync(a.armoredKeyringPath, 'utf8');
    assert.deepEqual(keyringFingerprints(await resolveKeyring({ root, aptArmoredKey: armored })), [
      a.fingerprint,
    ]);
    assert.deepEqual(
      (await resolveKeyring({ root, keyring: b.armoredKeyringPath, aptKeyrings: [a.keyringPath] })).files,
      [b.armoredKeyringPath],
    );
  });

  it('loads the host Debian archive keyring', {
    skip: existsSync(DEBIAN_ARCHIVE_KEYRING) ? false : `skipped: no ${DEBIAN_ARCHIVE_KEYRING}`,
  }, async () => {
    const k = await loadKeyring(DEBIAN_ARCHIVE_KEYRING);
    assert.ok(k.keys.length >= 2);
  });
});
