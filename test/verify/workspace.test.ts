// Recreating a recorded build's inputs: the provenance comes with the image, so it must not choose
// where on this machine verify writes.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { FileSetEntry } from '../../src/attest/file-sets.js';
import { isImprintError } from '../../src/errors.js';
import type { RecordedBuild } from '../../src/verify/recorded.js';
import { recreateInputs } from '../../src/verify/workspace.js';

describe('recreateInputs', async () => {
  const work = await mkdtemp(join(tmpdir(), 'imprint-workspace-'));
  after(() => rm(work, { recursive: true, force: true }));
  const context = join(work, 'context');
  await mkdir(join(context, 'a'), { recursive: true });
  const body = 'ssh-ed25519 AAAA attacker\n';
  await writeFile(join(context, 'a', 'authorized_keys'), body);
  const sha256 = createHash('sha256').update(body).digest('hex');
  const file = (path: string): FileSetEntry => ({
    path,
    type: 'file',
    mode: 0o644,
    sha256,
    size: body.length,
  });

  const recorded = (...sets: FileSetEntry[][]): RecordedBuild => ({
    version: '0',
    spec: { path: 'imprint.yaml', bytes: Buffer.from('version: 1\n') },
    files: sets.map((entries, i) => ({ field: `files[${i}]`, source: 'a', digest: 'sha256:00', entries })),
    epoch: 0,
    index: `sha256:${'0'.repeat(64)}`,
    manifests: {},
  });

  let n = 0;
  const fresh = async (): Promise<{ dir: string; victim: string }> => {
    const dir = join(work, `ws${++n}`);
    const victim = join(work, `victim${n}`);
    await mkdir(dir);
    await mkdir(victim);
    return { dir, victim };
  };

  it('refuses to write through a recorded symlink that leads outside, in the same file set or a later one', async () => {
    for (const split of [false, true]) {
      const { dir, victim } = await fresh();
      const link: FileSetEntry = { path: 'a', type: 'symlink', target: victim };
      const sets = split ? [[link], [file('a/authorized_keys')]] : [[link, file('a/authorized_keys')]];
      await assert.rejects(
        recreateInputs(recorded(...sets), dir, context),
        (e: unknown) =>
          isImprintError(e, 'PROVENANCE_INVALID') &&
          e.message.includes(`files[${split ? 1 : 0}]: a/authorized_keys`) &&
          e.message.includes(victim),
      );
      assert.deepEqual(await readdir(victim), []);
    }
  });

  it('refuses a directory below such a link, and a file at a dangling link (opening it would create the target)', async () => {
    const { dir, victim } = await fresh();
    await assert.rejects(
      recreateInputs(
        recorded([
          { path: 'a', type: 'symlink', target: victim },
          { path: 'a/sub', type: 'dir' },
        ]),
        dir,
        context,
      ),
      (e: unknown) => isImprintError(e, 'PROVENANCE_INVALID'),
    );
    const other = await fresh();
    await assert.rejects(
      recreateInputs(
        recorded(
          [
            { path: 'a', type: 'dir' },
            { path: 'a/authorized_keys', type: 'symlink', target: join(other.victim, 'new') },
          ],
          [file('a/authorized_keys')],
        ),
        other.dir,
        context,
      ),
      (e: unknown) => isImprintError(e, 'PROVENANCE_INVALID') && e.message.includes('does not exist'),
    );
    assert.deepEqual([...(await readdir(victim)), ...(await readdir(other.victim))], []);
  });

  it('writes through a link that stays inside, as the build reads through it', async () => {
    const { dir } = await fresh();
    await recreateInputs(
      recorded(
        [
          { path: 'real', type: 'dir' },
          { path: 'a', type: 'symlink', target: 'real' },
        ],
        [file('a/authorized_keys')],
      ),
      dir,
      context,
    );
    assert.equal(await readFile(join(dir, 'real', 'authorized_keys'), 'utf8'), body);
  });
});
