import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { type BuildResult, buildImage } from '../../src/build/build.js';
import { validateImage } from '../../src/oci/validate.js';
import { loadSpec } from '../../src/spec/index.js';
import { BlobStore } from '../../src/store/index.js';

// Golden digests pin the bytes imprint writes for one tiny build. A change here is a deliberate event:
// it means every image imprint builds changes. Note it in the commit message and docs/changes.
const GOLDEN = {
  index: 'sha256:7ee14c7093fe59760a1a1068701338867c7423cfe849fc451472c605a0b7e31c',
  amd64: 'sha256:1035f7c6e8295d7f57b4fa74c7f2aed6da8d59a5fc330f0e3bf8a96fcf319e00',
  layer: 'sha256:b5daf5bcdbf0cfa97c22ed8effceae5b408cff3ea5b49eca572169c150aa830e',
};

// A build with a file body large enough to start its own gzip members (GZIP_ALIGNED_BODY_MIN).
const GOLDEN_LARGE = { layer: 'sha256:551920008a00445629b5f4a10992e9f31d1392d76f770e315bab2583b3536623' };

/** 300 KiB of deterministic, partly compressible text. */
function largeText(): string {
  let x = 12345;
  const words = ['layer', 'digest', 'reproducible', 'imprint', 'tar', 'gzip', 'member', 'body'];
  const out: string[] = [];
  while (out.join(' ').length < 300 * 1024) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    out.push(`${words[x % words.length]}${x % 97}`);
  }
  return out.join(' ').slice(0, 300 * 1024);
}

/** Builds a spec made of `files` (path -> content, under the spec directory) and `yaml` lines, validated. */
async function buildGolden(files: Record<string, string>, yaml: string[]): Promise<BuildResult> {
  const work = await mkdtemp(join(tmpdir(), 'imprint-golden-'));
  try {
    const dir = join(work, 'spec');
    for (const [path, content] of Object.entries(files)) {
      await mkdir(dirname(join(dir, path)), { recursive: true });
      await writeFile(join(dir, path), content);
    }
    await writeFile(join(dir, 'imprint.yaml'), [...yaml, ''].join('\n'));
    const store = new BlobStore(join(work, 'cache'));
    const result = await buildImage({
      loaded: await loadSpec(dir),
      env: {},
      store,
      cacheDir: join(work, 'cache'),
    });
    await validateImage(result.set);
    return result;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

describe('golden digests', () => {
  it('pins the members cut around a large body', async () => {
    const result = await buildGolden(
      { 'data/a.txt': 'small before\n', 'data/big.txt': largeText(), 'data/z.txt': 'small after\n' },
      [
        'version: 1',
        'platforms: [linux/amd64]',
        'epoch: 1700000000',
        'files:',
        '  - {source: data/, target: /data/}',
      ],
    );
    assert.deepEqual({ layer: result.images[0]!.layers[0]!.digest }, GOLDEN_LARGE);
  });

  it('pins a tiny file-only build', async () => {
    const result = await buildGolden({ 'bin/greeting.txt': 'hello, reproducible world\n' }, [
      'version: 1',
      'platforms: [linux/amd64]',
      'epoch: 1700000000',
      'files:',
      '  - {source: bin/, target: /opt/greeting/, owner: "1000:1000"}',
      'accounts:',
      '  users: [{name: app, uid: 1000}]',
      'user: app',
      'env: {A: "1"}',
      'entrypoint: [/opt/greeting/greeting.txt]',
    ]);
    assert.deepEqual(
      {
        index: result.index.digest,
        amd64: result.images[0]!.manifest.digest,
        layer: result.images[0]!.layers[0]!.digest,
      },
      GOLDEN,
    );
  });
});
