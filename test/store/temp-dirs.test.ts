// Temporary directories outside the cache ($TMPDIR/imprint-verify-*, imprint-xz-*) carry their
// process's owner tag; the next process making one removes those of a killed run, and only those.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { makeOwnedTempDir } from '../../src/store/temp-dirs.js';
import { ownerOf, processOwner } from '../../src/store/temp-owner.js';

const TEMP_DIRS = new URL('../../src/store/temp-dirs.ts', import.meta.url).href;
const TSX = import.meta.resolve('tsx');

/** A process that makes one `label` directory in `parent` (with a file in it) and lives until stopped. */
async function maker(parent: string, label: string) {
  const script = `
    const { makeOwnedTempDir } = await import(${JSON.stringify(TEMP_DIRS)});
    const { writeFileSync } = await import('node:fs');
    const dir = makeOwnedTempDir(${JSON.stringify(parent)}, ${JSON.stringify(label)});
    writeFileSync(dir + '/fifo-or-file', 'x');
    console.log(dir);
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ['--import', TSX, '--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const dir = await new Promise<string>((resolve) =>
    child.stdout.once('data', (d: Buffer) => resolve(d.toString().trim())),
  );
  const kill = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const ended = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await ended;
  };
  return { dir, kill };
}

describe('owned temporary directories', { skip: processOwner() === null ? 'no /proc' : false }, async () => {
  const parent = await mkdtemp(join(tmpdir(), 'imprint-temp-dirs-'));
  after(() => rm(parent, { recursive: true, force: true }));

  it("the next one made removes a SIGKILLed process's directory; a live one's, an untagged one and other labels stay", async () => {
    const killed = await maker(parent, 'imprint-verify-');
    const live = await maker(parent, 'imprint-verify-');
    const otherLabel = await maker(parent, 'imprint-xz-');
    try {
      assert.deepEqual(
        ownerOf(killed.dir.slice(parent.length + 1), 'imprint-verify-')?.pid !== undefined,
        true,
      );
      const untagged = join(parent, 'imprint-verify-AbC123'); // an older imprint's mkdtemp name
      await mkdir(untagged);
      await writeFile(join(parent, 'imprint-verify-file'), 'not a directory');
      await killed.kill();
      await otherLabel.kill();
      const mine = makeOwnedTempDir(parent, 'imprint-verify-');
      assert.equal(existsSync(killed.dir), false, 'the killed run left its directory');
      for (const kept of [live.dir, untagged, mine, otherLabel.dir, join(parent, 'imprint-verify-file')])
        assert.ok(existsSync(kept), kept);
      assert.match(mine, /imprint-verify-p[0-9]+\.[0-9]+\.[0-9a-f]{16}-[0-9a-f]{16}$/);
      // The imprint-xz- label is swept by the next imprint-xz- directory made.
      makeOwnedTempDir(parent, 'imprint-xz-');
      assert.equal(existsSync(otherLabel.dir), false);
      assert.equal((await readdir(parent)).length, 5);
    } finally {
      await live.kill();
      await killed.kill();
      await otherLabel.kill();
    }
  });
});
