// The provenance's file sets take the sha256 of the files the build read instead of reading them again.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { collectFileSets, type FileSetEntry } from '../../src/attest/file-sets.js';
import { buildImage } from '../../src/build/build.js';
import { stampKey, stampOf } from '../../src/build/source-file.js';
import { isImprintError } from '../../src/errors.js';
import { loadSpec } from '../../src/spec/index.js';
import { BlobStore } from '../../src/store/index.js';
import { writeSmallSpec } from './fixtures.js';

const hex = (text: string) => createHash('sha256').update(text).digest('hex');
const hashes = (entries: readonly FileSetEntry[]) =>
  entries.flatMap((e) => (e.type === 'file' ? [[e.path, e.sha256]] : []));

describe('collectFileSets', async () => {
  const work = await mkdtemp(join(tmpdir(), 'imprint-file-sets-'));
  after(() => rm(work, { recursive: true, force: true }));

  it("takes a file's sha256 from the build's hashes when its stamp is unchanged, and fails when it changed since", async () => {
    const dir = join(work, 'known');
    await writeSmallSpec(dir);
    const kept = join(dir, 'app', 'hello.txt');
    const edited = join(dir, 'app', 'run.sh');
    const known = new Map([
      [kept, { stamp: stampKey(stampOf(statSync(kept))), sha256: 'a'.repeat(64) }],
      [edited, { stamp: stampKey(stampOf(statSync(edited))), sha256: 'b'.repeat(64) }],
    ]);
    const [set] = await collectFileSets(dir, ['app/'], known);
    assert.deepEqual(hashes(set!.entries), [
      ['app/hello.txt', 'a'.repeat(64)],
      ['app/run.sh', 'b'.repeat(64)],
    ]);
    const refused = (what: RegExp) => (err: unknown) => {
      assert.ok(isImprintError(err, 'IO'), String(err));
      assert.match(err.message, what);
      return true;
    };
    await writeFile(join(dir, 'app', 'new.txt'), 'new');
    await assert.rejects(
      collectFileSets(dir, ['app/'], known),
      refused(/^files\[0\]\.source: .*\/app\/new\.txt appeared after the build read the source/),
    );
    await rm(join(dir, 'app', 'new.txt'));
    await writeFile(edited, '#!/bin/sh\necho edited\n'); // a write moves its ctime: another stamp
    await assert.rejects(
      collectFileSets(dir, ['app/'], known),
      refused(/^files\[0\]\.source: .*\/app\/run\.sh changed after the build read the source/),
    );
    await rm(edited);
    await assert.rejects(
      collectFileSets(dir, ['app/'], known),
      refused(/^files\[\]\.source: .*\/app\/run\.sh was removed after the build read the source/),
    );
    // Without the build's hashes, every file is read.
    await writeFile(edited, 'again');
    const [fresh] = await collectFileSets(dir, ['app/']);
    assert.deepEqual(hashes(fresh!.entries)[1], ['app/run.sh', hex('again')]);
  });

  it('records, from the hashes a build returns, what reading every source file again records', async () => {
    const dir = join(work, 'built');
    await writeSmallSpec(dir);
    const loaded = await loadSpec(dir);
    const store = new BlobStore(join(work, 'cache'));
    const result = await buildImage({ loaded, env: {}, store, cacheDir: join(work, 'cache') });
    const sources = loaded.spec.files.map((f) => f.source);
    const count = sources.length;
    assert.ok(count > 1 && (result.sourceHashes?.size ?? 0) >= count, `${result.sourceHashes?.size}`);
    assert.equal(
      result.sourceHashes?.get(await realpath(join(dir, 'app', 'hello.txt')))?.sha256,
      hex('hello, reproducible world\n'),
    );
    assert.deepEqual(
      await collectFileSets(dir, sources, result.sourceHashes),
      await collectFileSets(dir, sources),
    );
  });
});
