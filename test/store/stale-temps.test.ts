// The sweep of temporary files: by age, and sooner when the name's owner provably no longer runs;
// never a live process's file, nor one of another host or container (they are left to the age).
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { tempPath } from '../../src/store/atomic-file.js';
import { removeStaleTemps } from '../../src/store/stale-temps.js';
import { ownerGone, ownerOf, ownerTag, processOwner } from '../../src/store/temp-owner.js';
import { otherProcess } from '../helpers/other-process.js';

const RANDOM = '0123456789abcdef';

describe('stale temporary files', { skip: processOwner() === null ? 'no /proc' : false }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'imprint-stale-temps-'));
  after(() => rm(dir, { recursive: true, force: true }));

  it('names record their process; the process itself is not gone', () => {
    const name = tempPath(dir, 'index.json').slice(dir.length + 1);
    assert.match(name, /^\.tmp-index\.json-p[0-9]+\.[0-9]+\.[0-9a-f]{16}-[0-9a-f]{16}$/);
    assert.deepEqual(ownerOf(name), processOwner());
    assert.equal(ownerGone(name), false);
  });

  it("removes a killed process's files at once; a live one's, a foreign one's and unowned ones stay until old", async () => {
    const other = await otherProcess();
    const [, pid, start] = /^p([0-9]+)\.([0-9]+)\.([0-9a-f]{16})$/.exec(other.tag) ?? [];
    assert.ok(pid !== undefined && start !== undefined, other.tag);
    const theirs = `.tmp-${other.tag}-${RANDOM}`;
    // The same pid and start time, seen from another boot or pid namespace: never judged from here.
    const foreign = `.tmp-p${pid}.${start}.${'f'.repeat(16)}-${RANDOM}`;
    const unowned = `.tmp-${RANDOM}`;
    const mine = `.tmp-pack-${ownerTag()}-${RANDOM}`;
    for (const name of [theirs, foreign, unowned, mine, 'blob']) await writeFile(join(dir, name), 'x');
    const names = async () => (await readdir(dir)).sort();
    const epoch = new Date(0); // nothing is old: only provably gone owners count

    assert.equal(await removeStaleTemps(dir, epoch), 0);
    await other.stop();
    assert.equal(ownerGone(theirs), true);
    assert.equal(await removeStaleTemps(dir, epoch), 1);
    assert.deepEqual(await names(), [foreign, mine, unowned, 'blob'].sort());

    // By age, any owner: a writer elsewhere that has not touched its file for the cutoff's span.
    const old = new Date(Date.now() - 2 * 86_400_000);
    await utimes(join(dir, foreign), old, old);
    await utimes(join(dir, unowned), old, old);
    assert.equal(await removeStaleTemps(dir, new Date(Date.now() - 86_400_000)), 2);
    assert.deepEqual(await names(), [mine, 'blob'].sort());
    assert.equal(await removeStaleTemps(join(dir, 'absent'), epoch), 0);
  });

  it('a pid now held by a process that started at another time is gone', () => {
    const me = processOwner()!;
    const reused = `.tmp-p${me.pid}.${Number(me.start) + 1}.${me.where}-${RANDOM}`;
    assert.equal(ownerGone(reused), true);
  });
});
