import assert from 'node:assert/strict';
import { rm } from 'node:fs/promises';
import { describe, test } from 'node:test';
import { type DiffClass, type DiffResult, diffImageSets, semanticIgnores } from '../../src/diff/index.js';
import { isImprintError } from '../../src/errors.js';
import { canonicalJson } from '../../src/oci/canonical-json.js';
import type { ImageSet } from '../../src/oci/image-set.js';
import { MediaType } from '../../src/oci/media-types.js';
import type { Descriptor } from '../../src/oci/types.js';
import { walkImageSet } from '../../src/transport/index.js';
import {
  baseSpec,
  buildImage,
  dir,
  file,
  fileStore,
  type ImageSpec,
  symlink,
  tempStore,
} from './fixtures.js';

const store = fileStore();

function layer0(spec: ImageSpec) {
  return spec.layers[0]!.entries;
}

function replace(
  spec: ImageSpec,
  path: string,
  f: (e: ImageSpec['layers'][0]['entries'][0]) => ImageSpec['layers'][0]['entries'][0],
): ImageSpec {
  spec.layers[0]!.entries = layer0(spec).map((e) => (e.path === path ? f(e) : e));
  return spec;
}

async function diffSpecs(
  a: ImageSpec,
  b: ImageSpec,
  ignore: Partial<Record<Exclude<DiffClass, 'substance'>, boolean>> = {},
): Promise<DiffResult> {
  return diffImageSets(await buildImage(store, a), await buildImage(store, b), { ignore });
}

function kinds(r: DiffResult): string[] {
  return r.differences.map((d) => d.kind);
}

