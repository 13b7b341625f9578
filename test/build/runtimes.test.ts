// [live] Runtime images whose maintainer scripts do more than copy files: a Java image needs the JKS
// trust store ca-certificates-java builds with a Java program, and the JDK's tools are alternatives
// its postinst registers in a loop over a variable. Built from the host's Debian archive and run under
// podman. Needs the archive: runs when IMPRINT_LIVE=1 (.ci/run sets it); the logic is covered offline
// by test/debian/effects.test.ts and alternatives-parse.test.ts.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { assertOk, runImprint } from '../helpers/cli.js';
import { podmanForLayout } from '../helpers/podman.js';

const live = process.env.IMPRINT_LIVE === '1';
const skip = live ? false : 'live: set IMPRINT_LIVE=1 (needs the Debian archive)';

describe('runtime images [live]', async () => {
  const work = await mkdtemp(join(tmpdir(), 'imprint-runtimes-'));
  after(() => rm(work, { recursive: true, force: true }));

  it("a JDK image: javac and keytool on PATH, and Java's trust store holds Debian's CAs [live]", {
    skip,
  }, async () => {
    const spec = join(work, 'java');
    await mkdir(spec, { recursive: true });
    await writeFile(
      join(spec, 'imprint.yaml'),
      [
        'version: 1',
        'platforms: [linux/amd64]',
        'sources:',
        '  - {suites: [bookworm, bookworm-updates], components: [main]}',
        '  - {suites: [bookworm-security], components: [main]}',
        'packages: [openjdk-17-jdk-headless, base-files]',
        'accounts:',
        '  users: [{name: app, uid: 1000}]',
        'user: app',
        '',
      ].join('\n'),
    );
    const out = join(work, 'java-out');
    const r = assertOk(
      await runImprint(['--cache-dir', join(work, 'cache'), 'build', spec, '-o', `oci:${out}`], {
        env: { SOURCE_DATE_EPOCH: '1700000000' },
      }),
      'imprint build',
    );
    assert.doesNotMatch(
      r.stderr,
      /openjdk-17-jdk-headless: .*update-alternatives/,
      'every tool link was made',
    );
    const podman = await podmanForLayout(work, out);
    try {
      const version = await podman.run(['--entrypoint', 'javac', 'IMAGE', '-version']);
      assert.match(version.stdout + version.stderr, /^javac 17\./m);
      const list = await podman.run([
        '--entrypoint',
        'keytool',
        'IMAGE',
        '-list',
        '-cacerts',
        '-storepass',
        'changeit',
      ]);
      const count = Number(/Your keystore contains (\d+) entries/.exec(list.stdout)?.[1]);
      assert.ok(count > 100, list.stdout.slice(0, 300));
      assert.match(list.stdout, /^debian:isrg_root_x1\.pem, /m);
    } finally {
      await podman.close();
    }
  });
});
