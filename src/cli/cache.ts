import { statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';
import { ImprintError, isImprintError } from '../errors.js';
import {
  BlobStore,
  cacheNotWritableHint,
  defaultCacheDir,
  isDeniedCode,
  removeStaleTemps,
} from '../store/index.js';

/** How old a temporary file of a writer that may still run elsewhere must be before a sweep removes it. */
const STALE_TEMP_MS = 24 * 60 * 60 * 1000;

/**
 * The cache directory named by --cache-dir or the environment, and the content store inside it.
 * An IO error up front when that path, or its nearest existing ancestor, is not a directory (e.g. a
 * regular file), instead of a failure at the first write.
 */
export function openCache(cacheDir: string | undefined): { cacheDir: string; store: BlobStore } {
  if (cacheDir === '')
    throw new ImprintError('USAGE', '--cache-dir is empty', { hint: 'Name a directory: --cache-dir DIR.' });
  const dir = resolve(cacheDir ?? defaultCacheDir(process.env, homeDirectory));
  checkDirectoryPath(dir);
  return { cacheDir: dir, store: new BlobStore(dir) };
}

/**
 * Removes the temporary files killed runs left in the cache (its tmp/ and the build spool's): those
 * of a process of this host that provably ended, and any a day old. Best effort: a failure here
 * never fails the command. Cost: one readdir per directory.
 */
export async function sweepCache(cacheDir: string): Promise<void> {
  const cutoff = new Date(Date.now() - STALE_TEMP_MS);
  for (const dir of [join(cacheDir, 'tmp'), join(cacheDir, 'spool', 'tmp')])
    await removeStaleTemps(dir, cutoff).catch(() => 0);
}

/**
 * `err` with a hint about the cache when it is an IO error of a file in the cache directory that this
 * user may not create or write (the cache of another user, a read-only mount): the file's own hint
 * ("name a path you can write to") would point at a path the user never named. Else `err` itself.
 */
export function withCacheHint(err: unknown, cacheDir: string | undefined): unknown {
  if (!isImprintError(err, 'IO')) return err;
  let dir: string;
  try {
    dir = resolve(cacheDir ?? defaultCacheDir(process.env, homeDirectory));
  } catch {
    return err;
  }
  // A file in the cache, the cache directory itself, or a parent of it that could not be made.
  const inCache = (file: string) =>
    file.startsWith(dir + sep) || file === dir || dir.startsWith(file === sep ? sep : file + sep);
  // The error's own file, or its cause's: an error given the spec's file and field in front names
  // the spec (`sources[0]: writing <a Release into the cache>: ...`), its cause the file that failed.
  for (let e: unknown = err; isImprintError(e, 'IO'); e = e.cause) {
    const { file, code } = e.details as { file?: unknown; code?: unknown };
    if (typeof file !== 'string' || !isDeniedCode(code) || !inCache(file)) continue;
    return new ImprintError('IO', err.message, {
      hint: cacheNotWritableHint(
        file.startsWith(dir + sep)
          ? `That file is in the cache directory ${dir}`
          : `The cache directory is ${dir}`,
      ),
      details: err.details,
    });
  }
  return err;
}

/** The user's home directory (asked only when the cache is not named otherwise). */
function homeDirectory(): string {
  try {
    return homedir();
  } catch (err) {
    // A uid without a passwd entry and no HOME (docker run --user 1234, OpenShift's arbitrary uids).
    throw new ImprintError(
      'IO',
      `no cache directory: this user has no home directory (${(err as Error).message})`,
      {
        hint: 'Pass --cache-dir DIR, or set IMPRINT_CACHE_DIR or XDG_CACHE_HOME to a directory you can write to.',
      },
    );
  }
}

/** Throws IO unless `dir` is a directory or can be created as one (its nearest existing ancestor is a directory). */
function checkDirectoryPath(dir: string): void {
  for (let p = dir; ; p = dirname(p)) {
    let isDir: boolean;
    try {
      isDir = statSync(p).isDirectory();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if ((code === 'ENOENT' || code === 'ENOTDIR') && dirname(p) !== p) continue; // not there yet: created on first write
      throw cacheDirError(dir, `${p}: ${code ?? String(err)}`);
    }
    if (isDir) return;
    throw cacheDirError(dir, p === dir ? 'it is not a directory' : `${p} is not a directory`);
  }
}

function cacheDirError(dir: string, why: string): ImprintError {
  return new ImprintError('IO', `cache directory ${dir} cannot be used: ${why}`, {
    hint: 'Pass --cache-dir (or set IMPRINT_CACHE_DIR) to a directory you can write to.',
    details: { cacheDir: dir },
  });
}
