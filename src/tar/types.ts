import type { Readable } from 'node:stream';

/** The kinds of entry imprint writes and reads. */
export type TarEntryType = 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';

/** One archive member's metadata, after normalisation. */
export interface TarEntry {
  /** As in the archive after normalisation: no leading '/', no './', directories end with '/'. */
  path: string;
  type: TarEntryType;
  /** Permission bits including setuid/setgid/sticky (07777). */
  mode: number;
  uid: number;
  gid: number;
  /** Integer seconds since the epoch (negative or > 8^11-1 is written as a PAX record). */
  mtime: number;
  /** Bytes of body for 'file', else 0. */
  size: number;
  /** Symlink target, or hardlink target as an archive path (no leading '/'). */
  linkname?: string;
  /** Device numbers; char/block only. */
  devmajor?: number;
  devminor?: number;
  /** Extended attributes, written as PAX 'SCHILY.xattr.<name>' records with keys sorted. */
  xattrs?: Record<string, Buffer>;
}

/**
 * An entry to write; `body` ('file' only) opens a fresh stream that must yield exactly `size` bytes.
 * Its bytes without a stream, when they are at hand, come from `bodySync`, else from `body.sync`
 * (an opener that has them: see bodyNow).
 */
export interface TarWriteEntry extends TarEntry {
  body?: (() => Promise<Readable> | Readable) & { readonly sync?: (() => Buffer | undefined) | undefined };
  /** The body's bytes without a stream, when they are at hand (else undefined: `body` is used). */
  bodySync?: (() => Buffer | undefined) | undefined;
  /** The body's sha256 (hex) when known: lets a layer writer reuse work done on the same body. */
  sha256?: string;
}

/** An entry read from an archive. */
export interface TarReadEntry extends TarEntry {
  /** PAX records in effect for this entry (global 'g' merged under per-entry 'x'), values as UTF-8 text. */
  pax: Record<string, string>;
  /** The entry's body (empty for non-files); drained automatically when the next entry is requested. */
  body: Readable;
  /**
   * The body without a Readable: views of the archive's chunks, each valid only until the next is
   * asked for (copy what you keep). Cheaper per entry; use it or `body`, not both.
   */
  chunks(): AsyncIterable<Buffer>;
  /** Offset of the first header block of this entry (its 'x'/'L'/'K' block, else its ustar block). */
  headerOffset: number;
  /** Offset of the first body byte (right after the entry's ustar header block). */
  dataOffset: number;
}

/** Bounds on what a reader accepts from an untrusted archive. */
export interface TarReadLimits {
  /** Largest PAX header body, per entry and for all global headers together; default 1 MiB. */
  maxPaxBytes?: number;
  /** Largest path or link target in bytes (GNU 'L'/'K' records and PAX path/linkpath); default 64 KiB. */
  maxPathBytes?: number;
  /** Most entries (not counting PAX/GNU meta headers); default unlimited. */
  maxEntries?: number;
  /** Largest body of one entry in bytes; default unlimited. */
  maxEntrySize?: number;
}
