// Tar archives as image containers: write one atomically from sorted entries; index one once and serve
// its members as byte ranges of the file (never extracted to disk or memory).
import { createReadStream, createWriteStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { basename, dirname, posix } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type Digest, digestHex, type Expectation, HashingStream } from '../digest/index.js';
import { errorText, ImprintError } from '../errors.js';
import type { BlobReader, SmallBlob } from '../oci/image-set.js';
import type { Descriptor } from '../oci/types.js';
import {
  DEFAULT_MAX_BLOB_BYTES,
  openTarget,
  readBounded,
  readSmallBlob,
  removeStaleTemps,
  verifiedStream,
  writeFileAtomic,
} from '../store/index.js';
import { mkdirp } from '../store/mkdirp.js';
import { readTar, type TarEntryType, type TarWriteEntry, tarStream } from '../tar/index.js';
import { sameNode } from './same-node.js';

/** A directory entry as imprint writes them in image archives: root-owned, 0755, mtime 0. */
export function dirEntry(path: string): TarWriteEntry {
  return { path, type: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: 0, size: 0 };
}

/** A file entry as imprint writes them in image archives: root-owned, 0644, mtime 0. */
export function fileEntry(
  path: string,
  size: number,
  body: () => Promise<Readable> | Readable,
): TarWriteEntry {
  return { path, type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0, size, body };
}

/** A file entry whose content is in memory. */
export function bytesEntry(path: string, bytes: Buffer): TarWriteEntry {
  return fileEntry(path, bytes.length, () => Readable.from([bytes]));
}

/**
 * Writes `entries` as a tar file at `file`, sorted by path in byte order, through a temporary file
 * renamed into place: a failure leaves any previous file untouched. A pipe, terminal or socket at
 * `file` (/dev/stdout) is written into instead. OUTPUT_EXISTS when `file` is a directory or another
 * kind of node. Cost: streams every body once.
 */
