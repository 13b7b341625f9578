// git, libcurl4 and wget only Recommend ca-certificates, which apt-get install adds and imprint does
// not: `packages: [git]` built silently and every https fetch failed at run time (curl: "(77) error
// setting certificate file"). The build warns, naming the packages.
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { caBundleNotes } from '../../src/build/ca-bundle-check.js';
import type { FileTree } from '../../src/vfs/tree.js';
import { assertOk, runImprint } from '../helpers/cli.js';
import { createDebRepo, repoSpecYaml } from '../helpers/debrepo.js';
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

/** The notes of `t` whose status entries (not the .md5sums) are all this build's packages. */
function notes(t: FileTree, names?: string[]): Promise<string[]> {
  const own = names ?? t.childKeys('var/lib/dpkg/status.d').map((k) => k.slice(k.lastIndexOf('/') + 1));
  const packages = own.filter((n) => !n.endsWith('.md5sums')).map((statusEntry) => ({ statusEntry }));
  return caBundleNotes(t, t, packages);
}

describe('CA bundle check', () => {
  test('packages recommending ca-certificates in an image without the bundle are named in one warning', async () => {
    const t = image({
      git: status('git', 'ca-certificates, patch, less'),
      'git.md5sums': 'x',
      'libcurl4:i386': status('libcurl4', 'ca-certificates | foo'),
      zlib1g: status('zlib1g'),
    });
    const found = await notes(t);
    assert.equal(found.length, 1);
    assert.match(found[0]!, /^git, libcurl4 recommend ca-certificates, which apt-get install would add/);
    assert.match(found[0]!, /no \/etc\/ssl\/certs\/ca-certificates\.crt/);
    assert.match(found[0]!, /add ca-certificates to packages$/);
  });

  test('with a non-empty bundle, without such packages, or only in the base: no warning', async () => {
    const withBundle = image({ git: status('git', 'ca-certificates') });
    addFile(withBundle, BUNDLE, '-----BEGIN CERTIFICATE-----\n');
    assert.deepEqual(await notes(withBundle), []);
    const empty = image({ git: status('git', 'ca-certificates') });
    addFile(empty, BUNDLE, '');
    assert.equal((await notes(empty)).length, 1, 'an empty bundle verifies nothing');
    assert.deepEqual(await notes(image({ zlib1g: status('zlib1g', 'libfoo') })), []);
    assert.deepEqual(
      await notes(image({ nodejs: status('nodejs', 'ca-certificates') })),
      [],
      'Node.js has its own roots',
    );
    // The base's git, not one of this build's packages.
    assert.deepEqual(await notes(image({ git: status('git', 'ca-certificates') }), []), []);
  });

  test('a build warns about it', async () => {
    const repo = await createDebRepo({
      packages: [
        { name: 'git', version: '1', recommends: 'ca-certificates, patch', files: { '/usr/bin/git': 'git' } },
      ],
    });
    try {
      const work = tempDir();
      const dir = join(work, 'spec');
      await mkdir(dir);
      await writeFile(join(dir, 'imprint.yaml'), repoSpecYaml(repo, 'git', ['platforms: [linux/amd64]']));
      const r = await runImprint(
        [
          '--cache-dir',
          join(work, 'cache'),
          'build',
          dir,
          '-o',
          `oci:${join(work, 'out')}`,
          '--no-attest',
          '--json',
        ],
        { env: { SOURCE_DATE_EPOCH: '1700000000' } },
      );
      assertOk(r, 'imprint build');
      const { warnings } = JSON.parse(r.stdout) as { warnings: string[] };
      assert.equal(warnings.filter((w) => w.startsWith('git recommends ca-certificates')).length, 1);
      assert.match(warnings.find((w) => w.startsWith('git'))!, /so its TLS connections fail/);
    } finally {
      await repo.close();
    }
  });
});
