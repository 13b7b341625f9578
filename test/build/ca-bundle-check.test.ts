// git, libcurl4 and wget only Recommend ca-certificates, which apt-get install adds and imprint does
// not: `packages: [git]` built silently and every https fetch failed at run time (curl: "(77) error
// setting certificate file"). The build warns, naming the packages.
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { caBundleNotes } from '../../src/build/ca-bundle-check.js';
import type { FileTree } from '../../src/vfs/tree.js';
import { buildDir } from '../helpers/build-dir.js';
import { addFile, memTree } from '../helpers/mem-tree.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const tempDir = tempDirs('imprint-ca-bundle-');
const BUNDLE = '/etc/ssl/certs/ca-certificates.crt';

function status(name: string, recommends?: string): string {
  return `Package: ${name}\nStatus: install ok installed\nVersion: 1\nArchitecture: amd64\n${recommends === undefined ? '' : `Recommends: ${recommends}\n`}`;
}

function image(entries: Record<string, string>): FileTree {
  const t = memTree();
  for (const [name, text] of Object.entries(entries)) addFile(t, `/var/lib/dpkg/status.d/${name}`, text);
  return t;
}

describe('CA bundle check', () => {
  test('packages recommending ca-certificates in an image without the bundle are named in one warning', async () => {
    const t = image({
      git: status('git', 'ca-certificates, patch, less'),
      'git.md5sums': 'x',
      'libcurl4:i386': status('libcurl4', 'ca-certificates | foo'),
      zlib1g: status('zlib1g'),
    });
    const notes = await caBundleNotes(t);
    assert.equal(notes.length, 1);
    assert.match(notes[0]!, /^git, libcurl4 recommend ca-certificates, which apt-get install would add/);
    assert.match(notes[0]!, /no \/etc\/ssl\/certs\/ca-certificates\.crt/);
    assert.match(notes[0]!, /add ca-certificates to packages$/);
  });

  test('with a non-empty bundle, without such packages, or only in the base: no warning', async () => {
    const withBundle = image({ git: status('git', 'ca-certificates') });
    addFile(withBundle, BUNDLE, '-----BEGIN CERTIFICATE-----\n');
    assert.deepEqual(await caBundleNotes(withBundle), []);
    const empty = image({ git: status('git', 'ca-certificates') });
    addFile(empty, BUNDLE, '');
    assert.equal((await caBundleNotes(empty)).length, 1, 'an empty bundle verifies nothing');
    assert.deepEqual(await caBundleNotes(image({ zlib1g: status('zlib1g', 'libfoo') })), []);
    assert.deepEqual(
      await caBundleNotes(image({ nodejs: status('nodejs', 'ca-certificates') })),
      [],
      'Node.js has its own roots',
    );
    const base = image({ git: status('git', 'ca-certificates') });
    const key = 'var/lib/dpkg/status.d/git';
    assert.deepEqual(await caBundleNotes(base, new Map([[key, base.get(key)!]])), []);
  });

  test('a build warns about it', async () => {
    const work = tempDir();
    const dir = join(work, 'spec');
    await mkdir(join(dir, 'status'), { recursive: true });
    await writeFile(join(dir, 'status', 'git'), status('git', 'ca-certificates, patch'));
    const yaml = [
      'version: 1',
      'platforms: [linux/amd64]',
      'files:',
      '  - {source: status/, target: /var/lib/dpkg/status.d/}',
      '',
    ];
    await writeFile(join(dir, 'imprint.yaml'), yaml.join('\n'));
    const { warnings } = await buildDir(dir, join(work, 'cache'));
    assert.equal(warnings.filter((w) => w.startsWith('git recommends ca-certificates')).length, 1);
    assert.match(warnings.find((w) => w.startsWith('git'))!, /so its TLS connections fail/);
  });
});
