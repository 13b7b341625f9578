// withFileLock: one holder at a time, the lock removed afterwards (also on failure), a lock left by a
// dead process of this host taken over, a live one waited for until the timeout names the file.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { isImprintError } from '../../src/errors.js';
import { describeHolder, type LockHolder, withFileLock } from '../../src/store/file-lock.js';

describe('withFileLock', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'imprint-lock-'));
  after(() => rm(dir, { recursive: true, force: true }));

  it('runs holders one at a time and removes the lock, also when one fails', async () => {
    const lock = join(dir, 'a.lock');
    let inside = 0;
    let most = 0;
    const hold = (fail: boolean) =>
      withFileLock(lock, async () => {
        inside++;
        most = Math.max(most, inside);
        await new Promise((r) => setTimeout(r, 20));
        inside--;
        if (fail) throw new Error('boom');
      });
    const results = await Promise.allSettled([hold(false), hold(true), hold(false), hold(false)]);
    assert.equal(most, 1);
    assert.deepEqual(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled', 'fulfilled'],
    );
    assert.equal(existsSync(lock), false);
  });

  it("takes over a dead process's lock, and waits for a live one until the timeout", async () => {
    const lock = join(dir, 'b.lock');
    const dead = spawnSync('sh', ['-c', 'echo $$']).stdout.toString().trim();
    await writeFile(lock, `${dead} ${hostname()}\n`);
    assert.equal(await withFileLock(lock, async () => 'taken'), 'taken');
    await writeFile(lock, `${process.pid} ${hostname()}\n`);
    await assert.rejects(
      withFileLock(lock, async () => 'never', { timeoutMs: 200 }),
      (err: unknown) => isImprintError(err, 'IO') && err.message.includes(lock),
    );
    assert.equal(existsSync(lock), true, "a live holder's lock is left alone");
  });

  it('tells once who holds a lock it waits for, and the timeout error names the file and the holder', async () => {
    const lock = join(dir, 'd.lock');
    await writeFile(lock, `${process.pid} ${hostname()}\n`);
    const told: Array<{ holder: LockHolder; timeoutMs: number }> = [];
    await assert.rejects(
      withFileLock(lock, async () => 'never', {
        timeoutMs: 400,
        noticeAfterMs: 50,
        what: 'writing the OCI layout x',
        onWait: (holder, timeoutMs) => told.push({ holder, timeoutMs }),
      }),
      (err: unknown) => {
        assert.ok(isImprintError(err, 'IO'), String(err));
        assert.match(
          err.message,
          new RegExp(
            `the lock file ${lock} \\(writing the OCI layout x\\), held by pid ${process.pid} on host `,
          ),
        );
        assert.match(err.hint ?? '', new RegExp(`\\(pid ${process.pid}\\).*remove ${lock}`));
        assert.equal(err.details.pid, process.pid);
        return true;
      },
    );
    assert.equal(told.length, 1);
    assert.equal(told[0]?.timeoutMs, 400);
    assert.equal(told[0]?.holder.pid, process.pid);
    assert.equal(told[0]?.holder.host, hostname());
    assert.equal(told[0]?.holder.file, lock);
    assert.match(
      describeHolder(told[0]!.holder),
      new RegExp(`^pid ${process.pid} on host .*, since \\d{4}-\\d\\d-\\d\\dT`),
    );
    await rm(lock);
  });

  it('takes over a lock not refreshed for staleMs (another host, a reused pid, an empty file); a holder refreshes its own', async () => {
    const lock = join(dir, 'c.lock');
    const old = new Date(Date.now() - 5_000);
    for (const text of [`1 ${hostname()}\n`, '4000000 another-container\n', '']) {
      await writeFile(lock, text);
      await utimes(lock, old, old);
      assert.equal(
        await withFileLock(lock, async () => 'taken', { staleMs: 1_000, timeoutMs: 3_000 }),
        'taken',
      );
    }
    await writeFile(lock, '4000000 another-container\n'); // fresh: waited for
    await assert.rejects(withFileLock(lock, async () => 'never', { staleMs: 60_000, timeoutMs: 200 }));
    await rm(lock);
    // A long holder keeps its lock fresh: a second writer waits instead of taking it over.
    let second = 'not yet';
    await withFileLock(
      lock,
      async () => {
        const other = withFileLock(lock, async () => (second = 'ran'), { staleMs: 1_500 });
        await new Promise((r) => setTimeout(r, 3_000));
        assert.equal(second, 'not yet');
        void other;
      },
      { staleMs: 1_500 },
    );
    await new Promise((r) => setTimeout(r, 1_000));
    assert.equal(second, 'ran');
  });
});

describe('withFileLock on a full file system', {
  skip: process.getuid?.() !== 0 && 'needs root (to mount a small tmpfs)',
}, async () => {
  it('leaves no empty lock behind when the pid cannot be written (ENOSPC), and says the disk is full', async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'imprint-lock-full-'));
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=4k', 'tmpfs', dir]).status === 0;
    t.after(async () => {
      if (mounted) spawnSync('umount', [dir]);
      await rm(dir, { recursive: true, force: true });
    });
    if (!mounted) return t.skip('mount failed');
    await writeFile(join(dir, 'fill'), Buffer.alloc(4096)).catch(() => undefined);
    const lock = join(dir, '.imprint-write.lock');
    await assert.rejects(
      withFileLock(lock, async () => 'never'),
      (err: unknown) => {
        assert.ok(isImprintError(err, 'IO'), String(err));
        assert.match(err.message, /ENOSPC/);
        assert.match(err.hint ?? '', new RegExp(`The file system holding ${dir} is full`));
        return true;
      },
    );
    assert.equal(existsSync(lock), false);
  });
});
