// A flipped bit in the cache must never reach an image: a corrupt cached .deb is fetched again, a
// corrupt cached layer is built again, and a corrupt blob in a layout is not copied on.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertOk, runImprint } from '../helpers/cli.js';
import { createDebRepo, type DebRepo, repoSpecYaml } from '../helpers/debrepo.js';

/** Flips one byte of `file` at `offset` (from the end when negative). */
async function flipByte(file: string, offset: number): Promise<void> {
  const fh = await open(file, 'r+');
  try {
    const { size } = await fh.stat();
    const at = offset < 0 ? size + offset : offset;
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, at);
    b[0] = (b[0] as number) ^ 0xff;
    await fh.write(b, 0, 1, at);
  } finally {
    await fh.close();
  }
}

const sha256File = async (file: string): Promise<string> =>
  `sha256:${createHash('sha256')
    .update(await readFile(file))
    .digest('hex')}`;

describe('cache integrity', async () => {
  const work = await mkdtemp(join(tmpdir(), 'imprint-cache-integrity-'));
  const spec = join(work, 'spec');
  const cache = join(work, 'cache');
  let repo: DebRepo;

  before(async () => {
    repo = await createDebRepo({
      packages: [
        {
          name: 'data',
          version: '1',
          architecture: 'all',
          files: [
            {
              path: '/usr/share/data/blob',
              content: createHash('sha512').update('x').digest('hex').repeat(4000),
            },
          ],
        },
      ],
    });
    await mkdir(spec);
    await writeFile(join(spec, 'imprint.yaml'), repoSpecYaml(repo, 'data'));
  });
  after(async () => {
    await repo?.close();
    await rm(work, { recursive: true, force: true });
  });

  const build = async (out: string) => {
    const r = assertOk(
      await runImprint(['--cache-dir', cache, 'build', spec, '-o', `oci:${join(work, out)}`, '--json'], {
        env: { SOURCE_DATE_EPOCH: '1700000000' },
      }),
      `imprint build ${out}`,
    );
    return JSON.parse(r.stdout) as {
      index: string;
      images: Array<{ layers: Array<{ digest: string }> }>;
      warnings: string[];
    };
  };
  const blob = (digest: string) => join(cache, 'blobs', 'sha256', digest.slice('sha256:'.length));

  it('removes a corrupt cached .deb (naming it) and fetches it again in the same build; builds a corrupt cached layer again', async () => {
    const first = await build('out-1');
    const lock = JSON.parse(await readFile(join(spec, 'imprint.lock'), 'utf8'));
    const deb = blob(`sha256:${lock.platforms['linux/amd64'][0].sha256}`);
    const layer = first.images[0]!.layers[0]!.digest;
    const run = (...extra: string[]) =>
      runImprint(['--cache-dir', cache, 'build', spec, '-o', `oci:${join(work, 'out-x')}`, ...extra], {
        env: { SOURCE_DATE_EPOCH: '1700000000' },
      });

    await flipByte(blob(layer), 1000);
    for (const offset of [-100, 200]) {
      // In the data member's xz stream (a broken stream), or in an ar header (only the hash tells).
      await flipByte(deb, offset);
      await rm(join(cache, 'layers'), { recursive: true, force: true }); // the .deb must be read again
      repo.requests.length = 0;
      const refetched = await run('--json');
      assert.equal(refetched.code, 0, refetched.stderr);
      assert.match(
        refetched.stderr,
        /warning: the cached data_1_all\.deb no longer matched the lock's sha256 and was removed .*; fetching it again/,
      );
      assert.equal(JSON.parse(refetched.stdout).index, first.index);
      assert.equal(
        repo.requests.filter((r) => r.path.endsWith('.deb')).length,
        1,
        JSON.stringify(repo.requests),
      );
      assert.equal(await sha256File(deb), `sha256:${lock.platforms['linux/amd64'][0].sha256}`);
    }
    // Offline, the corrupt package cannot be fetched again: the error names it and says to build online.
    await flipByte(deb, -100);
    await rm(join(cache, 'layers'), { recursive: true, force: true });
    const offline = await run('--offline');
    assert.equal(offline.code, 1, offline.stderr);
    assert.match(offline.stderr, /data_1_all\.deb no longer matched the lock's sha256 and was removed/);
    assert.match(offline.stderr, /and offline it is not fetched again/);
    assert.match(offline.stderr, /hint: Build once without --offline/);
    const again = await build('out-1b');
    assert.equal(again.index, first.index);
    await flipByte(blob(layer), 1000);
    const second = await build('out-2');
    assert.equal(second.index, first.index);
    // Said, not only repaired: damage in a cache is worth knowing of (the disk, a cache restore).
    assert.deepEqual(
      second.warnings.filter((w) => /damaged/.test(w)),
      [
        `the cached layer ${layer} in ${cache} is damaged (its bytes no longer match its digest): removed; the layer is built again`,
      ],
    );
    assert.equal(await sha256File(deb), `sha256:${lock.platforms['linux/amd64'][0].sha256}`);
    assert.equal(await sha256File(join(work, 'out-2', 'blobs', 'sha256', layer.slice(7))), layer);

    await flipByte(blob(layer), 1000); // the layer cache's record now names a corrupt blob
    const third = await build('out-3');
    assert.equal(third.index, first.index);
    assert.equal(await sha256File(join(work, 'out-3', 'blobs', 'sha256', layer.slice(7))), layer);
    assert.equal(await sha256File(blob(layer)), layer);
  });

  it('builds again from a damaged layer record or cached SBOM instead of putting their bytes in the image', async () => {
    const first = await build('out-rec');
    const firstIndex = await readFile(join(work, 'out-rec', 'index.json'), 'utf8');
    // A changed character that leaves valid JSON: a layer record's diffId (it goes into the image's
    // config) and the SBOM's document id (the SBOM is attached to the image as a referrer).
    const damage = async (dir: string, marker: string) => {
      const files = (await readdir(join(cache, dir))).filter((f) => f.endsWith('.checked'));
      assert.ok(files.length > 0, `no files in ${dir}`);
      for (const f of files) {
        const text = await readFile(join(cache, dir, f), 'latin1');
        const at = text.indexOf(marker);
        assert.ok(at >= 0, `${marker} in ${dir}/${f}`);
        const i = at + marker.length;
        await writeFile(
          join(cache, dir, f),
          text.slice(0, i) + (text[i] === '0' ? '1' : '0') + text.slice(i + 1),
          'latin1',
        );
      }
    };
    await damage('layers', '"diffId":"sha256:');
    await damage('sbom', '"SPDXID":"SPDXRef-DOCUMENT');
    const again = await build('out-rec-2');
    assert.equal(again.index, first.index);
    assert.equal(await readFile(join(work, 'out-rec-2', 'index.json'), 'utf8'), firstIndex);
    const damaged = again.warnings.filter((w) => /damaged/.test(w));
    assert.equal(damaged.length, 1, damaged.join('\n'));
    assert.match(
      damaged[0]!,
      /^the layer record .*layers\/[0-9a-f]{64}\.checked is damaged \(it does not match its checksum\): not used; the layers are built again$/,
    );
    // A record or blob that is only missing (part of the cache deleted) is a plain miss.
    await rm(join(cache, 'layers'), { recursive: true, force: true });
    await rm(blob(first.images[0]!.layers[0]!.digest), { force: true });
    const missing = await build('out-rec-3');
    assert.equal(missing.index, first.index);
    assert.deepEqual(
      missing.warnings.filter((w) => /damaged/.test(w)),
      [],
    );
  });

  it("keeps its records apart from an older imprint's plain-JSON records in a shared cache", async () => {
    // Before checked records, imprint read `<key>.json` as plain JSON. A cached SBOM's key does not
    // change with the code, so a checked record at that name made an older imprint fail on its header.
    const first = await build('out-old');
    for (const dir of ['layers', 'sbom']) {
      const names = await readdir(join(cache, dir));
      assert.ok(names.length > 0, `records in ${dir}`);
      for (const name of names) assert.ok(name.endsWith('.checked'), `${dir}/${name} is a checked record`);
      // What an older imprint wrote at the old names: left alone, and not read.
      for (const name of names)
        await writeFile(join(cache, dir, name.replace(/\.checked$/, '.json')), '{"old":true}');
    }
    const again = await build('out-old-2');
    assert.equal(again.index, first.index);
    for (const dir of ['layers', 'sbom'])
      for (const name of (await readdir(join(cache, dir))).filter((f) => f.endsWith('.json')))
        assert.equal(await readFile(join(cache, dir, name), 'utf8'), '{"old":true}');
  });

  it('copy refuses a layout blob that no longer matches its digest', async () => {
    const first = await build('out-copy');
    const layer = first.images[0]!.layers[0]!.digest;
    const file = join(work, 'out-copy', 'blobs', 'sha256', layer.slice(7));
    // A copy of its own, so the cache's blob (hard-linked) stays intact.
    const bytes = await readFile(file);
    await rm(file);
    await writeFile(file, bytes);
    await flipByte(file, 500);
    const r = await runImprint([
      'copy',
      `oci:${join(work, 'out-copy')}:latest`,
      `oci:${join(work, 'copied')}`,
    ]);
    assert.notEqual(r.code, 0, r.stdout);
    assert.match(r.stderr, /DIGEST_MISMATCH|hashes to|expected sha256/);
  });
});
