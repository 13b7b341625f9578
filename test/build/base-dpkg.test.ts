// Packages over a base image with a dpkg database (/var/lib/dpkg/status, as Debian's images and
// mmdebstrap's have it): what the base has installed is not locked or installed again.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openDecompressed } from '../../src/compress/index.js';
import { readTar } from '../../src/tar/index.js';
import { parseReference, readImageSet, walkImageSet } from '../../src/transport/index.js';
import { assertOk, runImprint } from '../helpers/cli.js';
import { createDebRepo, type DebPackageSpec, type DebRepo, repoSpecYaml } from '../helpers/debrepo.js';

/** An Architecture: all package of `files`. */
function pkg(name: string, version: string, files: Record<string, string>, depends?: string): DebPackageSpec {
  return { name, version, architecture: 'all', files, ...(depends === undefined ? {} : { depends }) };
}

const PASSWD = 'root:x:0:0:root:/root:/bin/sh\nbase:x:1500:1500::/home/base:/bin/sh\n';
const GROUP = 'root:x:0:\nbase:x:1500:\n';

const SHELLS = '/bin/sh\n/bin/bash\n';

const BYSTANDER = `Package: bystander
Status: install ok installed
Architecture: all
Version: 1
Description: a package the build leaves alone
 with a continuation line`;

const STATUS = `Package: libthing
Status: install ok installed
Architecture: all
Version: 2.1
Description: a library the base has

Package: libold
Status: install ok installed
Architecture: all
Version: 1
Description: a library the build upgrades

${BYSTANDER}
`;

/** The entries of the last layer of the layout's first image: archive path → type, mtime, contents. */
async function topLayer(dir: string): Promise<Map<string, { type: string; mtime: number; text: string }>> {
  const set = await readImageSet(parseReference(`oci:${dir}`));
  const image = (await walkImageSet(set)).images[0]!;
  const layer = image.manifest.layers.at(-1)!;
  const { stream } = await openDecompressed(await set.blobs.open(layer), { what: layer.digest });
  const out = new Map<string, { type: string; mtime: number; text: string }>();
  for await (const e of readTar(stream, { archive: layer.digest })) {
    let text = '';
    for await (const c of e.body) text += c;
    out.set(e.path, { type: e.type, mtime: e.mtime, text });
  }
  return out;
}

