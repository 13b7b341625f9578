// Where the bodies of unpacked package files wait until a layer is written: small ones appended to one
// pack file of the build, large ones in a content-addressed spool directory (sha256 → file).
import { createHash } from 'node:crypto';
import { type FileHandle, mkdir, open, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ImprintError, errorText } from '../errors.js';
import { tempPath } from '../store/atomic-file.js';
import type { ContentOpener } from '../vfs/node.js';

export interface SpoolOptions {
  /** Files up to this size go to the pack file; larger ones to `<dir>/sha256/<hex>` (default 1 MiB). */
  packThreshold?: number;
}

/** A captured file body: its sha256 (hex) and a function that opens a fresh stream of it. */
export interface CapturedContent {
  sha256: string;
  size: number;
  open: ContentOpener;
}

/** Counters for measurements (INSTALL.md). */
export interface SpoolStats {
  /** Bodies appended to the pack file, and their bytes (duplicates counted once). */
  packedFiles: number;
  packedBytes: number;
  /** Bodies written as content-addressed files. */
  spooledFiles: number;
  spooledBytes: number;
  /** Bodies identical to one captured before (not stored again). */
  duplicateFiles: number;
}

const DEFAULT_PACK_THRESHOLD = 1024 * 1024;
const FLUSH_BYTES = 4 * 1024 * 1024;

/**
 * Captures file bodies while a .deb streams past, so the layer writer can read them later in path
 * order. Bodies up to `packThreshold` are appended to one pack file (`<dir>/tmp/.tmp-pack-*`, written
 * in 4 MiB batches, read back by offset: no file per body); larger ones are hashed while written to a
 * temporary file and renamed to `<dir>/sha256/<hex>`, so they are shared across packages, platforms and
 * builds using the same directory. Identical bodies are stored once. Memory: the pending batch (4 MiB)
 * plus one entry per distinct body. `close()` deletes the pack file: call it once the layers are
 * written; openers fail afterwards. `capture` calls must not overlap; openers may run concurrently.
 */
export class ContentSpool {
  readonly #dir: string;
  readonly #threshold: number;
  #ready: Promise<void> | undefined;
  #pack: { path: string; fh: FileHandle } | undefined;
  #packOpening: Promise<{ path: string; fh: FileHandle }> | undefined;
  /** Bytes of the pack already on disk, and the batch waiting to be written after them. */
  #flushed = 0;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #flushing: Promise<void> = Promise.resolve();
  #closed = false;
  readonly #known = new Map<string, CapturedContent>();
  readonly stats: SpoolStats = { packedFiles: 0, packedBytes: 0, spooledFiles: 0, spooledBytes: 0, duplicateFiles: 0 };

  constructor(dir: string, options: SpoolOptions = {}) {
    this.#dir = dir;
    this.#threshold = options.packThreshold ?? DEFAULT_PACK_THRESHOLD;
  }

