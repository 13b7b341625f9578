// Layer entries as comparable records: metadata + sha256 of the body, never the body itself
// (except a bounded prefix the caller may ask for, to show a content difference).
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { openDecompressed } from '../compress/index.js';
import type { BlobReader } from '../oci/image-set.js';
import type { Descriptor } from '../oci/types.js';
import { readTar, type TarReadEntry } from '../tar/index.js';

/** Bodies up to this size are kept (when asked) to show text diffs and hex views. */
export const KEEP_BODY_BYTES = 1024 * 1024;

/** PAX keys whose values are already compared as entry fields. */
const REPRESENTED_PAX = new Set(['path', 'linkpath', 'size', 'uid', 'gid', 'uname', 'gname', 'mtime']);

/** One tar entry reduced to what the diff compares. */
export interface EntryRecord {
  path: string;
  type: TarReadEntry['type'];
  mode: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  mtime: number;
  size: number;
  linkname: string | null;
  devmajor: number | null;
  devminor: number | null;
  /** Extended attributes, values base64. */
  xattrs: Record<string, string>;
  /** PAX records not represented by the fields above (xattrs excluded). */
  pax: Record<string, string>;
  /** `sha256:<hex>` of a file's body, else null. */
  sha256: string | null;
}

/** A record with the first KEEP_BODY_BYTES of its body (when asked for); `complete` when that is the whole body. */
export interface ReadRecord {
  record: EntryRecord;
  head?: { bytes: Buffer; complete: boolean };
}

/** Hashes a body, keeping its first KEEP_BODY_BYTES when `keep`. Cost: streams the body once. */
async function hashBody(
  body: Readable,
  keep: boolean,
): Promise<{ sha256: string; head?: ReadRecord['head'] }> {
  const hash = createHash('sha256');
  const chunks: Buffer[] = [];
  let kept = 0;
  let total = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    hash.update(chunk);
    total += chunk.length;
    if (keep && kept < KEEP_BODY_BYTES) {
      const part = chunk.subarray(0, KEEP_BODY_BYTES - kept);
      chunks.push(part);
      kept += part.length;
    }
  }
  const sha256 = `sha256:${hash.digest('hex')}`;
  return keep ? { sha256, head: { bytes: Buffer.concat(chunks), complete: kept === total } } : { sha256 };
}

/** The comparable record of a tar entry; consumes (hashes) its body. */
export async function readRecord(e: TarReadEntry, keepBody: boolean): Promise<ReadRecord> {
  const xattrs: Record<string, string> = {};
  for (const k of Object.keys(e.xattrs ?? {}).sort())
    xattrs[k] = (e.xattrs as Record<string, Buffer>)[k]!.toString('base64');
  const pax: Record<string, string> = {};
  for (const k of Object.keys(e.pax).sort()) {
    if (!REPRESENTED_PAX.has(k) && !k.startsWith('SCHILY.xattr.')) pax[k] = e.pax[k]!;
  }
  const record: EntryRecord = {
    path: e.path,
    type: e.type,
    mode: e.mode,
    uid: e.uid,
    gid: e.gid,
    uname: e.pax.uname ?? '',
    gname: e.pax.gname ?? '',
    mtime: e.mtime,
    size: e.size,
    linkname: e.linkname ?? null,
    devmajor: e.type === 'char' || e.type === 'block' ? (e.devmajor ?? 0) : null,
    devminor: e.type === 'char' || e.type === 'block' ? (e.devminor ?? 0) : null,
    xattrs,
    pax,
    sha256: null,
  };
  if (e.type !== 'file') {
    e.body.resume();
    return { record };
  }
  const { sha256, head } = await hashBody(e.body, keepBody);
  record.sha256 = sha256;
  return head === undefined ? { record } : { record, head };
}

/**
 * Opens a layer blob and iterates its tar entries (decompressed by sniffing, verified against its digest
 * at end of stream). Cost: streams the layer once; holds one entry's metadata at a time.
 */
export async function* layerEntries(blobs: BlobReader, layer: Descriptor): AsyncGenerator<TarReadEntry> {
  const what = `layer ${layer.digest}`;
  const { stream } = await openDecompressed(await blobs.open(layer), { what });
  yield* readTar(stream, { archive: what, allowUnsafe: true });
}
