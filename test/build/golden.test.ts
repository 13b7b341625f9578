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
  index: 'sha256:1a5694e8ce406842c2913e8053264cd42f119037c1554d957e06da68aaab55f5',
  amd64: 'sha256:1835169529d2d8779c2a8959d545124f1f73986de5c383b0dfa82b1824251ea2',
  layer: 'sha256:cda3a9812bbd0b64cc0afc7f57a4b7354f45e19fbd6e7b771272e1dd45a62d3d',
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
