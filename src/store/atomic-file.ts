import { randomBytes } from 'node:crypto';
import { type FileHandle, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { errorText, ImprintError } from '../errors.js';

/** The prefix of every temporary file imprint creates; such files are never read as content. */
export const TEMP_PREFIX = '.tmp-';

/** A fresh, unpredictable temporary name in `dir` (same filesystem as the target, so rename is atomic). */
export function tempPath(dir: string, hint = ''): string {
  return join(dir, `${TEMP_PREFIX}${hint}${hint === '' ? '' : '-'}${randomBytes(8).toString('hex')}`);
}

/**
 * A pipeline sink that writes every chunk to an open file handle and leaves the handle open (for
 * fsync). A `FileHandle.createWriteStream` with `autoClose: false` would keep the handle referenced,
 * so a later `close()` would never settle.
 */
export function fileSink(fh: FileHandle): (source: AsyncIterable<Uint8Array>) => Promise<void> {
  return async (source) => {
    for await (const chunk of source) {
      let offset = 0;
      while (offset < chunk.length) {
        const { bytesWritten } = await fh.write(chunk, offset, chunk.length - offset);
        offset += bytesWritten;
      }
    }
  };
}

/**
 * Writes `data` (bytes, or a stream opened by a function) to `target` atomically: an exclusively
 * created temporary file beside it, fsync, chmod `mode`, rename. On any failure the temporary file is
 * removed and `target` is left as it was. Cost: streams the content once.
 */
export async function writeFileAtomic(
  target: string,
  data: Uint8Array | (() => Readable | Promise<Readable>),
  mode = 0o644,
): Promise<void> {
  const tmp = tempPath(dirname(target), basename(target));
  let fh: FileHandle | undefined;
  try {
    fh = await open(tmp, 'wx', 0o600);
    if (typeof data === 'function') {
      await pipeline(await data(), fileSink(fh));
    } else {
      await fh.writeFile(data);
    }
    await fh.sync();
    await fh.chmod(mode);
    await fh.close();
    fh = undefined;
    await rename(tmp, target);
  } catch (err) {
    await fh?.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    if (err instanceof ImprintError) throw err;
    throw new ImprintError('IO', `writing ${target}: ${errorText(err)}`, {
      cause: err,
      details: { file: target },
    });
  }
}
