// The layers' codec is checked before anything is fetched: zstd layers need Node's built-in zstd.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { zstdAvailable } from '../../src/compress/index.js';
import { isImprintError } from '../../src/errors.js';
import { buildDir } from '../helpers/build-dir.js';

describe('layer compression', () => {
  test("zstd layers: built with Node's zstd, else refused up front naming the spec line", async () => {
    const work = await mkdtemp(join(tmpdir(), 'imprint-codec-'));
    try {
      const dir = join(work, 'spec');
      await mkdir(join(dir, 'app'), { recursive: true });
      await writeFile(join(dir, 'app', 'a.txt'), 'a\n');
      const yaml = ['version: 1', 'platforms: [linux/amd64]', 'files:', '  - {source: app/, target: /app/}'];
      await writeFile(
        join(dir, 'imprint.yaml'),
        [...yaml, 'compression:', '  algorithm: zstd', ''].join('\n'),
      );
      const build = () => buildDir(dir, join(work, 'cache'));
      if (zstdAvailable()) {
        const result = await build();
        assert.equal(result.images[0]!.layers[0]!.mediaType, 'application/vnd.oci.image.layer.v1.tar+zstd');
        return;
      }
      await assert.rejects(
        build,
        (err) =>
          isImprintError(err, 'COMPRESSION_UNSUPPORTED') &&
          /imprint\.yaml:6:14: compression\.algorithm: zstd layers need/.test(err.message),
      );
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  });
});
