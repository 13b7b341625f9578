// Where the bodies of unpacked package files wait until a layer is written: small ones in a pack (in
// memory within a budget, else a pack file), large ones in a content-addressed spool directory.
import { createHash } from 'node:crypto';
import { type FileHandle, open, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ImprintError } from '../errors.js';
import { tempPath } from '../store/atomic-file.js';
import { mkdirp } from '../store/mkdirp.js';
import { bytesOpener, type ContentOpener, compactOpener, OPEN_RANGE, OPEN_SYNC } from '../vfs/node.js';
import {
  count,
  fileLabel,
  ioError,
  missing,
  openSpooled,
  readExactly,
  readFullySync,
  readSpooledRange,
  sizeError,
  writeBodyFile,
} from './install-spool-io.js';
import {
  type ContentRef,
  emptySpoolStats,
  type SpoolOptions,
  type SpoolStats,
} from './install-spool-types.js';

export type { ContentRef, SpoolOptions, SpoolStats } from './install-spool-types.js';
export { emptySpoolStats } from './install-spool-types.js';

const DEFAULT_PACK_THRESHOLD = 1024 * 1024;
const DEFAULT_MEMORY_BODY_LIMIT = 64 * 1024;
const DEFAULT_MEMORY_BUDGET = 64 * 1024 * 1024;
const SEGMENT_SIZE = 4 * 1024 * 1024;
/** Segment writes a capture may leave behind it before it waits for the oldest. */
const MAX_WRITES_IN_FLIGHT = 2;
const EMPTY_SHA256 = createHash('sha256').digest('hex');
/** The `written` of a segment kept in memory: there is nothing to write. */
const KEPT: Promise<void> = Promise.resolve();
/** The opener of every empty body (each read makes a fresh stream). */
const EMPTY = bytesOpener(Buffer.alloc(0));

/** A slot of the pack: bodies are copied into its buffer; it stays in memory or goes to disk whole. */
interface Segment {
  index: number;
  /** The bytes until the segment is on disk (then undefined). */
  buf: Buffer | undefined;
  used: number;
  /** Captures that reserved space here and have not finished. */
  pending: number;
  /** Kept in memory when sealed, if the budget allows (else written). */
  keep: boolean;
  sealed: boolean;
  /** The write to the pack file, once started. */
  written: Promise<void> | undefined;
}

/**
 * Captures file bodies while a .deb streams past, so the layer writer can read them later in path
 * order. Bodies up to `packThreshold` are copied into 4 MiB segments of a pack. Segments of small
 * bodies (up to `memoryBodyLimit`: most files, few bytes) stay in memory while they fit
 * `memoryBudget`, so reading them back costs no I/O; the others are written to the pack file
 * (`<dir>/tmp/.tmp-pack-*`, segment i at byte i x 4 MiB, so holes are possible), where reads of
 * larger bodies cost little per byte. A ref says the segment and offset either way. Larger bodies are
 * hashed while written to a file of their own (`<dir>/tmp/.tmp-body-*`), which `close()` deletes: the
 * spool keeps nothing beyond the build. Identical bodies are stored once per spool.
 *
 * Captures may overlap (several .debs extracted at once): each reserves its place before reading.
 * `opener(ref)` reads any ref of this spool, or of another spool's pack file after that spool's
 * `flush()` (a worker's, with `memoryBudget: 0`); `close()` frees the memory and deletes the pack
 * and body files this spool wrote or adopted (a worker's: `takeFiles()` there, `adoptFiles()` here):
 * call it once the layers are written, openers fail afterwards.
 * Memory: at most `memoryBudget` plus the open segment and the ones being written.
 */
export class ContentSpool {
  readonly #dir: string;
  readonly #threshold: number;
  readonly #budget: number;
  readonly #memoryBodyLimit: number;
  readonly #segmentSize: number;
  /** The pack file's path: fixed up front (refs name it), created on the first segment written. */
  readonly #packPath: string;
  #dirsReady: Promise<void> | undefined;
  /** Body files this spool deletes on close: its own (until taken) and adopted ones. */
  readonly #files = new Set<string>();
  #packFile: Promise<FileHandle> | undefined;
  readonly #segments: Segment[] = [];
  /** The segment small bodies go to, and the one for the others. */
  #openKept: Segment | undefined;
  #openWritten: Segment | undefined;
  #inMemory = 0;
  /** Segment writes under way. */
  readonly #writing = new Set<Promise<void>>();
  #closed = false;
  readonly #known = new Map<string, ContentRef>();
  /** Pack files of other spools adopted for reading, with their read handles. */
  readonly #readers = new Map<string, Promise<FileHandle>>();
  /** The pack files' handles once open (this spool's and adopted ones), for synchronous reads. */
  readonly #handles = new Map<string, FileHandle>();
  readonly stats: SpoolStats = emptySpoolStats();

