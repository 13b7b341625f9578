import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { GzipBodyCache } from '../../src/compress/gzip-bodies.js';
import { parseDeb822 } from '../../src/debian/deb822.js';
import { type InstallInput, type InstallOptions, installPackages } from '../../src/debian/install.js';
import { statusParagraph } from '../../src/debian/install-status.js';
import { ImprintError, isImprintError } from '../../src/errors.js';
import { layerEntries } from '../../src/vfs/entries.js';
import { writeLayer } from '../../src/vfs/layer.js';
import type { VNode } from '../../src/vfs/node.js';
import { compareBytes } from '../../src/vfs/path.js';
import { FileTree } from '../../src/vfs/tree.js';
import { buildDeb, type DebSpec, debInput, md5sumsText } from '../helpers/debfile.js';
import { memorySink } from '../helpers/layers.js';

const EPOCH = 1_650_000_000;
const spoolRoot = mkdtempSync(join(tmpdir(), 'imprint-install-'));
const spools: Array<{ close(): Promise<void> }> = [];
after(async () => {
  for (const s of spools) await s.close();
  rmSync(spoolRoot, { recursive: true, force: true });
});

const newTree = (): FileTree => new FileTree({ mode: 0o755, uid: 0, gid: 0, mtime: EPOCH });
const options = (extra: Partial<InstallOptions> = {}): InstallOptions => ({
  epoch: EPOCH,
  arch: 'amd64',
  spoolDir: spoolRoot,
  mergedUsr: true,
  effects: false,
  ...extra,
});

async function install(
  specs: Array<DebSpec | InstallInput>,
  extra: Partial<InstallOptions> = {},
  tree = newTree(),
) {
  const inputs = specs.map((s) => ('record' in s ? s : debInput(s)));
  const result = await installPackages(tree, inputs, options(extra));
  spools.push(result.spool);
  return { tree, result };
}

async function read(node: VNode | undefined): Promise<string> {
  assert.ok(node !== undefined && node.kind === 'file', `expected a file, found ${node?.kind}`);
  const parts: Buffer[] = [];
  for await (const c of await node.content()) parts.push(Buffer.from(c as Buffer));
  return Buffer.concat(parts).toString('utf8');
}

/** A stable listing of the tree for equality checks. */
function listing(tree: FileTree): string[] {
  return [...tree.keys()].sort(compareBytes).map((k) => {
    const n = tree.get(k) as VNode;
    const extra =
      n.kind === 'symlink' || n.kind === 'hardlink' ? n.target : n.kind === 'file' ? String(n.size) : '';
    return `${k} ${n.kind} ${n.mode.toString(8)} ${n.uid}:${n.gid} ${n.mtime} ${extra} ${n.origin ?? ''}`;
  });
}

describe('installPackages: merged /usr', () => {
  it('creates the links first and canonicalises package paths through them', async () => {
    const { tree } = await install([
      {
        name: 'base-files',
        arch: 'all',
        entries: [
          { path: './bin/' },
          { path: './lib/' },
          { path: './usr/bin/' },
          { path: './etc/issue', content: 'Debian\n' },
        ],
      },
      {
        name: 'dash',
        entries: [
          { path: './bin/dash', content: 'ELF', mode: 0o755 },
          { path: './bin/sh', type: 'symlink', linkname: 'dash' },
        ],
      },
      {
        name: 'libc6',
        entries: [
          {
            path: './lib64/ld-linux-x86-64.so.2',
            type: 'symlink',
            linkname: '/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2',
          },
        ],
      },
    ]);
    for (const [link, target] of [
      ['bin', 'usr/bin'],
      ['sbin', 'usr/sbin'],
      ['lib', 'usr/lib'],
      ['lib64', 'usr/lib64'],
    ] as const) {
      const n = tree.get(link);
      assert.equal(n?.kind, 'symlink', link);
      assert.equal(n.kind === 'symlink' && n.target, target);
      assert.equal(tree.get(target as string)?.kind, 'dir');
    }
    assert.equal(await read(tree.get('usr/bin/dash')), 'ELF');
    assert.deepEqual(tree.get('usr/bin/sh'), {
      kind: 'symlink',
      target: 'dash',
      mode: 0o777,
      uid: 0,
      gid: 0,
      mtime: 1_600_000_000,
      origin: 'dash',
    });
    assert.equal(tree.get('usr/lib64/ld-linux-x86-64.so.2')?.kind, 'symlink');
    assert.equal(tree.get('bin/dash'), undefined, 'nothing is stored behind the link');
    // ./bin/ directories (base-files, dash) merged into usr/bin, the link kept; the last package's metadata wins
    assert.equal(tree.get('usr/bin')?.origin, 'dash');
  });

  it('links lib64 only with libc6 on amd64, never on arm64; multilib dirs on demand', async () => {
    const plain = await install([
      { name: 'tzdata', arch: 'all', entries: [{ path: './usr/share/zoneinfo/UTC', content: 'TZif' }] },
    ]);
    assert.equal(plain.tree.get('lib64'), undefined);
    const arm = await install(
      [{ name: 'libc6', arch: 'arm64', entries: [{ path: './lib/ld-linux-aarch64.so.1', content: 'x' }] }],
      { arch: 'arm64' },
    );
    assert.equal(arm.tree.get('lib64'), undefined);
    assert.equal(await read(arm.tree.get('usr/lib/ld-linux-aarch64.so.1')), 'x');
    const multi = await install([
      { name: 'libc6-i386', entries: [{ path: './lib32/libc.so.6', content: 'i386' }] },
    ]);
    assert.deepEqual(multi.tree.get('lib32'), {
      kind: 'symlink',
      target: 'usr/lib32',
      mode: 0o777,
      uid: 0,
      gid: 0,
      mtime: EPOCH,
      origin: 'merged-usr',
    });
    assert.equal(await read(multi.tree.get('usr/lib32/libc.so.6')), 'i386');
  });
});

