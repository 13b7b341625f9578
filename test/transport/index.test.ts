import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BlobStore } from '../../src/store/index.js';
import { parseReference, readImageSet, writeImageSet } from '../../src/transport/index.js';
import { makeImage, rejectsWith } from './fixtures.js';

let dir: string;
let store: BlobStore;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'imprint-transport-'));
  store = new BlobStore(join(dir, 'store'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('docker:// (registry)', () => {
  it('routes docker:// to the registry transport (NETWORK when nothing listens)', async () => {
    const img = await makeImage(store);
    const ref = parseReference('docker://127.0.0.1:9/app:1');
    await rejectsWith(writeImageSet(ref, img.set, { registry: { retries: 0 } }), 'NETWORK');
    await rejectsWith(readImageSet(ref, { registry: { retries: 0 } }), 'NETWORK');
  });
});

describe('options', () => {
  it('an invalid default tag is BAD_REFERENCE before anything is written', async () => {
    const img = await makeImage(store);
    const out = join(dir, 'bad-tag');
    await rejectsWith(
      writeImageSet(parseReference(`oci:${out}`), img.set, { tag: 'no spaces' }),
      'BAD_REFERENCE',
    );
    await assert.rejects(stat(out));
  });
});
