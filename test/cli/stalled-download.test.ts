// A build whose archive trickles its .deb fails, under the short limits its environment sets, with a
// NETWORK error naming the URL and saying the download stalled, instead of waiting for the trickle.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runImprint } from '../helpers/cli.js';
import type { DebRepo } from '../helpers/debrepo.js';
import { lockedDataSpec } from '../helpers/locked-spec.js';

describe('stalled downloads', async () => {
  const work = await mkdtemp(join(tmpdir(), 'imprint-stalled-'));
  let spec = '';
  let repo: DebRepo;

  before(async () => {
    ({ repo, spec } = await lockedDataSpec(work));
  });
  after(async () => {
    await repo?.close();
    await rm(work, { recursive: true, force: true });
  });

  it('a .deb that trickles (a byte every 50 ms, never idle) fails the build, naming the URL', async () => {
    const path = `/${repo.deb('data').filename}`;
    // 20 bytes/s: the .deb would take over a minute, each try fails after 0.5 s of reading.
    repo.override(path, { trickle: { bytes: 1, everyMs: 50 } });
    const r = await runImprint(
      ['--cache-dir', join(work, 'cache'), 'build', spec, '-o', `oci:${join(work, 'out')}`],
      {
        env: {
          SOURCE_DATE_EPOCH: '1700000000',
          IMPRINT_IDLE_TIMEOUT: '2',
          IMPRINT_LOW_SPEED_LIMIT: '1024',
          IMPRINT_LOW_SPEED_TIME: '0.5',
        },
      },
    );
    assert.equal(r.code, 1, r.stderr);
    assert.ok(r.stderr.includes(`${repo.url}${path}: the download stalled after `), r.stderr);
    assert.match(r.stderr, /below the floor of 1024 bytes\/s; resumed 4 times/);
    // resumed with Range requests before giving up
    assert.ok(repo.requests.some((q) => q.path === path && q.range !== undefined));
  });

  it('a malformed limit is a usage error naming the variable', async () => {
    const r = await runImprint(
      ['--cache-dir', join(work, 'cache'), 'build', spec, '-o', `oci:${join(work, 'out2')}`],
      {
        env: { IMPRINT_IDLE_TIMEOUT: '30s' },
      },
    );
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /IMPRINT_IDLE_TIMEOUT="30s" is not a non-negative number/);
  });
});
