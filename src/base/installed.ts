import { readTreeFile } from '../debian/effects/tree-io.js';
import { installedParagraphs, isStatusFile, STATUS_DB, STATUS_DIR } from '../debian/installed-status.js';
import type { MultiArch } from '../debian/packages-index.js';
import { parseRelationList } from '../debian/relations.js';
import type { InstalledPackage } from '../debian/resolve.js';
import type { BlobReader } from '../oci/image-set.js';
import type { Descriptor } from '../oci/types.js';
import { bytesOpener } from '../vfs/node.js';
import type { FileTree } from '../vfs/tree.js';
import { readImageFiles } from './image-files.js';

const MAX_STATUS_BYTES = 64 * 1024 * 1024;
const MULTI_ARCH: readonly string[] = ['no', 'same', 'foreign', 'allowed'];

/**
 * The Debian packages a base image has installed: dpkg's database (`/var/lib/dpkg/status`, as Debian's
 * images carry it; only entries whose Status ends in "installed") and distroless/imprint-style
 * `/var/lib/dpkg/status.d/<name>` entries. An image without either has none. Sorted by name, then
 * architecture. Cost: decompresses and reads every base layer once.
 */
export async function installedPackages(
  blobs: BlobReader,
  layers: readonly Descriptor[],
): Promise<InstalledPackage[]> {
  const { files } = await readImageFiles(blobs, layers, isStatusFile, MAX_STATUS_BYTES);
  return installedFromStatusFiles(files);
}

/** The same, from a file tree (a base image's lower tree at build time). Cost: reads its status files. */
export async function installedInTree(tree: FileTree): Promise<InstalledPackage[]> {
  const files = new Map<string, Buffer>();
  for (const key of tree.keys()) {
    if (!isStatusFile(key)) continue;
    const bytes = await readTreeFile(tree, `/${key}`, MAX_STATUS_BYTES);
    if (bytes !== undefined) files.set(key, bytes);
  }
  return installedFromStatusFiles(files);
}

/** The installed packages the status files (path -> bytes) describe, sorted by name, then architecture. Pure. */
function installedFromStatusFiles(files: ReadonlyMap<string, Buffer>): InstalledPackage[] {
  const out = new Map<string, InstalledPackage>();
  for (const { path, name, version, architecture, paragraph } of installedParagraphs(files)) {
    const multiArch = paragraph.get('Multi-Arch')?.trim() ?? 'no';
    out.set(`${name}\0${architecture}`, {
      name,
      version,
      architecture,
      multiArch: (MULTI_ARCH.includes(multiArch) ? multiArch : 'no') as MultiArch,
      provides: parseRelationList(paragraph.get('Provides') ?? '', `/${path} (${name})`),
    });
  }
  return [...out.values()].sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : a.architecture < b.architecture ? -1 : 1,
  );
}

/**
 * Brings a base image's dpkg database (`/var/lib/dpkg/status`) in step with what the build installed
 * over it: the paragraph of each package the build installs again (an upgrade) becomes its new status
 * paragraph (the status.d entry the install wrote), so dpkg in the container and scanners, which read
 * the database and status.d, see one version of it, the new one. Other paragraphs keep their bytes.
 * Does nothing when the base has no database or the build upgrades nothing in it. Cost: reads and
 * rewrites the database once.
 */
export async function updateStatusDb(
  tree: FileTree,
  installed: ReadonlyArray<{ name: string; architecture: string; statusEntry: string }>,
  mtime: number,
): Promise<void> {
  const db = tree.get(STATUS_DB);
  if (db?.kind !== 'file' || installed.length === 0) return;
  const text = (await readTreeFile(tree, `/${STATUS_DB}`, MAX_STATUS_BYTES))!.toString('utf8');
  const byName = new Map(installed.map((p) => [`${p.name}\0${p.architecture}`, p]));
  let changed = false;
  const paragraphs = text.split('\n\n');
  for (const [i, paragraph] of paragraphs.entries()) {
    const name = /^Package:[ \t]*(\S+)/m.exec(paragraph)?.[1];
    const arch = /^Architecture:[ \t]*(\S+)/m.exec(paragraph)?.[1] ?? 'all';
    const pkg = name === undefined ? undefined : byName.get(`${name}\0${arch}`);
    if (pkg === undefined) continue;
    const entry = await readTreeFile(tree, `/${STATUS_DIR}${pkg.statusEntry}`);
    if (entry === undefined) continue;
    paragraphs[i] = entry.toString('utf8').replace(/\n+$/, '');
    changed = true;
  }
  if (!changed) return;
  const bytes = Buffer.from(paragraphs.join('\n\n'), 'utf8');
  tree.add(
    STATUS_DB,
    {
      kind: 'file',
      size: bytes.length,
      content: bytesOpener(bytes),
      mode: db.mode,
      uid: db.uid,
      gid: db.gid,
      mtime,
      origin: 'dpkg',
      ...(db.xattrs === undefined ? {} : { xattrs: db.xattrs }),
    },
    { onExisting: 'replace' },
  );
}
