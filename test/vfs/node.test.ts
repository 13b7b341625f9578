import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { compactOpener, OPEN_RANGE, OPEN_SYNC, readContent } from '../../src/vfs/node.js';

describe('compactOpener', () => {
  const data = Buffer.from('0123456789');
  const calls: unknown[][] = [];
  const open = compactOpener((mode, start, end) => {
    calls.push([mode, start, end]);
    if (mode === OPEN_SYNC) return data;
    if (mode === OPEN_RANGE) return data.subarray(start, end);
    return Readable.from([data]);
  });

  it('is one function: sync and range call it with a mode', async () => {
    calls.length = 0;
    assert.deepEqual(Object.getOwnPropertyNames(open).includes('sync'), false);
    assert.equal(open.sync?.(), data);
    assert.equal(open.range?.(2, 5)?.toString(), '234');
    assert.equal((await readContent(() => open())).toString(), '0123456789');
    assert.deepEqual(calls, [
      [OPEN_SYNC, undefined, undefined],
      [OPEN_RANGE, 2, 5],
      [undefined, undefined, undefined],
    ]);
  });

  it('sync and range keep working detached from the opener (as tar entries hold them)', () => {
    const { sync, range } = open;
    assert.equal(sync?.(), data);
    assert.equal(range?.(0, 1)?.toString(), '0');
  });

  it('readContent takes its sync bytes', async () => {
    calls.length = 0;
    assert.equal(await readContent(open), data);
    assert.deepEqual(calls, [[OPEN_SYNC, undefined, undefined]]);
  });
});
