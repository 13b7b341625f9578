import { addGeneratedFile } from '../build/accounts.js';
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
const DPKG_INFO = 'var/lib/dpkg/info';
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

/** What the build installed of a package, as `updateStatusDb` records it in dpkg's database. */
interface InstalledOverBase {
  name: string;
  architecture: string;
  multiArch: string;
  statusEntry: string;
  /** Tree keys it wrote or shares (data.tar entries, status.d files, effect outputs). */
  paths: readonly string[];
}

/**
 * Brings a base image's dpkg database (`/var/lib/dpkg/status`) in step with what the build installed
 * over it, as `apt-get install` in the base would leave it: the paragraph of each package the build
 * upgrades becomes its new one, each new package's paragraph is appended (in install order), and each
 * gets dpkg's `info/<name>.list` and `.md5sums` (`<name>:<arch>` for Multi-Arch: same) in place of its
 * status.d entry, so dpkg in the container (`dpkg -l`, `-L`, `-S`, apt) knows every package and
 * scanners, which read the database and status.d, see each once, at the version the image holds.
 * Other paragraphs keep their bytes. Does nothing when the base has no database (distroless bases keep
 * status.d). Cost: reads and rewrites the database once.
 */
export async function updateStatusDb(
  tree: FileTree,
  installed: readonly InstalledOverBase[],
  mtime: number,
): Promise<void> {
  const db = tree.get(STATUS_DB);
  if (db?.kind !== 'file' || installed.length === 0) return;
  const text = (await readTreeFile(tree, `/${STATUS_DB}`, MAX_STATUS_BYTES))!.toString('utf8');
  const entries = new Map<string, string>();
  for (const p of installed) {
    const entry = await readTreeFile(tree, `/${STATUS_DIR}${p.statusEntry}`);
    if (entry !== undefined)
      entries.set(`${p.name}\0${p.architecture}`, entry.toString('utf8').replace(/\n+$/, ''));
  }
  if (entries.size === 0) return;
  const paragraphs = text.split('\n\n');
  const upgraded = new Set<string>();
  for (const [i, paragraph] of paragraphs.entries()) {
    const name = /^Package:[ \t]*(\S+)/m.exec(paragraph)?.[1];
    const arch = /^Architecture:[ \t]*(\S+)/m.exec(paragraph)?.[1] ?? 'all';
    const entry = name === undefined ? undefined : entries.get(`${name}\0${arch}`);
    if (entry === undefined) continue;
    paragraphs[i] = entry;
    upgraded.add(`${name}\0${arch}`);
  }
  const added = [...entries].filter(([key]) => !upgraded.has(key)).map(([, entry]) => entry);
  let out = paragraphs.join('\n\n');
  if (added.length > 0) out = `${[out.replace(/\n+$/, ''), ...added].join('\n\n')}\n`;
  const bytes = Buffer.from(out, 'utf8');
  const { mode, uid, gid, xattrs } = db;
  const node = {
    kind: 'file' as const,
    size: bytes.length,
    content: bytesOpener(bytes),
    mode,
    uid,
    gid,
    mtime,
  };
  tree.add(
    STATUS_DB,
    { ...node, origin: 'dpkg', ...(xattrs === undefined ? {} : { xattrs }) },
    { onExisting: 'replace' },
  );
  for (const p of installed) if (entries.has(`${p.name}\0${p.architecture}`)) moveToDpkgInfo(tree, p, mtime);
}

/** Replaces a package's status.d entry with dpkg's own `info/<name>.list` and `.md5sums`. */
function moveToDpkgInfo(tree: FileTree, p: InstalledOverBase, mtime: number): void {
  const info = `/${DPKG_INFO}/${p.multiArch === 'same' ? `${p.name}:${p.architecture}` : p.name}`;
  const md5sums = tree.get(`${STATUS_DIR}${p.statusEntry}.md5sums`);
  if (md5sums?.kind === 'file') tree.add(`${info}.md5sums`, { ...md5sums, mtime }, { onExisting: 'replace' });
  else tree.remove(`${info}.md5sums`);
  const files = p.paths.filter((k) => !k.startsWith(STATUS_DIR)).map((k) => `/${k}\n`);
  addGeneratedFile(tree, `${info}.list`, `/.\n${files.join('')}`, mtime, 0o644, p.statusEntry);
  tree.remove(`${STATUS_DIR}${p.statusEntry}`);
  tree.remove(`${STATUS_DIR}${p.statusEntry}.md5sums`);
  if (tree.childKeys(STATUS_DIR.slice(0, -1)).length === 0) tree.remove(STATUS_DIR.slice(0, -1));
}
