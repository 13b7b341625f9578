// oci:DIR[:TAG] — an OCI image layout directory.
import { lstat, readdir, readFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { errorText, ImprintError } from '../errors.js';
import { mapLimit } from '../net/concurrency.js';
import { canonicalJson } from '../oci/canonical-json.js';
import type { ImageSet } from '../oci/image-set.js';
import { Annotation } from '../oci/media-types.js';
import type { ImageIndex } from '../oci/types.js';
import { type LockHolder, withFileLock } from '../store/file-lock.js';
import { BlobStore, removeStaleTemps, writeFileAtomic } from '../store/index.js';
import { mkdirp } from '../store/mkdirp.js';
import { checkOciLayout, OCI_LAYOUT_BYTES, parseIndex, selectTag, tagIndex } from './layout-docs.js';
import { referrerEntriesOf, subjectDigestsOf } from './referrer-subjects.js';
import { walkImageSet } from './walk.js';

/** What is at an output directory before imprint writes there. */
type OutputState =
  | { kind: 'absent' | 'empty' }
  | { kind: 'layout'; index: ImageIndex | undefined; layoutOk: boolean };

/**
 * Writes the set as an OCI image layout in `dir`, holding the layout's lock file (concurrent writers
 * take turns). `oci-layout`, then the blobs (linked or copied from a BlobStore after hashing, otherwise
 * streamed and verified), then `index.json` renamed into place last: an interrupted write leaves the
 * previous layout readable, and a new one that the next write completes. With a tag, an existing layout keeps its entries tagged with
 * other names and their referrers (the entry with the same tag, and other untagged ones, are
 * replaced); without a tag, index.json is exactly the set's index. OUTPUT_EXISTS when `dir` holds
 * something that is not an OCI layout. Cost: streams every blob not already present.
 */
export async function writeOciDir(
  dir: string,
  set: ImageSet,
  tag: string | undefined,
  onLockWait?: (holder: LockHolder, timeoutMs: number) => void,
): Promise<void> {
  await inspectOutput(dir, false); // refuse a directory that is not a layout before creating anything
  const walk = await walkImageSet(set);
  await mkdirOrFail(dir);
  // Concurrent writers of one layout take turns, so none loses another's tag in index.json.
  await withFileLock(join(dir, LOCK_FILE), () => writeLocked(dir, set, tag, walk), {
    what: `writing the OCI layout ${dir}`,
    ...(onLockWait === undefined ? {} : { onWait: onLockWait }),
  });
}

/** Blobs copied into a layout at once. */
const BLOB_COPIES = 4;

/** The lock file concurrent writers of a layout take (removed after each write). */
const LOCK_FILE = '.imprint-write.lock';

async function writeLocked(
  dir: string,
  set: ImageSet,
  tag: string | undefined,
  walk: Awaited<ReturnType<typeof walkImageSet>>,
): Promise<void> {
  const state = await inspectOutput(dir, true);
  // oci-layout first: a new layout whose first write is interrupted is still a layout (without
  // index.json) that the next write completes, not a directory of blobs it must refuse.
  if (state.kind !== 'layout' || !state.layoutOk)
    await writeFileAtomic(join(dir, 'oci-layout'), OCI_LAYOUT_BYTES);
  await refuseLinkedBlobDirs(dir);
  // Temporary files (blobs, index.json) of killed writers of this layout, once they provably ended.
  await removeStaleTemps(dir, new Date(0)).catch(() => 0);
  const out = new BlobStore(dir, { tmpDir: dir });
  const source = set.blobs;
  // Blobs are independent files (index.json, written last, is what makes them part of the layout):
  // copied a few at once, so their file-system round trips overlap (an image and its attestations
  // are ~10 blobs of ~5 calls each).
  await mapLimit(walk.blobs, BLOB_COPIES, (d) =>
    source instanceof BlobStore ? out.copyFrom(source, d) : out.put(() => source.open(d), d),
  );
  const tagged = tagIndex(set.index, tag);
  const existing = tag === undefined || state.kind !== 'layout' ? [] : (state.index?.manifests ?? []);
  const keptTags = existing.filter((m) => {
    const name = m.annotations?.[Annotation.refName];
    return name !== undefined && name !== tag;
  });
  // The attestations of the images that keep their tags stay too (they are untagged entries).
  const written = new Set(tagged.manifests.map((m) => m.digest));
  const subjects = await subjectDigestsOf(out, keptTags).catch(() => new Set<string>());
  const keptReferrers =
    keptTags.length === 0
      ? []
      : (await referrerEntriesOf(out, existing, subjects)).filter((m) => !written.has(m.digest));
  const index: ImageIndex = { ...tagged, manifests: [...keptTags, ...keptReferrers, ...tagged.manifests] };
  await writeFileAtomic(join(dir, 'index.json'), canonicalJson(index));
}

/**
 * Reads an OCI image layout: checks `oci-layout`, parses `index.json`, and serves blobs from
 * `blobs/sha256/` verified on read. A tag selects the entries carrying it (see selectTag).
 * Cost: reads two small files.
 */
export async function readOciDir(dir: string, tag: string | undefined): Promise<ImageSet> {
  const where = `OCI layout ${dir}`;
  const layout = await readSmallFile(join(dir, 'oci-layout'), where);
  checkOciLayout(layout, `${where}: oci-layout`);
  const index = parseIndex(await readSmallFile(join(dir, 'index.json'), where), `${where}: index.json`);
  return { index: selectTag(index, tag, where), blobs: new BlobStore(dir) };
}

async function inspectOutput(dir: string, locked: boolean): Promise<OutputState> {
  let names: string[];
  try {
    const st = await stat(dir);
    if (!st.isDirectory()) throw notALayout(dir, 'it is not a directory');
    names = await readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'absent' };
    if (err instanceof ImprintError) throw err;
    throw new ImprintError('IO', `inspecting output directory ${dir}: ${errorText(err)}`, { cause: err });
  }
  // Another imprint is writing here: the check is made again once this one holds the lock.
  if (!locked && names.includes(LOCK_FILE)) return { kind: 'empty' };
  names = names.filter((n) => n !== LOCK_FILE);
  if (names.length === 0) return { kind: 'empty' };
  if (!names.includes('oci-layout'))
    throw notALayout(
      dir,
      `it holds ${names.length} ${names.length === 1 ? 'entry' : 'entries'} and no oci-layout file`,
    );
  const where = `existing OCI layout ${dir}`;
  const layoutBytes = await readSmallFile(join(dir, 'oci-layout'), where);
  try {
    checkOciLayout(layoutBytes, `${where}: oci-layout`);
  } catch (err) {
    throw notALayout(dir, errorText(err));
  }
  const layoutOk = Buffer.compare(layoutBytes, OCI_LAYOUT_BYTES) === 0;
  // index.json is missing when an earlier write was interrupted before its last step
  if (!names.includes('index.json')) return { kind: 'layout', index: undefined, layoutOk };
  return {
    kind: 'layout',
    index: parseIndex(await readSmallFile(join(dir, 'index.json'), where), `${where}: index.json`),
    layoutOk,
  };
}

