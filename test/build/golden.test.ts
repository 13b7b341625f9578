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
  index: 'sha256:82c2a0054ea2e0570d532738a8a158408a7a03ab8eab925d5da5e2a00b951657',
  amd64: 'sha256:90ed30f4c0ec07d74a81d1d2d7145a62b74bccef32340fbb48274e51c2c2a20b',
  layer: 'sha256:259a8cd3223bf81dec4eac55492cab7d293aa9d8397cebb72b208409a8597f8c',
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
      const result = await buildImage({ loaded: await loadSpec(dir), env: {}, store });
      await validateImage(result.set);
      assert.deepEqual(
        { index: result.index.digest, amd64: result.images[0]!.manifest.digest, layer: result.images[0]!.layers[0]!.digest },
        GOLDEN,
      );
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });
});
