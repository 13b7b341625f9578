// The spec's local inputs (`files[].source`) as hashed file sets: what provenance records and verify checks.
import { createHash } from 'node:crypto';
import { createReadStream, lstatSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join, posix } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { stampKey, stampOf } from '../build/source-file.js';
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
 * `known` (the build's sourceHashes) gives the sha256 of files the build read, by stampKey: a file
 * with the same stamp is unchanged since, and is not read again. Cost: reads every other file once,
 * streaming.
 */
export async function collectFileSets(
  specDir: string,
  sources: readonly string[],
  known: ReadonlyMap<string, string> = new Map(),
): Promise<FileSet[]> {
  const out: FileSet[] = [];
  for (const [i, source] of sources.entries()) {
    const rel = posix
      .normalize(source)
      .replace(/^\.\/+/, '')
      .replace(/\/+$/, '');
    const entries: FileSetEntry[] = [];
    await addPath(specDir, rel === '' ? '.' : rel, entries, true, known);
    out.push({ field: `files[${i}]`, source, digest: fileSetDigest(entries), entries });
  }
  return out;
}

async function addPath(
  root: string,
  rel: string,
  out: FileSetEntry[],
  top: boolean,
  known: ReadonlyMap<string, string>,
): Promise<void> {
  const abs = join(root, rel);
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
    for (const name of names) await addPath(root, rel === '.' ? name : `${rel}/${name}`, out, false, known);
  } else if (st.isFile()) {
    out.push({
      path: rel,
      type: 'file',
      mode: (st.mode & 0o100) !== 0 ? 0o755 : 0o644,
      sha256: known.get(stampKey(stampOf(st))) ?? (await hashFile(abs, st.size)),
      size: st.size,
    });
  } else {
    throw new ImprintError('UNSUPPORTED', `${abs} is neither a file, a directory nor a symbolic link`, {
      details: { path: abs },
    });
  }
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
