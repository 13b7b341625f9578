// The spec's local inputs (`files[].source`) as hashed file sets: what provenance records and verify checks.
import { createHash } from 'node:crypto';
import {
  createReadStream,
  lstatSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  type Stats,
  statSync,
} from 'node:fs';
import { realpath } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { type KnownSource, stampKey, stampOf } from '../build/source-file.js';
import { type Digest, sha256 } from '../digest/index.js';
import { errorText, ImprintError } from '../errors.js';
import { canonicalJson, compareCodeUnits } from '../oci/canonical-json.js';

/** One entry of a file set; `path` is relative to the spec's directory, with '/' separators. */
export type FileSetEntry =
  | { path: string; type: 'file'; mode: 0o644 | 0o755; sha256: string; size: number }
  | { path: string; type: 'dir' }
  | { path: string; type: 'symlink'; target: string };

/** The files one `files[]` entry copies, and the digest of their listing (sha256 of its canonical JSON). */
export interface FileSet {
  /** `files[i]` */
  field: string;
  /** The entry's `source` as the spec writes it. */
  source: string;
  digest: Digest;
  entries: FileSetEntry[];
}

/** The digest of a file set's entries: sha256 of their canonical JSON. Pure. */
export function fileSetDigest(entries: readonly FileSetEntry[]): Digest {
  return sha256(canonicalJson(entries));
}

/**
 * Hashes every `files[].source` under `specDir` (directories walked in byte order). Only what the build
 * uses is recorded: contents, the owner-executable bit (as 0755/0644), link targets, directories.
 * `known` (the build's sourceHashes, by real host path) gives the sha256 of the files the build read:
 * one whose stamp is unchanged is not read again. When given, a file changed, added or removed since
 * the build listed it is IO, as the image holds what the build read. Cost: reads every other file
 * once, streaming.
 */
export async function collectFileSets(
  specDir: string,
  sources: readonly string[],
  known: ReadonlyMap<string, KnownSource> = new Map(),
): Promise<FileSet[]> {
  const out: FileSet[] = [];
  const visited = new Set<string>();
  for (const [i, source] of sources.entries()) {
    const rel = posix
      .normalize(source)
      .replace(/^\.\/+/, '')
      .replace(/\/+$/, '');
    const entries: FileSetEntry[] = [];
    const path = join(specDir, rel);
    // The host path the build walked: the source's real path, then names below it.
    const abs = await realpath(path).catch(() => path);
    const walk = { known, field: `files[${i}]`, visited };
    await addPath(walk, abs, rel === '' ? '.' : rel, entries, true);
    out.push({ field: walk.field, source, digest: fileSetDigest(entries), entries });
  }
  const gone = [...known.keys()].find((host) => !visited.has(host));
  if (gone !== undefined) throw changedSince('files[]', gone, 'was removed');
  return out;
}

/** What a walk of one source needs besides the path: the build's hashes, the entry's field, the files seen. */
interface Walk {
  known: ReadonlyMap<string, KnownSource>;
  field: string;
  visited: Set<string>;
}

async function addPath(
  walk: Walk,
  abs: string,
  rel: string,
  out: FileSetEntry[],
  top: boolean,
): Promise<void> {
  // The build follows the top-level source through links (realpath); links inside directories stay links.
  // Synchronous metadata calls: a source tree of 10,000 files would otherwise be 10,000 round trips
  // through the thread pool.
  let st: ReturnType<typeof statSync>;
  try {
    st = top ? statSync(abs) : lstatSync(abs);
  } catch (err) {
    throw new ImprintError('IO', `cannot read ${abs}: ${errorText(err)}`, {
      cause: err,
      details: { path: abs },
    });
  }
  if (st.isSymbolicLink()) {
    out.push({ path: rel, type: 'symlink', target: readlinkSync(abs) });
  } else if (st.isDirectory()) {
    out.push({ path: rel, type: 'dir' });
    const names = readdirSync(abs).sort(compareCodeUnits);
    for (const name of names)
      await addPath(walk, join(abs, name), rel === '.' ? name : `${rel}/${name}`, out, false);
  } else if (st.isFile()) {
    out.push({
      path: rel,
      type: 'file',
      mode: (st.mode & 0o100) !== 0 ? 0o755 : 0o644,
      sha256: knownSha256(walk, abs, st) ?? (await hashFile(abs, st.size)),
      size: st.size,
    });
  } else {
    throw new ImprintError('UNSUPPORTED', `${abs} is neither a file, a directory nor a symbolic link`, {
      details: { path: abs },
    });
  }
}

/**
 * The sha256 the build computed for the file at `abs`, if it read it and it is unchanged since; IO
 * when it changed or is new since the build listed its directory: the provenance would describe other
 * files than the image holds.
 */
function knownSha256(walk: Walk, abs: string, st: Stats): string | undefined {
  if (walk.known.size === 0) return undefined; // no build to compare with
  walk.visited.add(abs);
  const seen = walk.known.get(abs);
  if (seen === undefined) throw changedSince(walk.field, abs, 'appeared');
  if (seen.stamp !== stampKey(stampOf(st))) throw changedSince(walk.field, abs, 'changed');
  return seen.sha256;
}

function changedSince(field: string, abs: string, what: string): ImprintError {
  return new ImprintError(
    'IO',
    `${field}.source: ${abs} ${what} after the build read the source, so the provenance cannot describe the files the image holds`,
    {
      hint: 'Build again once nothing writes to the source.',
      details: { field: `${field}.source`, path: abs },
    },
  );
}

/** Files up to this size are hashed from one synchronous read; larger ones stream. */
const WHOLE_READ_MAX = 1 << 20;

/** The sha256 (hex) of a file; `size`, when known, lets a small file be read whole. */
export async function hashFile(path: string, size?: number): Promise<string> {
  const h = createHash('sha256');
  if (size !== undefined && size <= WHOLE_READ_MAX) return h.update(readFileSync(path)).digest('hex');
  await pipeline(createReadStream(path), h);
  return h.digest('hex');
}