describe('diff: one planted difference is reported exactly, classified', () => {
  test('identical images: no differences', async () => {
    const r = await diffSpecs(baseSpec(), baseSpec());
    assert.equal(r.identical, true);
    assert.deepEqual(r.differences, []);
    assert.deepEqual(r.platforms, ['linux/amd64']);
  });

  test('one content byte of a text file: content, with both texts', async () => {
    const b = replace(baseSpec(), 'etc/motd', () => file('etc/motd', 'line one\nline tw0\nline three\n'));
    const r = await diffSpecs(baseSpec(), b);
    assert.deepEqual(kinds(r), ['content']);
    const [d] = r.differences;
    assert.equal(d!.path, 'etc/motd');
    assert.equal(d!.layer, 0);
    assert.equal(d!.class, 'substance');
    assert.equal(d!.severity, 'high');
    assert.deepEqual(d!.detail, {
      text: { a: 'line one\nline two\nline three\n', b: 'line one\nline tw0\nline three\n' },
    });
  });

  test('one content byte of a binary file: content, with the bytes around it', async () => {
    const b = replace(baseSpec(), 'etc/blob.bin', () =>
      file('etc/blob.bin', Buffer.from([0, 1, 2, 3, 4, 5, 6, 0x77, 8, 9, 0, 255])),
    );
    const r = await diffSpecs(baseSpec(), b);
    assert.deepEqual(kinds(r), ['content']);
    assert.deepEqual(r.differences[0]!.detail, {
      bytes: {
        offset: 7,
        start: 0,
        a: '00010203040506070809 00ff'.replace(' ', ''),
        b: '00010203040506770809 00ff'.replace(' ', ''),
      },
    });
  });

  test('a mode bit', async () => {
    const r = await diffSpecs(
      baseSpec(),
      replace(baseSpec(), 'etc/motd', (e) => ({ ...e, mode: 0o664 })),
    );
    assert.deepEqual(kinds(r), ['mode']);
    assert.deepEqual(
      [r.differences[0]!.a, r.differences[0]!.b, r.differences[0]!.class],
      ['0644', '0664', 'substance'],
    );
  });

  test('uid', async () => {
    const r = await diffSpecs(
      baseSpec(),
      replace(baseSpec(), 'usr/tool', (e) => ({ ...e, uid: 1000 })),
    );
    assert.deepEqual(
      r.differences.map((d) => [d.kind, d.field, d.a, d.b]),
      [['owner', 'uid', 0, 1000]],
    );
  });

  test('mtime: a timestamp', async () => {
    const r = await diffSpecs(
      baseSpec(),
      replace(baseSpec(), 'etc/', (e) => ({ ...e, mtime: 2000 })),
    );
    assert.deepEqual(
      r.differences.map((d) => [d.kind, d.class, d.path, d.a, d.b]),
      [['mtime', 'timestamp', 'etc/', 1000, 2000]],
    );
  });

  test('symlink target', async () => {
    const r = await diffSpecs(
      baseSpec(),
      replace(baseSpec(), 'etc/link', () => symlink('etc/link', '/etc/motd')),
    );
    assert.deepEqual(
      r.differences.map((d) => [d.kind, d.a, d.b]),
      [['link-target', 'motd', '/etc/motd']],
    );
  });

  test('added file', async () => {
    const b = baseSpec();
    layer0(b).push(file('usr/new', 'new\n'));
    const r = await diffSpecs(baseSpec(), b);
    assert.deepEqual(
      r.differences.map((d) => [d.kind, d.path, d.a]),
      [['entry-added', 'usr/new', null]],
    );
  });

  test('removed file', async () => {
    const b = baseSpec();
    b.layers[0]!.entries = layer0(b).filter((e) => e.path !== 'etc/blob.bin');
    const r = await diffSpecs(baseSpec(), b);
    assert.deepEqual(
      r.differences.map((d) => [d.kind, d.path, d.b]),
      [['entry-removed', 'etc/blob.bin', null]],
    );
  });

  test('tar entry order', async () => {
    const b = baseSpec();
    const es = layer0(b);
    [es[1], es[2]] = [es[2]!, es[1]!];
    const r = await diffSpecs(baseSpec(), b);
    assert.deepEqual(
      r.differences.map((d) => [d.kind, d.class]),
      [['entry-order', 'file-order']],
    );
  });

  test('the same tar with another gzip level: compression', async () => {
    const b = baseSpec();
    b.layers[0]!.gzipLevel = 1;
    const r = await diffSpecs(baseSpec(), b);
    assert.deepEqual(
      r.differences.map((d) => [d.kind, d.class, d.layer]),
      [['compression', 'tar-format', 0]],
    );
  });

  test('the same entries in other tar bytes (record padding): tar-format', async () => {
    const b = baseSpec();
    b.layers[0]!.trailingZeros = 10240;
    const r = await diffSpecs(baseSpec(), b);
    assert.deepEqual(
      r.differences.map((d) => [d.kind, d.class, d.layer, d.field]),
      [['tar-format', 'tar-format', 0, 'diff_id']],
    );
  });

  test('an env change', async () => {
    const r = await diffSpecs(baseSpec(), { ...baseSpec(), env: ['PATH=/usr/bin:/bin', 'LANG=C'] });
    assert.deepEqual(
      r.differences.map((d) => [d.kind, d.field, d.a, d.b]),
      [['env', 'LANG', 'C.UTF-8', 'C']],
    );
  });

  test('a history change', async () => {
    const r = await diffSpecs(baseSpec(), {
      ...baseSpec(),
      history: [{ created: '2024-01-01T00:00:00Z', created_by: 'COPY src /' }],
    });
    assert.deepEqual(
      r.differences.map((d) => [d.kind, d.class, d.field]),
      [['history', 'history', 'history[0].created_by']],
    );
  });

  test('an annotation change', async () => {
    const r = await diffSpecs(baseSpec(), {
      ...baseSpec(),
      annotations: { ...baseSpec().annotations, 'org.example.note': 'other' },
    });
    assert.deepEqual(
      r.differences.map((d) => [d.kind, d.class, d.field, d.a, d.b]),
      [['annotation', 'substance', 'manifest.org.example.note', 'base', 'other']],
    );
  });

  test('a label change', async () => {
    const r = await diffSpecs(baseSpec(), { ...baseSpec(), labels: { 'org.example.team': 'edge' } });
    assert.deepEqual(
      r.differences.map((d) => [d.kind, d.field]),
      [['label', 'org.example.team']],
    );
  });

  test('xattr and device numbers', async () => {
    const b = replace(baseSpec(), 'usr/tool', (e) => ({ ...e, xattrs: { 'user.x': Buffer.from('1') } }));
    replace(b, 'etc/null', (e) => ({ ...e, devminor: 5 }));
    const r = await diffSpecs(baseSpec(), b);
    assert.deepEqual(r.differences.map((d) => [d.kind, d.field]).sort(), [
      ['device', 'devminor'],
      ['xattr', 'user.x'],
    ]);
  });

  test('a whiteout against a file deleted from the lower layer: whiteout', async () => {
    // A deletes etc/motd with a whiteout in layer 1; B never had it in layer 0... but keeps layer counts equal
    const a = baseSpec();
    a.layers.push({ entries: [dir('etc/'), file('etc/.wh.motd', '')] });
    const b = baseSpec();
    b.layers.push({ entries: [dir('etc/')] });
    const r = await diffSpecs(a, b);
    assert.deepEqual(
      r.differences.map((d) => [d.kind, d.layer, d.path, d.b]),
      [['whiteout', 1, 'etc/.wh.motd', null]],
    );
  });

  test('a whiteout against a file never added (different layer lists): same flattened filesystem', async () => {
    const a = baseSpec();
    a.layers.push({ entries: [dir('etc/'), file('etc/.wh.motd', '')] });
    const b = baseSpec();
    b.layers[0]!.entries = layer0(b).filter((e) => e.path !== 'etc/motd');
    const r = await diffSpecs(a, b);
    // compared flattened (whiteouts applied) the filesystems are the same: only the layering differs
    assert.deepEqual(kinds(r), ['layer-count', 'history']);
    assert.equal(r.differences[1]!.field, 'length');
  });

  test('the same layers in another order: one layer-order difference, then only what the order changes', async () => {
    const withLayers = (...names: string[]) => {
      const spec = baseSpec();
      for (const n of names) spec.layers.push({ entries: [dir('srv/'), file(`srv/${n}`, `${n}\n`)] });
      return spec;
    };
    // disjoint layers: the container sees the same files, so nothing else is listed
    const r = await diffSpecs(withLayers('one', 'two'), withLayers('two', 'one'));
    assert.deepEqual(
      r.differences.map((d) => [d.kind, d.layer, d.path]),
      [['layer-order', undefined, undefined]],
    );
    // a path both moved layers write: the other layer's copy now wins
    const a = withLayers('one', 'two');
    const b = withLayers('one', 'two');
    a.layers[1]!.entries.push(file('srv/shared', 'from one\n'));
    a.layers[2]!.entries.push(file('srv/shared', 'from two\n'));
    b.layers[1]!.entries.push(file('srv/shared', 'from one\n'));
    b.layers[2]!.entries.push(file('srv/shared', 'from two\n'));
    b.layers.splice(1, 2, b.layers[2]!, b.layers[1]!);
    const r2 = await diffSpecs(a, b);
    assert.deepEqual(
      r2.differences.map((d) => [d.kind, d.layer, d.path]),
      [
        ['content', undefined, 'srv/shared'],
        ['layer-order', undefined, undefined],
      ],
    );
  });

  test('different layer lists: the flattened filesystems are compared', async () => {
    const a = baseSpec();
    a.layers.push({ entries: [file('usr/extra', 'x\n')] });
    const r = await diffSpecs(a, baseSpec());
    assert.deepEqual(
      r.differences.map((d) => [d.kind, d.layer, d.path]),
      [
        ['layer-count', undefined, undefined],
        ['entry-removed', undefined, 'usr/extra'],
        ['history', undefined, undefined],
      ],
    );
  });
});

