// Which packages an image's dpkg metadata says are installed: dpkg's database and status.d entries.
import { type Deb822Paragraph, parseDeb822 } from './deb822.js';

/** dpkg's database, as Debian's own images carry it. */
export const STATUS_DB = 'var/lib/dpkg/status';
/** One file per package (distroless, imprint): `status.d/<name>`, beside `<name>.md5sums`. */
export const STATUS_DIR = 'var/lib/dpkg/status.d/';

/** True for the image paths (no leading '/') that hold status paragraphs. */
export function isStatusFile(path: string): boolean {
  return path === STATUS_DB || (path.startsWith(STATUS_DIR) && !path.endsWith('.md5sums'));
}

/** One installed package's status paragraph. */
export interface InstalledParagraph {
  /** The file it comes from (image path without leading '/'). */
  path: string;
  name: string;
  version: string;
  architecture: string;
  paragraph: Deb822Paragraph;
}

/**
 * The installed packages among status files (`files`: image path → bytes, as read from the layers),
 * files in path order: paragraphs with Package and Version whose Status ends in "installed" (the
 * database also lists removed and half-installed packages; a status.d entry without Status counts as
 * installed). Pure; parses every file once.
 */
export function installedParagraphs(files: ReadonlyMap<string, Buffer>): InstalledParagraph[] {
  const out: InstalledParagraph[] = [];
  const paths = [...files.keys()].filter(isStatusFile).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const path of paths) {
    for (const paragraph of parseDeb822(files.get(path)!.toString('utf8'), `/${path}`)) {
      const name = paragraph.get('Package')?.trim();
      const version = paragraph.get('Version')?.trim();
      const status = paragraph.get('Status') ?? (path === STATUS_DB ? '' : 'install ok installed');
      if (name === undefined || version === undefined || !/ installed$/.test(status.trim())) continue;
      out.push({
        path,
        name,
        version,
        architecture: paragraph.get('Architecture')?.trim() ?? 'all',
        paragraph,
      });
    }
  }
  return out;
}
