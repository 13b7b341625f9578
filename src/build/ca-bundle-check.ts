import { parseDeb822 } from '../debian/deb822.js';
import { readTreeFile, statPath } from '../debian/effects/tree-io.js';
import type { InstalledPackage } from '../debian/install.js';
import { STATUS_DIR } from '../debian/install-status.js';
import { parseDependsField } from '../debian/relations.js';
import type { FileTree } from '../vfs/tree.js';

// git, libcurl4 (curl), libcurl3-gnutls, wget and python3.11 only Recommend ca-certificates,
// which `apt-get install` brings in by default; imprint installs no Recommends (as
// --no-install-recommends), so `packages: [git]` gave an image without
// /etc/ssl/certs/ca-certificates.crt and every https fetch failed at run time (curl: "(77) error
// setting certificate file"; git: "Problem with the SSL CA cert"). The build says so.

const BUNDLE = '/etc/ssl/certs/ca-certificates.crt';
const CA_PACKAGE = 'ca-certificates';
/** Recommenders whose TLS does not need the bundle: Node.js verifies with the root store built into it. */
const OWN_STORE = new Set(['nodejs']);

/**
 * One warning when packages of this build recommend ca-certificates and the image `tree` has no CA
 * bundle (missing or empty), naming those packages. Their status entries are read from `own`, the
 * tree the build installed them into: over a base with a dpkg database they leave status.d for the
 * base's status file, and the base's own packages are not this build's to warn about. Cost: reads
 * each of the build's status entries when the bundle is missing, nothing otherwise.
 */
export async function caBundleNotes(
  tree: FileTree,
  own: FileTree,
  packages: readonly Pick<InstalledPackage, 'statusEntry'>[],
): Promise<string[]> {
  const bundle = statPath(tree, BUNDLE);
  if (bundle !== undefined && bundle.node.kind === 'file' && bundle.node.size > 0) return [];
  const recommending: string[] = [];
  for (const { statusEntry } of packages) {
    const path = `/${STATUS_DIR}/${statusEntry}`;
    const text = (await readTreeFile(own, path))?.toString('utf8');
    if (text === undefined) continue;
    const name = recommender(text, path);
    if (name !== undefined && !OWN_STORE.has(name)) recommending.push(name);
  }
  if (recommending.length === 0) return [];
  const names = [...new Set(recommending)].sort();
  return [
    `${names.join(', ')} ${names.length === 1 ? 'recommends' : 'recommend'} ${CA_PACKAGE}, which apt-get install would add and imprint does not (it installs no Recommends): the image has no ${BUNDLE}, so ${names.length === 1 ? 'its' : 'their'} TLS connections fail certificate verification (curl: "error setting certificate file"; git: "Problem with the SSL CA cert"); add ${CA_PACKAGE} to packages`,
  ];
}

/** The package of a status entry whose Recommends name ca-certificates; a malformed entry is skipped. */
function recommender(text: string, path: string): string | undefined {
  try {
    const [paragraph] = parseDeb822(text, path);
    const recommends = paragraph?.get('Recommends');
    if (paragraph === undefined || recommends === undefined) return undefined;
    const groups = parseDependsField(recommends, `${path}: Recommends`);
    return groups.some((alts) => alts.some((r) => r.name === CA_PACKAGE))
      ? (paragraph.get('Package') ?? path)
      : undefined;
  } catch {
    return undefined;
  }
}
