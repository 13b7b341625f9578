import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { openDecompressed } from '../../src/compress/index.js';
import type { ImageSet } from '../../src/oci/image-set.js';
import { readTar } from '../../src/tar/index.js';
import { walkImageSet } from '../../src/transport/index.js';

/**
 * The flattened filesystem of the first image in a set: tree path → file bytes (symlinks as
 * `-> target`, directories as empty buffers), layers applied in order with whiteouts. For small test
 * images only: it holds every file in memory.
 */
export async function readLayerFiles(set: ImageSet): Promise<Map<string, Buffer>> {
  const walked = await walkImageSet(set);
  const image = walked.images[0];
  if (!image) throw new Error('the set has no image');
  const files = new Map<string, Buffer>();
  for (const layer of image.manifest.layers) {
    const { stream } = await openDecompressed(await set.blobs.open(layer), { what: layer.digest });
    for await (const e of readTar(stream, { archive: layer.digest })) {
      const path = e.path.replace(/\/$/, '');
      const base = path.slice(path.lastIndexOf('/') + 1);
      if (base.startsWith('.wh.')) {
        const dir = path.slice(0, path.lastIndexOf('/') + 1);
        const gone = `${dir}${base.slice(4)}`;
        for (const k of [...files.keys()]) if (k === gone || k.startsWith(`${gone}/`)) files.delete(k);
        continue;
      }
      const chunks: Buffer[] = [];
      for await (const c of e.body) chunks.push(c as Buffer);
      files.set(
        path,
        e.type === 'symlink'
          ? Buffer.from(`-> ${e.linkname}`)
          : e.type === 'file'
            ? Buffer.concat(chunks)
            : Buffer.alloc(0),
      );
    }
  }
  return files;
}

/** A BlobSink for writeLayer that keeps what it is given in `bytes`. */
export function memorySink(): {
  put(src: Readable): Promise<{ digest: `sha256:${string}`; size: number }>;
  bytes: Buffer;
} {
  const sink = {
    bytes: Buffer.alloc(0),
    async put(src: Readable) {
      const parts: Buffer[] = [];
      for await (const c of src) parts.push(c as Buffer);
      sink.bytes = Buffer.concat(parts);
      return {
        digest: `sha256:${createHash('sha256').update(sink.bytes).digest('hex')}` as const,
        size: sink.bytes.length,
      };
    },
  };
  return sink;
}
