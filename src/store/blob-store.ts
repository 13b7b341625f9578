import { createHash } from 'node:crypto';
import { type BigIntStats, constants, type Stats } from 'node:fs';
import { chmod, copyFile, type FileHandle, link, open, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type Digest, digestHex, digestMismatch, parseDigest, sha256 } from '../digest/index.js';
import { errorText, ImprintError } from '../errors.js';
import type { BlobReader, SmallBlob } from '../oci/image-set.js';
import type { Descriptor } from '../oci/types.js';
import { fileSink, fullHint, tempPath } from './atomic-file.js';
import { mkdirp } from './mkdirp.js';
import { removeStaleTemps } from './stale-temps.js';
import { DEFAULT_MAX_BLOB_BYTES, tooLarge, verifiedStream } from './streams.js';

/** What a caller expects of a blob it stores; checked before anything becomes visible. */
export interface BlobExpectation {
  digest?: Digest | undefined;
  size?: number | undefined;
}

/** A stored blob: its digest and size. */
export interface StoredBlob {
  digest: Digest;
  size: number;
}

/** Content for `put`: an open stream, or a function that opens one only when the blob is missing. */
export type BlobSource = Readable | (() => Readable | Promise<Readable>);

export interface BlobStoreOptions {
  /** Where temporary files go (default `<root>/tmp`); must be on the same filesystem as `<root>/blobs`. */
  tmpDir?: string;
}

type BlobRef = Pick<Descriptor, 'digest' | 'size'> | Digest;

/** Mode of every blob file: read-only, so a hard-linked copy cannot be edited in place by accident. */
const BLOB_MODE = 0o444;

/**
 * A content-addressed blob store: blob `sha256:<hex>` lives at `<root>/blobs/sha256/<hex>` (the OCI
 * layout's own scheme, so an OCI layout directory can be read as a store). Writes go to an
 * exclusively created temporary file, are hashed while streaming, verified, fsynced, made read-only
 * and renamed into place; reads are verified at the end of every stream. Safe for concurrent writers
 * (threads, promises, processes) sharing one root: both succeed and one valid file remains.
 */
export class BlobStore implements BlobReader {
  readonly root: string;
  readonly tmpDir: string;
  #prepared: Promise<void> | undefined;

  constructor(root: string, options: BlobStoreOptions = {}) {
    this.root = root;
    this.tmpDir = options.tmpDir ?? join(root, 'tmp');
  }

  /** The file of a blob; a pure function of the digest (the file may not exist). */
  path(d: Digest): string {
    return join(this.root, 'blobs', 'sha256', digestHex(parseDigest(d, 'blob digest')));
  }

  /**
   * True when the blob's file exists, with `size` when given (a truncated file, as a killed copy of a
   * cache leaves, reads as absent, so a writer replaces it); its content is checked only when read.
   * Cost: one stat.
   */
  async has(desc: BlobRef): Promise<boolean> {
    const { digest, size } = typeof desc === 'string' ? { digest: desc, size: undefined } : desc;
    const st = await this.#stat(digest);
    return st !== undefined && (size === undefined || st.size === size);
  }

