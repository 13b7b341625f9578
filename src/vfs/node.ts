import { Readable } from 'node:stream';

/**
 * Opens a fresh stream of a file's content; called once per write, so contents never sit in memory.
 * `sync`, where the content can be had without waiting (a small body already in memory or in the page
 * cache), returns its bytes, or undefined to fall back to the stream; writers then skip a stream and
 * its async iteration per file.
 */
export type ContentOpener = (() => Promise<Readable> | Readable) & {
  readonly sync?: () => Buffer | undefined;
  /**
   * Bytes [start, end) of the content (end within its size), read in place without the rest, where
   * the content lies in memory or a file; undefined to fall back to `sync` or the stream.
   */
  readonly range?: (start: number, end: number) => Buffer | undefined;
};

/** The opener of content held in memory (`sync` gives the bytes themselves). */
export function bytesOpener(bytes: Buffer): ContentOpener {
  return Object.assign(() => Readable.from([bytes]), {
    sync: () => bytes,
    range: (start: number, end: number) => bytes.subarray(start, end),
  });
}

/** What a compact opener's `sync` calls it with (see compactOpener). */
export const OPEN_SYNC: unique symbol = Symbol('sync');
/** What a compact opener's `range` calls it with, and the range (see compactOpener). */
export const OPEN_RANGE: unique symbol = Symbol('range');

/**
 * The one function of a compact opener: called with no argument it opens the stream; with OPEN_SYNC
 * it is `sync`, with OPEN_RANGE `range` (any other argument opens the stream too).
 */
export type CompactRead = (
  mode?: typeof OPEN_SYNC | typeof OPEN_RANGE,
  start?: number,
  end?: number,
) => Promise<Readable> | Readable | Buffer | undefined;

/** Where compact openers find `sync` and `range`: getters that call the opener itself with a mode. */
const COMPACT = Object.create(Function.prototype, {
  sync: {
    get(this: CompactRead) {
      return () => this(OPEN_SYNC);
    },
  },
  range: {
    get(this: CompactRead) {
      return (start: number, end: number) => this(OPEN_RANGE, start, end);
    },
  },
}) as object;

/**
 * `read` as a ContentOpener with `sync` and `range`, for sources a tree holds one of per file (the
 * install spool's): one function and its context a file (~110 bytes), where an opener with its own
 * `sync` and `range` functions costs ~260. Each read of `sync` or `range` makes a small function.
 */
export function compactOpener(read: CompactRead): ContentOpener {
  return Object.setPrototypeOf(read, COMPACT) as ContentOpener;
}

/** The whole content of an opener: its synchronous bytes when it has them, else its stream read to the end. */
export async function readContent(
  open: () => Promise<Readable> | Readable,
  sync: (() => Buffer | undefined) | undefined = (open as ContentOpener).sync,
): Promise<Buffer> {
  const now = sync?.();
  if (now !== undefined) return now;
  const parts: Buffer[] = [];
  for await (const chunk of (await open()) as AsyncIterable<Buffer | string>)
    parts.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(parts);
}

/** Largest uid/gid a node may have (2^32 - 2; 2^32 - 1 means "no id" to the kernel). */
export const MAX_ID = 4294967294;
/** Latest mtime (and epoch): 9999-12-31T23:59:59Z, the last second an RFC 3339 timestamp can express. */
export const MAX_EPOCH = 253402300799;

/** Metadata every node carries. `mtime` is integer seconds; uid/gid at most MAX_ID. */
export interface Meta {
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  xattrs?: Record<string, Buffer>;
}

/** Where a node came from (a package name, `files[2]`, `accounts`); used for conflicts and layering. */
export type Origin = string;

export type VNode = Meta & { origin?: Origin } & (
    | { kind: 'file'; size: number; content: ContentOpener; sha256?: string }
    | {
        kind: 'dir';
        /**
         * Laid over a directory (FileTree.overlay), leaves that one's metadata as it is, as COPY leaves
         * its destination's: the target directory of a files[] directory source (a package's /tmp).
         */
        keep?: true;
      }
    | { kind: 'symlink'; target: string }
    | { kind: 'hardlink'; target: string }
    | { kind: 'char' | 'block'; major: number; minor: number }
    | { kind: 'fifo' }
  );

export type VKind = VNode['kind'];

/** Default metadata for directories the tree creates implicitly (parents of added paths). */
export function implicitDirMeta(mtime: number): Meta {
  return { mode: 0o755, uid: 0, gid: 0, mtime };
}
