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
    for await (const e of readTar(stream, { archive: layer.digest })) {
      const path = e.path.replace(/\/$/, '');
      const slash = path.lastIndexOf('/');
      const name = path.slice(slash + 1);
      if (name.startsWith('.wh.')) {
        const dir = path.slice(0, slash + 1);
        const opaque = name === '.wh..wh..opq';
        const gone = `${dir}${name.slice(4)}`;
        for (const map of [files, links])
          for (const k of [...map.keys()]) {
            const hit = opaque ? k.startsWith(dir) : k === gone || k.startsWith(`${gone}/`);
            if (hit && !fromThisLayer.has(k)) map.delete(k);
          }
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
  }
  return { files, links };
}
