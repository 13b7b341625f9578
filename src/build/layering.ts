import { ImprintError } from '../errors.js';
import { MAX_IMAGE_LAYERS } from '../oci/types.js';
import { type SpecLocation, specField } from '../spec/load.js';
import type { VNode } from '../vfs/node.js';

export { MAX_IMAGE_LAYERS };

import type { FileTree } from '../vfs/tree.js';

/** The spec's layering choice. */
export type Layering = { strategy: 'single' } | { strategy: 'per-package'; budget?: number | undefined };

/** One planned layer: a stable name (recorded in history) and the tree keys it holds. */
export interface LayerPlan {
  name: string;
  keys: string[];
}

/** Default number of layers for per-package layering. */
export const DEFAULT_LAYER_BUDGET = 8;

/**
 * SPEC_INVALID when the base's layers and the build's own would make an image of more than
 * MAX_IMAGE_LAYERS layers, naming `layering.budget`. Pure.
 */
export function checkLayerCount(baseLayers: number, ownLayers: number, spec: SpecLocation): void {
  const total = baseLayers + ownLayers;
  if (total <= MAX_IMAGE_LAYERS) return;
  const from = baseLayers > 0 ? ` (${baseLayers} from the base, ${ownLayers} of its own)` : '';
  throw new ImprintError(
    'SPEC_INVALID',
    `${specField(spec, ['layering', 'budget'])}: the image would have ${total} layers${from}; Docker, Podman and CRI-O run images of at most ${MAX_IMAGE_LAYERS} ("max depth exceeded")`,
    {
      hint:
        baseLayers >= MAX_IMAGE_LAYERS
          ? `The base image alone has ${baseLayers} layers: build on a base with fewer (one flattened into a single layer).`
          : `Lower layering.budget to at most ${MAX_IMAGE_LAYERS - baseLayers}.`,
      details: { file: spec.file, field: 'layering.budget', layers: total, baseLayers },
    },
  );
}

/**
 * Splits the tree into at most `budget` layers. `single` (or a budget of 1): everything in one.
 * `per-package` (apko's origin strategy):
 * each key goes to the group of its origin (`groupOf`, e.g. the source package; undefined for nodes no
 * package owns); the budget−2 largest groups (by file bytes, then name) get a layer each, in name order,
 * the other packages share one, and the nodes no package owns go on top. Hard links stay in the layer of
 * the file they reach. Deterministic: depends only on the tree and the names.
 */
export function planLayers(
  tree: FileTree,
  layering: Layering,
  groupOf: (origin: string | undefined) => string | undefined,
): LayerPlan[] {
  const keys = [...tree.keys()];
  const budget = layering.strategy === 'single' ? 1 : Math.max(1, layering.budget ?? DEFAULT_LAYER_BUDGET);
  // A budget of one is a single layer: the budget is the most layers a build produces.
  if (budget === 1) return [{ name: 'rootfs', keys }];

  const groupOfKey = new Map<string, string | undefined>();
  const bytes = new Map<string, number>();
  for (const key of keys) {
    const node = tree.get(key)!;
    const group = groupOf(node.origin);
    groupOfKey.set(key, group);
    if (group !== undefined)
      bytes.set(group, (bytes.get(group) ?? 0) + (node.kind === 'file' ? node.size : 0));
  }
  // Hard links follow the file they reach (a link across layers would not extract).
  for (const key of keys) {
    const node = tree.get(key)!;
    if (node.kind === 'hardlink') groupOfKey.set(key, groupOfKey.get(hardlinkTarget(tree, node)));
  }
  const bySize = [...bytes.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const own = new Set(bySize.slice(0, budget - 2).map(([g]) => g));
  if (bySize.length === budget - 1) own.add(bySize[budget - 2]![0]); // the shared layer would hold one group: give it its own

  const layers = new Map<string, string[]>();
  const push = (name: string, key: string) => {
    const list = layers.get(name);
    if (list === undefined) layers.set(name, [key]);
    else list.push(key);
  };
  for (const key of keys) {
    const group = groupOfKey.get(key);
    if (group === undefined) push('\uffff top', key);
    else if (own.has(group)) push(`package ${group}`, key);
    else push('\ufffe packages', key);
  }
  return [...layers.entries()]
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([name, list]) => ({ name: name.replace(/^\uffff /, '').replace(/^\ufffe /, ''), keys: list }));
}

function hardlinkTarget(tree: FileTree, node: Extract<VNode, { kind: 'hardlink' }>): string {
  let target = node.target.replace(/^\/+/, '');
  for (let i = 0; i < 40; i++) {
    const next = tree.get(target);
    if (next?.kind !== 'hardlink') break;
    target = next.target.replace(/^\/+/, '');
  }
  return target;
}
