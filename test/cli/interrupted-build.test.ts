// A build killed by a signal while it downloads leaves no temporary files in the cache, and dies of
// that signal; the next run sweeps temporary files whose process provably ended, and keeps those of
// another host or container.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as wait } from 'node:timers/promises';
import { ownerOf, processOwner } from '../../src/store/temp-owner.js';
import { startImprint } from '../helpers/cli.js';
import type { DebRepo } from '../helpers/debrepo.js';
import { lockedDataSpec } from '../helpers/locked-spec.js';

/** Every path below `dir` (relative), sorted. */
async function walk(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true }).catch(() => [] as string[]);
  return entries.map((e) => relative(dir, join(dir, e))).sort();
}

const isTemp = (path: string): boolean => (path.split('/').pop() ?? '').startsWith('.tmp-');

describe('interrupted builds', { skip: processOwner() === null ? 'no /proc' : false }, async () => {
  const work = await mkdtemp(join(tmpdir(), 'imprint-interrupted-'));
  let spec = '';
  let repo: DebRepo;

  before(async () => {
    ({ repo, spec } = await lockedDataSpec(work));
    // The .deb stops after 100 bytes (the connection stays open): the build waits in the download.
    repo.override(`/${repo.deb('data').filename}`, { stallAfter: 100 });
  });
  after(async () => {
    await repo?.close();
    await rm(work, { recursive: true, force: true });
  });

  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`${signal} during a download removes the build's temporary files`, async () => {
      const cache = join(work, `cache-${signal}`);
      const out = join(work, `out-${signal}`);
      const tmp = join(cache, 'tmp');
      await mkdir(tmp, { recursive: true });
      // Left by earlier runs: one of a process that ended here (its pid now runs something that
      // started at another time), one of a process in another pid namespace or on another host.
      const me = processOwner()!;
      const ended = `.tmp-p${me.pid}.${Number(me.start) + 1}.${me.where}-0123456789abcdef`;
      const foreign = `.tmp-p${me.pid}.${me.start}.${'f'.repeat(16)}-0123456789abcdef`;
      await writeFile(join(tmp, ended), 'partial');
      await writeFile(join(tmp, foreign), 'partial');

      const run = startImprint(['--cache-dir', cache, 'build', spec, '-o', `oci:${out}`], {
        env: { SOURCE_DATE_EPOCH: '1700000000' },
      });
      // Wait until the .deb's temporary file is in the cache.
      const planted = [join('tmp', ended), join('tmp', foreign)];
      let inFlight: string | undefined;
      for (let i = 0; i < 600 && inFlight === undefined; i++) {
        inFlight = (await walk(cache)).find((p) => isTemp(p) && !planted.includes(p));
        if (inFlight === undefined) await wait(50);
      }
      assert.ok(inFlight !== undefined, 'the build started downloading');
      const owner = ownerOf(inFlight.split('/').pop()!);
      run.child.kill(signal);
      const r = await run.result;
      assert.equal(r.signal, signal, r.stderr);
      // Only the foreign file is left: the build's own were removed at the signal, the ended
      // process's one by the sweep at the build's start.
      assert.deepEqual((await walk(cache)).filter(isTemp), [join('tmp', foreign)]);
      assert.deepEqual((await walk(out)).filter(isTemp), []);
      assert.equal(owner?.pid, run.child.pid, 'the temporary file was named for the build');
    });
  }
});
