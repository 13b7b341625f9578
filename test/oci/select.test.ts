// selectPlatform: one image per platform; a platform without a variant that matches several is an
// error listing them, never a silent pick; a missing one lists what the set has.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isImprintError } from '../../src/errors.js';
import type { ImageSet } from '../../src/oci/image-set.js';
import { MediaType } from '../../src/oci/media-types.js';
import { selectPlatform } from '../../src/oci/select.js';
import type { Platform } from '../../src/oci/types.js';

const manifest = (n: number, platform: Platform) => ({
  mediaType: MediaType.ociManifest,
  digest: `sha256:${String(n).repeat(64)}` as const,
  size: 100,
  platform,
});

const set: ImageSet = {
  index: {
    schemaVersion: 2,
    mediaType: MediaType.ociIndex,
    manifests: [
      manifest(1, { os: 'linux', architecture: 'amd64' }),
      manifest(2, { os: 'linux', architecture: 'arm', variant: 'v5' }),
      manifest(3, { os: 'linux', architecture: 'arm', variant: 'v7' }),
    ],
  },
  blobs: {} as ImageSet['blobs'], // root manifests only: no blob is read
};

describe('selectPlatform', () => {
  it('selects the one image of a platform, by variant where there are several', async () => {
    const amd = await selectPlatform(set, { os: 'linux', architecture: 'amd64' });
    assert.deepEqual(
      amd.index.manifests.map((m) => m.digest),
      [set.index.manifests[0]!.digest],
    );
    const v7 = await selectPlatform(set, { os: 'linux', architecture: 'arm', variant: 'v7' });
    assert.deepEqual(
      v7.index.manifests.map((m) => m.digest),
      [set.index.manifests[2]!.digest],
    );
  });

  it('takes linux/arm64/v8 and linux/arm64 as the same platform, either way round', async () => {
    const arm = (variant?: string): ImageSet => ({
      ...set,
      index: {
        ...set.index,
        manifests: [manifest(4, { os: 'linux', architecture: 'arm64', ...(variant ? { variant } : {}) })],
      },
    });
    for (const [have, want] of [
      [undefined, 'v8'],
      ['v8', undefined],
      ['v8', 'v8'],
    ] as const) {
      const picked = await selectPlatform(arm(have), {
        os: 'linux',
        architecture: 'arm64',
        ...(want ? { variant: want } : {}),
      });
      assert.equal(picked.index.manifests.length, 1, `${have} / ${want}`);
    }
  });

  it('refuses a platform that matches several variants, and one the set lacks', async () => {
    await assert.rejects(
      selectPlatform(set, { os: 'linux', architecture: 'arm' }),
      (err: unknown) =>
        isImprintError(err, 'PLATFORM_NOT_FOUND') &&
        /linux\/arm\/v5, linux\/arm\/v7/.test(err.message) &&
        /--platform/.test(err.hint ?? ''),
    );
    await assert.rejects(
      selectPlatform(set, { os: 'linux', architecture: 'riscv64' }),
      (err: unknown) => isImprintError(err, 'PLATFORM_NOT_FOUND') && /--platform/.test(err.hint ?? ''),
    );
  });
});
