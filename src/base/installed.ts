import { readTreeFile } from '../debian/effects/tree-io.js';
import { installedParagraphs, isStatusFile } from '../debian/installed-status.js';
import type { MultiArch } from '../debian/packages-index.js';
import { parseRelationList } from '../debian/relations.js';
import type { InstalledPackage } from '../debian/resolve.js';
import type { BlobReader } from '../oci/image-set.js';
import type { Descriptor } from '../oci/types.js';
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
