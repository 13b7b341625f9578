// planLayers: per-package layering never makes more layers than the budget.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { checkLayerCount, MAX_IMAGE_LAYERS, planLayers } from '../../src/build/layering.js';
import { isImprintError } from '../../src/errors.js';
import { FileTree } from '../../src/vfs/tree.js';

/** A tree with `n` packages' files (package i owns i+1 KiB) and one file no package owns. */
function tree(n: number): FileTree {
  const t = new FileTree({ mode: 0o755, uid: 0, gid: 0, mtime: 0 });
  const file = (size: number, origin?: string) => ({
    kind: 'file' as const,
    size,
    content: () => Readable.from([Buffer.alloc(size)]),
    mode: 0o644,
    uid: 0,
    gid: 0,
    mtime: 0,
    ...(origin === undefined ? {} : { origin }),
  });
  t.mkdirp('usr/share');
  for (let i = 0; i < n; i++) t.add(`usr/share/p${i}`, file((i + 1) * 1024, `p${i}`));
  t.add('etc-file', file(10));
  return t;
}

describe('planLayers', () => {
  it('gives at most `budget` layers, and one layer for a budget of 1', () => {
    for (const budget of [1, 2, 3, 5, 8]) {
      for (const n of [0, 1, 2, 4, 9]) {
        const plan = planLayers(tree(n), { strategy: 'per-package', budget }, (o) => o);
        assert.ok(plan.length <= budget, `budget ${budget}, ${n} packages: ${plan.length} layers`);
        const all = plan.flatMap((l) => l.keys).sort();
        assert.deepEqual(all, [...tree(n).keys()].sort(), 'every key in exactly one layer');
      }
    }
    assert.deepEqual(
      planLayers(tree(3), { strategy: 'per-package', budget: 1 }, (o) => o).map((l) => l.name),
      ['rootfs'],
    );
    // The largest packages get their own layers; the rest share one; unowned files go on top.
    assert.deepEqual(
      planLayers(tree(4), { strategy: 'per-package', budget: 4 }, (o) => o).map((l) => l.name),
      ['package p2', 'package p3', 'packages', 'top'],
    );
  });
});

describe('checkLayerCount', () => {
  const spec = { file: '/specs/imprint.yaml' };
  it('accepts up to 127 layers, base layers included', () => {
    assert.equal(MAX_IMAGE_LAYERS, 127);
    checkLayerCount(0, 127, spec);
    checkLayerCount(100, 27, spec);
  });

  it('refuses more, naming layering.budget and the base (Docker, Podman, CRI-O: "max depth exceeded")', () => {
    for (const [base, own] of [
      [0, 148],
      [120, 8],
    ] as const) {
      assert.throws(
        () => checkLayerCount(base, own, spec),
        (err: unknown) => {
          assert.ok(isImprintError(err, 'SPEC_INVALID'));
          assert.match(err.message, /imprint\.yaml: layering\.budget: the image would have \d+ layers/);
          assert.match(err.message, /at most 127/);
          if (base > 0) assert.match(err.message, /120 from the base/);
          assert.match(err.hint ?? '', /budget/);
          return true;
        },
      );
    }
  });
});