  constructor(dir: string, options: SpoolOptions = {}) {
    this.#dir = dir;
    this.#threshold = options.packThreshold ?? DEFAULT_PACK_THRESHOLD;
    this.#budget = options.memoryBudget ?? DEFAULT_MEMORY_BUDGET;
    this.#memoryBodyLimit = options.memoryBodyLimit ?? DEFAULT_MEMORY_BODY_LIMIT;
    this.#segmentSize = Math.max(SEGMENT_SIZE, this.#threshold);
    this.#packPath = tempPath(join(dir, 'tmp'), 'pack');
  }

  /** The spool directory. */
  get dir(): string {
    return this.#dir;
  }

  /**
   * The body files this spool wrote since the last call, which it will no longer delete: for a
   * worker's spool, whose refs the main thread's spool reads and adopts (`adoptFiles`).
   */
  takeFiles(): string[] {
    const files = [...this.#files];
    this.#files.clear();
    return files;
  }

  /** Takes over body files another spool wrote (see takeFiles): this spool's close() deletes them. */
  adoptFiles(paths: readonly string[]): void {
    for (const p of paths) this.#files.add(p);
  }

  /**
   * Reads `body` to its end (exactly `size` bytes, else TAR_INVALID naming `what`) and returns where
   * it is kept; `tally` (the caller's counters) is updated along with the spool's. Cost: one pass,
   * one copy of a packed body.
   */
  async capture(
    body: AsyncIterable<Buffer>,
    size: number,
    what: string,
    tally?: SpoolStats,
  ): Promise<ContentRef> {
    if (this.#closed) throw new ImprintError('INTERNAL', 'capture on a closed ContentSpool');
    return size <= this.#threshold
      ? this.#captureToPack(body, size, what, tally)
      : this.#captureToFile(body, size, what, tally);
  }

  /**
   * A ContentOpener for `ref`; `what` (with `path`, when given, after it) names the file in errors.
   * A packed body's opener is compact (the tree holds one per file): it keeps `ref`, `what` and
   * `path` and makes no string of its own.
   */
  opener(ref: ContentRef, what: string, path?: string): ContentOpener {
    switch (ref.store) {
      case 'empty':
        return EMPTY;
      case 'file':
        return Object.assign(() => openSpooled(ref.path, ref.size, fileLabel(what, path)), {
          range: (start: number, end: number) =>
            this.#closed ? undefined : readSpooledRange(ref, start, end),
        });
      case 'pack':
        if (ref.pack !== this.#packPath) this.adopt(ref.pack);
        return compactOpener((mode, start = 0, end = ref.size) =>
          mode === OPEN_SYNC || mode === OPEN_RANGE
            ? this.#packedRange(ref, start, end)
            : this.#readPacked(ref, fileLabel(what, path)),
        );
    }
  }

  /** Takes over a pack file written by another spool (a worker's): it is deleted by this spool's close(). */
  adopt(packPath: string): void {
    if (packPath === this.#packPath || this.#readers.has(packPath)) return;
    const fh = open(packPath, 'r').then(
      (handle) => this.#opened(packPath, handle),
      (err: unknown) => {
        throw ioError(`cannot open the spool pack ${packPath}`, err);
      },
    );
    fh.catch(() => {}); // reported when an opener runs
    this.#readers.set(packPath, fh);
  }

  /** The pack file this spool writes to, once it has written to it. */
  async packPath(): Promise<string | undefined> {
    return this.#packFile === undefined ? undefined : this.#packPath;
  }

  /**
   * Makes every packed ref readable from the pack file by another thread when the spool keeps
   * nothing in memory (`memoryBudget: 0`), and waits for the segment writes under way.
   */
  async flush(): Promise<void> {
    if (this.#budget === 0) {
      for (const open of [this.#openKept, this.#openWritten])
        if (open !== undefined && open.used > 0) this.#seal(open);
    }
    await Promise.all(this.#segments.map((s) => s.written));
  }

  /** Frees the segments and deletes the pack and body files this spool wrote or adopted. Idempotent. */
  async close(): Promise<void> {
    const wasClosed = this.#closed;
    this.#closed = true;
    await Promise.all(this.#segments.map((s) => s.written?.catch(() => {})));
    for (const s of this.#segments) s.buf = undefined;
    this.#openKept = undefined;
    this.#openWritten = undefined;
    this.#inMemory = 0;
    const own = this.#packFile === undefined ? undefined : await this.#packFile.catch(() => undefined);
    if (own !== undefined && !wasClosed) await own.close().catch(() => {});
    const paths = new Set(this.#readers.keys());
    if (own !== undefined) paths.add(this.#packPath);
    for (const [, fh] of this.#readers) await (await fh.catch(() => undefined))?.close().catch(() => {});
    this.#readers.clear();
    this.#handles.clear();
    for (const p of [...paths, ...this.#files]) await unlink(p).catch(() => {});
    this.#files.clear();
    this.#known.clear();
  }

  async #captureToPack(
    body: AsyncIterable<Buffer>,
    size: number,
    what: string,
    tally?: SpoolStats,
  ): Promise<ContentRef> {
    if (size === 0) {
      for await (const chunk of body) if (chunk.length > 0) throw sizeError(what, 0, chunk.length);
      return { store: 'empty', size: 0, sha256: EMPTY_SHA256 };
    }
    await this.#writesBelow(MAX_WRITES_IN_FLIGHT);
    const seg = this.#reserve(size);
    const offset = seg.used;
    seg.used += size;
    seg.pending++;
    try {
      const buf = await readExactly(body, seg.buf as Buffer, offset, size, what);
      const sha256 = createHash('sha256')
        .update(buf.subarray(offset, offset + size))
        .digest('hex');
      const known = this.#known.get(sha256);
      if (known !== undefined) {
        count(this.stats, tally, 'duplicateFiles', 1);
        return known;
      }
      const ref: ContentRef = {
        store: 'pack',
        pack: this.#packPath,
        offset: seg.index * this.#segmentSize + offset,
        size,
        sha256,
      };
      this.#known.set(sha256, ref);
      count(this.stats, tally, 'packedFiles', 1);
      count(this.stats, tally, 'packedBytes', size);
      return ref;
    } finally {
      seg.pending--;
      this.#settle(seg);
    }
  }

  /** The open segment of the kind `size` calls for if it still fits, else a new one (the old one is sealed). */
  #reserve(size: number): Segment {
    const keep = size <= this.#memoryBodyLimit;
    let seg = keep ? this.#openKept : this.#openWritten;
    if (seg !== undefined && seg.used + size > this.#segmentSize) {
      this.#seal(seg);
      seg = undefined;
    }
    if (seg === undefined) {
      seg = {
        index: this.#segments.length,
        buf: Buffer.allocUnsafe(this.#segmentSize),
        used: 0,
        pending: 0,
        keep,
        sealed: false,
        written: undefined,
      };
      this.#segments.push(seg);
      if (keep) this.#openKept = seg;
      else this.#openWritten = seg;
    }
    return seg;
  }

  /** Waits until fewer than `n` segment writes are under way (bounds memory when the disk is slow). */
  async #writesBelow(n: number): Promise<void> {
    while (this.#writing.size >= n) await Promise.race(this.#writing);
  }

  #seal(seg: Segment): void {
    seg.sealed = true;
    if (this.#openKept === seg) this.#openKept = undefined;
    if (this.#openWritten === seg) this.#openWritten = undefined;
    this.#settle(seg);
  }

  /** A sealed segment with no capture left in it stays in memory within the budget, else is written. */
  #settle(seg: Segment): void {
    if (!seg.sealed || seg.pending > 0 || seg.written !== undefined || seg.buf === undefined || this.#closed)
      return;
    if (seg.keep && this.#inMemory + seg.buf.length <= this.#budget) {
      this.#inMemory += seg.buf.length;
      seg.written = KEPT;
      return;
    }
    const buf = seg.buf;
    const written = (async () => {
      const fh = await this.#openPack();
      const at = seg.index * this.#segmentSize;
      let off = 0;
      try {
        while (off < seg.used) off += (await fh.write(buf, off, seg.used - off, at + off)).bytesWritten;
      } catch (err) {
        throw ioError(`writing the build spool in ${this.#dir}`, err);
      }
      seg.buf = undefined;
    })();
    seg.written = written;
    this.#writing.add(written);
    written.then(
      () => this.#writing.delete(written),
      () => this.#writing.delete(written), // the error is reported by flush() or the next capture
    );
  }

  async #captureToFile(
    body: AsyncIterable<Buffer>,
    size: number,
    what: string,
    tally?: SpoolStats,
  ): Promise<ContentRef> {
    await this.#dirs();
    const tmp = tempPath(join(this.#dir, 'tmp'), 'body');
    let kept = false;
    try {
      const sha256 = await writeBodyFile(body, tmp, size, what, this.#dir);
      const known = this.#known.get(sha256);
      if (known !== undefined) {
        count(this.stats, tally, 'duplicateFiles', 1);
        return known;
      }
      kept = true;
      this.#files.add(tmp);
      count(this.stats, tally, 'spooledFiles', 1);
      count(this.stats, tally, 'spooledBytes', size);
      const ref: ContentRef = { store: 'file', path: tmp, size, sha256 };
      this.#known.set(sha256, ref);
      return ref;
    } finally {
      if (!kept) await unlink(tmp).catch(() => {});
    }
  }

  #dirs(): Promise<void> {
    this.#dirsReady ??= mkdirp(join(this.#dir, 'tmp')).then(
      () => undefined,
      (err: unknown) => {
        throw ioError(`cannot create the spool directory ${this.#dir}`, err);
      },
    );
    return this.#dirsReady;
  }

  #openPack(): Promise<FileHandle> {
    this.#packFile ??= (async () => {
      await this.#dirs();
      return open(this.#packPath, 'wx+', 0o600).then(
        (handle) => this.#opened(this.#packPath, handle),
        (err: unknown) => {
          throw ioError(`cannot create a spool pack in ${this.#dir}`, err);
        },
      );
    })();
    return this.#packFile;
  }

  #opened(packPath: string, handle: FileHandle): FileHandle {
    if (!this.#closed) this.#handles.set(packPath, handle);
    return handle;
  }

  /**
   * Bytes [start, end) of a packed body without waiting (the whole body is the opener's `sync`): a
   * view of its segment while that is in memory, else read from the pack file (just written, so in
   * the page cache). Undefined when that cannot be done now or fails: the opener's stream then reads
   * it, and reports any error.
   */
  #packedRange(ref: Extract<ContentRef, { store: 'pack' }>, start: number, end: number): Buffer | undefined {
    if (this.#closed || start < 0 || end > ref.size || start > end) return undefined;
    if (ref.pack === this.#packPath) {
      const seg = this.#segments[Math.floor(ref.offset / this.#segmentSize)];
      const at = ref.offset % this.#segmentSize;
      if (seg === undefined || at + ref.size > seg.used) return undefined;
      if (seg.buf !== undefined) return seg.buf.subarray(at + start, at + end);
    }
    const fh = this.#handles.get(ref.pack);
    if (fh === undefined) return undefined;
    const buf = Buffer.allocUnsafe(end - start);
    try {
      return readFullySync(fh.fd, buf, ref.offset + start) === buf.length ? buf : undefined;
    } catch {
      return undefined;
    }
  }

  async #readPacked(ref: Extract<ContentRef, { store: 'pack' }>, what: string): Promise<Readable> {
    if (this.#closed)
      throw new ImprintError('INTERNAL', `the content spool was closed before ${what} was read`);
    let fh: FileHandle;
    if (ref.pack === this.#packPath) {
      const seg = this.#segments[Math.floor(ref.offset / this.#segmentSize)];
      const at = ref.offset % this.#segmentSize;
      if (seg === undefined || at + ref.size > seg.used) throw missing(what, ref.size, 0);
      if (seg.buf !== undefined) return Readable.from([seg.buf.subarray(at, at + ref.size)]);
      fh = await (this.#packFile as Promise<FileHandle>);
    } else {
      const reader = this.#readers.get(ref.pack);
      if (reader === undefined) throw missing(what, ref.size, 0);
      fh = await reader;
    }
    const buf = Buffer.allocUnsafe(ref.size);
    let have: number;
    try {
      have = readFullySync(fh.fd, buf, ref.offset);
    } catch (err) {
      throw ioError(`reading the spooled content of ${what}`, err);
    }
    if (have !== ref.size) throw missing(what, ref.size, have);
    return Readable.from([buf]);
  }
}
