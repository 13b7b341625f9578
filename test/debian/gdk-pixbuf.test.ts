// gdk-pixbuf's loaders.cache, which its postinst writes with gdk-pixbuf-query-loaders: without it
// gdk-pixbuf loads only its built-in PNG and JPEG.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DebSpec } from '../helpers/debfile.js';
import { treeText as text, treeInstaller } from '../helpers/install-tree.js';

const EPOCH = 1_700_000_000;
const install = treeInstaller('imprint-pixbuf-', EPOCH);
const DIR = 'usr/lib/x86_64-linux-gnu/gdk-pixbuf-2.0';

describe('effects: gdk-pixbuf loaders.cache', () => {
  const pixbuf: DebSpec = {
    name: 'libgdk-pixbuf-2.0-0',
    version: '2.42.10+dfsg-1+deb12u1',
    entries: [
      { path: `./${DIR}/gdk-pixbuf-query-loaders`, content: 'elf', mode: 0o755 },
      { path: `./${DIR}/2.10.0/loaders/libpixbufloader-gif.so`, content: 'elf', mode: 0o644 },
    ],
  };
  const svg: DebSpec = {
    name: 'librsvg2-common',
    entries: [
      { path: `./${DIR}/2.10.0/loaders/libpixbufloader-svg.so`, content: 'elf', mode: 0o644 },
      { path: `./${DIR}/2.10.0/loaders/libpixbufloader-unknown.so`, content: 'elf', mode: 0o644 },
    ],
  };

  it("lists every module it knows, in path order, as Debian's gdk-pixbuf-query-loaders writes them", async () => {
    const tree = await install([svg, pixbuf]);
    const loaders = `/usr/lib/x86_64-linux-gnu/gdk-pixbuf-2.0/2.10.0/loaders`;
    // mmdebstrap of libgdk-pixbuf-2.0-0 and librsvg2-common, these two modules' stanzas.
    assert.equal(
      await text(tree, `${DIR}/2.10.0/loaders.cache`),
      [
        '# GdkPixbuf Image Loader Modules file',
        '# Automatically generated file, do not edit',
        '# Created by gdk-pixbuf-query-loaders from gdk-pixbuf-2.42.10',
        '#',
        `"${loaders}/libpixbufloader-gif.so"`,
        '"gif" 4 "gdk-pixbuf" "GIF" "LGPL"',
        '"image/gif" ""',
        '"gif" ""',
        '"GIF8" "" 100',
        '',
        `"${loaders}/libpixbufloader-svg.so"`,
        '"svg" 6 "gdk-pixbuf" "Scalable Vector Graphics" "LGPL"',
        '"image/svg+xml" "image/svg" "image/svg-xml" "image/vnd.adobe.svg+xml" "text/xml-svg" "image/svg+xml-compressed" ""',
        '"svg" "svgz" "svg.gz" ""',
        '" <svg" "*    " 100',
        '" <!DOCTYPE svg" "*             " 100',
        '',
        '',
        '',
      ].join('\n'),
    );
    const node = tree.get(`${DIR}/2.10.0/loaders.cache`);
    assert.deepEqual([node?.mode, node?.uid, node?.mtime], [0o644, 0, EPOCH]);
  });

  it('writes nothing without gdk-pixbuf', async () => {
    const tree = await install([svg]);
    assert.equal(tree.get(`${DIR}/2.10.0/loaders.cache`), undefined);
  });
});