describe('diff: descriptors', () => {
  /** The set's image manifest descriptor (root → index → manifest). */
  async function manifestOf(set: ImageSet): Promise<Descriptor> {
    const index = JSON.parse((await set.blobs.readBytes(set.index.manifests[0]!)).toString('utf8'));
    return index.manifests[0] as Descriptor;
  }

  test('an index on one side and the same image as a bare manifest on the other: one wrapper difference, which --semantic hides', async () => {
    const a = await buildImage(store, baseSpec());
    const manifest = await manifestOf(a);
    const bare: ImageSet = {
      index: { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [manifest] },
      blobs: a.blobs,
    };
    const r = await diffImageSets(a, bare);
    assert.equal(r.identical, false);
    assert.deepEqual(kinds(r), ['index']);
    assert.equal(r.differences[0]!.field, 'manifests[0]');
    assert.equal(r.differences[0]!.class, 'wrapper');
    assert.equal(r.differences[0]!.severity, 'low');
    const semantic = await diffImageSets(a, bare, { ignore: semanticIgnores() });
    assert.equal(semantic.identical, true);
    assert.deepEqual(semantic.ignored, { wrapper: 1 });
    assert.deepEqual(semantic.platforms, ['linux/amd64']);
    // Another image in the other wrapper: its content difference is what --semantic reports.
    const b = await buildImage(
      store,
      replace(baseSpec(), 'usr/tool', () => file('usr/tool', 'changed', { mode: 0o755 })),
    );
    const bareB: ImageSet = {
      index: { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [await manifestOf(b)] },
      blobs: b.blobs,
    };
    const changed = await diffImageSets(a, bareB, { ignore: semanticIgnores() });
    assert.deepEqual(kinds(changed), ['content']);
  });

  test('one layer blob described otherwise (media type, annotations): manifest differences', async () => {
    const a = await buildImage(store, baseSpec());
    const desc = await manifestOf(a);
    const m = JSON.parse((await a.blobs.readBytes(desc)).toString('utf8'));
    m.layers[0].mediaType = 'application/vnd.docker.image.rootfs.diff.tar.gzip';
    m.layers[0].annotations = { note: 'x' };
    const bytes = canonicalJson(m);
    const put = await store.putBytes(bytes);
    const b: ImageSet = {
      index: { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [{ ...desc, ...put }] },
      blobs: a.blobs,
    };
    const bare: ImageSet = {
      index: { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [desc] },
      blobs: a.blobs,
    };
    const r = await diffImageSets(bare, b);
    assert.deepEqual(
      r.differences.map((d) => [d.kind, d.field]),
      [
        ['annotation', 'layers[0].note'],
        ['manifest', 'mediaType'],
      ],
    );
  });
});