describe('packages on a base image with a dpkg database (generated signed repository)', async () => {
  const work = await mkdtemp(join(tmpdir(), 'imprint-base-dpkg-'));
  const cache = join(work, 'cache');
  const baseSpec = join(work, 'base');
  let repo: DebRepo;
  const imprint = (args: string[]) =>
    runImprint(['--cache-dir', cache, ...args], { env: { SOURCE_DATE_EPOCH: '1700000000' } });
  /** Builds `<work>/<name>`, a spec of `packages` from the repository over the base: its top layer. */
  const buildOnBase = async (name: string, packages: string) => {
    const spec = join(work, name);
    await mkdir(spec, { recursive: true });
    await writeFile(
      join(spec, 'imprint.yaml'),
      repoSpecYaml(repo, packages, [`base: oci:${join(work, 'base-layout')}`]),
    );
    const out = join(work, `${name}-out`);
    assertOk(await imprint(['build', spec, '-o', `oci:${out}`]), 'build');
    return { spec, top: await topLayer(out) };
  };

  before(async () => {
    repo = await createDebRepo({
      packages: [
        pkg('app', '1', { '/usr/bin/app': 'a' }, 'libthing (>= 2)'),
        pkg('libthing', '2.1', { '/usr/lib/thing': 't' }),
        pkg('tool', '1', { '/usr/bin/tool': 'b' }, 'libold (>= 2)'),
        pkg('libold', '2', { '/usr/lib/old': 'o2' }),
        { name: 'fetcher', version: '1', recommends: 'ca-certificates', files: { '/usr/bin/fetcher': 'f' } },
        pkg('zsh', '1', {
          '/usr/bin/zsh': 'z',
          '/usr/share/debianutils/shells.d/zsh': '/bin/zsh\n/usr/bin/zsh\n',
        }),
        {
          name: 'daemon',
          version: '1',
          architecture: 'all',
          files: { '/usr/sbin/daemond': 'd' },
          scripts: {
            postinst:
              '#!/bin/sh\nset -e\nif [ "$1" = configure ]; then\n  adduser --system --group --no-create-home daemon\nfi\n',
          },
        },
      ],
    });
    await mkdir(baseSpec);
    await writeFile(join(baseSpec, 'status'), STATUS);
    await writeFile(join(baseSpec, 'thing'), 't');
    await writeFile(join(baseSpec, 'passwd'), PASSWD);
    await writeFile(join(baseSpec, 'group'), GROUP);
    await writeFile(join(baseSpec, 'shells'), SHELLS);
    await writeFile(join(baseSpec, 'update-shells'), '#!/bin/sh\n');
    await writeFile(
      join(baseSpec, 'imprint.yaml'),
      [
        'version: 1',
        'files:',
        '  - {source: status, target: /var/lib/dpkg/status}',
        '  - {source: thing, target: /usr/lib/thing}',
        '  - {source: passwd, target: /etc/passwd}',
        '  - {source: group, target: /etc/group}',
        '  - {source: shells, target: /etc/shells}',
        '  - {source: shells, target: /var/lib/shells.state}',
        "  - {source: update-shells, target: /usr/sbin/update-shells, mode: '0755'}",
        '',
      ].join('\n'),
    );
    assertOk(
      await imprint(['build', baseSpec, '-o', `oci:${join(work, 'base-layout')}`, '--no-attest']),
      'base',
    );
  });
  after(async () => {
    await repo?.close();
    await rm(work, { recursive: true, force: true });
  });

  it('builds a spec naming a package the base has at the candidate version, without locking it', async () => {
    // The lock's own check at build time resolves over the locked packages only: libthing, installed
    // by the base and locked by no one, was 'not found in the configured sources' (LOCK_INVALID).
    const { spec, top } = await buildOnBase('app', 'app, libthing');
    const lock = JSON.parse(await readFile(join(spec, 'imprint.lock'), 'utf8'));
    assert.deepEqual(
      lock.platforms['linux/amd64'].map((p: { name: string }) => p.name),
      ['app'],
    );
    assert.ok(top.has('usr/bin/app'));
    assert.ok(!top.has('usr/lib/thing'), 'the base has libthing: not installed again');
  });

  it("gives the directories it creates in the base, a home's parent included, the epoch", async () => {
    const spec = join(work, 'accounts');
    await mkdir(spec);
    await writeFile(
      join(spec, 'imprint.yaml'),
      [
        'version: 1',
        `base: oci:${join(work, 'base-layout')}`,
        'accounts:',
        '  users: [{name: svc, uid: 2000}]',
        '',
      ].join('\n'),
    );
    const out = join(work, 'accounts-out');
    assertOk(await imprint(['build', spec, '-o', `oci:${out}`]), 'build');
    const top = await topLayer(out);
    // /home was made at mtime 0, with the base tree's own metadata for missing parents.
    assert.deepEqual(top.get('home/'), { type: 'dir', mtime: 1700000000, text: '' });
    assert.deepEqual(top.get('home/svc/'), { type: 'dir', mtime: 1700000000, text: '' });
  });

  it("upgrades a package of the base's dpkg database there too: dpkg and scanners see the new version only", async () => {
    const db = (await buildOnBase('upgrade', 'tool')).top.get('var/lib/dpkg/status');
    // The database kept libold 1 beside status.d's libold 2: the SBOM (which reads the database first)
    // and a scanner reported the version the image no longer has.
    assert.ok(db !== undefined, 'the database is rewritten in the build layer');
    const paragraphs = db.text.split('\n\n');
    assert.equal(paragraphs.length, 4);
    assert.match(paragraphs[1]!, /^Package: libold\nStatus: install ok installed\n(.|\n)*^Version: 2$/m);
    assert.equal(paragraphs[0], STATUS.split('\n\n')[0], 'libthing, not upgraded, keeps its bytes');
    assert.equal(paragraphs[2], BYSTANDER);
  });

  it("records the packages it adds in the base's dpkg database, as apt-get install there would", async () => {
    const { top } = await buildOnBase('added', 'tool');
    // tool was only in status.d, which dpkg does not read: `dpkg -l` in the image did not list it (apt
    // would install it again), and libold was in both the database and status.d (twice for scanners).
    const db = top.get('var/lib/dpkg/status')!.text;
    assert.match(db, /\n\nPackage: tool\nStatus: install ok installed\n(.|\n)*^Version: 1\n(.|\n)*[^\n]\n$/m);
    assert.equal(db.match(/^Package: /gm)?.length, 4);
    assert.deepEqual(
      [...top.keys()].filter((k) => k.startsWith('var/lib/dpkg/status.d')),
      [],
      'no status.d entry beside the database',
    );
    assert.equal(top.get('var/lib/dpkg/info/tool.list')?.text, '/.\n/usr\n/usr/bin\n/usr/bin/tool\n');
    assert.ok(top.has('var/lib/dpkg/info/libold.list'), "the upgraded package's file list is its new one");
  });

  it('warns that a package it adds recommends ca-certificates, which the base lacks, though its status entry moved to the database', async () => {
    const spec = join(work, 'fetcher');
    await mkdir(spec, { recursive: true });
    await writeFile(
      join(spec, 'imprint.yaml'),
      repoSpecYaml(repo, 'fetcher', [`base: oci:${join(work, 'base-layout')}`]),
    );
    const r = await imprint(['build', spec, '-o', `oci:${join(work, 'fetcher-out')}`, '--no-attest']);
    assertOk(r, 'build');
    assert.match(r.stderr, /warning: fetcher recommends ca-certificates, which apt-get install would add/);
  });

  it('locks and builds on a layout base pinned by digest, with a fresh cache and a warm one', async () => {
    const layout = join(work, 'base-layout');
    const root = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8'));
    const pin: string = root.manifests[0].digest;
    const spec = join(work, 'pinned');
    await mkdir(spec);
    await writeFile(join(spec, 'imprint.yaml'), ['version: 1', `base: oci:${layout}@${pin}`, ''].join('\n'));
    // The pin was read with no size: 'The "size" argument must be of type number' (an internal error).
    for (const cacheDir of [join(work, 'pin-cache'), join(work, 'pin-cache')]) {
      await rm(join(spec, 'imprint.lock'), { force: true });
      assertOk(
        await runImprint(['--cache-dir', cacheDir, 'build', spec, '-o', `oci:${join(work, 'pinned-out')}`], {
          env: { SOURCE_DATE_EPOCH: '1700000000' },
        }),
        'build',
      );
      assert.equal(JSON.parse(await readFile(join(spec, 'imprint.lock'), 'utf8')).base.digest, pin);
    }
  });

  it("adds a postinst's system account to the base's /etc/passwd and /etc/group", async () => {
    const { top } = await buildOnBase('daemon', 'daemon');
    // The effect ran on the build's own tree, which had no /etc/passwd: no account at all.
    assert.equal(top.get('etc/passwd')?.text, `${PASSWD}daemon:!:100:100::/nonexistent:/usr/sbin/nologin\n`);
    assert.equal(top.get('etc/group')?.text, `${GROUP}daemon:!:100:\n`);
  });

  it("adds a new package's shells.d shells to the base's /etc/shells, as the base's update-shells trigger does", async () => {
    const { top } = await buildOnBase('zsh', 'zsh');
    // The rule ran only with debianutils among the build's packages: zsh was missing from /etc/shells,
    // so chsh -s /bin/zsh and pam_shells refused it.
    assert.equal(top.get('etc/shells')?.text, `${SHELLS}/bin/zsh\n/usr/bin/zsh\n`);
    assert.equal(top.get('var/lib/shells.state')?.text, `${SHELLS}/bin/zsh\n/usr/bin/zsh\n`);
    assert.ok(!top.has('usr/sbin/update-shells'), "the base's update-shells stays in the base's layer");
  });
});
