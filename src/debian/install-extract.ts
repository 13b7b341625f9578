// Reading one .deb into a manifest: control text plus every data.tar entry's metadata and where its
// body was spooled. Runs in the main thread or in a worker; the tree is not touched here.
import type { Readable } from 'node:stream';
import type { BodyFeed } from '../compress/gzip-bodies.js';
import { ImprintError } from '../errors.js';
import type { TarEntry } from '../tar/index.js';
import { type DebLimits, declaredUnpackBytes, readDeb } from './deb.js';
import { type ContentRef, type ContentSpool, emptySpoolStats, type SpoolStats } from './install-spool.js';

/**
 * One data.tar entry as read: the tar entry's fields (path as in the archive: no './', directories end
 * with '/'; the root is not listed) without xattrs, plus where a file's body was captured.
 */
export interface ExtractedEntry extends Omit<TarEntry, 'xattrs'> {
  content?: ContentRef;
}

/** A .deb read into plain data (it crosses worker boundaries by structured clone). */
export interface ExtractedDeb {
  /** The `control` file's text. */
  control: string;
  md5sums: string | undefined;
  conffiles: string[];
  /** The `postinst` script's text, read (its update-alternatives calls), never run. */
  postinst: string | undefined;
  /** The `preinst` script's text, read (the accounts some packages create before unpacking), never run. */
  preinst: string | undefined;
  dataMember: string;
  entries: ExtractedEntry[];
  /** Bytes of regular files in data.tar. */
  bytes: number;
  /** What spooling this package added to the spool's counters. */
  stats: SpoolStats;
}

export interface ExtractOptions {
  /** Names the .deb in errors. */
  what: string;
  size?: number;
  limits?: DebLimits;
  /** Takes the bytes of large bodies as they are captured (the gzip layer writer's GzipBodyCache). */
  bodies?: BodyTaker | undefined;
}

/** Something that wants the bytes of large file bodies while they are read (see InstallOptions.bodies). */
export interface BodyTaker {
  /** Bodies smaller than this are not wanted. */
  readonly minSize: number;
  /** A feed for one body of `size` bytes, or undefined when it is not wanted. */
  feed(size: number): BodyFeed | undefined;
}

/** Passes `chunks` through, handing each to `feed` first. */
async function* teed(chunks: AsyncIterable<Buffer>, feed: BodyFeed): AsyncGenerator<Buffer> {
  for await (const chunk of chunks) {
    await feed.push(chunk);
    yield chunk;
  }
}

/** Bytes a package may unpack beyond twice its Installed-Size before it counts as a decompression bomb. */
export const UNPACK_SLACK = 64 * 1024 * 1024;

/**
 * Reads the .deb that `open` streams, spooling every file body into `spool` (flushed before return),
 * and returns its manifest. Refuses, as DECOMPRESSION_BOMB, a data.tar whose files exceed twice the
 * control's Installed-Size plus 64 MiB. Cost: one streaming pass over the .deb.
 */
export async function extractDeb(
  open: () => Promise<Readable> | Readable,
  opts: ExtractOptions,
  spool: ContentSpool,
): Promise<ExtractedDeb> {
  const entries: ExtractedEntry[] = [];
  const stats = emptySpoolStats();
  let bytes = 0;
  let maxBytes = Number.POSITIVE_INFINITY;
  const control = await readDeb(open, {
    what: opts.what,
    ...(opts.size === undefined ? {} : { size: opts.size }),
    ...(opts.limits ? { limits: opts.limits } : {}),
    onControl: (c) => {
      const declared = declaredUnpackBytes(c);
      if (declared !== undefined) maxBytes = declared + UNPACK_SLACK;
    },
    onEntry: async (e) => {
      if (e.path === '') return; // './': the root directory is the image's, not the package's
      const entry: ExtractedEntry = {
        path: e.path,
        type: e.type,
        mode: e.mode,
        uid: e.uid,
        gid: e.gid,
        mtime: e.mtime,
        size: e.size,
      };
      if (e.linkname !== undefined) entry.linkname = e.linkname;
      if (e.type === 'char' || e.type === 'block') {
        entry.devmajor = e.devmajor ?? 0;
        entry.devminor = e.devminor ?? 0;
      }
      if (e.type === 'file') {
        bytes += e.size;
        if (bytes > maxBytes) {
          throw new ImprintError(
            'DECOMPRESSION_BOMB',
            `${opts.what}: data.tar unpacks to more than ${maxBytes} bytes, far beyond its Installed-Size`,
            {
              details: { archive: opts.what, entry: e.path, maxBytes },
            },
          );
        }
        const feed = opts.bodies?.feed(e.size);
        entry.content = await spool.capture(
          feed === undefined ? e.chunks() : teed(e.chunks(), feed),
          e.size,
          `${opts.what}: ${e.path}`,
          stats,
        );
        feed?.end(entry.content.sha256);
      }
      entries.push(entry);
    },
  });
  await spool.flush();
  return {
    control: (control.files.get('control') as Buffer).toString('utf8'),
    md5sums: control.md5sums,
    conffiles: control.conffiles,
    postinst: control.files.get('postinst')?.toString('utf8'),
    preinst: control.files.get('preinst')?.toString('utf8'),
    dataMember: control.dataMember,
    entries,
    bytes,
    stats,
  };
}
