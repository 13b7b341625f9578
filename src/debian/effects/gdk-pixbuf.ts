// gdk-pixbuf's loaders.cache: libgdk-pixbuf-2.0-0's postinst (and its trigger on the loaders
// directory) runs gdk-pixbuf-query-loaders over every loader module. Without the file gdk-pixbuf
// loads only the PNG and JPEG built into it: GIF, TIFF, ICO, SVG (librsvg2-common), WebP, ... fail
// ("Couldn't recognize the image file format"). The tool asks each module (a shared library) to
// describe itself, which imprint cannot do without running it, so what it prints for the modules
// bookworm ships is data here.
import { childNames, type EffectWriter, exists, writeFile } from './tree-io.js';
import type { EffectRule } from './types.js';

/**
 * What gdk-pixbuf-query-loaders 2.42.10 prints for each loader module of Debian bookworm (the lines
 * after the module's path), by file name: gdk-pixbuf's own, librsvg2-common's svg,
 * webp-pixbuf-loader's, heif-gdk-pixbuf's, libavif-gdk-pixbuf's and libwmf0.2-7-gtk's, as an
 * mmdebstrap install of them wrote them. Add a module's lines to support it.
 */
export const PIXBUF_LOADERS: Readonly<Record<string, readonly string[]>> = {
  'io-wmf.so': [
    '"wmf" 0 "gdk-pixbuf" "Windows Metafile" ""',
    '"image/x-wmf" ""',
    '"wmf" "apm" ""',
    '"\\327\\315\\306\\232" "" 100',
    '"\\001" "" 100',
  ],
  'libpixbufloader-ani.so': [
    '"ani" 4 "gdk-pixbuf" "Windows animated cursor" "LGPL"',
    '"application/x-navi-animation" ""',
    '"ani" ""',
    '"RIFF    ACON" "    xxxx    " 100',
  ],
  'libpixbufloader-avif.so': [
    '"avif" 5 "gdk-pixbuf" "AV1 Image File Format" "BSD"',
    '"image/avif" ""',
    '"avif" ""',
    '"    ftypavif" "zzz         " 100',
  ],
  'libpixbufloader-bmp.so': [
    '"bmp" 5 "gdk-pixbuf" "BMP" "LGPL"',
    '"image/bmp" "image/x-bmp" "image/x-MS-bmp" ""',
    '"bmp" ""',
    '"BM" "" 100',
  ],
  'libpixbufloader-gif.so': [
    '"gif" 4 "gdk-pixbuf" "GIF" "LGPL"',
    '"image/gif" ""',
    '"gif" ""',
    '"GIF8" "" 100',
  ],
  'libpixbufloader-heif.so': [
    '"heif/avif" 4 "pixbufloader-heif" "HEIF/AVIF Image" "LGPL3"',
    '"image/heif" "image/heic" "image/avif" ""',
    '"heif" "heic" "avif" ""',
    '"    ftyp" "xxxx    " 100',
  ],
  'libpixbufloader-icns.so': [
    '"icns" 4 "gdk-pixbuf" "MacOS X icon" "GPL"',
    '"image/x-icns" ""',
    '"icns" ""',
    '"icns" "" 100',
  ],
  'libpixbufloader-ico.so': [
    '"ico" 5 "gdk-pixbuf" "Windows icon" "LGPL"',
    '"image/x-icon" "image/x-ico" "image/x-win-bitmap" "image/vnd.microsoft.icon" "application/ico" "image/ico" "image/icon" "text/ico" ""',
    '"ico" "cur" ""',
    '"  \\001   " "zz znz" 100',
    '"  \\002   " "zz znz" 100',
  ],
  'libpixbufloader-pnm.so': [
    '"pnm" 4 "gdk-pixbuf" "PNM/PBM/PGM/PPM" "LGPL"',
    '"image/x-portable-anymap" "image/x-portable-bitmap" "image/x-portable-graymap" "image/x-portable-pixmap" ""',
    '"pnm" "pbm" "pgm" "ppm" ""',
    '"P1" "" 100',
    '"P2" "" 100',
    '"P3" "" 100',
    '"P4" "" 100',
    '"P5" "" 100',
    '"P6" "" 100',
  ],
  'libpixbufloader-qtif.so': [
    '"qtif" 4 "gdk-pixbuf" "QuickTime" "LGPL"',
    '"image/x-quicktime" "image/qtif" ""',
    '"qtif" "qif" ""',
    '"abcdidsc" "xxxx    " 100',
    '"abcdidat" "xxxx    " 100',
  ],
  'libpixbufloader-svg.so': [
    '"svg" 6 "gdk-pixbuf" "Scalable Vector Graphics" "LGPL"',
    '"image/svg+xml" "image/svg" "image/svg-xml" "image/vnd.adobe.svg+xml" "text/xml-svg" "image/svg+xml-compressed" ""',
    '"svg" "svgz" "svg.gz" ""',
    '" <svg" "*    " 100',
    '" <!DOCTYPE svg" "*             " 100',
  ],
  'libpixbufloader-tga.so': [
    '"tga" 4 "gdk-pixbuf" "Targa" "LGPL"',
    '"image/x-tga" ""',
    '"tga" "targa" ""',
    '" \\001\\001" "x  " 100',
    '" \\001\\t" "x  " 100',
    '"  \\002" "xz " 99',
    '"  \\003" "xz " 100',
    '"  \\n" "xz " 100',
    '"  \\v" "xz " 100',
  ],
  'libpixbufloader-tiff.so': [
    '"tiff" 5 "gdk-pixbuf" "TIFF" "LGPL"',
    '"image/tiff" ""',
    '"tiff" "tif" ""',
    '"MM *" "  z " 100',
    '"II* " "   z" 100',
    '"II* \\020   CR\\002 " "   z zzz   z" 0',
  ],
  'libpixbufloader-webp.so': [
    '"webp" 5 "gdk-pixbuf" "The WebP image format" "LGPL"',
    '"image/webp" "audio/x-riff" ""',
    '"webp" ""',
    '"RIFFsizeWEBP" "    xxxx    " 100',
  ],
  'libpixbufloader-xbm.so': [
    '"xbm" 4 "gdk-pixbuf" "XBM" "LGPL"',
    '"image/x-xbitmap" ""',
    '"xbm" ""',
    '"#define " "" 100',
    '"/*" "" 50',
  ],
  'libpixbufloader-xpm.so': [
    '"xpm" 4 "gdk-pixbuf" "XPM" "LGPL"',
    '"image/x-xpixmap" ""',
    '"xpm" ""',
    '"/* XPM */" "" 100',
  ],
};

