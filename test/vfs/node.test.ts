import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { layerEntries } from '../../src/vfs/entries.js';
import { compactOpener, OPEN_RANGE, OPEN_SYNC, readContent } from '../../src/vfs/node.js';
import { FileTree } from '../../src/vfs/tree.js';

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

describe('layerEntries', () => {
  it("hands a file's opener over as it is: no function a file (its sync is read when written)", () => {
    const data = Buffer.from('abc');
    const content = compactOpener((mode) => (mode === undefined ? Readable.from([data]) : data));
    const tree = new FileTree({ mode: 0o755, uid: 0, gid: 0, mtime: 0 });
    tree.add('a/f', { kind: 'file', size: 3, content, mode: 0o644, uid: 0, gid: 0, mtime: 0 });
    const entry = layerEntries(tree).find((e) => e.path === 'a/f');
    assert.equal(entry?.body, content);
    assert.equal(entry?.bodySync, undefined);
  });
});
