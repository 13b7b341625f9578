// The layer cache's key holds every input that decides the layers' bytes: an image never depends on
// what the cache held before the build.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertOk, runImprint } from '../helpers/cli.js';
import { createDebRepo, type DebRepo, repoSpecYaml } from '../helpers/debrepo.js';

describe('layer cache key', async () => {
  const work = await mkdtemp(join(tmpdir(), 'imprint-layer-cache-key-'));
  const spec = join(work, 'spec');
  let repo: DebRepo;

  before(async () => {
    repo = await createDebRepo({
      packages: [
        { name: 'libbig1', version: '1', source: 'big', files: { '/usr/lib/big.so': 'b'.repeat(20000) } },
        { name: 'tool', version: '1', depends: 'libbig1', files: { '/usr/bin/tool': 't'.repeat(9000) } },
        { name: 'small', version: '1', files: { '/usr/share/small': 's'.repeat(100) } },
      ],
    });
    await mkdir(spec);
    await writeFile(
      join(spec, 'imprint.yaml'),
      repoSpecYaml(repo, 'tool, small', ['layering: {strategy: per-package, budget: 4}']),
    );
  });
  after(async () => {
    await repo?.close();
    await rm(work, { recursive: true, force: true });
  });

  const build = async (cache: string, out: string) => {
    const r = assertOk(
      await runImprint(
        ['--cache-dir', join(work, cache), 'build', spec, '-o', `oci:${join(work, out)}`, '--json'],
        {
          env: { SOURCE_DATE_EPOCH: '1700000000' },
        },
      ),
      `imprint build ${out}`,
    );
    return JSON.parse(r.stdout) as { index: string; images: Array<{ layers: Array<{ digest: string }> }> };
  };

  it("changes with a locked package's source, which per-package layering groups by", async () => {
    const first = await build('cache', 'out-1');
    assert.equal(first.images[0]!.layers.length, 4); // big, tool, small with the rest, top
    // The lock names each package's source; no signed index vouches for it, so an edit stands. The
    // layers it groups differently must not come from the cache of the lock before the edit.
    const lockFile = join(spec, 'imprint.lock');
    const lock = await readFile(lockFile, 'utf8');
    assert.match(lock, /"source": "big"/);
    await writeFile(lockFile, lock.replace('"source": "big"', '"source": "tool"'));
    const warm = await build('cache', 'out-2');
    const cold = await build('cache-cold', 'out-cold');
    assert.equal(cold.images[0]!.layers.length, 3); // tool (with libbig1), small with the rest, top
    assert.notEqual(cold.index, first.index);
    assert.equal(warm.index, cold.index, 'a warm cache gives the image a cold one gives');
  });
});
