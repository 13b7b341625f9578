// [live] examples/static (distroless-static-like: five data packages without their dependencies) from the
// host's Debian archive, then used as the base of an image that adds a static binary and runs under
// podman. Runs when IMPRINT_LIVE=1 (.ci/run sets it); base images are covered offline by base-image.test.ts.
import assert from 'node:assert/strict';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { validateImage } from '../../src/oci/validate.js';
import { parseReference, readImageSet } from '../../src/transport/index.js';
import { assertOk, ROOT, runImprint } from '../helpers/cli.js';
import { readLayerFiles } from '../helpers/layers.js';
import { podmanForLayout } from '../helpers/podman.js';
import { canCompileStatic, compileStatic } from '../helpers/static-c.js';

const live = process.env.IMPRINT_LIVE === '1';
const skip = live ? false : 'live: set IMPRINT_LIVE=1 (needs the Debian archive)';

const TIME_C = `#include <stdio.h>
#include <time.h>
#include <unistd.h>
int main(void) {
  FILE *f = fopen("/etc/ssl/certs/ca-certificates.crt", "r");
  int certs = 0; char line[512];
  while (f && fgets(line, sizeof line, f)) if (line[0] == '-' && line[5] == 'B') certs++;
  time_t t = 0; struct tm tm; localtime_r(&t, &tm);
  printf("certs=%d tz=%s uid=%d\\n", certs, tm.tm_zone, (int)getuid());
  return 0;
}
`;

describe('examples/static, and an image built on it [live]', async () => {
  const work = await mkdtemp(join(tmpdir(), 'imprint-static-'));
  const spec = join(work, 'static');
  await cp(join(ROOT, 'examples/static'), spec, { recursive: true });
  await rm(join(spec, 'out'), { recursive: true, force: true });
  await rm(join(spec, 'imprint.lock'), { force: true });
  const cache = join(work, 'cache');
  const env = { SOURCE_DATE_EPOCH: '1700000000' };
  after(() => rm(work, { recursive: true, force: true }));

  it('holds the five packages alone, the CA bundle, UTC, nonroot and a 1777 /tmp [live]', {
    skip,
  }, async () => {
    assertOk(await runImprint(['--cache-dir', cache, 'build', spec, '--no-attest'], { env }), 'build static');
    const lock = JSON.parse(await readFile(join(spec, 'imprint.lock'), 'utf8'));
    for (const platform of ['linux/amd64', 'linux/arm64'])
      assert.deepEqual(
        lock.platforms[platform].map((p: { name: string }) => p.name),
        ['base-files', 'ca-certificates', 'media-types', 'netbase', 'tzdata'],
      );
    const set = await readImageSet(parseReference(`oci:${join(spec, 'out')}`));
    await validateImage(set);
    const files = await readLayerFiles(set);
    for (const name of ['base-files', 'ca-certificates', 'media-types', 'netbase', 'tzdata'])
      assert.match(
        files.get(`var/lib/dpkg/status.d/${name}`)?.toString() ?? '',
        /^Status: install ok installed$/m,
      );
    assert.match(files.get('etc/ssl/certs/ca-certificates.crt')?.toString() ?? '', /BEGIN CERTIFICATE/);
    assert.equal(files.get('etc/localtime')?.toString(), '-> /usr/share/zoneinfo/Etc/UTC');
    assert.match(files.get('etc/passwd')?.toString() ?? '', /^nonroot:[^:]*:65532:65532:/m);
    assert.equal(files.get('tmp/.keep'), undefined);
    assert.ok(files.has('tmp'));
    assert.equal(files.get('usr/bin/openssl'), undefined); // no dependencies pulled in
  });

  it('is a base for a static binary that runs under podman [live]', { skip }, async () => {
    const hasGcc = await canCompileStatic(work);
    if (!hasGcc) return;
    const app = join(work, 'app');
    await mkdir(app, { recursive: true });
    await compileStatic(TIME_C, join(app, 'time'));
    await writeFile(
      join(app, 'imprint.yaml'),
      'version: 1\nbase: oci:../static/out:latest\nfiles:\n  - {source: time, target: /usr/local/bin/time, mode: "0755"}\nentrypoint: [/usr/local/bin/time]\n',
    );
    assertOk(await runImprint(['--cache-dir', cache, 'build', app, '--no-attest'], { env }), 'build app');
    const podman = await podmanForLayout(work, join(app, 'out'));
    try {
      const out = (await podman.run(['IMAGE'])).stdout.trim();
      assert.match(out, /^certs=\d{2,} tz=UTC uid=65532$/);
    } finally {
      await podman.close();
    }
  });
});