  /**
   * True when the blob's file exists and its bytes hash to its digest (and have `size`, when given).
   * A file that does not is removed, so the caller fetches or writes the blob again: for the cache's
   * own blobs (fetched packages, cached layers), where a flipped bit must not survive into an image.
   * Cost: one read and hash of the blob (~1-2 GB/s with SHA extensions).
   */
  async hasIntact(desc: BlobRef): Promise<boolean> {
    const { digest, size } = typeof desc === 'string' ? { digest: desc, size: undefined } : desc;
    const found = await hashedFile(this.path(digest)).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ENOTDIR' || err.code === 'EISDIR') return undefined;
      throw new ImprintError('IO', `checking blob ${digest} in ${this.root}: ${errorText(err)}`, {
        cause: err,
      });
    });
    if (found === undefined) return false;
    if (found.digest === digest && (size === undefined || found.size === size)) return true;
    await unlink(this.path(digest)).catch(() => undefined);
    return false;
  }

  /**
   * What `use` makes of a blob of this store (a cache's copy of something that can be had again);
   * undefined when `use` fails and the blob no longer hashes to its digest and size: a damaged
   * file, which hasIntact removes, so a later put writes it again instead of skipping it as
   * present. Any other failure is rethrown. Cost on failure only: a hash of the blob.
   */
  async useCached<T>(desc: BlobRef, use: () => Promise<T>): Promise<T | undefined> {
    try {
      return await use();
    } catch (err) {
      if (await this.hasIntact(desc).catch(() => true)) throw err;
      return undefined;
    }
  }

  /** Opens a verified stream of the blob; BLOB_NOT_FOUND when absent, SIZE_MISMATCH/DIGEST_MISMATCH on corruption. */
  async open(desc: BlobRef): Promise<Readable> {
    const { digest, size } = typeof desc === 'string' ? { digest: desc, size: undefined } : desc;
    const file = this.path(digest);
    let fh: FileHandle;
    try {
      fh = await open(file, 'r');
    } catch (err) {
      throw this.#readError(err, digest);
    }
    if (size !== undefined) {
      const found = (await fh.stat()).size;
      if (found !== size) {
        await fh.close();
        throw this.#storedSizeError(digest, size, found);
      }
    }
    return verifiedStream(fh.createReadStream(), { digest, size }, `blob ${digest} in ${this.root}`);
  }

  /**
   * Reads a blob whole, verified (size before reading, sha256 after); refuses blobs over `maxBytes`
   * (default 4 MiB: manifests, configs; callers that read large blobs whole pass their own bound).
   * Cost: the blob in memory, one read (in the thread pool: the caller's other work overlaps it)
   * and one hash. (WebCrypto's digest would hash in the thread pool too, but copies the data and
   * takes twice the CPU time of node:crypto here.)
   */
  async readBytes(desc: SmallBlob, maxBytes = DEFAULT_MAX_BLOB_BYTES): Promise<Buffer> {
    const what = `blob ${desc.digest} in ${this.root}`;
    if (desc.size !== undefined && desc.size > maxBytes) throw tooLarge(what, desc.size, maxBytes);
    let fh: FileHandle;
    try {
      fh = await open(this.path(desc.digest), 'r');
    } catch (err) {
      throw this.#readError(err, desc.digest);
    }
    try {
      // Reads of the known size (readFile would go 512 KiB at a time); the hash catches any change.
      let stored: number;
      try {
        stored = (await fh.stat()).size;
      } catch (err) {
        throw new ImprintError('IO', `reading ${what}: ${errorText(err)}`, { cause: err });
      }
      const size = desc.size ?? stored; // only a digest known (a pin): the stored size, within the bound
      if (size > maxBytes) throw tooLarge(what, size, maxBytes);
      if (stored !== size) throw this.#storedSizeError(desc.digest, size, stored);
      const data = Buffer.allocUnsafe(size);
      let filled = 0;
      try {
        while (filled < data.length) {
          const { bytesRead } = await fh.read(data, filled, data.length - filled, filled);
          if (bytesRead === 0) break;
          filled += bytesRead;
        }
      } catch (err) {
        if (err instanceof ImprintError) throw err;
        throw new ImprintError('IO', `reading ${what}: ${errorText(err)}`, { cause: err });
      }
      if (filled !== size) throw this.#storedSizeError(desc.digest, size, filled);
      const found = sha256(data);
      if (found !== desc.digest) throw digestMismatch(what, desc.digest, found);
      return data;
    } finally {
      await fh.close();
    }
  }

  /**
   * Stores a blob, hashing while it streams into a temporary file; DIGEST_MISMATCH / SIZE_MISMATCH
   * when it does not match `expect`, and then nothing is left behind. When `src` is a function and
   * the expected blob is already present (same size), the source is never opened.
   */
  async put(src: BlobSource, expect: BlobExpectation = {}): Promise<StoredBlob> {
    const known = await this.#presentAlready(expect);
    if (known !== undefined && typeof src === 'function') return known;
    let input: Readable | undefined = typeof src === 'function' ? undefined : src;
    let fh: FileHandle | undefined;
    let tmp: string | undefined;
    try {
      await this.#prepare();
      tmp = tempPath(this.tmpDir);
      fh = await open(tmp, 'wx', 0o600);
      input ??= await (src as () => Readable | Promise<Readable>)();
      // One pass: each chunk is counted, hashed and written; the checks run before the rename.
      const hash = createHash('sha256');
      let size = 0;
      await pipeline(
        input,
        fileSink(
          fh,
          (chunk) => {
            size += chunk.length;
            if (expect.size !== undefined && size > expect.size)
              throw this.#sizeError(expect.size, `more than ${expect.size}`);
            hash.update(chunk);
          },
          { syncing: true },
        ),
      );
      const stored: StoredBlob = { digest: `sha256:${hash.digest('hex')}`, size };
      if (expect.size !== undefined && size !== expect.size) throw this.#sizeError(expect.size, String(size));
      if (expect.digest !== undefined && stored.digest !== expect.digest)
        throw digestMismatch(`blob written to ${this.root}`, expect.digest, stored.digest);
      // fsync before the rename: see "Durability" in README.md.
      await fh.sync();
      await fh.chmod(BLOB_MODE);
      await fh.close();
      fh = undefined;
      // rename replaces an existing file atomically: a concurrent writer of the same digest wrote the same bytes.
      await rename(tmp, this.path(stored.digest));
      // Hashed while written: a copy out of this store in this process need not read it again.
      await remember(this.path(stored.digest), stored.digest);
      return stored;
    } catch (err) {
      input?.destroy();
      await fh?.close().catch(() => undefined);
      if (tmp !== undefined) await unlink(tmp).catch(() => undefined);
      throw this.#writeError(err);
    }
  }

  /** Stores bytes held in memory; checks `expect` before writing anything; skips the write when present. */
  async putBytes(data: Uint8Array, expect: BlobExpectation = {}): Promise<StoredBlob> {
    const digest = sha256(data);
    if (expect.size !== undefined && expect.size !== data.length)
      throw this.#sizeError(expect.size, String(data.length));
    if (expect.digest !== undefined && expect.digest !== digest) {
      throw digestMismatch(`blob written to ${this.root}`, expect.digest, digest);
    }
    const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    return this.put(() => Readable.from([buf]), { digest, size: data.length });
  }

  /**
   * Adds a blob that `source` holds: a hard link when both are on one filesystem, else a copy (a
   * reflink where the filesystem can). The source's bytes are hashed first (a file changed since it
   * was stored is DIGEST_MISMATCH naming it, never copied on). A link replaces a blob already here;
   * where a copy is needed, one already here is kept only when its own bytes hash right. Cost: one
   * read and hash of the blob (none when this process stored or checked it; two when copying over one
   * present).
   */
  async copyFrom(source: BlobStore, desc: Pick<Descriptor, 'digest' | 'size'>): Promise<StoredBlob> {
    const from = source.path(desc.digest);
    const target = this.path(desc.digest);
    const st = await source.#stat(desc.digest);
    if (st === undefined)
      throw source.#readError(Object.assign(new Error('missing'), { code: 'ENOENT' }), desc.digest);
    if (st.size !== desc.size) throw source.#storedSizeError(desc.digest, desc.size, st.size);
    const found = await hashedFile(from).catch((err: unknown) => {
      throw new ImprintError('IO', `reading blob ${desc.digest} in ${source.root}: ${errorText(err)}`, {
        cause: err,
      });
    });
    if (found.digest !== desc.digest) {
      throw new ImprintError(
        'DIGEST_MISMATCH',
        `blob ${desc.digest} in ${source.root}: its file ${from} now hashes to ${found.digest}`,
        {
          hint: 'The file was changed or corrupted after it was stored; remove it and fetch or build it again.',
          details: { expected: desc.digest, found: found.digest, file: from },
        },
      );
    }
    const stored = { digest: desc.digest, size: desc.size };
    let tmp: string | undefined;
    try {
      await this.#prepare();
      tmp = tempPath(this.tmpDir);
      // A hard link to the checked source replaces whatever is here, at no cost; only where a copy is
      // needed, a blob already here is read and kept when its own bytes hash right.
      const linked = await link(from, tmp).then(
        () => true,
        () => false,
      );
      if (!linked) {
        const present = await this.#stat(desc.digest);
        if (present !== undefined && present.size === desc.size) {
          const mine = await hashedFile(target).catch(() => undefined);
          if (mine?.digest === desc.digest) return stored;
        }
        await copyFile(from, tmp, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE);
        await chmod(tmp, BLOB_MODE);
      }
      await rename(tmp, target);
      return stored;
    } catch (err) {
      throw this.#writeError(err);
    } finally {
      // rename(a, b) is a no-op when a and b are links to one file; never leave the temporary link behind.
      if (tmp !== undefined) await unlink(tmp).catch(() => undefined);
    }
  }

  /**
   * Removes temporary files left by killed writers: those last modified before `cutoff`, and those
   * whose writer provably no longer runs (see `removeStaleTemps`); returns how many. The caller picks
   * the cutoff (e.g. a day ago), so the store itself never reads the clock.
   */
  async cleanupStale(cutoff: Date): Promise<number> {
    try {
      return await removeStaleTemps(this.tmpDir, cutoff);
    } catch (err) {
      throw this.#writeError(err);
    }
  }

  async #stat(d: Digest): Promise<Stats | undefined> {
    try {
      const st = await stat(this.path(d));
      return st.isFile() ? st : undefined;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
      throw new ImprintError('IO', `checking blob ${d} in ${this.root}: ${errorText(err)}`, { cause: err });
    }
  }

  async #presentAlready(expect: BlobExpectation): Promise<StoredBlob | undefined> {
    if (expect.digest === undefined) return undefined;
    const st = await this.#stat(expect.digest);
    if (st === undefined || (expect.size !== undefined && st.size !== expect.size)) return undefined;
    return { digest: expect.digest, size: st.size };
  }

  #prepare(): Promise<void> {
    this.#prepared ??= (async () => {
      await mkdirp(join(this.root, 'blobs', 'sha256'));
      await mkdirp(this.tmpDir);
    })();
    // a failed mkdir is retried on the next write instead of being cached
    this.#prepared.catch(() => {
      this.#prepared = undefined;
    });
    return this.#prepared;
  }

  #readError(err: unknown, digest: Digest): ImprintError {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      return new ImprintError('BLOB_NOT_FOUND', `blob ${digest} is not in ${this.root}`, {
        hint: 'The store or image layout is incomplete; write the image again, or fetch the blob again.',
        details: { digest, file: this.path(digest) },
      });
    }
    return new ImprintError('IO', `opening blob ${digest} in ${this.root}: ${errorText(err)}`, {
      cause: err,
    });
  }

  #storedSizeError(digest: Digest, expected: number, found: number): ImprintError {
    return new ImprintError(
      'SIZE_MISMATCH',
      `blob ${digest} in ${this.root}: expected ${expected} bytes, found ${found}`,
      {
        hint: 'The blob file was truncated or replaced; remove it and fetch it again.',
        details: { expected, found, file: this.path(digest) },
      },
    );
  }

  #sizeError(expected: number, found: string): ImprintError {
    return new ImprintError(
      'SIZE_MISMATCH',
      `blob written to ${this.root}: expected ${expected} bytes, found ${found}`,
      {
        hint: 'The content changed or was truncated; fetch it again from a trusted source.',
        details: { expected, found },
      },
    );
  }

  #writeError(err: unknown): ImprintError {
    if (err instanceof ImprintError) return err;
    // The failing path and code in details, as other IO errors have them: the CLI then says to name
    // a writable cache when this store is the cache and this user may not write it (or make it).
    const { path, code } = (err ?? {}) as NodeJS.ErrnoException;
    return new ImprintError('IO', `writing a blob into ${this.root}: ${errorText(err)}`, {
      cause: err,
      details: { file: typeof path === 'string' ? path : this.root, code },
      hint:
        fullHint(err, this.root) ??
        `Check that ${this.root} is a directory you can write to, on a file system with free space.`,
    });
  }
}

