// [live] The README's main job: examples/python from the host's Debian archive, run under podman, and
// an amd64+arm64 index built on this host without emulation. Needs the archive: runs when IMPRINT_LIVE=1
// (.ci/run sets it); the same logic is covered offline by packages.test.ts against a generated repository.
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { validateImage } from '../../src/oci/validate.js';
import { parseReference, readImageSet, walkImageSet } from '../../src/transport/index.js';
import { assertOk, ROOT, runImprint } from '../helpers/cli.js';
import { readLayerFiles } from '../helpers/layers.js';
import { podmanForLayout } from '../helpers/podman.js';

const live = process.env.IMPRINT_LIVE === '1';
const skip = live ? false : 'live: set IMPRINT_LIVE=1 (needs the Debian archive)';

describe('examples/python [live]', async () => {
  const work = await mkdtemp(join(tmpdir(), 'imprint-python-'));
  const spec = join(work, 'python');
  await cp(join(ROOT, 'examples/python'), spec, { recursive: true });
  await rm(join(spec, 'out'), { recursive: true, force: true });
  await rm(join(spec, 'imprint.lock'), { force: true });
  const cache = join(work, 'cache');
  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it('builds, records every locked package in status.d, and runs as the non-root user [live]', {
    skip,
  }, async () => {
    const r = await runImprint(
      ['--cache-dir', cache, 'build', spec, '-o', `oci:${join(work, 'out')}`, '--json'],
      { env: { SOURCE_DATE_EPOCH: '1700000000' } },
    );
    const built = JSON.parse(assertOk(r, 'imprint build').stdout) as { index: string };
    const set = await readImageSet(parseReference(`oci:${join(work, 'out')}`));
    await validateImage(set);
    const lock = JSON.parse(await readFile(join(spec, 'imprint.lock'), 'utf8'));
    const files = await readLayerFiles(set);
    for (const p of lock.platforms['linux/amd64'] as Array<{ name: string; version: string }>) {
      const status = files.get(`var/lib/dpkg/status.d/${p.name}`)?.toString('utf8') ?? '';
      assert.match(
        status,
        new RegExp(`^Version: ${p.version.replace(/[.+~]/g, '\\$&')}$`, 'm'),
        `status.d/${p.name}`,
      );
      assert.match(status, /^Status: install ok installed$/m);
    }

    // A second build with a cold cache gives the same index.
    const again = await runImprint(
      ['--cache-dir', join(work, 'cache2'), 'build', spec, '-o', `oci:${join(work, 'out2')}`, '--json'],
      { env: { SOURCE_DATE_EPOCH: '1700000000', TZ: 'Asia/Tokyo' }, umask: 0o077 },
    );
    assert.equal(
      (JSON.parse(assertOk(again, 'second build').stdout) as { index: string }).index,
      built.index,
    );

    const podman = await podmanForLayout(work, join(work, 'out'));
    try {
      const check =
        "import ssl, json, sqlite3, urllib.request, os; ssl.create_default_context(); print('ok', os.getuid())";
      const out = await podman.run(['--entrypoint', '/usr/bin/python3', 'IMAGE', '-c', check]);
      assert.equal(out.stdout.trim(), 'ok 1000');
      const hello = await podman.run(['IMAGE']);
      assert.match(hello.stdout, /"hello": "world"/);
    } finally {
      await podman.close();
    }
  });

  it('builds an amd64+arm64 index on this host; the arm64 binaries are aarch64 ELF [live]', {
    skip,
  }, async () => {
    const yaml = (await readFile(join(spec, 'imprint.yaml'), 'utf8')).replace(
      /^platforms:.*$/m,
      'platforms: [linux/amd64, linux/arm64]',
    );
    await writeFile(join(spec, 'imprint.yaml'), yaml);
    const r = await runImprint(
      ['--cache-dir', cache, 'build', spec, '--update', '-o', `oci:${join(work, 'multi')}`, '--json'],
      { env: { SOURCE_DATE_EPOCH: '1700000000' } },
    );
    assertOk(r, 'multi-arch build');
    const set = await readImageSet(parseReference(`oci:${join(work, 'multi')}`));
    await validateImage(set);
    const walked = await walkImageSet(set);
    assert.deepEqual(
      walked.images.map((i) => i.descriptor.platform?.architecture),
      ['amd64', 'arm64'],
    );
    const arm = await readLayerFiles({
      index: { ...set.index, manifests: [walked.images[1]!.descriptor] },
      blobs: set.blobs,
    });
    const python = arm.get('usr/bin/python3.11');
    assert.ok(python, 'python3.11 is in the arm64 image');
    assert.equal(python.subarray(0, 4).toString('latin1'), '\x7fELF');
    assert.equal(python.readUInt16LE(18), 183); // e_machine EM_AARCH64
  });
});
