import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Digest } from '../digest/index.js';
import { errorText, ImprintError } from '../errors.js';
import { replaceUserFile } from '../store/atomic-file.js';
import { parseLock, serializeLock } from './serialize.js';
import { LOCK_FILE_NAME, type LockFile } from './types.js';

/**
 * The lock's path for a spec file, beside it: `imprint.lock` for `imprint.yaml` (and `imprint.yml`),
 * `NAME.lock` for another `NAME.yaml`, so two specs in one directory keep their own locks.
 */
export function lockPathFor(specPath: string): string {
  const name = basename(specPath).replace(/\.ya?ml$/i, '');
  return join(dirname(specPath), name === 'imprint' || name === '' ? LOCK_FILE_NAME : `${name}.lock`);
}

/** Reads and validates a lock; LOCK_NOT_FOUND when the file is missing, LOCK_INVALID when malformed. */
export async function readLock(path: string): Promise<LockFile> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new ImprintError('LOCK_NOT_FOUND', `expected a lock file at ${path}, found none`, {
        cause: err,
        hint: 'Run `imprint lock` to resolve the spec and write it.',
        details: { file: path },
      });
    }
    throw new ImprintError('IO', `reading ${path}: ${errorText(err)}`, {
      cause: err,
      details: { file: path },
    });
  }
  return parseLock(bytes, path);
}

/**
 * Writes the lock atomically (a temporary file in the same directory, then rename), so an interrupted
 * write leaves the previous lock intact. A lock rewritten keeps its mode (and owner, where allowed);
 * a new one is 0666 less the umask (replaceUserFile). Returns the bytes written.
 */
export async function writeLock(path: string, lock: LockFile): Promise<Buffer> {
  const bytes = serializeLock(lock);
  await replaceUserFile(path, bytes).catch((err: unknown) => {
    throw new ImprintError('IO', `cannot write the lock file ${path}: ${errorText(err)}`, {
      hint: "The lock lives beside the spec: run imprint lock where the spec's directory is writable (or as its owner), then commit the lock.",
      cause: err,
      details: { path },
    });
  });
  return bytes;
}

/** True when the lock was written for a spec whose resolution-relevant fields hash to `currentSpecHash`. */
export function isLockFresh(lock: LockFile, currentSpecHash: Digest): boolean {
  return lock.specHash === currentSpecHash;
}

/** Throws LOCK_STALE when the spec changed in a way that affects resolution since the lock was written. */
export function checkLock(lock: LockFile, currentSpecHash: Digest, file = LOCK_FILE_NAME): void {
  if (isLockFresh(lock, currentSpecHash)) return;
  throw new ImprintError(
    'LOCK_STALE',
    `${file} is stale: it was written for spec hash ${lock.specHash}, the spec now hashes to ${currentSpecHash}`,
    {
      hint: "The spec's sources, packages, platforms or base image changed since the lock was written; run `imprint lock` (or `imprint build --update`) to update the lock.",
      details: { file, expected: currentSpecHash, found: lock.specHash },
    },
  );
}
