// gzip output is the same bytes under every installed Node version (20 here, and the 22 and 24 that
// scripts/install-node-versions.sh puts under .cache/node-versions), at levels 1, 6 and 9, inline
// and with worker threads.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ROOT } from '../helpers/cli.js';

const arch = process.arch === 'arm64' ? 'arm64' : 'x64';
const others = ['22', '24']
  .map((major) => ({
    major,
    bin: join(ROOT, '.cache/node-versions', major, `node_modules/node-linux-${arch}/bin/node`),
  }))
  .filter((n) => existsSync(n.bin));

/** Prints {"<level>/<workers>": sha256} of a generated ~3.3 MB input (4 members) compressed by imprint. */
function script(): string {
  const src = (path: string): string => JSON.stringify(new URL(path, import.meta.url).href);
  return `import { createHash } from 'node:crypto';
import { compressStream } from ${src('../../src/compress/compress.ts')};
import { mixedBytes, tarLikeBytes, textBytes, transformAll } from ${src('./corpus.ts')};
const data = Buffer.concat([textBytes(1_500_000, 1), tarLikeBytes(300, 2), mixedBytes(1_200_000, 3)]);
const out = { node: process.versions.node, size: data.length };
for (const level of [1, 6, 9]) {
  for (const workers of [0, 2]) {
    const gz = await transformAll([data], compressStream({ compression: 'gzip', level, workers }));
    out[level + '/' + workers] = createHash('sha256').update(gz).digest('hex');
  }
}
console.log(JSON.stringify(out));
`;
}

function run(node: string, file: string): Record<string, string | number> {
  const r = spawnSync(node, ['--import', 'tsx', file], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
  assert.equal(r.status, 0, `${node}: ${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, string | number>;
}

describe('gzip bytes across Node versions', () => {
  test('levels 1/6/9, inline and 2 workers: the same digests under every installed Node', {
    skip: others.length === 0 ? 'run scripts/install-node-versions.sh first' : false,
  }, (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'imprint-gzip-nodes-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, 'gzip-digests.mts');
    writeFileSync(file, script());
    const { node: _here, ...expected } = run(process.execPath, file);
    assert.equal(expected['6/0'], expected['6/2'], 'worker count changed the bytes');
    for (const other of others) {
      const { node, ...found } = run(other.bin, file);
      t.diagnostic(`node ${String(node)}: ${found['6/0']}`);
      assert.deepEqual(
        found,
        expected,
        `Node ${other.major} wrote different gzip bytes than Node ${process.versions.node}`,
      );
    }
  });
});