function notALayout(dir: string, why: string): ImprintError {
  return new ImprintError('OUTPUT_EXISTS', `output ${dir} exists and is not an OCI image layout: ${why}`, {
    hint: 'Write to a new or empty directory, or to an existing OCI layout (its other tags are kept); remove the directory to replace it.',
    details: { path: dir },
  });
}

/**
 * Creates `dir` and its missing parents one at a time (Node's recursive mkdir loops forever where a
 * file system refuses a new directory with ENOENT, as /proc does); IO naming the directory otherwise.
 */
async function mkdirOrFail(dir: string): Promise<void> {
  try {
    await mkdirp(dir);
  } catch (err) {
    throw new ImprintError('IO', `creating output directory ${dir}: ${errorText(err)}`, {
      hint: 'Write the image to a directory you can write to: -o oci:DIR (or another output).',
      cause: err,
      details: { path: dir },
    });
  }
}

/**
 * OUTPUT_EXISTS when `blobs` or `blobs/sha256` of a layout is a symlink (one committed to a
 * repository, say): blobs would be written wherever it points.
 */
async function refuseLinkedBlobDirs(dir: string): Promise<void> {
  for (const sub of ['blobs', join('blobs', 'sha256')]) {
    const st = await lstat(join(dir, sub)).catch(() => undefined);
    if (st !== undefined && !st.isDirectory())
      throw notALayout(dir, `${sub} is ${st.isSymbolicLink() ? 'a symbolic link' : 'not a directory'}`);
  }
}

const MAX_LAYOUT_FILE = 16 * 1024 * 1024;

async function readSmallFile(file: string, where: string): Promise<Buffer> {
  try {
    const st = await stat(file);
    // A device (/dev/zero), FIFO or socket has no size to check and may never end: regular files only.
    if (!st.isFile())
      throw new ImprintError('INVALID_IMAGE', `${file} is not a regular file`, { details: { file } });
    if (st.size > MAX_LAYOUT_FILE) {
      throw new ImprintError(
        'INVALID_IMAGE',
        `${file} is ${st.size} bytes; at most ${MAX_LAYOUT_FILE} are read`,
        { details: { file } },
      );
    }
    const bytes = await readFile(file);
    if (bytes.length > MAX_LAYOUT_FILE)
      throw new ImprintError('INVALID_IMAGE', `${file} grew past ${MAX_LAYOUT_FILE} bytes while read`, {
        details: { file },
      });
    return bytes;
  } catch (err) {
    if (err instanceof ImprintError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      // Say what the path is when it is no directory at all: a typo, or an archive read as a layout.
      const dir = dirname(file);
      const st = await stat(dir).catch(() => undefined);
      if (st === undefined || !st.isDirectory()) {
        throw new ImprintError(
          'INVALID_IMAGE',
          `${where}: ${dir} ${st === undefined ? 'does not exist' : 'is a file, not a directory'}`,
          {
            hint:
              st === undefined
                ? 'Check the path of the layout directory.'
                : 'An archive file is read as oci-archive:FILE or docker-archive:FILE; oci: names a layout directory.',
            details: { file },
          },
        );
      }
      throw new ImprintError('INVALID_IMAGE', `${where} has no ${basename(file)}`, {
        hint: 'An OCI layout directory holds oci-layout, index.json and blobs/; check the path.',
        details: { file },
      });
    }
    throw new ImprintError('IO', `reading ${file}: ${errorText(err)}`, { cause: err });
  }
}