describe('diff: failures', () => {
  test('a missing layer blob is BLOB_NOT_FOUND, not a difference', async () => {
    const other = await tempStore();
    try {
      const b = await buildImage(
        other.store,
        replace(baseSpec(), 'etc/motd', () => file('etc/motd', 'changed\n')),
      );
      const layer = (await walkImageSet(b)).images[0]!.manifest.layers[0]!;
      await rm(other.store.path(layer.digest));
      await assert.rejects(
        diffImageSets(await buildImage(store, baseSpec()), b),
        (e) => isImprintError(e) && e.code === 'BLOB_NOT_FOUND',
      );
    } finally {
      await rm(other.dir, { recursive: true, force: true });
    }
  });
});

describe('diff: ignore flags and --semantic hide exactly their classes', () => {
  // every class at once: substance (content), timestamp (mtime, config created, history created,
  // created annotation), history, file-order, mode-redundant-bits (symlink mode), tar-format (gzip level)
  function everything(): [ImageSpec, ImageSpec] {
    const a = baseSpec();
    a.layers.push({ entries: [file('opt/x', 'x\n')] });
    const b = baseSpec();
    b.layers.push({ entries: [file('opt/x', 'x\n')], gzipLevel: 9 });
    const es = layer0(b);
    [es[1], es[2]] = [es[2]!, es[1]!];
    b.layers[0]!.entries = es.map((e) =>
      e.path === 'etc/link'
        ? { ...e, mode: 0o755 }
        : e.path === 'usr/tool'
          ? file('usr/tool', '#!/bin/sh\necho ho\n', { mode: 0o755, mtime: 5000 })
          : e,
    );
    b.created = '2025-01-01T00:00:00Z';
    b.history = [{ created: '2025-01-01T00:00:00Z', created_by: 'COPY other /' }];
    b.annotations = { ...b.annotations, 'org.opencontainers.image.created': '2025-01-01T00:00:00Z' };
    return [a, b];
  }
  const byClass = (r: DiffResult) =>
    r.differences.map((d) => `${d.class}:${d.kind}:${d.field ?? d.path ?? ''}`).sort();
  const ALL = [
    'file-order:entry-order:etc/motd',
    'history:history:history[0].created_by',
    'mode-redundant-bits:mode:mode',
    'substance:content:usr/tool',
    'tar-format:compression:digest',
    'timestamp:annotation:manifest.org.opencontainers.image.created',
    'timestamp:config:created',
    'timestamp:history:history[0].created',
    'timestamp:mtime:mtime',
  ];

  test('without flags every difference is reported, most important first', async () => {
    const [a, b] = everything();
    const r = await diffSpecs(a, b);
    assert.deepEqual(byClass(r), ALL);
    assert.equal(r.differences[0]!.kind, 'content');
    assert.deepEqual(
      r.differences.map((d) => d.severity),
      ['high', ...Array<string>(8).fill('low')],
    );
  });

  for (const cls of ['timestamp', 'history', 'file-order', 'mode-redundant-bits', 'tar-format'] as const) {
    test(`--ignore ${cls} hides exactly ${cls}`, async () => {
      const [a, b] = everything();
      const r = await diffSpecs(a, b, { [cls]: true });
      const expected = ALL.filter((x) => !x.startsWith(`${cls}:`));
      assert.deepEqual(byClass(r), expected);
      assert.deepEqual(r.ignored, { [cls]: ALL.length - expected.length });
    });
  }

  test('--semantic leaves only substance', async () => {
    const [a, b] = everything();
    const r = await diffSpecs(a, b, semanticIgnores());
    assert.deepEqual(byClass(r), ['substance:content:usr/tool']);
    assert.equal(r.identical, false);
  });

  test('a timestamps-only difference is identical under --ignore-timestamps', async () => {
    const b = replace(baseSpec(), 'usr/tool', (e) => ({ ...e, mtime: 9999 }));
    b.created = '2030-01-01T00:00:00Z';
    const r = await diffSpecs(baseSpec(), b, { timestamp: true });
    assert.equal(r.identical, true);
    assert.deepEqual(r.ignored, { timestamp: 2 });
  });
});
