import { installedParagraphs, isStatusFile } from '../debian/installed-status.js';
import type { MultiArch } from '../debian/packages-index.js';
import { parseRelationList } from '../debian/relations.js';
import type { InstalledPackage } from '../debian/resolve.js';
import type { BlobReader } from '../oci/image-set.js';
import type { Descriptor } from '../oci/types.js';
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