  /** The path a spooled (large) body with this sha256 lives at: a pure function of the digest. */
  pathOf(sha256: string): string {
    return join(this.#dir, 'sha256', sha256);
  }

  /**
   * Reads `body` to its end (it must yield exactly `size` bytes, else TAR_INVALID naming `what`) and
   * returns its digest and opener. Cost: one pass; memory up to `packThreshold` for a packed body.
   */
  async capture(body: Readable, size: number, what: string): Promise<CapturedContent> {
    if (this.#closed) throw new ImprintError('INTERNAL', 'capture on a closed ContentSpool');
    const c = size <= this.#threshold ? await this.#captureToPack(body, size, what) : await this.#captureToFile(body, size, what);
    return c;
  }

  async #captureToPack(body: Readable, size: number, what: string): Promise<CapturedContent> {
    const buf = Buffer.allocUnsafe(size);
    let have = 0;
    for await (const chunk of body as AsyncIterable<Buffer>) {
      if (have + chunk.length > size) throw sizeError(what, size, have + chunk.length);
      chunk.copy(buf, have);
      have += chunk.length;
    }
    if (have !== size) throw sizeError(what, size, have);
    const sha256 = createHash('sha256').update(buf).digest('hex');
    const known = this.#known.get(sha256);
    if (known !== undefined) {
      this.stats.duplicateFiles++;
      return known;
    }
    if (size === 0) return this.#remember({ sha256, size, open: () => Readable.from([]) });
    const offset = this.#flushed + this.#pendingBytes;
    this.#pending.push(buf);
    this.#pendingBytes += size;
    this.stats.packedFiles++;
    this.stats.packedBytes += size;
    if (this.#pendingBytes >= FLUSH_BYTES) await this.#flush();
    return this.#remember({ sha256, size, open: () => this.#readPacked(offset, size, what) });
  }

  #remember(c: CapturedContent): CapturedContent {
    this.#known.set(c.sha256, c);
    return c;
  }

  /** Writes the pending batch after what is on disk; serialised, so offsets stay exact. */
  #flush(): Promise<void> {
    this.#flushing = this.#flushing.then(async () => {
      if (this.#pendingBytes === 0) return;
      const batch = Buffer.concat(this.#pending, this.#pendingBytes);
      this.#pending = [];
      this.#pendingBytes = 0;
      const { fh } = await this.#openPack();
      let off = 0;
      while (off < batch.length) off += (await fh.write(batch, off, batch.length - off, this.#flushed + off)).bytesWritten;
      this.#flushed += batch.length;
    });
    return this.#flushing;
  }

  #openPack(): Promise<{ path: string; fh: FileHandle }> {
    this.#packOpening ??= (async () => {
      await this.#dirs();
      const path = tempPath(join(this.#dir, 'tmp'), 'pack');
      const fh = await open(path, 'wx+', 0o600).catch((err: unknown) => {
        throw ioError(`cannot create the spool pack in ${this.#dir}`, err);
      });
      this.#pack = { path, fh };
      return this.#pack;
    })();
    return this.#packOpening;
  }

  async #readPacked(offset: number, size: number, what: string): Promise<Readable> {
    if (this.#closed) throw new ImprintError('INTERNAL', `the content spool was closed before ${what} was read`);
    if (offset + size > this.#flushed) await this.#flush();
    await this.#flushing;
    const { fh } = await this.#openPack();
    const buf = Buffer.allocUnsafe(size);
    let have = 0;
    while (have < size) {
      const { bytesRead } = await fh.read(buf, have, size - have, offset + have);
      if (bytesRead === 0) break;
      have += bytesRead;
    }
    if (have !== size) {
      throw new ImprintError('SIZE_MISMATCH', `spool pack holds ${have} of the ${size} bytes of ${what}`, {
        hint: 'The spool directory was changed during the build; build again.',
        details: { expected: size, found: have },
      });
    }
    return Readable.from([buf]);
  }

  #dirs(): Promise<void> {
    this.#ready ??= Promise.all([
      mkdir(join(this.#dir, 'tmp'), { recursive: true }),
      mkdir(join(this.#dir, 'sha256'), { recursive: true }),
    ]).then(
      () => undefined,
      (err: unknown) => {
        throw ioError(`cannot create the spool directory ${this.#dir}`, err);
      },
    );
    return this.#ready;
  }

  async #captureToFile(body: Readable, size: number, what: string): Promise<CapturedContent> {
    await this.#dirs();
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
          let off = 0;
          while (off < chunk.length) off += (await fh.write(chunk, off, chunk.length - off)).bytesWritten;
        }
      } finally {
        await fh.close();
      }
      if (have !== size) throw sizeError(what, size, have);
      const sha256 = hash.digest('hex');
      const known = this.#known.get(sha256);
      if (known !== undefined) {
        this.stats.duplicateFiles++;
        return known;
      }
      const path = this.pathOf(sha256);
      await rename(tmp, path).catch((err: unknown) => {
        throw ioError(`cannot move a spool file to ${path}`, err);
      });
      moved = true;
      this.stats.spooledFiles++;
      this.stats.spooledBytes += size;
      return this.#remember({ sha256, size, open: () => openSpooled(path, size, what) });
    } finally {
      if (!moved) await unlink(tmp).catch(() => {});
    }
  }

  /** Deletes the pack file (spooled content-addressed files stay for reuse). Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#flushing.catch(() => {});
    const pack = this.#packOpening === undefined ? undefined : await this.#packOpening.catch(() => undefined);
    if (pack !== undefined) {
      await pack.fh.close().catch(() => {});
      await unlink(pack.path).catch(() => {});
    }
    this.#pending = [];
    this.#known.clear();
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
