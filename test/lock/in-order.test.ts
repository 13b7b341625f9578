// The signed lock check fetches every source at once and takes the results in source order: the
// error it reports is the first source's in that order, whichever failed first in time.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { inOrder } from '../../src/lock/signed.js';

test('inOrder gives values in order and throws the first rejection in order, not in time', async () => {
  const late = (v: number, ms: number) => sleep(ms).then(() => v);
  assert.deepEqual(await inOrder([late(1, 30), late(2, 1), late(3, 10)]), [1, 2, 3]);
  const fail = (what: string, ms: number) => sleep(ms).then(() => Promise.reject(new Error(what)));
  await assert.rejects(inOrder([late(0, 1), fail('source 1', 40), fail('source 2', 1)]), /source 1/);
});
