// `timezone` on a base image that has tzdata's zones (e.g. examples/static, meant as a base): the
// zone is set in the build's layer, as tzdata's postinst would, instead of being refused because
// tzdata is not among the spec's own packages.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseReference, readImageSet } from '../../src/transport/index.js';
import { assertOk, runImprint } from '../helpers/cli.js';
import { createDebRepo, repoSpecYaml } from '../helpers/debrepo.js';
import { readLayerFiles } from '../helpers/layers.js';

describe('timezone over a base image', async () => {
  const work = await mkdtemp(join(tmpdir(), 'imprint-base-tz-'));
  after(() => rm(work, { recursive: true, force: true }));
  const imprint = (args: string[]) =>
    runImprint(['--cache-dir', join(work, 'cache'), ...args], { env: { SOURCE_DATE_EPOCH: '1700000000' } });
  const spec = async (name: string, lines: string[]) => {
    await mkdir(join(work, name), { recursive: true });
    await writeFile(
      join(work, name, 'imprint.yaml'),
      ['version: 1', 'platforms: [linux/amd64]', ...lines, ''].join('\n'),
    );
    return join(work, name);
  };
  /** Builds the spec directory `dir` into the layout `<dir>-out` (no attestations). */
  const build = async (dir: string) =>
    assertOk(await imprint(['build', dir, '-o', `oci:${dir}-out`, '--no-attest']), dir);
  /** The files of the layers of the image `build` made from `dir`. */
  const layerFiles = async (dir: string) =>
    readLayerFiles(await readImageSet(parseReference(`oci:${dir}-out`)));

  it("sets the zone from the base's /usr/share/zoneinfo; an unknown zone or a base without zones is refused", async () => {
    const base = await spec('base', ['files:', '  - {source: zoneinfo/, target: /usr/share/zoneinfo/}']);
    await mkdir(join(base, 'zoneinfo', 'Europe'), { recursive: true });
    await mkdir(join(base, 'zoneinfo', 'Etc'), { recursive: true });
    await writeFile(join(base, 'zoneinfo', 'Europe', 'Berlin'), 'TZif berlin');
    await writeFile(join(base, 'zoneinfo', 'Etc', 'UTC'), 'TZif utc');
    await build(base);
    const bare = await spec('bare', ['files: [{source: imprint.yaml, target: /etc/x}]']);
    await build(bare);

    const app = await spec('app', ['base: oci:../base-out:latest', 'timezone: Europe/Berlin']);
    await build(app);
    const files = await layerFiles(app);
    assert.equal(files.get('etc/localtime')?.toString(), '-> /usr/share/zoneinfo/Europe/Berlin');
    assert.equal(files.get('etc/timezone')?.toString(), 'Europe/Berlin\n');

    const wrong = await spec('wrong', ['base: oci:../base-out:latest', 'timezone: Mars/Base']);
    const r = await imprint(['build', wrong, '-o', `oci:${join(work, 'wrong-out')}`]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /imprint\.yaml:4:\d+: timezone: time zone "Mars\/Base" is not a zone tzdata installs/,
    );
    const none = await spec('none', ['base: oci:../bare-out:latest', 'timezone: Europe/Berlin']);
    const n = await imprint(['build', none, '-o', `oci:${join(work, 'none-out')}`]);
    assert.equal(n.code, 1);
    assert.match(
      n.stderr,
      /tzdata is not among the packages for linux\/amd64 and the base image has no \/usr\/share\/zoneinfo/,
    );
  });

  // trixie's tzdata postinst updates /etc/timezone only where it exists.
  const TRIXIE_POSTINST = [
    'if [ "$1" = configure ]; then',
    '\tif test -f "$DPKG_ROOT/etc/timezone"; then',
    '\t\techo "$TIMEZONE" > "$DPKG_ROOT/etc/timezone"',
    '\tfi',
    'fi',
    '',
  ].join('\n');

  it("keeps a base's /etc/timezone in step with /etc/localtime when trixie's tzdata comes with the spec's packages", async () => {
    const repo = await createDebRepo({
      packages: [
        {
          name: 'tzdata',
          version: '2025b-4',
          architecture: 'all',
          files: {
            '/usr/share/zoneinfo/Etc/UTC': 'TZif utc',
            '/usr/share/zoneinfo/Europe/Berlin': 'TZif berlin',
          },
          scripts: { postinst: TRIXIE_POSTINST },
        },
      ],
    });
    try {
      const base = await spec('tz-file-base', ['files:', '  - {source: timezone, target: /etc/timezone}']);
      await writeFile(join(base, 'timezone'), 'Etc/UTC\n');
      await build(base);
      /** A spec installing the repository's tzdata over the image `base` built. */
      const tzdataOver = async (name: string, base: string, extra: string[] = []) => {
        await mkdir(join(work, name));
        await writeFile(
          join(work, name, 'imprint.yaml'),
          repoSpecYaml(repo, '{name: tzdata, dependencies: false}', [
            'platforms: [linux/amd64]',
            `base: oci:../${base}-out:latest`,
            ...extra,
          ]),
        );
        return join(work, name);
      };
      const app = await tzdataOver('tz-app', 'tz-file-base', ['timezone: Europe/Berlin']);
      await build(app);
      const files = await layerFiles(app);
      assert.equal(files.get('etc/localtime')?.toString(), '-> /usr/share/zoneinfo/Europe/Berlin');
      assert.equal(files.get('etc/timezone')?.toString(), 'Europe/Berlin\n');

      // No timezone in the spec, over a base set to Berlin by `ln -sf` (tzdata not installed): tzdata
      // keeps the zone /etc/localtime names, as its config script reads it, instead of Etc/UTC.
      const linked = await spec('tz-link-base', ['files:', '  - {source: etc/, target: /etc/}']);
      await mkdir(join(linked, 'etc'));
      await symlink('/usr/share/zoneinfo/Europe/Berlin', join(linked, 'etc', 'localtime'));
      await writeFile(join(linked, 'etc', 'timezone'), 'Europe/Berlin\n');
      await build(linked);
      const keep = await tzdataOver('tz-keep', 'tz-link-base');
      await build(keep);
      const kept = await layerFiles(keep);
      assert.equal(kept.get('etc/localtime')?.toString(), '-> /usr/share/zoneinfo/Europe/Berlin');
      assert.equal(kept.get('etc/timezone')?.toString(), 'Europe/Berlin\n');
    } finally {
      await repo.close();
    }
  });

  it("sets the zone of a base with trixie's tzdata as its postinst would: no /etc/timezone where the base has none", async () => {
    const base = await spec('trixie-base', [
      'files:',
      '  - {source: zoneinfo/, target: /usr/share/zoneinfo/}',
      '  - {source: postinst, target: /var/lib/dpkg/info/tzdata.postinst}',
    ]);
    await mkdir(join(base, 'zoneinfo', 'Europe'), { recursive: true });
    await writeFile(join(base, 'zoneinfo', 'Europe', 'Berlin'), 'TZif berlin');
    await writeFile(join(base, 'postinst'), TRIXIE_POSTINST);
    await build(base);
    const app = await spec('trixie-app', ['base: oci:../trixie-base-out:latest', 'timezone: Europe/Berlin']);
    await build(app);
    const files = await layerFiles(app);
    assert.equal(files.get('etc/localtime')?.toString(), '-> /usr/share/zoneinfo/Europe/Berlin');
    assert.equal(files.get('etc/timezone'), undefined);
  });
});
