// Flattening an image's layers for `imprint diff`: OCI whiteouts and opaque directories, and their cost.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { flattenLayers, LayerWhiteouts } from '../../src/diff/layers.js';
import { walkImageSet } from '../../src/transport/index.js';
import { buildImage, dir, file, fileStore } from './fixtures.js';

const store = fileStore();

describe('flattenLayers', () => {
  it("applies a layer's whiteouts and opaque directories to the layers below it only", async () => {
    const set = await buildImage(store, {
      layers: [
        {
          entries: [
            dir('etc/'),
            file('etc/motd', 'motd'),
            file('etc/motd.d', 'not under etc/motd'),
            dir('opt/'),
            dir('opt/app/'),
            file('opt/app/old', 'old'),
            dir('opt/app/lib/'),
            file('opt/app/lib/x', 'x'),
            file('opt/apple', 'beside opt/app'),
            dir('srv/'),
            file('srv/a', 'a'),
          ],
        },
        {
          entries: [
            file('etc/.wh.motd', ''),
            dir('opt/app/'),
            file('opt/app/.wh..wh..opq', ''),
            file('opt/app/new', 'new'),
            file('.wh.srv', ''),
            dir('srv/'), // the same layer puts srv/ back: a whiteout does not hide its own layer
          ],
        },
      ],
    });
    const layers = (await walkImageSet(set)).images[0]!.manifest.layers;
    const fs = await flattenLayers(store, layers);
    assert.deepEqual([...fs.keys()].sort(), [
      'etc/',
      'etc/motd.d',
      'opt/',
      'opt/app/',
      'opt/app/new',
      'opt/apple',
      'srv/',
    ]);
    assert.equal(fs.get('opt/app/')!.type, 'dir');
  });
  it('an opaque whiteout at the root of a layer hides everything below it', async () => {
    const set = await buildImage(store, {
      layers: [
        { entries: [dir('etc/'), file('etc/motd', 'motd'), file('top', 'top')] },
        { entries: [file('.wh..wh..opq', ''), dir('etc/'), file('etc/new', 'new')] },
      ],
    });
    const layers = (await walkImageSet(set)).images[0]!.manifest.layers;
    assert.deepEqual([...(await flattenLayers(store, layers)).keys()].sort(), ['etc/', 'etc/new']);
  });
});

describe('LayerWhiteouts', () => {
  it('tells whiteouts from entries, and hides paths, subtrees and opaque directories', () => {
    const w = new LayerWhiteouts();
    for (const p of ['etc/motd', 'etc/', '.wh', 'a.wh.b']) assert.equal(w.add(p), false, p);
    for (const p of ['etc/.wh.motd', '.wh.srv', 'opt/app/.wh..wh..opq']) assert.equal(w.add(p), true, p);
    const fs = new Map(
      [
        'etc/',
        'etc/motd',
        'etc/motdx',
        'srv/',
        'srv/a/',
        'srv/a/b',
        'srvx',
        'opt/app/',
        'opt/app/x/',
        'opt/app/x/y',
      ].map((p) => [p, p]),
    );
    assert.equal(w.applyTo(fs), 6);
    assert.deepEqual([...fs.keys()], ['etc/', 'etc/motdx', 'srvx', 'opt/app/']);
  });

  it("hides nothing with a whiteout that names no sibling ('.wh.', '.wh..', '.wh...'): it is shown as the entry it is", () => {
    const w = new LayerWhiteouts();
    for (const p of ['etc/.wh.', 'etc/.wh..', 'etc/.wh...', '.wh.', '.wh..'])
      assert.equal(w.add(p), false, p);
    const fs = new Map(['etc/', 'etc/motd', 'srv/'].map((p) => [p, p]));
    assert.equal(w.applyTo(fs), 0);
    assert.equal(fs.size, 3);
  });

  it('applies 200,000 whiteouts to 200,000 paths in one pass', { timeout: 60_000 }, () => {
    // One scan of the lower paths per whiteout would make this 4·10^10 prefix tests (hours); a pass
    // over the paths with a set lookup per ancestor is a few hundred thousand.
    const n = 200_000;
    const fs = new Map<string, number>();
    const w = new LayerWhiteouts();
    for (let i = 0; i < n; i++) {
      fs.set(`d${i % 1000}/`, i);
      fs.set(`d${i % 1000}/f${i}`, i);
      w.add(i % 2 === 0 ? `d${i % 1000}/.wh.f${i}` : `d${i % 1000}/.wh.missing${i}`);
    }
    w.add('d7/.wh..wh..opq'); // d7/ holds 200 files, all with odd numbers: none whited out on its own
    assert.equal(w.applyTo(fs), n / 2 + 200);
    assert.equal(fs.size, 1000 + n / 2 - 200);
    assert.equal(fs.has('d7/'), true);
  });
});
