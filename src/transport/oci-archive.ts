// oci-archive:FILE[:TAG] — an OCI image layout in a reproducible tar file.
import { digestHex } from '../digest/index.js';
import { ImprintError } from '../errors.js';
import { canonicalJson } from '../oci/canonical-json.js';
import type { ImageSet } from '../oci/image-set.js';
import type { ImageIndex } from '../oci/types.js';
import type { TarWriteEntry } from '../tar/index.js';
import { checkOciLayout, OCI_LAYOUT_BYTES, parseIndex, selectTag, tagIndex } from './layout-docs.js';
import { bytesEntry, dirEntry, fileEntry, TarBlobReader, TarFileIndex, writeTarFile } from './tar-file.js';
import { walkImageSet } from './walk.js';

/**
 * The tar entries of an OCI layout holding `set` with `index` as its index.json: `blobs/`,
 * `blobs/sha256/`, every reachable blob, `index.json`, `oci-layout` — root-owned, 0644/0755,
 * mtime 0 (the writer sorts). Cost: reads every index and manifest to find the blobs.
 */
export async function layoutEntries(set: ImageSet, index: ImageIndex): Promise<TarWriteEntry[]> {
  const walk = await walkImageSet({ index, blobs: set.blobs });
  return [
    dirEntry('blobs/'),
    dirEntry('blobs/sha256/'),
    ...walk.blobs.map((d) =>
      fileEntry(`blobs/sha256/${digestHex(d.digest)}`, d.size, () => set.blobs.open(d)),
    ),
    bytesEntry('index.json', canonicalJson(index)),
    bytesEntry('oci-layout', OCI_LAYOUT_BYTES),
  ];
}

/**
 * Writes the set as an OCI layout tar at `file` (index entries tagged with `tag` when given). The same
 * set and tag give a byte-identical archive. Written to a temporary file and renamed: a failure
 * leaves the previous file intact. Cost: streams every blob once.
 */
export async function writeOciArchive(file: string, set: ImageSet, tag: string | undefined): Promise<void> {
  await writeTarFile(file, await layoutEntries(set, tagIndex(set.index, tag)), 'oci-archive');
}

/**
 * Reads an OCI layout tar: one pass over the headers, then blobs are served as verified byte ranges
 * of the file. A tag selects the entries carrying it. Cost: reads the archive once to index it.
 */
export async function readOciArchive(file: string, tag: string | undefined): Promise<ImageSet> {
  const archive = await TarFileIndex.load(file, 'oci-archive');
  return readLayoutFromArchive(archive, 'oci-archive', tag);
}

/** The image set of an OCI layout inside an indexed archive (shared with docker-archive reading). */
export async function readLayoutFromArchive(
  archive: TarFileIndex,
  what: string,
  tag: string | undefined,
): Promise<ImageSet> {
  const where = `${what} ${archive.file}`;
  const layout = archive.resolve('oci-layout');
  if (layout === undefined) throw missing(where, 'oci-layout');
  checkOciLayout(await archive.readSmall(layout, `${where}: oci-layout`), `${where}: oci-layout`);
  const indexMember = archive.resolve('index.json');
  if (indexMember === undefined) throw missing(where, 'index.json');
  const index = parseIndex(
    await archive.readSmall(indexMember, `${where}: index.json`),
    `${where}: index.json`,
  );
  return { index: selectTag(index, tag, where), blobs: new TarBlobReader(archive, what) };
}

function missing(where: string, name: string): ImprintError {
  return new ImprintError('INVALID_IMAGE', `${where} has no ${name}`, {
    hint: 'An OCI archive holds oci-layout, index.json and blobs/sha256/; check that the file is one.',
    details: { entry: name },
  });
}
