// Where the bodies of unpacked package files wait until a layer is written: small ones appended to a
// pack file, large ones in a content-addressed spool directory (sha256 → file).
import { createHash } from 'node:crypto';
import { type FileHandle, mkdir, open, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { errorText, ImprintError } from '../errors.js';
import { tempPath } from '../store/atomic-file.js';
import type { ContentOpener } from '../vfs/node.js';

export interface SpoolOptions {
  /** Files up to this size go to the pack file; larger ones to `<dir>/sha256/<hex>` (default 1 MiB). */
  packThreshold?: number;
}

/** Where a captured body is: plain data, so it can cross a worker boundary. */
export type ContentRef =
  | { store: 'pack'; pack: string; offset: number; size: number; sha256: string }
  | { store: 'file'; path: string; size: number; sha256: string }
  | { store: 'empty'; size: 0; sha256: string };

/** Counters for measurements (INSTALL.md). */
export interface SpoolStats {
  /** Bodies appended to a pack file, and their bytes. */
  packedFiles: number;
  packedBytes: number;
  /** Bodies written as content-addressed files, and their bytes. */
  spooledFiles: number;
  spooledBytes: number;
  /** Bodies identical to one this spool captured before (not stored again). */
  duplicateFiles: number;
}

const DEFAULT_PACK_THRESHOLD = 1024 * 1024;
const FLUSH_BYTES = 4 * 1024 * 1024;
const EMPTY_SHA256 = createHash('sha256').digest('hex');

/**
 * Captures file bodies while a .deb streams past, so the layer writer can read them later in path
 * order. Bodies up to `packThreshold` are appended to the spool's pack file (`<dir>/tmp/.tmp-pack-*`,
 * written in 4 MiB batches and read back by offset: no file per body); larger ones are hashed while
 * written to a temporary file and renamed to `<dir>/sha256/<hex>`, so they are shared across packages,
 * platforms and builds using the same directory. Identical bodies are stored once per spool.
 *
 * `opener(ref)` reads any ref captured by a spool on the same directory (also in another thread);
 * `close()` deletes the pack files this spool wrote or opened: call it once the layers are written,
 * openers fail afterwards. Memory: the pending batch (4 MiB) and one entry per distinct body.
 * `capture` calls must not overlap; openers may run concurrently.
 */
export class ContentSpool {
  readonly #dir: string;
  readonly #threshold: number;
  #dirsReady: Promise<void> | undefined;
  #pack: Promise<{ path: string; fh: FileHandle }> | undefined;
  #flushed = 0;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #flushing: Promise<void> = Promise.resolve();
  #closed = false;
  readonly #known = new Map<string, ContentRef>();
  /** Pack files read through this spool (its own included), with their read handles. */
  readonly #readers = new Map<string, Promise<FileHandle>>();
  readonly stats: SpoolStats = {
    packedFiles: 0,
    packedBytes: 0,
    spooledFiles: 0,
    spooledBytes: 0,
    duplicateFiles: 0,
  };

  constructor(dir: string, options: SpoolOptions = {}) {
    this.#dir = dir;
    this.#threshold = options.packThreshold ?? DEFAULT_PACK_THRESHOLD;
  }

  /** The spool directory. */
  get dir(): string {
    return this.#dir;
  }

  /** The path a spooled (large) body with this sha256 lives at: a pure function of the digest. */
  pathOf(sha256: string): string {
    return join(this.#dir, 'sha256', sha256);
  }

  /**
   * Reads `body` to its end (exactly `size` bytes, else TAR_INVALID naming `what`) and returns where
   * it is kept. Packed bodies become readable by others after `flush()`. Cost: one pass; memory up to
   * `packThreshold` for a packed body.
   */
  async capture(body: Readable, size: number, what: string): Promise<ContentRef> {
    if (this.#closed) throw new ImprintError('INTERNAL', 'capture on a closed ContentSpool');
    return size <= this.#threshold
      ? this.#captureToPack(body, size, what)
      : this.#captureToFile(body, size, what);
  }

  /** A ContentOpener for `ref` (`what` names the file in errors). */
  opener(ref: ContentRef, what: string): ContentOpener {
    switch (ref.store) {
      case 'empty':
        return () => Readable.from([]);
      case 'file':
        return () => openSpooled(ref.path, ref.size, what);
      case 'pack':
        this.#reader(ref.pack);
        return () => this.#readPacked(ref, what);
    }
  }

  /** Takes over a pack file written by another spool (a worker's): it is deleted by this spool's close(). */
  adopt(packPath: string): void {
    this.#reader(packPath);
  }

  /** The pack file this spool writes to, once it has one. */
  async packPath(): Promise<string | undefined> {
    return this.#pack === undefined ? undefined : (await this.#pack).path;
  }

  /** Writes the pending batch of the pack file, so every packed ref is on disk. */
  flush(): Promise<void> {
    this.#flushing = this.#flushing.then(async () => {
      if (this.#pendingBytes === 0) return;
      const batch = Buffer.concat(this.#pending, this.#pendingBytes);
      this.#pending = [];
      this.#pendingBytes = 0;
      const { fh } = await this.#openPack();
      let off = 0;
      while (off < batch.length)
        off += (await fh.write(batch, off, batch.length - off, this.#flushed + off)).bytesWritten;
      this.#flushed += batch.length;
    });
    return this.#flushing;
  }

  /** Deletes the pack files this spool wrote or opened (content-addressed files stay for reuse). Idempotent. */
  async close(): Promise<void> {
    const wasClosed = this.#closed;
    this.#closed = true;
    await this.#flushing.catch(() => {});
    const own = this.#pack === undefined ? undefined : await this.#pack.catch(() => undefined);
    if (own !== undefined && !wasClosed) await own.fh.close().catch(() => {});
    const paths = new Set(this.#readers.keys());
    if (own !== undefined) paths.add(own.path);
    for (const [, fh] of this.#readers) await (await fh.catch(() => undefined))?.close().catch(() => {});
    this.#readers.clear();
    for (const p of paths) await unlink(p).catch(() => {});
    this.#pending = [];
    this.#known.clear();
  }

  async #captureToPack(body: Readable, size: number, what: string): Promise<ContentRef> {
    const buf = Buffer.allocUnsafe(size);
    let have = 0;
    for await (const chunk of body as AsyncIterable<Buffer>) {
      if (have + chunk.length > size) throw sizeError(what, size, have + chunk.length);
      chunk.copy(buf, have);
      have += chunk.length;
    }
    if (have !== size) throw sizeError(what, size, have);
    if (size === 0) return { store: 'empty', size: 0, sha256: EMPTY_SHA256 };
    const sha256 = createHash('sha256').update(buf).digest('hex');
    const known = this.#known.get(sha256);
    if (known !== undefined) {
      this.stats.duplicateFiles++;
      return known;
    }
    const { path } = await this.#openPack();
    const ref: ContentRef = {
      store: 'pack',
      pack: path,
      offset: this.#flushed + this.#pendingBytes,
      size,
      sha256,
    };
    this.#pending.push(buf);
    this.#pendingBytes += size;
    this.stats.packedFiles++;
    this.stats.packedBytes += size;
    if (this.#pendingBytes >= FLUSH_BYTES) await this.flush();
    this.#known.set(sha256, ref);
    return ref;
  }

  async #captureToFile(body: Readable, size: number, what: string): Promise<ContentRef> {
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
      const ref: ContentRef = { store: 'file', path, size, sha256 };
      this.#known.set(sha256, ref);
      return ref;
    } finally {
      if (!moved) await unlink(tmp).catch(() => {});
    }
  }

  #dirs(): Promise<void> {
    this.#dirsReady ??= Promise.all([
      mkdir(join(this.#dir, 'tmp'), { recursive: true }),
      mkdir(join(this.#dir, 'sha256'), { recursive: true }),
    ]).then(
      () => undefined,
      (err: unknown) => {
        throw ioError(`cannot create the spool directory ${this.#dir}`, err);
      },
    );
    return this.#dirsReady;
  }

  #openPack(): Promise<{ path: string; fh: FileHandle }> {
    this.#pack ??= (async () => {
      await this.#dirs();
      const path = tempPath(join(this.#dir, 'tmp'), 'pack');
      const fh = await open(path, 'wx+', 0o600).catch((err: unknown) => {
        throw ioError(`cannot create a spool pack in ${this.#dir}`, err);
      });
      return { path, fh };
    })();
    return this.#pack;
  }

  /** The read handle of a pack file (its own write handle for the spool's own pack). */
  #reader(path: string): Promise<FileHandle> {
    let fh = this.#readers.get(path);
    if (fh === undefined) {
      fh = (async () => {
        const own = this.#pack === undefined ? undefined : await this.#pack;
        if (own?.path === path && !this.#closed) return own.fh;
        return open(path, 'r').catch((err: unknown) => {
          throw ioError(`cannot open the spool pack ${path}`, err);
        });
      })();
      fh.catch(() => {}); // reported when an opener runs
      this.#readers.set(path, fh);
    }
    return fh;
  }

  async #readPacked(ref: Extract<ContentRef, { store: 'pack' }>, what: string): Promise<Readable> {
    if (this.#closed && !this.#readers.has(ref.pack)) {
      throw new ImprintError('INTERNAL', `the content spool was closed before ${what} was read`);
    }
    const own = this.#pack === undefined ? undefined : await this.#pack;
    if (own?.path === ref.pack && ref.offset + ref.size > this.#flushed) await this.flush();
    const fh = await this.#reader(ref.pack);
    const buf = Buffer.allocUnsafe(ref.size);
    let have = 0;
    try {
      while (have < ref.size) {
        const { bytesRead } = await fh.read(buf, have, ref.size - have, ref.offset + have);
        if (bytesRead === 0) break;
        have += bytesRead;
      }
    } catch (err) {
      throw ioError(`reading the spooled content of ${what}`, err);
    }
    if (have !== ref.size) {
      throw new ImprintError(
        'SIZE_MISMATCH',
        `spool pack holds ${have} of the ${ref.size} bytes of ${what}`,
        {
          hint: 'The spool directory was changed during the build; build again.',
          details: { expected: ref.size, found: have },
        },
      );
    }
    return Readable.from([buf]);
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
    throw new ImprintError(
      'SIZE_MISMATCH',
      `spooled content of ${what} is ${st.size} bytes, expected ${size} (${path})`,
      {
        hint: 'The spool directory was changed during the build; build again.',
        details: { path, expected: size, found: st.size },
      },
    );
  }
  return fh.createReadStream({ highWaterMark: 256 * 1024 });
}

function sizeError(what: string, expected: number, found: number): ImprintError {
  return new ImprintError(
    'TAR_INVALID',
    `${what}: body yielded ${found} bytes, its header says ${expected}`,
    {
      details: { entry: what, expected, found },
    },
  );
}

function ioError(why: string, err: unknown): ImprintError {
  return new ImprintError('IO', `${why}: ${errorText(err)}`, { cause: err });
}
