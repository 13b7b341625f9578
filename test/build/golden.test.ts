import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { buildImage } from '../../src/build/build.js';
import { validateImage } from '../../src/oci/validate.js';
import { loadSpec } from '../../src/spec/index.js';
import { BlobStore } from '../../src/store/index.js';

// Golden digests pin the bytes imprint writes for one tiny build. A change here is a deliberate event:
// it means every image imprint builds changes. Note it in the commit message and docs/changes.
const GOLDEN = {
  index: 'sha256:5050a958b0e19ca879a58bf13ebd439f109ada8b20e2390ce91f9babbf18f4e6',
  amd64: 'sha256:001b16e13720cc606477000042fba93c0a2fddc3a9ba85bd0848b590286fb969',
  layer: 'sha256:8cab8411830a2cb49f9eda4e73f4264a5aa209ae40c020d5ed311b423ae47519',
};

describe('golden digests', () => {
  it('pins a tiny file-only build', async () => {
    const work = await mkdtemp(join(tmpdir(), 'imprint-golden-'));
    try {
      const dir = join(work, 'spec');
      await mkdir(join(dir, 'bin'), { recursive: true });
      await writeFile(join(dir, 'bin', 'greeting.txt'), 'hello, reproducible world\n');
      await writeFile(
        join(dir, 'imprint.yaml'),
        [
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
          '',
        ].join('\n'),
      );
      const store = new BlobStore(join(work, 'cache'));
      const result = await buildImage({
        loaded: await loadSpec(dir),
        env: {},
        store,
        cacheDir: join(work, 'cache'),
      });
      await validateImage(result.set);
      assert.deepEqual(
        {
          index: result.index.digest,
          amd64: result.images[0]!.manifest.digest,
          layer: result.images[0]!.layers[0]!.digest,
        },
        GOLDEN,
      );
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });
});
