// The dpkg database scanners read: /var/lib/dpkg/status.d/<name> and <name>.md5sums (distroless layout).
import { bytesOpener } from '../vfs/node.js';
import type { FileTree } from '../vfs/tree.js';
import { Deb822Paragraph, formatDeb822 } from './deb822.js';

/** The directory, as a tree key. */
export const STATUS_DIR = 'var/lib/dpkg/status.d';

/**
 * The file name of a package's status entry: `<name>` for packages of the image's architecture and
 * `all`, `<name>:<arch>` for foreign-architecture packages (so `libc6:i386` beside `libc6` does not
 * collide). syft looks for `<name>:<arch>.md5sums`, then `<name>.md5sums`; Trivy reads every file in
 * the directory except `*.md5sums`; both parse the paragraph itself for name, version and arch.
 */
export function statusEntryName(name: string, architecture: string, nativeArch: string): string {
  return architecture === 'all' || architecture === nativeArch ? name : `${name}:${architecture}`;
}

/**
 * The control paragraph as dpkg's status would hold it: the package's own fields in its order, with
 * `Status: install ok installed` inserted right after `Package` (replacing any Status field). Pure.
 */
export function statusParagraph(control: Deb822Paragraph): Deb822Paragraph {
  const out = new Deb822Paragraph();
  for (const [name, value] of control.entries()) {
    const key = name.toLowerCase();
    if (key === 'status') continue;
    out.add(name, value);
    if (key === 'package') out.add('Status', 'install ok installed');
  }
  return out;
}

/**
 * Writes `status.d/<entry>` (and `<entry>.md5sums` when the package has md5sums) into `tree`, mode
 * 0644, owned by root, with mtime `mtime`. Returns the keys written.
 */
export function writeStatusEntry(
  tree: FileTree,
  entry: string,
  control: Deb822Paragraph,
  md5sums: string | undefined,
  mtime: number,
  origin: string,
): string[] {
  const meta = { mode: 0o755, uid: 0, gid: 0, mtime };
  tree.mkdirp(STATUS_DIR, meta);
  const written: string[] = [];
  const put = (key: string, text: string): void => {
    const bytes = Buffer.from(text, 'utf8');
    tree.add(
      key,
      {
        kind: 'file',
        size: bytes.length,
        content: bytesOpener(bytes),
        mode: 0o644,
        uid: 0,
        gid: 0,
        mtime,
        origin,
      },
      { onExisting: 'replace' },
    );
    written.push(key);
  };
  put(`${STATUS_DIR}/${entry}`, formatDeb822(statusParagraph(control)));
  if (md5sums !== undefined && md5sums !== '') put(`${STATUS_DIR}/${entry}.md5sums`, md5sums);
  return written;
}
