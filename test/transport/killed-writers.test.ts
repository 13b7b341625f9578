// An output written again removes what killed writers of it left (SIGKILL runs no cleanup): the
// temporary files beside an oci-archive, and those inside an OCI layout, once their process provably
// no longer runs; a live writer's files, and other files, stay.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { BlobStore } from '../../src/store/index.js';
import { processOwner } from '../../src/store/temp-owner.js';
import { parseReference, writeImageSet } from '../../src/transport/index.js';
import { otherProcess } from '../helpers/other-process.js';
import { makeImage } from './fixtures.js';

const RANDOM = '0123456789abcdef';

describe('outputs written again', { skip: processOwner() === null ? 'no /proc' : false }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'imprint-killed-writers-'));
  after(() => rm(dir, { recursive: true, force: true }));

  it("remove a killed writer's temporary files of that output, and nothing else", async () => {
    const img = await makeImage(new BlobStore(join(dir, 'store')));
    const killed = await otherProcess();
    const live = await otherProcess();
    try {
      await killed.stop();
      const out = join(dir, 'out');
      const layout = join(out, 'layout');
      await mkdir(layout, { recursive: true });
      await writeImageSet(parseReference(`oci:${layout}:v1`), img.set);
      const left = {
        archive: `.tmp-image.tar-${killed.tag}-${RANDOM}`,
        other: `.tmp-other.tar-${killed.tag}-${RANDOM}`,
        running: `.tmp-image.tar-${live.tag}-${RANDOM}`,
        blob: `.tmp-${killed.tag}-${RANDOM}`,
        index: `.tmp-index.json-${killed.tag}-${RANDOM}`,
        runningBlob: `.tmp-${live.tag}-${RANDOM}`,
      };
      for (const name of [left.archive, left.other, left.running]) await writeFile(join(out, name), 'x');
      for (const name of [left.blob, left.index, left.runningBlob]) await writeFile(join(layout, name), 'x');

      await writeImageSet(parseReference(`oci-archive:${join(out, 'image.tar')}:v1`), img.set);
      assert.deepEqual((await readdir(out)).sort(), [left.other, left.running, 'image.tar', 'layout'].sort());
      await writeImageSet(parseReference(`oci:${layout}:v1`), img.set);
      assert.deepEqual(
        (await readdir(layout)).sort(),
        [left.runningBlob, 'blobs', 'index.json', 'oci-layout'].sort(),
      );
    } finally {
      await live.stop();
    }
  });
});
