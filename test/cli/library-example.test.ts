// The README's library example ("As a library"), run as it is written against an installed copy of
// the package (node_modules/imprint linking to the project, its built dist/), must build the image
// index `imprint build` builds from the same spec and cache.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { assertOk, ROOT, runImprint } from '../helpers/cli.js';
import { createDebRepo, repoSpecYaml } from '../helpers/debrepo.js';
import { tempDirs } from '../helpers/temp-dirs.js';

const run = promisify(execFile);
const tempDir = tempDirs('imprint-library-');

/** The README's code block after its `<!-- library-example -->` marker. */
async function readmeExample(): Promise<string> {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  const match = /<!-- library-example -->\n```js\n([\s\S]*?)\n```/.exec(readme);
  assert.ok(match, 'README.md has no library example after <!-- library-example -->');
  return `${match[1]}\n`;
}

test('the README library example builds the index imprint build builds', async () => {
  assert.ok(
    existsSync(join(ROOT, 'dist', 'index.js')),
    'dist/index.js is missing: run `npm run build` (npm ci does) before the tests',
  );
  const repo = await createDebRepo({
    packages: [
      {
        name: 'hello-data',
        version: '1.0',
        architecture: 'all',
        files: [{ path: '/usr/share/hello/greeting', content: 'hello from a library build\n' }],
      },
    ],
  });
  try {
    const work = tempDir();
    // An installed copy: `import ... from 'imprint'` resolves through node_modules/imprint/package.json.
    await mkdir(join(work, 'node_modules'));
    await symlink(ROOT, join(work, 'node_modules', 'imprint'));
    await writeFile(join(work, 'build.mjs'), await readmeExample());
    const spec = join(work, 'spec');
    await mkdir(spec);
    await writeFile(
      join(spec, 'imprint.yaml'),
      repoSpecYaml(repo, 'hello-data', ['accounts: {users: [{name: app, uid: 1000}]}', 'user: app']),
    );
    const cache = join(work, 'cache');
    const env = { ...process.env, SOURCE_DATE_EPOCH: '1700000000', NODE_OPTIONS: '' };
    const library = await run(
      process.execPath,
      [join(work, 'build.mjs'), spec, join(work, 'lib-out'), cache],
      {
        cwd: work,
        env,
      },
    );
    const digest = library.stdout.trim();
    assert.match(digest, /^sha256:[0-9a-f]{64}$/, `the example printed ${JSON.stringify(library.stdout)}`);
    assert.ok(existsSync(join(spec, 'imprint.lock')), 'the example wrote no lock');
    const layout = JSON.parse(await readFile(join(work, 'lib-out', 'index.json'), 'utf8')) as {
      manifests: Array<{ digest: string; annotations?: Record<string, string> }>;
    };
    const tagged = layout.manifests.find(
      (m) => m.annotations?.['org.opencontainers.image.ref.name'] === 'latest',
    );
    assert.equal(tagged?.digest, digest, 'the layout tags the printed index as latest');

    const cli = await runImprint(
      ['--cache-dir', cache, 'build', spec, '-o', `oci:${join(work, 'cli-out')}`, '--json'],
      { env: { SOURCE_DATE_EPOCH: '1700000000' } },
    );
    assertOk(cli, 'imprint build');
    assert.equal((JSON.parse(cli.stdout) as { index: string }).index, digest);
    // The referrers (provenance, SBOM) are the same blobs too: the two layouts hold the same files.
    const blobs = async (dir: string) =>
      (await run('find', [join(dir, 'blobs'), '-type', 'f', '-printf', '%f\\n'])).stdout.split('\n').sort();
    assert.deepEqual(await blobs(join(work, 'lib-out')), await blobs(join(work, 'cli-out')));
  } finally {
    await repo.close();
  }
});
