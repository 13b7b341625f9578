// The base-image machinery without a registry: reference parsing, the lower tree (whiteouts, opaque
// directories), the changeset laid over it, and the lock's base entry.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, describe, it } from 'node:test';
import { changeset } from '../../src/base/changeset.js';
import { readImageFiles } from '../../src/base/image-files.js';
import { lowerTree } from '../../src/base/lower.js';
import { parseBaseReference } from '../../src/base/reference.js';
import { sha256 } from '../../src/digest/index.js';
import { isImprintError } from '../../src/errors.js';
import { parseLock, serializeLock } from '../../src/lock/serialize.js';
import type { LockFile } from '../../src/lock/types.js';
import { MediaType } from '../../src/oci/media-types.js';
import type { Descriptor } from '../../src/oci/types.js';
import { BlobStore } from '../../src/store/index.js';
import { type TarWriteEntry, tarStream } from '../../src/tar/index.js';
import { layerEntries } from '../../src/vfs/entries.js';
import type { VNode } from '../../src/vfs/node.js';
import { FileTree } from '../../src/vfs/tree.js';
import { END, header } from '../tar/archive-fixtures.js';

const DIGEST = `sha256:${'12'.repeat(32)}` as const;

describe('parseBaseReference', () => {
  it('reads registry references with or without transport, and pins', () => {
    const a = parseBaseReference(`debian:bookworm@${DIGEST}`, '/spec');
    assert.equal(a.ref.transport, 'docker');
    assert.equal(a.pin, DIGEST);
    assert.equal(a.name, `docker.io/library/debian:bookworm@${DIGEST}`);
    const b = parseBaseReference('docker://127.0.0.1:5000/app:1', '/spec');
    assert.deepEqual(b.ref, { transport: 'docker', registry: '127.0.0.1:5000', repository: 'app', tag: '1' });
    assert.equal(b.pin, undefined);
    assert.equal(b.name, '127.0.0.1:5000/app:1');
  });

  it('resolves layout paths against the spec directory and splits a pin off any transport', () => {
    const a = parseBaseReference(`oci:../base:v1@${DIGEST}`, '/work/spec');
    assert.deepEqual(a.ref, { transport: 'oci', path: '/work/base', tag: 'v1' });
    assert.equal(a.pin, DIGEST);
    assert.equal(a.name, `oci:../base:v1@${DIGEST}`); // as written: no host path in the annotations
    const b = parseBaseReference('oci-archive:/abs/base.tar', '/work/spec');
    assert.deepEqual(b.ref, { transport: 'oci-archive', path: '/abs/base.tar' });
  });

  it('refuses malformed references with BAD_REFERENCE naming the field', () => {
    for (const bad of ['docker://', 'Upper/Case:tag', 'oci:', 'docker-archive:x.tar:@x'])
      assert.throws(
        () => parseBaseReference(bad, '/spec'),
        (e: unknown) => isImprintError(e, 'BAD_REFERENCE') && e.message.startsWith('base: '),
        bad,
      );
  });
});