const LOADERS = 'gdk-pixbuf-2.0/2.10.0/loaders';

/**
 * The loaders.cache gdk-pixbuf-query-loaders writes for `modules` (absolute paths, in C order, as the
 * postinst's `find | LC_ALL=C sort` gives them) of gdk-pixbuf `version`; modules the table does not
 * know are left out, as the tool leaves out a module it cannot load. Pure.
 */
export function loadersCacheText(version: string, modules: readonly string[]): string {
  let out = `# GdkPixbuf Image Loader Modules file\n# Automatically generated file, do not edit\n# Created by gdk-pixbuf-query-loaders from gdk-pixbuf-${version}\n#\n`;
  for (const path of modules) {
    const lines = PIXBUF_LOADERS[path.slice(path.lastIndexOf('/') + 1)];
    if (lines !== undefined) out += `"${path}"\n${lines.join('\n')}\n\n`;
  }
  return `${out}\n`;
}

export const gdkPixbufLoadersRule: EffectRule = {
  id: 'libgdk-pixbuf/loaders-cache',
  package: 'libgdk-pixbuf-2.0-0',
  describe:
    'postinst and trigger: gdk-pixbuf-query-loaders writes /usr/lib/<triplet>/gdk-pixbuf-2.0/2.10.0/loaders.cache for every loader module (their lines are data: the modules bookworm ships)',
  apply(ctx, pkg) {
    const version = /^(?:[0-9]+:)?([0-9][0-9.]*)/.exec(pkg.version)?.[1] ?? pkg.version;
    const w: EffectWriter = ctx.writer(pkg.name);
    // One cache per architecture whose gdk-pixbuf is installed, listing its modules and the old
    // directory's (the postinst's `find $LOADERS_DIR $LOADERS_DIR_OLD -name *.so`).
    for (const triplet of childNames(ctx.tree, 'usr/lib')) {
      const base = `/usr/lib/${triplet}/gdk-pixbuf-2.0`;
      if (!exists(ctx.tree, `${base}/gdk-pixbuf-query-loaders`)) continue;
      const modules = [`/usr/lib/${triplet}/${LOADERS}`, `/usr/lib/${LOADERS}`]
        .flatMap((dir) => childNames(ctx.tree, dir.slice(1)).map((name) => `${dir}/${name}`))
        .filter((p) => p.endsWith('.so'))
        .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      writeFile(w, `${base}/2.10.0/loaders.cache`, loadersCacheText(version, modules));
    }
  },
};
