// Two `buildah build` runs of one Containerfile, a second apart: only timestamps may differ.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { diffImageSets } from '../../src/diff/index.js';
import { parseReference, readImageSet } from '../../src/transport/index.js';

function buildah(root: string, args: string[]): { ok: boolean; output: string } {
  const r = spawnSync(
    'buildah',
    ['--storage-driver', 'vfs', '--root', join(root, 'root'), '--runroot', join(root, 'runroot'), ...args],
    { encoding: 'utf8' },
  );
  return {
    ok: r.status === 0,
    output: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}`,
  };
}

test('diff: two buildah builds of the same Containerfile differ only in timestamps', async (t) => {
  const tmp = await mkdtemp(join(tmpdir(), 'imprint-diff-buildah-'));
  try {
    const ctx = join(tmp, 'ctx');
    await mkdir(join(ctx, 'app'), { recursive: true });
    await writeFile(join(ctx, 'app', 'hello.txt'), 'hello\n');
    await writeFile(join(ctx, 'app', 'data.bin'), Buffer.from([0, 1, 2, 255]));
    await writeFile(join(ctx, 'Containerfile'), 'FROM scratch\nCOPY app /app\nENV GREETING=hello\n');
    const refs: string[] = [];
    for (const n of [1, 2]) {
      if (n === 2) await sleep(1100);
      const built = buildah(tmp, [
        'build',
        '--isolation',
        'chroot',
        '-t',
        `imprint-diff-${n}`,
        '-f',
        join(ctx, 'Containerfile'),
        ctx,
      ]);
      const pushed = built.ok
        ? buildah(tmp, ['push', `imprint-diff-${n}`, `oci:${join(tmp, `out${n}`)}`])
        : built;
      if (!pushed.ok) {
        t.skip(`buildah cannot build here: ${pushed.output.trim().split('\n').slice(-2).join(' ')}`);
        return;
      }
      refs.push(`oci:${join(tmp, `out${n}`)}`);
    }
    const [a, b] = [
      await readImageSet(parseReference(refs[0]!)),
      await readImageSet(parseReference(refs[1]!)),
    ];
    const all = await diffImageSets(a, b);
    assert.ok(all.differences.length > 0, 'two builds a second apart should differ in their created times');
    assert.deepEqual([...new Set(all.differences.map((d) => d.class))], ['timestamp']);
    const ignoring = await diffImageSets(a, b, { ignore: { timestamp: true } });
    assert.equal(ignoring.identical, true);
    assert.equal(ignoring.ignored.timestamp, all.differences.length);
  } finally {
    buildah(tmp, ['rm', '--all']);
    spawnSync('chmod', ['-R', 'u+w', tmp]);
    await rm(tmp, { recursive: true, force: true });
  }
});