/**
 * Files hashed by this process, by device and inode, with the size and times they had: a file not
 * changed since is not read again (one build checks a layer in the cache, then copies it out through
 * a hard link to the same inode).
 */
const hashed = new Map<string, { stamp: string; digest: Digest }>();

/** sha256 and size of a file's bytes, streamed; remembered while the file's size and times stay. */
async function hashedFile(file: string): Promise<{ digest: Digest; size: number }> {
  const fh = await open(file, 'r');
  try {
    const st = await fh.stat({ bigint: true });
    const known = hashed.get(inodeKey(st));
    if (known !== undefined && known.stamp === inodeStamp(st))
      return { digest: known.digest, size: Number(st.size) };
    const found = await fileDigest(fh);
    hashed.set(inodeKey(st), { stamp: inodeStamp(st), digest: found.digest });
    return found;
  } finally {
    await fh.close();
  }
}

/** Records that `file`, as it is now, hashes to `digest` (this process just wrote and hashed it). */
async function remember(file: string, digest: Digest): Promise<void> {
  const st = await stat(file, { bigint: true }).catch(() => undefined);
  if (st !== undefined) hashed.set(inodeKey(st), { stamp: inodeStamp(st), digest });
}

const inodeKey = (st: BigIntStats): string => `${st.dev}:${st.ino}`;
const inodeStamp = (st: BigIntStats): string => `${st.size}:${st.mtimeNs}:${st.ctimeNs}`;

/** sha256 and size of an open file's bytes, streamed from its start. */
async function fileDigest(fh: FileHandle): Promise<{ digest: Digest; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  const buf = Buffer.allocUnsafe(1 << 20);
  for (;;) {
    const { bytesRead } = await fh.read(buf, 0, buf.length, size);
    if (bytesRead === 0) break;
    hash.update(buf.subarray(0, bytesRead));
    size += bytesRead;
  }
  return { digest: `sha256:${hash.digest('hex')}`, size };
}
