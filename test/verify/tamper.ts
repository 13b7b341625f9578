import { Readable } from 'node:stream';
import { artifactBlob } from '../../src/attest/referrers.js';
import { openDecompressed } from '../../src/compress/index.js';
import type { ImageSet } from '../../src/oci/image-set.js';
import { MediaType } from '../../src/oci/media-types.js';
import type { Descriptor, ImageConfig, ImageIndex } from '../../src/oci/types.js';
import type { BlobStore } from '../../src/store/index.js';
import { readTar, type TarWriteEntry } from '../../src/tar/index.js';
import { walkImageSet } from '../../src/transport/index.js';
import { writeLayer } from '../../src/vfs/layer.js';

/**
 * A self-consistent copy of the set's first image in which the file `path` of one layer has new content:
 * the layer is re-tarred and re-gzipped, and diff_id, config, manifest and index digests recomputed.
 * `content` undefined keeps the file's bytes; `plant` adds a file after it in the same layer.
 * Referrer entries of the root index are kept as they were (they still name the original manifest).
 */
export async function tamperFile(
  set: ImageSet,
  store: BlobStore,
  path: string,
  content: string | undefined,
  plant?: { path: string; content: string },
): Promise<ImageSet> {
  const walked = await walkImageSet(set);
  const image = walked.images[0]!;
  const config = JSON.parse(
    (await set.blobs.readBytes(image.manifest.config)).toString('utf8'),
  ) as ImageConfig;
  const layers = [...image.manifest.layers];
  let changed = -1;
  for (const [i, layer] of layers.entries()) {
    const entries: TarWriteEntry[] = [];
    let hit = false;
    const { stream } = await openDecompressed(await set.blobs.open(layer), { what: layer.digest });
    for await (const e of readTar(stream, { archive: layer.digest })) {
      const chunks: Buffer[] = [];
      for await (const c of e.body) chunks.push(c as Buffer);
      let body = Buffer.concat(chunks);
      if (e.path === path) {
        if (content !== undefined) body = Buffer.from(content);
        hit = true;
      }
      const { pax: _p, body: _b, headerOffset: _h, dataOffset: _d, ...meta } = e;
      entries.push({
        ...meta,
        size: e.type === 'file' ? body.length : 0,
        ...(e.type === 'file' ? { body: () => Readable.from([body]) } : {}),
      });
      if (e.path === path && plant !== undefined) {
        const planted = Buffer.from(plant.content);
        entries.push({
          ...meta,
          path: plant.path,
          size: planted.length,
          body: () => Readable.from([planted]),
        });
      }
    }
    if (!hit) continue;
    const written = await writeLayer(entries, { compression: 'gzip', level: 6 }, store);
    layers[i] = written.descriptor;
    config.rootfs.diff_ids[i] = written.diffId;
    changed = i;
    break;
  }
  if (changed < 0) throw new Error(`no layer holds ${path}`);
  const configBlob = artifactBlob(MediaType.ociConfig, config);
  await store.putBytes(configBlob.bytes, configBlob.descriptor);
  const manifestBlob = artifactBlob(MediaType.ociManifest, {
    ...image.manifest,
    config: configBlob.descriptor,
    layers,
  });
  await store.putBytes(manifestBlob.bytes, manifestBlob.descriptor);
  const rootEntry = set.index.manifests[image.root]!;
  const index = JSON.parse((await set.blobs.readBytes(rootEntry)).toString('utf8')) as ImageIndex;
  index.manifests = index.manifests.map((m) =>
    m.digest === image.descriptor.digest
      ? { ...m, digest: manifestBlob.descriptor.digest, size: manifestBlob.descriptor.size }
      : m,
  );
  const indexBlob = artifactBlob(MediaType.ociIndex, index);
  await store.putBytes(indexBlob.bytes, indexBlob.descriptor);
  const newRoot: Descriptor = {
    ...rootEntry,
    digest: indexBlob.descriptor.digest,
    size: indexBlob.descriptor.size,
  };
  return {
    index: { ...set.index, manifests: set.index.manifests.map((m, i) => (i === image.root ? newRoot : m)) },
    blobs: store,
  };
}