describe('installPackages: metadata', () => {
  it('clamps mtimes newer than the epoch and keeps modes, owners and setuid bits', async () => {
    const { tree } = await install([
      {
        name: 'login',
        entries: [
          { path: './usr/bin/su', content: 'su', mode: 0o4755, mtime: EPOCH + 5000 },
          { path: './var/local/', mode: 0o2775, gid: 50, mtime: EPOCH - 10 },
          { path: './tmp/', mode: 0o1777 },
        ],
      },
    ]);
    assert.deepEqual(
      { ...tree.get('usr/bin/su'), content: null },
      {
        kind: 'file',
        size: 2,
        content: null,
        // sha256 of the body "su": the spool's key, which the gzip layer writer uses
        sha256: createHash('sha256').update('su').digest('hex'),
        mode: 0o4755,
        uid: 0,
        gid: 0,
        mtime: EPOCH,
        origin: 'login',
      },
    );
    assert.deepEqual(tree.get('var/local'), {
      kind: 'dir',
      mode: 0o2775,
      uid: 0,
      gid: 50,
      mtime: EPOCH - 10,
      origin: 'login',
    });
    assert.equal(tree.get('tmp')?.mode, 0o1777);
  });

  it('keeps hard links as links to the canonical path', async () => {
    const { tree } = await install([
      {
        name: 'perl-base',
        entries: [
          { path: './usr/bin/perl', content: 'perl' },
          { path: './usr/bin/perl5.36.0', type: 'hardlink', linkname: './usr/bin/perl' },
        ],
      },
    ]);
    assert.equal(tree.get('usr/bin/perl5.36.0')?.kind, 'hardlink');
    const n = tree.get('usr/bin/perl5.36.0');
    assert.equal(n?.kind === 'hardlink' && n.target, 'usr/bin/perl');
  });

  it('keeps large bodies in spool files of their own and small ones in the pack, readable after install', async () => {
    const big = Buffer.alloc(300 * 1024, 7);
    const { tree, result } = await install(
      [
        {
          name: 'big',
          entries: [
            { path: './usr/lib/big.bin', content: big },
            { path: './usr/lib/small', content: 'tiny' },
          ],
        },
      ],
      {
        spool: { packThreshold: 64 * 1024 },
      },
    );
    assert.equal(result.stats.spooledFiles, 1);
    assert.equal(result.stats.packedFiles, 1);
    const bodies = () => readdirSync(join(spoolRoot, 'tmp')).filter((f) => f.includes('body'));
    assert.ok(bodies().length >= 1);
    const node = tree.get('usr/lib/big.bin');
    assert.equal(node?.kind === 'file' && node.size, big.length);
    assert.equal(await read(node), big.toString('utf8'));
    assert.equal(await read(tree.get('usr/lib/small')), 'tiny');
    await result.spool.close();
    await assert.rejects(async () => read(tree.get('usr/lib/small')));
    // That close() deletes the body files: install-spool.test.ts (this directory is shared).
  });
});

