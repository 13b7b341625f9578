// The layers of one platform's finished tree: planned (layering.ts), each found by its content or
// written, with the file lists the SBOM takes from them.
import { sbomLayerFiles } from '../attest/sbom.js';
import type { LayerFiles } from '../base/image-files.js';
import { type CompressOptions, codecDescription, type GzipBodyCache } from '../compress/index.js';
import type { InstallResult } from '../debian/install.js';
import { step } from '../errors.js';
import type { LockPackage } from '../lock/types.js';
import type { BlobStore } from '../store/index.js';
import { layerEntries } from '../vfs/entries.js';
import { type WrittenLayer, writeLayer } from '../vfs/layer.js';
import type { FileTree } from '../vfs/tree.js';
import { bodySha256, entriesFingerprint } from './assemble.js';
import type { CachedLayers, LayerCache } from './layer-cache.js';
import { type Layering, planLayers } from './layering.js';

export interface PlatformLayersInput {
  tree: FileTree;
  /** What the install made (its packages group the layers), and the locked packages (their sources). */
  install: InstallResult | undefined;
  packages: readonly LockPackage[];
  layering: Layering;
  compression: CompressOptions;
  store: BlobStore;
  cache: LayerCache;
  /** gzip members of large bodies made while the packages unpacked. */
  bodies: GzipBodyCache | undefined;
  /** The platform, for messages. */
  platform: string;
  /** Called with each layer as it is ready. */
  onLayer: (layer: WrittenLayer) => void;
}

/**
 * Writes the platform's layers in plan order and returns them, with each one's SBOM file list (taken
 * while the bodies can still be read, so the SBOM need not read the layer back). With several layers,
 * each is also found by its content (LayerCache.byContent), so those a change left alone are not
 * compressed again; one layer changes whenever the platform's inputs do, so it is not looked up.
 */
export async function writePlatformLayers(
  input: PlatformLayersInput,
): Promise<{ layers: CachedLayers['layers']; layerFiles: Map<string, LayerFiles> }> {
  const { tree, compression, store, bodies } = input;
  const plans = planLayers(tree, input.layering, packageGroups(input.install, input.packages));
  const codec = codecDescription(compression);
  const layers: CachedLayers['layers'] = [];
  const layerFiles = new Map<string, LayerFiles>();
  for (const plan of plans) {
    // One plan holds every key: the tree itself, not a copy of it (~100 bytes a node).
    const entries = layerEntries(plans.length === 1 ? tree : tree.pick(plan.keys));
    const write = () =>
      step(
        `writing layer ${plan.name} for ${input.platform}`,
        () => writeLayer(entries, compression, store, { bodies }),
        'IO',
      );
    const layer =
      plans.length > 1
        ? (await input.cache.byContent(await entriesFingerprint(entries, (e) => bodySha256(e)), codec, write))
            .layer
        : await write();
    layerFiles.set(layer.descriptor.digest, await sbomLayerFiles(entries));
    input.onLayer(layer);
    layers.push({ name: plan.name, descriptor: layer.descriptor, diffId: layer.diffId });
  }
  return { layers, layerFiles };
}

/** Maps a node origin (a package's status.d name) to its layer group: the Debian source package. */
function packageGroups(
  install: InstallResult | undefined,
  packages: readonly LockPackage[],
): (origin: string | undefined) => string | undefined {
  const sourceOf = new Map<string, string>();
  const byName = new Map(packages.map((p) => [`${p.name}\0${p.architecture}`, p]));
  for (const p of install?.packages ?? []) {
    const locked = byName.get(`${p.name}\0${p.architecture}`);
    sourceOf.set(p.statusEntry, (locked?.source ?? p.name).replace(/ \(.*\)$/, ''));
  }
  return (origin) => (origin === undefined ? undefined : sourceOf.get(origin));
}
