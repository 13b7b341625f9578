// A JRE whose trust store (lib/security/cacerts -> /etc/ssl/certs/java/cacerts) is missing or empty
// fails every TLS handshake at run time; the build warns. It happens when ca-certificates-java or
// ca-certificates is left out (`dependencies: false`, `remove`).
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { javaTrustNotes } from '../../src/build/java-trust-check.js';
import { jksTrustStore } from '../../src/debian/effects/java-cacerts.js';
import type { FileTree } from '../../src/vfs/tree.js';
import { buildDir } from '../helpers/build-dir.js';
import { addFile, memTree, ROOT_META } from '../helpers/mem-tree.js';

const JRE = '/usr/lib/jvm/java-17-openjdk-amd64';
const STORE = '/etc/ssl/certs/java/cacerts';

function jre(store?: Buffer): FileTree {
  const t = memTree();
  addFile(t, `${JRE}/bin/java`, Buffer.from('\x7fELF'), 0o755);
  t.add(`${JRE}/lib/security/cacerts`, { kind: 'symlink', target: STORE, mode: 0o777, ...ROOT_META });
  if (store !== undefined) addFile(t, STORE, store);
  return t;
}

describe('Java trust store check', () => {
  test('a missing store, and a JKS store without entries, are warned about', async () => {
    const [missing, ...rest] = await javaTrustNotes(jre());
    assert.deepEqual(rest, []);
    assert.match(
      missing!,
      /trust store \/usr\/lib\/jvm\/java-17-openjdk-amd64\/lib\/security\/cacerts -> \/etc\/ssl\/certs\/java\/cacerts is missing/,
    );
    assert.match(missing!, /add ca-certificates and ca-certificates-java/);
    const [empty] = await javaTrustNotes(jre(jksTrustStore([], 0)));
    assert.match(empty!, /holds no certificates/);
  });

  test('a store with certificates, another format, or no JRE: no warning', async () => {
    assert.deepEqual(
      await javaTrustNotes(jre(jksTrustStore([{ alias: 'debian:a.pem', der: Buffer.from('x') }], 0))),
      [],
    );
    assert.deepEqual(await javaTrustNotes(jre(Buffer.from('PKCS12 bytes'))), []);
    assert.deepEqual(await javaTrustNotes(memTree()), []);
  });

  test("a base image's store is not read again", async () => {
    const t = jre(jksTrustStore([], 0));
    const key = STORE.slice(1);
    assert.deepEqual(await javaTrustNotes(t, new Map([[key, t.get(key)!]])), []);
  });

  test('a build warns about it', async () => {
    const work = await mkdtemp(join(tmpdir(), 'imprint-java-trust-'));
    try {
      const dir = join(work, 'spec');
      await mkdir(join(dir, 'jre', 'bin'), { recursive: true });
      await mkdir(join(dir, 'jre', 'lib', 'security'), { recursive: true });
      await writeFile(join(dir, 'jre', 'bin', 'java'), 'x', { mode: 0o755 });
      await symlink(STORE, join(dir, 'jre', 'lib', 'security', 'cacerts'));
      const yaml = [
        'version: 1',
        'platforms: [linux/amd64]',
        'files:',
        `  - {source: jre/, target: ${JRE}/}`,
        '',
      ];
      await writeFile(join(dir, 'imprint.yaml'), yaml.join('\n'));
      const build = async () => (await buildDir(dir, join(work, 'cache'))).warnings;
      const first = await build();
      assert.equal(first.filter((w) => w.includes('Java trust store')).length, 1);
      assert.deepEqual(await build(), first, 'the cached layers repeat it');
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });
});
