import { type DecompressLimits, openDecompressed } from '../compress/index.js';
import type { BlobReader } from '../oci/image-set.js';
import type { Descriptor } from '../oci/types.js';
import { readTar } from '../tar/index.js';

/** Some files of an image's flattened filesystem: regular files' bytes and symlinks' targets, by path. */
export interface ImageFiles {
  files: Map<string, Buffer>;
  links: Map<string, string>;
}

/**
 * Reads the files `wanted` selects (paths without leading '/') from an image's layers in order, with
 * OCI whiteouts applied: `.wh.<name>` removes that path and what is below it, `.wh..wh..opq` what the
 * lower layers hold below its directory. Files larger than `maxBytes` are skipped. Cost: decompresses
 * and parses every layer once, streaming; keeps only the selected files.
 */
export async function readImageFiles(
  blobs: BlobReader,
  layers: readonly Descriptor[],
  wanted: (path: string) => boolean,
  maxBytes: number,
  limits?: DecompressLimits,
): Promise<ImageFiles> {
  const files = new Map<string, Buffer>();
  const links = new Map<string, string>();
  for (const layer of layers) {
    const { stream } = await openDecompressed(await blobs.open(layer), {
      what: layer.digest,
      ...(limits === undefined ? {} : { limits }),
    });
    const fromThisLayer = new Set<string>();
    const hidden: Whiteouts = { gone: new Set(), opaque: new Set() };
    for await (const e of readTar(stream, { archive: layer.digest })) {
      const path = e.path.replace(/\/$/, '');
      const slash = path.lastIndexOf('/');
      const name = path.slice(slash + 1);
      if (name.startsWith('.wh.')) {
        const dir = path.slice(0, slash + 1);
        if (name === '.wh..wh..opq') hidden.opaque.add(dir);
        else hidden.gone.add(`${dir}${name.slice(4)}`);
        continue;
      }
      if (!wanted(path)) continue;
      if (e.type === 'symlink' && e.linkname !== undefined) {
        links.set(path, e.linkname);
        files.delete(path);
        fromThisLayer.add(path);
      } else if (e.type === 'file' && e.size <= maxBytes) {
        const chunks: Buffer[] = [];
        for await (const c of e.body) chunks.push(c as Buffer);
        files.set(path, Buffer.concat(chunks));
        links.delete(path);
        fromThisLayer.add(path);
      }
    }
    // The layer's whiteouts hide what the layers below hold, not its own entries: one pass at its end.
    if (hidden.gone.size > 0 || hidden.opaque.size > 0) {
      for (const map of [files, links])
        for (const k of map.keys()) if (!fromThisLayer.has(k) && isWhitedOut(k, hidden)) map.delete(k);
    }
  }
  return { files, links };
}

/** One layer's whiteouts: paths gone with what is below them, opaque directories ('a/', '' for the root). */
interface Whiteouts {
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
