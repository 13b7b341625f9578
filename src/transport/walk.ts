import { ImprintError } from '../errors.js';
import type { ImageSet } from '../oci/image-set.js';
import { CONFIG_TYPES, INDEX_TYPES, MANIFEST_TYPES } from '../oci/media-types.js';
import type { Descriptor, ImageManifest } from '../oci/types.js';
import { parseIndex, parseManifest } from './layout-docs.js';

/** An image manifest found in a set: a manifest whose config is an image config and that has no subject. */
export interface WalkedImage {
  descriptor: Descriptor;
  manifest: ImageManifest;
  /** Position of the root entry (in `set.index.manifests`) it was reached from. */
  root: number;
}

export interface ImageSetWalk {
  /** Every blob reachable from the root index (indexes, manifests, configs, layers), once each, sorted by digest. */
  blobs: Descriptor[];
  /** The image manifests, in walk order (root entries in order, depth first). */
  images: WalkedImage[];
}

/**
 * Walks every index and manifest reachable from the set's root entries and lists the blobs they
 * reference. `subject` links are not followed (the subject is another image, not part of this one).
 * Cost: reads every index and manifest (small JSON); never opens configs or layers.
 */
export async function walkImageSet(set: ImageSet): Promise<ImageSetWalk> {
  const blobs = new Map<string, Descriptor>();
  const images: WalkedImage[] = [];
  const record = (d: Descriptor, where: string): boolean => {
    const seen = blobs.get(d.digest);
    if (seen !== undefined) {
      if (seen.size !== d.size) {
        throw new ImprintError(
          'INVALID_IMAGE',
          `${where}: blob ${d.digest} is declared with sizes ${seen.size} and ${d.size}`,
          {
            details: { digest: d.digest },
          },
        );
      }
      return false;
    }
    blobs.set(d.digest, { mediaType: d.mediaType, digest: d.digest, size: d.size });
    return true;
  };
  const visit = async (d: Descriptor, root: number, where: string): Promise<void> => {
    if (!record(d, where)) return;
    if (INDEX_TYPES.includes(d.mediaType)) {
      const index = parseIndex(await set.blobs.readBytes(d), `image index ${d.digest}`);
      for (const [i, child] of index.manifests.entries())
        await visit(child, root, `${where} > manifests[${i}]`);
    } else if (MANIFEST_TYPES.includes(d.mediaType)) {
      const manifest = parseManifest(await set.blobs.readBytes(d), `image manifest ${d.digest}`);
      record(manifest.config, `${where} > config`);
      for (const [i, layer] of manifest.layers.entries()) record(layer, `${where} > layers[${i}]`);
      if (CONFIG_TYPES.includes(manifest.config.mediaType) && manifest.subject === undefined) {
        images.push({ descriptor: d, manifest, root });
      }
    }
  };
  for (const [i, d] of set.index.manifests.entries()) await visit(d, i, `index.json manifests[${i}]`);
  const sorted = [...blobs.values()].sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
  return { blobs: sorted, images };
}