describe('installPackages: conflicts', () => {
  const file = (name: string, fields: Record<string, string> = {}, content = name): DebSpec => ({
    name,
    fields,
    entries: [
      { path: './usr/bin/tool', content },
      { path: './usr/share/doc/', mode: 0o755 },
      { path: './usr/bin/same-link', type: 'symlink', linkname: 'tool' },
    ],
  });

  it('refuses a path two packages write, naming both and the path', async () => {
    await assert.rejects(
      install([file('one'), file('two')]),
      (err: Error & { code?: string; details?: Record<string, unknown> }) => {
        assert.equal(err.code, 'FILE_CONFLICT');
        assert.equal(err.details?.path, '/usr/bin/tool');
        assert.deepEqual(err.details?.packages, ['one:amd64 1.0-1', 'two:amd64 1.0-1']);
        return true;
      },
    );
  });

  it('lets the package that Replaces the other win, in either order', async () => {
    for (const order of [0, 1]) {
      const a = file('old-tool', {}, 'old');
      const b = file('new-tool', { Replaces: 'old-tool (<< 2)' }, 'new');
      const { tree, result } = await install(order === 0 ? [a, b] : [b, a]);
      assert.equal(await read(tree.get('usr/bin/tool')), 'new');
      assert.equal(tree.get('usr/bin/tool')?.origin, 'new-tool');
      assert.ok(
        result.packages.every((p) => p.paths.includes('usr/bin/same-link')),
        'identical symlinks are shared',
      );
    }
    // a version constraint that does not hold is no Replaces
    await assert.rejects(install([file('old-tool'), file('new-tool', { Replaces: 'old-tool (<< 1.0-1)' })]), {
      code: 'FILE_CONFLICT',
    });
  });

  it('shares identical files of a Multi-Arch: same package across architectures', async () => {
    const ma = (arch: string, content = 'same'): DebSpec => ({
      name: 'libfoo1',
      arch,
      fields: { 'Multi-Arch': 'same' },
      entries: [
        { path: `./usr/lib/${arch}/libfoo.so.1`, content: arch },
        { path: './usr/share/doc/libfoo1/copyright', content },
      ],
    });
    const { result } = await install([ma('amd64'), ma('i386')]);
    assert.deepEqual(
      result.packages.map((p) => p.statusEntry),
      ['libfoo1', 'libfoo1:i386'],
    );
    await assert.rejects(install([ma('amd64'), ma('i386', 'different')]), { code: 'FILE_CONFLICT' });
  });

  it('refuses a file where another package has a directory', async () => {
    await assert.rejects(
      install([
        { name: 'a', entries: [{ path: './etc/foo/' }] },
        { name: 'b', entries: [{ path: './etc/foo', content: 'x' }] },
      ]),
      {
        code: 'FILE_CONFLICT',
      },
    );
  });
});

describe('installPackages: dpkg database', () => {
  it('writes status.d/<name> with Status after Package, and <name>.md5sums', async () => {
    const spec: DebSpec = {
      name: 'hello',
      version: '2.10-3',
      fields: { Depends: 'libc6 (>= 2.34)', 'Multi-Arch': 'foreign', Homepage: 'https://example.org/hello' },
      entries: [{ path: './usr/bin/hello', content: 'hi' }],
    };
    const { tree, result } = await install([spec]);
    assert.equal(
      await read(tree.get('var/lib/dpkg/status.d/hello')),
      'Package: hello\nStatus: install ok installed\nVersion: 2.10-3\nArchitecture: amd64\nMaintainer: Test <test@example.org>\n' +
        'Installed-Size: 1\nDepends: libc6 (>= 2.34)\nMulti-Arch: foreign\nHomepage: https://example.org/hello\n' +
        'Description: test package hello\n a package built by the test suite\n',
    );
    assert.equal(await read(tree.get('var/lib/dpkg/status.d/hello.md5sums')), md5sumsText(spec.entries));
    const n = tree.get('var/lib/dpkg/status.d/hello');
    assert.deepEqual([n?.mode, n?.uid, n?.mtime, n?.origin], [0o644, 0, EPOCH, 'hello']);
    assert.equal(tree.get('var/lib/dpkg/status'), undefined);
    assert.deepEqual(
      result.packages[0]?.paths.filter((p) => p.startsWith('var/lib/dpkg')),
      ['var/lib/dpkg/status.d/hello', 'var/lib/dpkg/status.d/hello.md5sums'],
    );
  });

  it('replaces a Status field from the control file', () => {
    const [p] = parseDeb822('Package: x\nStatus: purge ok not-installed\nVersion: 1\n', 't');
    assert.deepEqual(statusParagraph(p as NonNullable<typeof p>).entries(), [
      ['Package', 'x'],
      ['Status', 'install ok installed'],
      ['Version', '1'],
    ]);
  });

  it('refuses a .deb that is not the package the lock names', async () => {
    const bytes = buildDeb({ name: 'hello', version: '2', entries: [] });
    const input = debInput({ name: 'hello', version: '3', entries: [] }, bytes);
    await assert.rejects(install([input]), (err: unknown) => {
      assert.ok(isImprintError(err, 'LOCK_INVALID'));
      assert.match(err.message, /control says Version: 2, the lock says 3/);
      assert.match(err.hint ?? '', /run `imprint lock` again/);
      return true;
    });
  });
});