export async function writeTarFile(file: string, entries: TarWriteEntry[], what: string): Promise<void> {
  const st = await stat(file).catch(() => undefined);
  if (st?.isDirectory()) {
    throw new ImprintError('OUTPUT_EXISTS', `${what}: ${file} is a directory, not an archive file`, {
      hint: 'Name a file path for archive outputs, or use oci:DIR for a layout directory.',
      details: { path: file },
    });
  }
  const sorted = [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  if (st !== undefined && (st.isFIFO() || st.isCharacterDevice() || st.isSocket())) {
    // A pipe or a terminal (/dev/stdout | podman load): streamed into it, never replaced by a file.
    // This process's stdout is written through process.stdout: a socket (a pipe from Node's
    // child_process, say) cannot be opened again by name, and Node has made descriptor 1
    // non-blocking, so writes of our own to it fail with EAGAIN once a slow reader (podman load
    // starting up) lets the pipe fill; process.stdout waits for the reader instead. It is not ended
    // (the CLI still owns it); the empty write's callback runs once everything before it is written.
    const toStdout = sameNode(st, 1);
    const sink = toStdout ? process.stdout : createWriteStream(file, { flags: 'w' });
    try {
      await pipeline(tarStream(sorted, { what }), sink, { end: !toStdout });
      if (toStdout)
        await new Promise<void>((resolve, reject) =>
          process.stdout.write('', (err) => (err ? reject(err) : resolve())),
        );
    } catch (err) {
      throw new ImprintError('IO', `${what}: writing to ${file}: ${errorText(err)}`, { cause: err });
    }
    return;
  }
  if (st !== undefined && !st.isFile()) {
    throw new ImprintError('OUTPUT_EXISTS', `${what}: ${file} is not a regular file, a pipe or a terminal`, {
      hint: 'Name a file path (or a pipe such as /dev/stdout) for archive outputs.',
      details: { path: file },
    });
  }
  try {
    await mkdirp(dirname(file));
  } catch (err) {
    throw new ImprintError('IO', `${what}: creating the directory of ${file}: ${errorText(err)}`, {
      cause: err,
    });
  }
  // What killed writers of this file left beside it (SIGKILL, a power loss: a signal that ends the
  // process removes its own) goes, once their process provably no longer runs.
  await removeStaleTemps(dirname(file), new Date(0), basename(file)).catch(() => 0);
  await writeFileAtomic(file, () => tarStream(sorted, { what }), 0o644);
}

/** One member of an indexed archive. */
export interface TarMember {
  path: string;
  type: TarEntryType;
  size: number;
  dataOffset: number;
  linkname?: string;
}

const MAX_LINK_HOPS = 16;

/** An index of a tar file's members (one sequential pass); members are read as byte ranges of the file. */
export class TarFileIndex {
  private constructor(
    readonly file: string,
    readonly members: ReadonlyMap<string, TarMember>,
  ) {}

  /**
   * Scans the archive's headers once (bodies are streamed past, not kept). UNSUPPORTED for a
   * compressed archive; TAR_* errors for malformed or unsafe ones. Cost: reads the file once.
   */
  static async load(file: string, what: string): Promise<TarFileIndex> {
    await rejectCompressed(file, what);
    const members = new Map<string, TarMember>();
    try {
      for await (const e of readTar(createReadStream(file), { archive: `${what} (${file})` })) {
        const m: TarMember = { path: e.path, type: e.type, size: e.size, dataOffset: e.dataOffset };
        if (e.linkname !== undefined) m.linkname = e.linkname;
        members.set(e.path, m); // a later member of the same path wins, as on extraction
      }
    } catch (err) {
      if (err instanceof ImprintError) throw err;
      throw new ImprintError('IO', `reading ${what} ${file}: ${errorText(err)}`, {
        cause: err,
        details: { file },
      });
    }
    return new TarFileIndex(file, members);
  }

  /** The regular file at `path`, following hard and symbolic links inside the archive; undefined if none. */
  resolve(path: string): TarMember | undefined {
    let p: string | undefined = normalizeMemberPath(path);
    for (let hops = 0; p !== undefined && hops <= MAX_LINK_HOPS; hops++) {
      const m = this.members.get(p);
      if (m === undefined) return undefined;
      if (m.type === 'file') return m;
      if (m.linkname === undefined) return undefined;
      if (m.type === 'hardlink') p = normalizeMemberPath(m.linkname);
      else if (m.type === 'symlink')
        p = normalizeMemberPath(
          m.linkname.startsWith('/') ? m.linkname : posix.join(posix.dirname(p), m.linkname),
        );
      else return undefined;
    }
    return undefined;
  }

  /** A stream of a member's bytes, verified against `expect` at its end. */
  open(m: TarMember, expect: Expectation, what: string): Readable {
    if (expect.size !== undefined && expect.size !== m.size) {
      throw new ImprintError(
        'SIZE_MISMATCH',
        `${what}: expected ${expect.size} bytes, the archive member ${m.path} has ${m.size}`,
        {
          details: { expected: expect.size, found: m.size, entry: m.path, file: this.file },
        },
      );
    }
    const raw =
      m.size === 0
        ? Readable.from([])
        : createReadStream(this.file, { start: m.dataOffset, end: m.dataOffset + m.size - 1 });
    return verifiedStream(raw, expect, what);
  }

  /** sha256 and size of a member. Cost: reads the member once. */
  async hash(m: TarMember, what: string): Promise<{ digest: Digest; size: number }> {
    const hashing = new HashingStream();
    await pipeline(this.open(m, { size: m.size }, what), hashing, async (source: AsyncIterable<Buffer>) => {
      for await (const _chunk of source);
    });
    return { digest: hashing.digest(), size: hashing.size };
  }

  /** The first `n` bytes of a member (fewer if it is shorter). */
  async head(m: TarMember, n: number): Promise<Buffer> {
    if (m.size === 0 || n === 0) return Buffer.alloc(0);
    const end = m.dataOffset + Math.min(n, m.size) - 1;
    return readBounded(
      createReadStream(this.file, { start: m.dataOffset, end }),
      n,
      `${this.file}:${m.path}`,
    );
  }

  /** A small member read whole (JSON documents); INVALID_IMAGE when larger than `maxBytes`. */
  async readSmall(m: TarMember, what: string, maxBytes = DEFAULT_MAX_BLOB_BYTES): Promise<Buffer> {
    if (m.size > maxBytes) {
      throw new ImprintError(
        'INVALID_IMAGE',
        `${what} is ${m.size} bytes; at most ${maxBytes} bytes are read whole`,
        {
          details: { entry: m.path, file: this.file },
        },
      );
    }
    return readBounded(this.open(m, { size: m.size }, what), maxBytes, what);
  }
}

/**
 * Blobs of an image archive: `blobs/sha256/<hex>` members, plus members at other paths (`paths`, for
 * docker-archives written by older tools) and documents synthesised in memory (`synthesized`).
 * Every stream is verified against the requested digest and size.
 */
export class TarBlobReader implements BlobReader {
  constructor(
    readonly archive: TarFileIndex,
    readonly what: string,
    readonly paths: ReadonlyMap<Digest, string> = new Map(),
    readonly synthesized: ReadonlyMap<Digest, Buffer> = new Map(),
  ) {}

  /** Opens a verified stream of the blob; BLOB_NOT_FOUND when the archive does not hold it. */
  async open(desc: Pick<Descriptor, 'digest' | 'size'> | Digest): Promise<Readable> {
    const { digest, size } = typeof desc === 'string' ? { digest: desc, size: undefined } : desc;
    const label = `blob ${digest} in ${this.what} ${this.archive.file}`;
    const memory = this.synthesized.get(digest);
    if (memory !== undefined) return verifiedStream(Readable.from([memory]), { digest, size }, label);
    const path = this.paths.get(digest) ?? `blobs/sha256/${digestHex(digest)}`;
    const member = this.archive.resolve(path);
    if (member === undefined) {
      throw new ImprintError(
        'BLOB_NOT_FOUND',
        `${this.what} ${this.archive.file} has no member ${path} for blob ${digest}`,
        {
          hint: 'The archive is incomplete; write or save it again.',
          details: { digest, entry: path, file: this.archive.file },
        },
      );
    }
    return this.archive.open(member, { digest, size }, label);
  }

  /** Reads a small blob whole, verified; refuses blobs over `maxBytes` (default 4 MiB). */
  async readBytes(desc: SmallBlob, maxBytes = DEFAULT_MAX_BLOB_BYTES): Promise<Buffer> {
    return readSmallBlob(
      () => this.open(openTarget(desc)),
      desc,
      maxBytes,
      `blob ${desc.digest} in ${this.archive.file}`,
    );
  }
}

/** `a/./b`, `./a`, `/a` → `a/b`, `a`, `a`; undefined when the path climbs out of the archive root. */
function normalizeMemberPath(path: string): string | undefined {
  const n = posix.normalize(`/${path}`).slice(1);
  return n.startsWith('..') ? undefined : n;
}

async function rejectCompressed(file: string, what: string): Promise<void> {
  let magic: Buffer;
  try {
    const fh = await open(file, 'r');
    try {
      // An archive is read by byte ranges: only a regular file has them (not /dev/zero or a FIFO).
      if (!(await fh.stat()).isFile())
        throw new ImprintError('IO', `${what} ${file} is not a regular file`, {
          hint: 'Name an archive file.',
          details: { file },
        });
      magic = Buffer.alloc(4);
      const { bytesRead } = await fh.read(magic, 0, 4, 0);
      magic = magic.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  } catch (err) {
    if (err instanceof ImprintError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new ImprintError('IO', `${what} ${file} does not exist`, {
        hint: 'Check the path of the archive.',
        details: { file },
      });
    }
    throw new ImprintError('IO', `reading ${what} ${file}: ${errorText(err)}`, {
      cause: err,
      details: { file },
    });
  }
  const gzip = magic[0] === 0x1f && magic[1] === 0x8b;
  const zstd = magic.equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]));
  if (gzip || zstd) {
    throw new ImprintError(
      'UNSUPPORTED',
      `${what} ${file} is ${gzip ? 'gzip' : 'zstd'}-compressed; imprint reads uncompressed archives`,
      {
        hint: `Decompress it first (e.g. ${gzip ? 'gunzip' : 'unzstd'} -k), then read the .tar.`,
        details: { file },
      },
    );
  }
}
