import { childNames, exists, resolvePath } from '../debian/effects/tree-io.js';
import type { FileTree } from '../vfs/tree.js';

// Some packages' scripts compile what other packages ship into a database their programs read, with
// tools imprint does not reproduce (their output formats are large and the tools are not run): a
// package image then has the sources and not the database, and the programs fail in ways far from
// the cause. The build says so. Each row: the sources, the database, the tool, what fails without it.

interface GeneratedData {
  /** The directory the sources are in, and how their names end. */
  dir: string;
  suffix: string;
  /** The file the tool writes. */
  output: string;
  tool: string;
  consequence: string;
}

const GENERATED: readonly GeneratedData[] = [
  {
    dir: '/usr/share/mime/packages',
    suffix: '.xml',
    output: '/usr/share/mime/mime.cache',
    tool: 'update-mime-database /usr/share/mime',
    consequence:
      'GLib (GIO) cannot tell a file\'s type, so gdk-pixbuf loads no image at all ("Couldn\'t recognize the image file format")',
  },
  {
    dir: '/usr/share/glib-2.0/schemas',
    suffix: '.gschema.xml',
    output: '/usr/share/glib-2.0/schemas/gschemas.compiled',
    tool: 'glib-compile-schemas /usr/share/glib-2.0/schemas',
    consequence: 'GSettings finds no schema ("No schemas installed"), and a program that opens one aborts',
  },
];

/**
 * Warnings for each database of `GENERATED` whose sources the image has and whose output it lacks.
 * Cost: lists two directories.
 */
export function generatedDataNotes(tree: FileTree): string[] {
  const notes: string[] = [];
  for (const g of GENERATED) {
    const sources = childNames(tree, resolvePath(tree, g.dir)).filter((n) => n.endsWith(g.suffix));
    if (sources.length === 0 || exists(tree, g.output)) continue;
    notes.push(
      `the image has ${g.dir}/*${g.suffix} but no ${g.output}, which Debian's scripts make with ${g.tool} and imprint does not: ${g.consequence}; run \`${g.tool}\` when the container starts, or build on a base image that has it`,
    );
  }
  return notes;
}