describe('installPackages: failures leave nothing behind', () => {
  it('rolls back a package whose data.tar turns hostile half-way', async () => {
    const tree = newTree();
    await install(
      [{ name: 'first', entries: [{ path: './usr/bin/first', content: '1' }, { path: './etc/first/' }] }],
      {},
      tree,
    );
    const before = listing(tree);
    const hostile: DebSpec = {
      name: 'hostile',
      entries: [
        { path: './usr/bin/good', content: 'fine' },
        { path: './opt/new/dir/' },
        { path: './usr/lib64/x', content: 'x' },
        { path: './usr/lib/evil', type: 'symlink', linkname: '../../../../etc/shadow' },
      ],
    };
    await assert.rejects(install([hostile], {}, tree), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'TAR_UNSAFE_LINK');
      assert.match(err.message, /hostile_1\.0-1_amd64\.deb: data\.tar\.xz: entry "usr\/lib\/evil"/);
      return true;
    });
    assert.deepEqual(listing(tree), before);
  });

  it('refuses a data.tar that unpacks far beyond its Installed-Size', async () => {
    const bomb: DebSpec = {
      name: 'bomb',
      installedSize: 1,
      entries: [{ path: './big', content: Buffer.alloc(70 * 1024 * 1024) }],
      compression: 'gzip',
    };
    await assert.rejects(install([bomb]), { code: 'DECOMPRESSION_BOMB' });
  });

  it('reports a symlink loop as such, naming the path and the links, for a file or a directory below it', async () => {
    for (const below of [{ path: './a/x', content: 'x' }, { path: './a/' }]) {
      const loopy: DebSpec = {
        name: 'loopy',
        autoDirs: false,
        entries: [
          { path: './' },
          { path: './a', type: 'symlink', linkname: 'b' },
          { path: './b', type: 'symlink', linkname: 'a' },
          below,
        ],
      };
      await assert.rejects(
        install([loopy]),
        (err: Error & { code?: string; hint?: string; details?: Record<string, unknown> }) => {
          assert.equal(err.code, 'VFS_SYMLINK_LOOP', err.message);
          assert.equal(
            err.message,
            `/a${below.path === './a/x' ? '/x' : ''} leads nowhere: the symbolic links /a -> b (from loopy), /b -> a (from loopy) form a loop`,
          );
          assert.doesNotMatch(err.hint ?? '', /Two inputs write the same path/);
          return true;
        },
      );
    }
  });

  it('refuses an owner no Linux system has, in a worker or not, and places nothing of the package', async () => {
    const hostile: DebSpec = {
      name: 'owner',
      entries: [
        { path: './usr/bin/fine', content: 'ok' },
        { path: './usr/bin/root-ish', content: 'x', pax: { uid: String(2 ** 53 - 1) } },
      ],
    };
    for (const workers of [0, 2]) {
      const tree = newTree();
      await assert.rejects(
        install([hostile], { workers }, tree),
        (err: Error & { code?: string; details?: Record<string, unknown> }) => {
          assert.equal(err.code, 'TAR_INVALID');
          assert.match(err.message, /owner_1\.0-1_amd64\.deb: data\.tar\.xz: entry "usr\/bin\/root-ish"/);
          assert.deepEqual([err.details?.entry, err.details?.field], ['usr/bin/root-ish', 'uid']);
          return true;
        },
      );
      assert.equal(tree.get('usr/bin/fine'), undefined);
    }
  });
});