describe('lowerTree and changeset', async () => {
  const work = await mkdtemp(join(tmpdir(), 'imprint-base-unit-'));
  after(() => rm(work, { recursive: true, force: true }));
  const store = new BlobStore(join(work, 'store'));

  const file = (path: string, text: string, extra: Partial<TarWriteEntry> = {}): TarWriteEntry => ({
    path,
    type: 'file',
    mode: 0o644,
    uid: 0,
    gid: 0,
    mtime: 5,
    size: Buffer.byteLength(text),
    body: () => Readable.from([Buffer.from(text)]),
    ...extra,
  });
  const dir = (path: string, extra: Partial<TarWriteEntry> = {}): TarWriteEntry => ({
    path,
    type: 'dir',
    mode: 0o755,
    uid: 0,
    gid: 0,
    mtime: 5,
    size: 0,
    ...extra,
  });
  async function layer(entries: TarWriteEntry[]): Promise<Descriptor> {
    const chunks: Buffer[] = [];
    for await (const c of tarStream(entries)) chunks.push(c as Buffer);
    const bytes = Buffer.concat(chunks);
    await store.putBytes(bytes);
    return { mediaType: MediaType.ociLayer, digest: sha256(bytes), size: bytes.length };
  }
  const paths = (tree: FileTree) =>
    layerEntries(tree)
      .map((e) => `${e.path}${e.type === 'symlink' ? ` -> ${e.linkname}` : ''}`)
      .sort();

  it('applies whiteouts and opaque directories of later layers to earlier ones only', async () => {
    const l1 = await layer([
      dir('etc/'),
      file('etc/passwd', 'root:x:0:0::/root:/bin/sh\n'),
      dir('opt/'),
      dir('opt/app/'),
      file('opt/app/old', 'old'),
      file('opt/gone', 'gone'),
      { ...dir('usr/'), path: 'usr/' },
      dir('usr/bin/'),
      { path: 'bin', type: 'symlink', mode: 0o777, uid: 0, gid: 0, mtime: 5, size: 0, linkname: 'usr/bin' },
    ]);
    const l2 = await layer([
      dir('opt/'),
      dir('opt/app/'),
      file('opt/app/.wh..wh..opq', ''),
      file('opt/app/new', 'new'),
      file('opt/.wh.gone', ''),
    ]);
    const lower = await lowerTree(store, [l1, l2]);
    assert.deepEqual(paths(lower.tree), [
      'bin -> usr/bin',
      'etc/',
      'etc/passwd',
      'opt/',
      'opt/app/',
      'opt/app/new',
      'usr/',
      'usr/bin/',
    ]);
    // Small /etc files are kept in memory; the node's content reads back.
    const passwd = lower.tree.get('etc/passwd') as Extract<VNode, { kind: 'file' }>;
    let text = '';
    for await (const c of await passwd.content()) text += c;
    assert.equal(text, 'root:x:0:0::/root:/bin/sh\n');
    // Others are read again from their layer when opened.
    const app = lower.tree.get('opt/app/new') as Extract<VNode, { kind: 'file' }>;
    let body = '';
    for await (const c of await app.content()) body += c;
    assert.equal(body, 'new');
  });

  it('applies opaque directories and whiteouts without a scan of the tree for each', async (t) => {
    // A base with 40,000 whiteouts took a minute when each opaque directory listed the whole tree
    // (and each whiteout scanned it): count the keys lowerTree lists.
    const n = 2000;
    const raw = async (names: (i: number) => string[]) => {
      const blocks: Buffer[] = [];
      for (let i = 0; i < n; i++) for (const name of names(i)) blocks.push(header({ name, mtime: 5 }));
      const bytes = Buffer.concat([...blocks, END]);
      await store.putBytes(bytes);
      return { mediaType: MediaType.ociLayer, digest: sha256(bytes), size: bytes.length };
    };
    const base = await raw((i) => [`p${i}/a/b/f`, `p${i}/g`]);
    const upper = await raw((i) => (i % 2 === 0 ? [`p${i}/.wh..wh..opq`, `p${i}/new`] : [`.wh.p${i}`]));
    const keys = FileTree.prototype.keys;
    let listed = 0;
    t.mock.method(FileTree.prototype, 'keys', function* (this: FileTree) {
      for (const k of keys.call(this)) {
        listed++;
        yield k;
      }
    });
    const lower = await lowerTree(store, [base, upper]);
    t.mock.restoreAll();
    assert.equal(lower.tree.size, n); // p0/ and p0/new, p2/ and p2/new, ...
    assert.deepEqual(paths(lower.tree).slice(0, 4), ['p0/', 'p0/new', 'p10/', 'p10/new']);
    assert.ok(listed <= lower.tree.size, `lowerTree listed ${listed} keys for a tree of ${lower.tree.size}`);
  });

  it('reads selected files with whiteouts applied, without a scan of them per whiteout', async (t) => {
    const n = 500;
    const base = await layer([
      dir('var/'),
      dir('var/lib/'),
      ...Array.from({ length: n }, (_, i) => file(`var/lib/f${i}`, `${i}`)),
      dir('var/opq/'),
      file('var/opq/old', 'old'),
      { path: 'var/link', type: 'symlink', mode: 0o777, uid: 0, gid: 0, mtime: 5, size: 0, linkname: 'lib' },
    ]);
    const upper = await layer([
      dir('var/'),
      file('var/.wh.link', ''),
      dir('var/lib/'),
      ...Array.from({ length: n / 2 }, (_, i) => file(`var/lib/.wh.f${2 * i}`, '')),
      file('var/lib/f0', 'again'), // this layer's own entry: its whiteout does not hide it
      dir('var/opq/'),
      file('var/opq/.wh..wh..opq', ''),
      file('var/opq/new', 'new'),
    ]);
    // Count how often each map is listed: once per whiteout was quadratic in a base with 40,000 of them.
    const keys = Map.prototype.keys;
    const listed = new WeakMap<object, number>();
    t.mock.method(Map.prototype, 'keys', function (this: Map<unknown, unknown>) {
      listed.set(this, (listed.get(this) ?? 0) + 1);
      return keys.call(this);
    });
    const { files, links } = await readImageFiles(store, [base, upper], (p) => p.startsWith('var/'), 1024);
    t.mock.restoreAll();
    assert.ok(
      (listed.get(files) ?? 0) <= 1 && (listed.get(links) ?? 0) <= 1,
      'listed once per layer at most',
    );
    assert.equal(files.size, n / 2 + 2);
    assert.equal(files.get('var/lib/f0')?.toString(), 'again');
    assert.equal(files.has('var/lib/f2'), false);
    assert.equal(files.get('var/lib/f1')?.toString(), '1');
    assert.deepEqual([files.has('var/opq/old'), files.has('var/opq/new')], [false, true]);
    assert.equal(links.size, 0);
  });

  it("refuses a layer whose uncompressed digest is not the config's diff_id (runtimes would refuse the image)", async () => {
    const one = await layer([dir('a/'), file('a/f', 'x')]);
    const two = await layer([dir('b/'), file('b/g', 'y')]);
    // Uncompressed layers: the diff_id is the blob's digest.
    const lower = await lowerTree(store, [one, two], [one.digest, two.digest]);
    assert.deepEqual(paths(lower.tree), ['a/', 'a/f', 'b/', 'b/g']);
    await assert.rejects(
      lowerTree(store, [one, two], [one.digest, one.digest]),
      (e: unknown) =>
        isImprintError(e, 'INVALID_IMAGE') &&
        e.message.startsWith(`base layer ${two.digest}: `) &&
        e.message.includes(`diff_ids[1] is ${one.digest}`),
    );
  });

  it("refuses a whiteout that names no sibling ('.wh.', '.wh..', '.wh...'), which would remove its own directory or climb out", async () => {
    const lowest = await layer([dir('a/'), file('a/f', 'x'), file('b', 'y')]);
    for (const name of ['a/.wh.', 'a/.wh..', 'a/.wh...', '.wh.', '.wh..']) {
      const upper = await layer([dir('a/'), file(name, '')]);
      const refused = (e: unknown) =>
        isImprintError(e, 'INVALID_IMAGE') &&
        e.message.includes(`layer ${upper.digest}`) &&
        e.message.includes(JSON.stringify(name));
      await assert.rejects(lowerTree(store, [lowest, upper]), refused, name);
      await assert.rejects(
        readImageFiles(store, [lowest, upper], () => true, 1024),
        refused,
        name,
      );
    }
  });

  it('keeps a hard link whose first name a later layer or the spec removes, with its contents', async () => {
    const link = (path: string, target: string): TarWriteEntry => ({
      path,
      type: 'hardlink',
      mode: 0o755,
      uid: 0,
      gid: 0,
      mtime: 5,
      size: 0,
      linkname: target,
    });
    const read = async (tree: FileTree, key: string) => {
      const node = tree.get(key) as Extract<VNode, { kind: 'file' }>;
      let text = '';
      for await (const c of await node.content()) text += c;
      return `${node.kind} ${text}`;
    };
    const l1 = await layer([
      dir('usr/'),
      dir('usr/bin/'),
      file('usr/bin/hl1', 'data', { mode: 0o755 }),
      link('usr/bin/hl2', 'usr/bin/hl1'),
    ]);
    const l2 = await layer([dir('usr/'), dir('usr/bin/'), file('usr/bin/.wh.hl1', '')]);
    // A whiteout of the first name in a later layer: the run check read hl2 as missing.
    const lower = await lowerTree(store, [l1, l2]);
    assert.deepEqual(paths(lower.tree), ['usr/', 'usr/bin/', 'usr/bin/hl2']);
    assert.equal(await read(lower.tree, 'usr/bin/hl2'), 'file data');
    // The spec removes the first name: hl2 keeps the data; the base's layer still holds it, so the
    // build's layer holds only the whiteout.
    const one = await lowerTree(store, [l1]);
    one.tree.remove('usr/bin/hl1');
    assert.equal(await read(one.tree, 'usr/bin/hl2'), 'file data');
    assert.deepEqual(paths(changeset(one.tree, one.nodes, 9)), ['usr/', 'usr/bin/', 'usr/bin/.wh.hl1']);
    // Replaced by the build: the new file goes in, hl2 (still the base's file) does not.
    const two = await lowerTree(store, [l1]);
    two.tree.add(
      'usr/bin/hl1',
      { ...(two.tree.get('usr/bin/hl1') as VNode), mtime: 9 },
      { onExisting: 'replace' },
    );
    assert.deepEqual(paths(changeset(two.tree, two.nodes, 9)), ['usr/', 'usr/bin/', 'usr/bin/hl1']);
    assert.equal(await read(two.tree, 'usr/bin/hl2'), 'file data');
  });

  it('holds only what changed, parents included, with whiteouts for removed base paths', async () => {
    const l1 = await layer([
      dir('etc/'),
      file('etc/keep', 'keep'),
      file('etc/motd', 'motd'),
      dir('srv/', { mode: 0o700 }),
      dir('srv/data/'),
      file('srv/data/a', 'a'),
      { path: 'bin', type: 'symlink', mode: 0o777, uid: 0, gid: 0, mtime: 5, size: 0, linkname: 'usr/bin' },
      dir('usr/'),
      dir('usr/bin/'),
    ]);
    const lower = await lowerTree(store, [l1]);
    const full = lower.tree;
    full.remove('etc/motd');
    full.remove('srv/data');
    full.add('usr/bin/tool', {
      kind: 'file',
      size: 1,
      mode: 0o755,
      uid: 0,
      gid: 0,
      mtime: 9,
      content: () => Readable.from(['x']),
    });
    const out = changeset(full, lower.nodes, 9);
    assert.deepEqual(paths(out), [
      'etc/',
      'etc/.wh.motd',
      'srv/',
      'srv/.wh.data',
      'usr/',
      'usr/bin/',
      'usr/bin/tool',
    ]);
    // Unchanged parents keep the base's metadata (not the build's defaults).
    assert.equal(out.get('srv')?.mode, 0o700);
    const wh = layerEntries(out).find((e) => e.path === 'etc/.wh.motd')!;
    assert.deepEqual([wh.type, wh.mode, wh.size, wh.mtime], ['file', 0, 0, 9]);
  });

  it('refuses to hide a base directory behind a file or link, unless the spec removes it', async () => {
    const l1 = await layer([dir('lib/'), file('lib/libc.so', 'elf'), dir('usr/'), dir('usr/lib/')]);
    const build = async () => {
      const lower = await lowerTree(store, [l1]);
      lower.tree.add(
        'lib',
        { kind: 'symlink', target: 'usr/lib', mode: 0o777, uid: 0, gid: 0, mtime: 9 },
        { onExisting: 'replace' },
      );
      return lower;
    };
    const a = await build();
    assert.throws(
      () => changeset(a.tree, a.nodes, 9),
      (e: unknown) =>
        isImprintError(e, 'VFS_CONFLICT') &&
        /\/lib is a directory in the base image/.test(e.message) &&
        /merged-\/usr base/.test(e.hint ?? ''),
    );
    const b = await build();
    assert.deepEqual(paths(changeset(b.tree, b.nodes, 9, new Set(['lib']))), ['lib -> usr/lib']);
  });
});

describe('lock base entry', () => {
  const lock: LockFile = {
    version: 1,
    specHash: DIGEST,
    sources: [],
    platforms: { 'linux/amd64': [] },
    base: {
      ref: 'docker://127.0.0.1:5000/base:v1',
      digest: DIGEST,
      platforms: { 'linux/amd64': { digest: DIGEST, size: 123, mediaType: MediaType.ociManifest } },
    },
  };

  it('round-trips, sorted', () => {
    const bytes = serializeLock(lock);
    assert.deepEqual(parseLock(bytes, 'imprint.lock'), lock);
    assert.deepEqual(serializeLock(parseLock(bytes, 'imprint.lock')), bytes);
  });

  it('names the JSON path of a broken base entry', () => {
    const raw = JSON.parse(serializeLock(lock).toString());
    raw.base.platforms['linux/amd64'].digest = 'sha256:xyz';
    assert.throws(
      () => parseLock(JSON.stringify(raw), 'imprint.lock'),
      (e: unknown) =>
        isImprintError(e, 'LOCK_INVALID') && e.details.path === '$.base.platforms["linux/amd64"].digest',
    );
  });
});
