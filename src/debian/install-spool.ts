// Where the bodies of unpacked package files wait until a layer is written: small ones in memory,
// the rest in a content-addressed spool directory (sha256 → file), written temp + rename.
import { createHash } from 'node:crypto';
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ImprintError, errorText } from '../errors.js';
import { tempPath } from '../store/atomic-file.js';
import type { ContentOpener } from '../vfs/node.js';

export interface SpoolOptions {
  /** Files up to this size stay in memory (default 64 KiB). */
  memoryThreshold?: number;
  /** Most bytes kept in memory in total; later small files go to disk (default 64 MiB). */
  memoryBudget?: number;
}

/** A captured file body: its sha256 (hex) and a function that opens a fresh stream of it. */
export interface CapturedContent {
  sha256: string;
  size: number;
  open: ContentOpener;
  inMemory: boolean;
}

/** Counters for measurements (INSTALL.md). */
export interface SpoolStats {
  memoryFiles: number;
  memoryBytes: number;
  spooledFiles: number;
  spooledBytes: number;
}

const DEFAULT_THRESHOLD = 64 * 1024;
const DEFAULT_BUDGET = 64 * 1024 * 1024;

/**
 * Captures file bodies while a .deb streams past, so the layer writer can read them later in path
 * order. Bodies up to `memoryThreshold` stay in memory (while `memoryBudget` lasts); larger ones are
 * hashed while written to `<dir>/tmp/.tmp-*` and renamed to `<dir>/sha256/<hex>`, so identical files
 * (across packages, platforms and builds sharing the directory) are stored once. Openers of spooled
 * files check the size on open. Not safe for concurrent `capture` calls on one instance.
 */
export class ContentSpool {
  readonly #dir: string;
  readonly #threshold: number;
  readonly #budget: number;
  #ready: Promise<void> | undefined;
  readonly stats: SpoolStats = { memoryFiles: 0, memoryBytes: 0, spooledFiles: 0, spooledBytes: 0 };

  constructor(dir: string, options: SpoolOptions = {}) {
    this.#dir = dir;
    this.#threshold = options.memoryThreshold ?? DEFAULT_THRESHOLD;
    this.#budget = options.memoryBudget ?? DEFAULT_BUDGET;
  }

  /** The path a spooled body with this sha256 lives at (a pure function of the digest). */
  pathOf(sha256: string): string {
    return join(this.#dir, 'sha256', sha256);
  }

  /**
   * Reads `body` to its end (it must yield exactly `size` bytes; `what` names it in errors) and
   * returns its digest and opener. Cost: one pass; memory up to `memoryThreshold` per call.
   */
  async capture(body: Readable, size: number, what: string): Promise<CapturedContent> {
    if (size <= this.#threshold && this.stats.memoryBytes + size <= this.#budget) return this.#captureInMemory(body, size, what);
    return this.#captureToDisk(body, size, what);
  }

  async #captureInMemory(body: Readable, size: number, what: string): Promise<CapturedContent> {
    const buf = Buffer.allocUnsafe(size);
    let have = 0;
    for await (const chunk of body as AsyncIterable<Buffer>) {
      if (have + chunk.length > size) throw sizeError(what, size, have + chunk.length);
      chunk.copy(buf, have);
      have += chunk.length;
    }
    if (have !== size) throw sizeError(what, size, have);
    this.stats.memoryFiles++;
    this.stats.memoryBytes += size;
    const sha256 = createHash('sha256').update(buf).digest('hex');
    return { sha256, size, open: () => Readable.from([buf]), inMemory: true };
  }

  async #captureToDisk(body: Readable, size: number, what: string): Promise<CapturedContent> {
    this.#ready ??= Promise.all([
      mkdir(join(this.#dir, 'tmp'), { recursive: true }),
      mkdir(join(this.#dir, 'sha256'), { recursive: true }),
    ]).then(() => undefined);
    await this.#ready;
    const tmp = tempPath(join(this.#dir, 'tmp'));
    const hash = createHash('sha256');
    let have = 0;
    let moved = false;
    const fh = await open(tmp, 'wx', 0o644).catch((err: unknown) => {
      throw ioError(`cannot create a spool file in ${this.#dir}`, err);
    });
    try {
      try {
        for await (const chunk of body as AsyncIterable<Buffer>) {
          have += chunk.length;
          if (have > size) throw sizeError(what, size, have);
          hash.update(chunk);
          let offset = 0;
          while (offset < chunk.length) offset += (await fh.write(chunk, offset, chunk.length - offset)).bytesWritten;
        }
      } finally {
        await fh.close();
      }
      if (have !== size) throw sizeError(what, size, have);
      const sha256 = hash.digest('hex');
      const path = this.pathOf(sha256);
      await rename(tmp, path).catch((err: unknown) => {
        throw ioError(`cannot move a spool file to ${path}`, err);
      });
      moved = true;
      this.stats.spooledFiles++;
      this.stats.spooledBytes += size;
      return { sha256, size, open: () => openSpooled(path, size, what), inMemory: false };
    } finally {
      if (!moved) await unlink(tmp).catch(() => {});
    }
  }
}

/** Opens a spooled body, refusing a file whose size is not the recorded one (SIZE_MISMATCH). */
async function openSpooled(path: string, size: number, what: string): Promise<Readable> {
  const fh = await open(path, 'r').catch((err: unknown) => {
    throw ioError(`cannot open the spooled content of ${what} (${path})`, err);
  });
  const st = await fh.stat();
  if (st.size !== size) {
    await fh.close();
    throw new ImprintError('SIZE_MISMATCH', `spooled content of ${what} is ${st.size} bytes, expected ${size} (${path})`, {
      hint: 'The spool directory was changed during the build; build again.',
      details: { path, expected: size, found: st.size },
    });
  }
  return fh.createReadStream({ highWaterMark: 256 * 1024 });
}

function sizeError(what: string, expected: number, found: number): ImprintError {
  return new ImprintError('TAR_INVALID', `${what}: body yielded ${found} bytes, its header says ${expected}`, {
    details: { entry: what, expected, found },
  });
}

function ioError(why: string, err: unknown): ImprintError {
  return new ImprintError('IO', `${why}: ${errorText(err)}`, { cause: err });
}
