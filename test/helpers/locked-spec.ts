// A spec over a generated signed repository, locked: what CLI tests of downloads and interruptions
// start from.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { assertOk, runImprint } from './cli.js';
import { createDebRepo, type DebRepo, repoSpecYaml } from './debrepo.js';

/**
 * A signed repository serving one small package, `data` (4 KB of text), and `<work>/spec` naming
 * it, locked with the cache `<work>/lock-cache`. The caller closes the repository.
 */
export async function lockedDataSpec(work: string): Promise<{ repo: DebRepo; spec: string }> {
  const repo = await createDebRepo({
    packages: [
      {
        name: 'data',
        version: '1',
        architecture: 'all',
        files: [{ path: '/usr/share/data/text', content: 'imprint '.repeat(500) }],
      },
    ],
  });
  const spec = join(work, 'spec');
  await mkdir(spec);
  await writeFile(join(spec, 'imprint.yaml'), repoSpecYaml(repo, 'data'));
  assertOk(await runImprint(['--cache-dir', join(work, 'lock-cache'), 'lock', spec]), 'imprint lock');
  return { repo, spec };
}
