import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mapLimit } from '../../src/net/concurrency.js';

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('mapLimit', () => {
  it('keeps input order and never runs more than the limit at once', async () => {
    let running = 0;
    let peak = 0;
    const out = await mapLimit([5, 1, 4, 2, 3, 0], 2, async (x, i) => {
      running++;
      peak = Math.max(peak, running);
      for (let k = 0; k < x; k++) await tick();
      running--;
      return `${i}:${x * 10}`;
    });
    assert.deepEqual(out, ['0:50', '1:10', '2:40', '3:20', '4:30', '5:0']);
    assert.equal(peak, 2);
  });

  it('starts nothing new after a failure and rejects with the first error once running calls settle', async () => {
    const started: number[] = [];
    let settled = 0;
    await assert.rejects(
      mapLimit([0, 1, 2, 3, 4, 5], 2, async (x) => {
        started.push(x);
        await tick();
        settled++;
        if (x === 1) throw new Error('boom 1');
        if (x === 2) throw new Error('boom 2');
        return x;
      }),
      /boom 1/,
    );
    assert.deepEqual(started, [0, 1, 2]);
    assert.equal(settled, started.length);
  });

  it('rejects with the failure of the lowest index, not the first in time (all items run when limit covers them)', async () => {
    const late = (v: number, ms: number) => new Promise<number>((r) => setTimeout(() => r(v), ms));
    assert.deepEqual(
      await mapLimit(
        [
          [1, 30],
          [2, 1],
          [3, 10],
        ],
        3,
        ([v, ms]) => late(v!, ms!),
      ),
      [1, 2, 3],
    );
    const fail = (what: string, ms: number) =>
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error(what)), ms));
    await assert.rejects(
      mapLimit([0, 1, 2], 3, (i) => (i === 0 ? late(0, 1) : fail(`item ${i}`, i === 1 ? 40 : 1))),
      /item 1/,
    );
  });

  it('handles empty input and rejects a bad limit', async () => {
    assert.deepEqual(await mapLimit([], 3, async () => 1), []);
    await assert.rejects(
      mapLimit([1], 0, async () => 1),
      RangeError,
    );
  });
});
