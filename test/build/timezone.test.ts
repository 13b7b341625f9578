// The spec's `timezone`: /etc/localtime and /etc/timezone from tzdata (a generated signed repository),
// Etc/UTC by default, and errors naming the spec file and field for a zone tzdata lacks or a missing tzdata.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseReference, readImageSet } from '../../src/transport/index.js';
import { assertOk, runImprint } from '../helpers/cli.js';
import { createDebRepo, type DebRepo, repoSpecYaml } from '../helpers/debrepo.js';
import { readLayerFiles } from '../helpers/layers.js';

describe('spec timezone (generated signed repository)', async () => {
  const work = await mkdtemp(join(tmpdir(), 'imprint-tz-'));
  let repo: DebRepo;
  let n = 0;

  before(async () => {
    repo = await createDebRepo({
      packages: [
        {
          name: 'tzdata',
          version: '2024a-1',
          architecture: 'all',
          files: [
            { path: '/usr/share/zoneinfo/Etc/UTC', content: 'TZif-utc' },
            { path: '/usr/share/zoneinfo/Europe/Berlin', content: 'TZif-berlin' },
          ],
        },
        {
          name: 'other',
          version: '1',
          architecture: 'all',
          files: [{ path: '/usr/share/other/x', content: 'x' }],
        },
      ],
    });
  });
  after(async () => {
    await repo?.close();
    await rm(work, { recursive: true, force: true });
  });

  /** Builds a spec with these packages and extra lines; returns the run result and the output dir. */
  const build = async (packages: string, extra: string[]) => {
    const dir = join(work, `spec-${n++}`);
    await mkdir(dir);
    const file = join(dir, 'imprint.yaml');
    await writeFile(file, repoSpecYaml(repo, packages, extra));
    const out = join(dir, 'out');
    const result = await runImprint(['--cache-dir', join(work, 'cache'), 'build', dir, '-o', `oci:${out}`], {
      env: { SOURCE_DATE_EPOCH: '1700000000' },
    });
    return { result, out, file };
  };

  const zoneFiles = async (out: string) => {
    const files = await readLayerFiles(await readImageSet(parseReference(`oci:${out}`)));
    return {
      localtime: files.get('etc/localtime')?.toString(),
      timezone: files.get('etc/timezone')?.toString(),
    };
  };

  it('writes Etc/UTC without a timezone, and the spec zone with one', async () => {
    const utc = await build('tzdata', []);
    assertOk(utc.result, 'build without timezone');
    assert.deepEqual(await zoneFiles(utc.out), {
      localtime: '-> /usr/share/zoneinfo/Etc/UTC',
      timezone: 'Etc/UTC\n',
    });
    const berlin = await build('tzdata', ['timezone: Europe/Berlin']);
    assertOk(berlin.result, 'build with timezone');
    assert.deepEqual(await zoneFiles(berlin.out), {
      localtime: '-> /usr/share/zoneinfo/Europe/Berlin',
      timezone: 'Europe/Berlin\n',
    });
  });

  it('rejects a zone tzdata does not ship, naming the spec file and field', async () => {
    const { result, file } = await build('tzdata', ['timezone: Mars/Olympus']);
    assert.notEqual(result.code, 0);
    assert.ok(result.stderr.includes(`${file}:`), result.stderr);
    assert.match(result.stderr, /imprint\.yaml:\d+:\d+: timezone: /);
    assert.match(result.stderr, /Mars\/Olympus/);
  });

  it('rejects a timezone without tzdata among the packages', async () => {
    const { result, file } = await build('other', ['timezone: Europe/Berlin']);
    assert.notEqual(result.code, 0);
    assert.ok(result.stderr.includes(`${file}:`), result.stderr);
    assert.match(result.stderr, /imprint\.yaml:\d+:\d+: timezone: Europe\/Berlin is set, but tzdata/);
    assert.match(result.stderr, /Add tzdata to packages/);
  });

  it('rejects a malformed zone name when the spec loads', async () => {
    const { result, file } = await build('tzdata', ['timezone: "../../etc/passwd"']);
    assert.notEqual(result.code, 0);
    assert.ok(result.stderr.includes(file), result.stderr);
    assert.match(result.stderr, /timezone/);
  });
});
