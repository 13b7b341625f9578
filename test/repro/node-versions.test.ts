import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { assertOk, ROOT, runImprint } from '../helpers/cli.js';

// Node binaries installed by scripts/install-node-versions.sh (which .ci/run calls).
const arch = process.arch === 'arm64' ? 'arm64' : 'x64';
const others = ['22', '24']
  .map((major) => ({
    major,
    bin: join(ROOT, '.cache/node-versions', major, `node_modules/node-linux-${arch}/bin/node`),
  }))
  .filter((n) => existsSync(n.bin));

describe('reproducibility across Node versions', () => {
  const temps: string[] = [];
  after(async () => {
    for (const t of temps) await rm(t, { recursive: true, force: true });
  });

  it('builds the same digests under every installed Node version', {
    skip: others.length === 0 ? 'run scripts/install-node-versions.sh first' : false,
  }, async () => {
    const work = await mkdtemp(join(tmpdir(), 'imprint-nodes-'));
    temps.push(work);
    const build = async (node: string | undefined, name: string) => {
      const r = await runImprint(
        [
          '--cache-dir',
          join(work, `cache-${name}`),
          'build',
          join(ROOT, 'examples/hello'),
          '-o',
          `oci:${join(work, name)}`,
          '--json',
        ],
        {
          env: { SOURCE_DATE_EPOCH: '1700000000' },
          ...(node ? { node } : {}),
        },
      );
      return JSON.parse(assertOk(r, `build with node ${name}`).stdout) as { index: string; images: unknown };
    };
    const here = await build(undefined, process.versions.node);
    for (const other of others) {
      const there = await build(other.bin, other.major);
      assert.equal(
        there.index,
        here.index,
        `Node ${other.major} built a different index than Node ${process.versions.node}`,
      );
      assert.deepEqual(there.images, here.images);
    }
  });
});
