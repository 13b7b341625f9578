import assert from 'node:assert/strict';
import { test } from 'node:test';
import { crc32, nativeCrc32, tableCrc32 } from '../../src/compress/crc32.js';
import { corpus, randomChunks } from './corpus.js';

test('check value of the CRC-32 used by gzip', () => {
  const check = Buffer.from('123456789');
  assert.equal(tableCrc32(check), 0xcbf43926);
  assert.equal(crc32(check), 0xcbf43926);
  assert.equal(tableCrc32(Buffer.alloc(0)), 0);
});

test('table-driven and native implementations agree, also when continued chunk by chunk', () => {
  for (const [i, item] of corpus().entries()) {
    const whole = tableCrc32(item.data);
    if (nativeCrc32 !== undefined) assert.equal(nativeCrc32(item.data) >>> 0, whole, item.name);
    assert.equal(crc32(item.data), whole, item.name);
    let tableRunning = 0;
    let running = 0;
    for (const chunk of randomChunks(item.data, 40 + i)) {
      tableRunning = tableCrc32(chunk, tableRunning);
      running = crc32(chunk, running);
    }
    assert.equal(tableRunning, whole, `${item.name}: table, chunked`);
    assert.equal(running, whole, `${item.name}: chunked`);
  }
});

test('this Node provides zlib.crc32 (Node >= 20.15), so the fast path is tested', (t) => {
  if (nativeCrc32 === undefined)
    t.skip(`Node ${process.version} has no zlib.crc32; only the table is tested`);
  else assert.equal(typeof nativeCrc32, 'function');
});
