import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  checkedBytes,
  checkedContent,
  readCheckedFile,
  writeCheckedFile,
} from '../../src/store/checked-file.js';

describe('checked files', () => {
  const content = Buffer.from('{"diffId":"sha256:0123"}');

  it('reads back what was written, making the directory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'imprint-checked-'));
    try {
      const file = join(dir, 'a', 'b.json');
      await writeCheckedFile(file, content);
      assert.deepEqual(await readCheckedFile(file), content);
      assert.equal(await readCheckedFile(join(dir, 'missing.json')), undefined);
      await writeFile(file, content); // a record without the header (an older imprint's)
      assert.equal(await readCheckedFile(file), undefined);
      await writeFile(file, (await readFile(file)).subarray(0, 0));
      assert.equal(await readCheckedFile(file), undefined);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a changed byte anywhere, a truncation and trailing bytes', () => {
    const data = checkedBytes(content);
    assert.deepEqual(checkedContent(data), content);
    for (let i = 0; i < data.length; i++) {
      const bad = Buffer.from(data);
      bad[i] = (bad[i] as number) ^ 1;
      assert.equal(checkedContent(bad), undefined, `byte ${i}`);
    }
    assert.equal(checkedContent(data.subarray(0, data.length - 1)), undefined);
    assert.equal(checkedContent(Buffer.concat([data, Buffer.from('\n')])), undefined);
  });
});
