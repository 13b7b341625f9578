import { ImprintError } from '../errors.js';
import type { LockBaseImage } from '../lock/types.js';
import { LAYER_TYPES, MediaType } from '../oci/media-types.js';
import type { Descriptor, ImageConfig, ImageManifest } from '../oci/types.js';
import { parseJson } from '../transport/layout-docs.js';
import type { BaseBlobs } from './source.js';

/** One platform's base image, read and checked, its layers in the content store. */
export interface BaseImage {
  /** The base's image manifest (as the lock pins it). */
  manifest: Descriptor;
  config: ImageConfig;
  /** The base's layers, as the build's manifest lists them (Docker media types mapped to OCI ones). */
  layers: Descriptor[];
}

/** Docker layer media types and their OCI equivalents: the same bytes, so the same digests. */
const OCI_LAYER_TYPE: Record<string, string> = {
  [MediaType.dockerLayer]: MediaType.ociLayer,
  [MediaType.dockerLayerGzip]: MediaType.ociLayerGzip,
};

/**
 * Reads the pinned base manifest and its config, checks that the config's diff_ids match the layers,
 * and copies every layer into the store (verified; nothing is fetched that the store has). The layers
 * are reused byte for byte: only Docker media types are renamed to their OCI equivalents. Cost: the
 * base's layers are downloaded once per store.
 */
export async function loadBaseImage(blobs: BaseBlobs, pinned: LockBaseImage): Promise<BaseImage> {
  const what = `${blobs.label} (${pinned.digest})`;
  const manifest = parseJson(await blobs.readBytes(pinned), `${what} manifest`) as ImageManifest;
  if (manifest.config === undefined || !Array.isArray(manifest.layers)) {
    throw new ImprintError('INVALID_IMAGE', `${what}: the manifest has no config or no layers`, {
      details: { base: blobs.base.written, digest: pinned.digest },
    });
  }
  const config = parseJson(await blobs.readBytes(manifest.config), `${what} config`) as ImageConfig;
  const diffIds = config.rootfs?.diff_ids ?? [];
  if (diffIds.length !== manifest.layers.length) {
    throw new ImprintError(
      'INVALID_IMAGE',
      `${what}: the config lists ${diffIds.length} diff_ids for ${manifest.layers.length} layers`,
      { details: { base: blobs.base.written, digest: pinned.digest } },
    );
  }
  const layers = manifest.layers.map((layer) => {
    if (!LAYER_TYPES.includes(layer.mediaType) || layer.mediaType === MediaType.dockerForeignLayerGzip) {
      throw new ImprintError(
        'UNSUPPORTED',
        `${what}: layer ${layer.digest} has media type ${layer.mediaType}`,
        {
          hint: 'Only regular tar layers (plain, gzip or zstd) can be built on; foreign/non-distributable layers cannot.',
          details: { base: blobs.base.written, mediaType: layer.mediaType },
        },
      );
    }
    const { urls: _urls, ...rest } = layer;
    return { ...rest, mediaType: OCI_LAYER_TYPE[layer.mediaType] ?? layer.mediaType };
  });
  for (const layer of layers) await blobs.toStore(layer);
  return {
    manifest: { mediaType: pinned.mediaType, digest: pinned.digest, size: pinned.size },
    config,
    layers,
  };
}