describe('installPackages: determinism', () => {
  it('produces the same tree twice, and spool files only under the spool dir', async () => {
    const specs: DebSpec[] = [
      {
        name: 'a',
        entries: [
          { path: './usr/share/a/1', content: 'one' },
          { path: './usr/share/a/2', content: 'two' },
        ],
      },
      { name: 'b', entries: [{ path: './usr/share/b', content: Buffer.alloc(2 * 1024 * 1024, 1) }] },
    ];
    const one = await install(specs);
    const two = await install(specs);
    assert.deepEqual(listing(one.tree), listing(two.tree));
    assert.deepEqual([...one.result.origins], [...two.result.origins]);
    for (const r of [one.result, two.result]) await r.spool.close();
    // (Other tests share the spool directory and may run meanwhile: only its layout is checked.)
    assert.deepEqual(readdirSync(spoolRoot), ['tmp'], 'spool files only under the spool dir');
  });
});

describe('installPackages: worker threads', () => {
  const specs: DebSpec[] = [
    {
      name: 'a',
      entries: [
        { path: './usr/share/a/1', content: 'one' },
        { path: './usr/bin/a', content: Buffer.alloc(1_500_000, 3), mode: 0o755 },
      ],
    },
    {
      name: 'b',
      compression: 'gzip',
      entries: [
        { path: './usr/share/b', content: 'b' },
        { path: './bin/b', type: 'symlink', linkname: '../usr/share/b' },
      ],
    },
    { name: 'c', compression: 'zstd', entries: [{ path: './etc/c.conf', content: 'c=1\n' }] },
  ];

  it('builds the same tree as extraction in the calling thread', async () => {
    const inline = await install(specs, { workers: 0 });
    const threaded = await install(specs, { workers: 2 });
    assert.deepEqual(listing(threaded.tree), listing(inline.tree));
    for (const key of ['usr/bin/a', 'usr/share/a/1', 'etc/c.conf'])
      assert.equal(await read(threaded.tree.get(key)), await read(inline.tree.get(key)));
  });

  it('hands large bodies to a GzipBodyCache, fed inline or offered from workers: the layer bytes do not change', async () => {
    const layer = async (workers: number, cache: boolean): Promise<Buffer> => {
      const bodies = cache ? new GzipBodyCache(6) : undefined;
      const { tree } = await install(specs, { workers, ...(bodies === undefined ? {} : { bodies }) });
      if (bodies !== undefined) {
        const members = await bodies.take(
          createHash('sha256').update(Buffer.alloc(1_500_000, 3)).digest('hex'),
          1_500_000,
        );
        assert.equal(members?.length, 2, `members of usr/bin/a made ahead (workers: ${workers})`);
      }
      const sink = memorySink();
      await writeLayer(
        layerEntries(tree),
        { compression: 'gzip', level: 6, workers: 2 },
        sink,
        bodies === undefined ? {} : { bodies },
      );
      return sink.bytes;
    };
    const plain = await layer(0, false);
    assert.ok((await layer(0, true)).equals(plain), 'fed inline');
    assert.ok((await layer(2, true)).equals(plain), 'offered from worker threads');
  });

  it('reports the first failing package in install order, with its code, and leaves the tree untouched', async () => {
    const hostile: DebSpec = {
      name: 'evil',
      entries: [{ path: './usr/lib/x', type: 'symlink', linkname: '../../../../x' }],
    };
    const conflicting: DebSpec = { name: 'a2', entries: [{ path: './usr/share/a/1', content: 'other' }] };
    const tree = newTree();
    await assert.rejects(
      install([...specs, hostile], { workers: 2 }, tree),
      (err: Error & { code?: string; details?: Record<string, unknown> }) => {
        assert.equal(err.code, 'TAR_UNSAFE_LINK');
        assert.equal(err.details?.entry, 'usr/lib/x');
        assert.match(err.message, /evil_1\.0-1_amd64\.deb/);
        return true;
      },
    );
    // the conflict comes first in lock order, though the hostile package may finish extracting earlier
    await assert.rejects(install([specs[0] as DebSpec, conflicting, hostile], { workers: 3 }), {
      code: 'FILE_CONFLICT',
    });
  });

  it('fails when the .deb stream fails (e.g. a digest mismatch from the store)', async () => {
    const good = buildDeb(specs[0] as DebSpec);
    const input = debInput(specs[0] as DebSpec, good);
    const broken = {
      record: input.record,
      open: () =>
        new Readable({
          read() {
            this.push(good.subarray(0, 2000));
            this.destroy(new ImprintError('DIGEST_MISMATCH', 'blob sha256:00: digest mismatch'));
          },
        }),
    };
    await assert.rejects(install([debInput(specs[1] as DebSpec), broken], { workers: 2 }), {
      code: 'DIGEST_MISMATCH',
    });
    await assert.rejects(install([debInput(specs[1] as DebSpec), broken], { workers: 0 }), {
      code: 'DIGEST_MISMATCH',
    });
  });
});
