// The order packages start unpacking in (largest first) and orderedRuns, which starts them in that
// order but hands results out by lock index.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { orderedRuns } from '../../src/debian/install.js';
import { largestFirst } from '../../src/net/concurrency.js';

describe('largestFirst', () => {
  it('starts the largest .deb first, lock order among equal and unknown sizes', () => {
    assert.deepEqual(
      largestFirst([{ size: 10 }, { size: 300 }, {}, { size: 300 }, { size: 20 }, {}]),
      [1, 3, 4, 0, 2, 5],
    );
    assert.deepEqual(largestFirst([]), []);
  });
});

describe('orderedRuns', () => {
  it('starts items in the given order, at most `limit` at once, and results by index', async () => {
    const started: number[] = [];
    let running = 0;
    let most = 0;
    const release = new Map<number, () => void>();
    const runs = orderedRuns(
      [0, 1, 2, 3, 4],
      2,
      (item) => {
        started.push(item);
        running++;
        most = Math.max(most, running);
        return new Promise<string>((resolve) => {
          release.set(item, () => {
            running--;
            resolve(`r${item}`);
          });
        });
      },
      [3, 1, 4, 0, 2],
    );
    assert.deepEqual(started, [3, 1]);
    release.get(1)?.();
    assert.equal(await runs.result(1), 'r1');
    await new Promise((r) => setImmediate(r)); // the next starts once the finished one is counted out
    assert.deepEqual(started, [3, 1, 4]);
    for (const i of [3, 4, 0, 2]) {
      await new Promise((r) => setImmediate(r));
      release.get(i)?.();
    }
    assert.deepEqual(await Promise.all([0, 1, 2, 3, 4].map((i) => runs.result(i))), [
      'r0',
      'r1',
      'r2',
      'r3',
      'r4',
    ]);
    assert.deepEqual(started, [3, 1, 4, 0, 2]);
    assert.equal(most, 2);
  });

  it('reports each item its own failure, whatever order they ran in', async () => {
    const runs = orderedRuns(
      ['a', 'b', 'c'],
      3,
      (item) => (item === 'c' ? Promise.resolve(item) : Promise.reject(new Error(`bad ${item}`))),
      [2, 1, 0],
    );
    await assert.rejects(runs.result(0), /bad a/);
    await assert.rejects(runs.result(1), /bad b/);
    assert.equal(await runs.result(2), 'c');
  });
});
