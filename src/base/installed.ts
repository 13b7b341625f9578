import { parseDeb822 } from '../debian/deb822.js';
import type { MultiArch } from '../debian/packages-index.js';
import { parseRelationList } from '../debian/relations.js';
import type { InstalledPackage } from '../debian/resolve.js';
import type { BlobReader } from '../oci/image-set.js';
import type { Descriptor } from '../oci/types.js';
import { readImageFiles } from './image-files.js';

const STATUS_DB = 'var/lib/dpkg/status';
const STATUS_DIR = 'var/lib/dpkg/status.d/';
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
  const { files } = await readImageFiles(
    blobs,
    layers,
    (p) => p === STATUS_DB || (p.startsWith(STATUS_DIR) && !p.endsWith('.md5sums')),
    MAX_STATUS_BYTES,
  );
  const out = new Map<string, InstalledPackage>();
  for (const [path, bytes] of [...files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    for (const p of parseDeb822(bytes.toString('utf8'), `/${path}`)) {
      const name = p.get('Package');
      const version = p.get('Version');
      const status = p.get('Status') ?? (path === STATUS_DB ? '' : 'install ok installed');
      if (name === undefined || version === undefined || !/ installed$/.test(status.trim())) continue;
      const architecture = p.get('Architecture')?.trim() ?? 'all';
      const multiArch = p.get('Multi-Arch')?.trim() ?? 'no';
      const what = `/${path} (${name})`;
      out.set(`${name}\0${architecture}`, {
        name: name.trim(),
        version: version.trim(),
        architecture,
        multiArch: (MULTI_ARCH.includes(multiArch) ? multiArch : 'no') as MultiArch,
        provides: parseRelationList(p.get('Provides') ?? '', what),
      });
    }
  }
  return [...out.values()].sort((a, b) =>
    a.name < b.name ? -1 : a.name > b.name ? 1 : a.architecture < b.architecture ? -1 : 1,
  );
}
