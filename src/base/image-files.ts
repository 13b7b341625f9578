import { type DecompressLimits, openDecompressed } from '../compress/index.js';
import type { BlobReader } from '../oci/image-set.js';
import type { Descriptor } from '../oci/types.js';
import { layerWhiteout } from '../oci/whiteout.js';
import { bodyNow, readTar, type TarWriteEntry } from '../tar/index.js';
import { readContent } from '../vfs/node.js';

/** Some files of an image's flattened filesystem: regular files' bytes and symlinks' targets, by path. */
export interface ImageFiles {
  files: Map<string, Buffer>;
  links: Map<string, string>;
}

/** What one layer holds of the files `wanted` selects, and what its whiteouts hide below it. */
export interface LayerFiles {
  /** Each selected path's last entry in the layer: a regular file's bytes or a symlink's target. */
  kept: Map<string, { file: Buffer } | { link: string }>;
  hidden: Whiteouts;
}

/** The parts of a layer entry collecting reads: readTar's entries and layerEntries' alike. */
interface EntryHead {
  path: string;
  type: string;
  linkname?: string | undefined;
  size: number;
}

/**
 * Reads the files `wanted` selects (paths without leading '/') from an image's layers in order, with
 * OCI whiteouts applied: `.wh.<name>` removes that path and what is below it, `.wh..wh..opq` what the
 * lower layers hold below its directory. Files larger than `maxBytes` are skipped. A layer in `known`
 * (by digest: one this process wrote, see `entryLayerFiles`) is not read again. Cost: decompresses and
 * parses every other layer once, streaming; keeps only the selected files.
 */
export async function readImageFiles(
  blobs: BlobReader,
  layers: readonly Descriptor[],
  wanted: (path: string) => boolean,
  maxBytes: number,
  limits?: DecompressLimits,
  known?: ReadonlyMap<string, LayerFiles>,
): Promise<ImageFiles> {
  const files = new Map<string, Buffer>();
  const links = new Map<string, string>();
  for (const layer of layers) {
    const { kept, hidden } =
      known?.get(layer.digest) ?? (await readLayerFiles(blobs, layer, wanted, maxBytes, limits));
    // The layer's whiteouts hide what the layers below hold, not its own entries.
    if (hidden.gone.size > 0 || hidden.opaque.size > 0) {
      for (const map of [files, links]) for (const k of map.keys()) if (isWhitedOut(k, hidden)) map.delete(k);
    }
    for (const [path, entry] of kept) {
      if ('link' in entry) {
        links.set(path, entry.link);
        files.delete(path);
      } else {
        files.set(path, entry.file);
        links.delete(path);
      }
    }
  }
  return { files, links };
}

/** What a layer blob holds of the files `wanted` selects (see readImageFiles). */
async function readLayerFiles(
  blobs: BlobReader,
  layer: Descriptor,
  wanted: (path: string) => boolean,
  maxBytes: number,
  limits: DecompressLimits | undefined,
): Promise<LayerFiles> {
  const { stream } = await openDecompressed(await blobs.open(layer), {
    what: layer.digest,
    ...(limits === undefined ? {} : { limits }),
  });
  const what = `layer ${layer.digest}`;
  return collectLayerFiles(readTar(stream, { archive: layer.digest }), what, wanted, maxBytes, async (e) => {
    const chunks: Buffer[] = [];
    for await (const c of e.body) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  });
}

/**
 * What the entries of a layer this process writes (layerEntries' output) hold of the files `wanted`
 * selects: the same as reading the written layer back, at the cost of reading the selected bodies.
 * Call it while the entries' bodies can still be opened.
 */
export function entryLayerFiles(
  entries: readonly TarWriteEntry[],
  wanted: (path: string) => boolean,
  maxBytes: number,
): Promise<LayerFiles> {
  return collectLayerFiles(entries, 'a layer of this build', wanted, maxBytes, (e) =>
    e.body === undefined ? Promise.resolve(Buffer.alloc(0)) : readContent(e.body, () => bodyNow(e)),
  );
}

async function collectLayerFiles<E extends EntryHead>(
  entries: AsyncIterable<E> | Iterable<E>,
  what: string,
  wanted: (path: string) => boolean,
  maxBytes: number,
  read: (e: E) => Promise<Buffer>,
): Promise<LayerFiles> {
  const kept: LayerFiles['kept'] = new Map();
  const hidden: Whiteouts = { gone: new Set(), opaque: new Set() };
  for await (const e of entries) {
    const path = e.path.replace(/\/$/, '');
    const wh = layerWhiteout(path, what);
    if (wh !== null) {
      if ('opaqueDir' in wh) hidden.opaque.add(wh.opaqueDir);
      else hidden.gone.add(wh.removes);
      continue;
    }
    if (!wanted(path)) continue;
    if (e.type === 'symlink' && e.linkname !== undefined) kept.set(path, { link: e.linkname });
    else if (e.type === 'file' && e.size <= maxBytes) kept.set(path, { file: await read(e) });
  }
  return { kept, hidden };
}

/** One layer's whiteouts: paths gone with what is below them, opaque directories ('a/', '' for the root). */
export interface Whiteouts {
  gone: Set<string>;
  opaque: Set<string>;
}

/** Whether `path` (no trailing '/') is `gone` or below a gone path or an opaque directory. O(depth). */
function isWhitedOut(path: string, w: Whiteouts): boolean {
  if (w.gone.has(path) || w.opaque.has('')) return true;
  for (let i = path.indexOf('/'); i >= 0; i = path.indexOf('/', i + 1)) {
    if (w.gone.has(path.slice(0, i)) || w.opaque.has(path.slice(0, i + 1))) return true;
  }
  return false;
}
