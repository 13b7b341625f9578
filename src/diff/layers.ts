// Comparing layers: two layers entry by entry (lock step while the orders agree, then path-keyed
// maps of metadata), or whole images' flattened filesystems when their layer lists differ.

import type { BlobReader } from '../oci/image-set.js';
import type { Descriptor } from '../oci/types.js';
import { whiteoutOf } from '../oci/whiteout.js';
import { difference } from './classify.js';
import { type EntryRecord, layerEntries, readRecord } from './entries.js';
import { compareRecords, presence } from './entry-compare.js';
import type { Difference } from './types.js';

interface Side {
  blobs: BlobReader;
  layer: Descriptor;
}

/**
 * Compares the tar entries of two layers. Both layers stream at once; while paths agree each pair is
 * compared as it arrives (bodies hashed; the first 1 MiB kept only for the pair in hand). At the first
 * disagreement the rest of each layer goes into a path → metadata map (no bodies) and the maps are
 * compared at the end. Cost: one pass over each layer; memory O(entries after the first disagreement).
 */
export async function compareLayerEntries(
  a: Side,
  b: Side,
  where: { platform: string; layer: number },
): Promise<Difference[]> {
  const out: Difference[] = [];
  const itA = layerEntries(a.blobs, a.layer);
  const itB = layerEntries(b.blobs, b.layer);
  const restA = new Map<string, EntryRecord>();
  const restB = new Map<string, EntryRecord>();
  const orderA: string[] = [];
  const orderB: string[] = [];
  let inStep = true;
  try {
    for (;;) {
      // both sides advance together (their decompression runs in parallel); each side's body is
      // consumed before that side advances again
      const [na, nb] = await both(itA.next(), itB.next());
      const [ra, rb] = await both(
        na.done ? undefined : readRecord(na.value, inStep),
        nb.done ? undefined : readRecord(nb.value, inStep),
      );
      if (ra === undefined && rb === undefined) break;
      if (inStep && ra !== undefined && rb !== undefined && ra.record.path === rb.record.path) {
        out.push(
          ...compareRecords(ra.record, rb.record, { ...where, path: ra.record.path }, [ra.head, rb.head]),
        );
        continue;
      }
      inStep = false;
      if (ra !== undefined) {
        restA.set(ra.record.path, ra.record);
        orderA.push(ra.record.path);
      }
      if (rb !== undefined) {
        restB.set(rb.record.path, rb.record);
        orderB.push(rb.record.path);
      }
    }
  } finally {
    await itA.return(undefined);
    await itB.return(undefined);
  }
  out.push(...compareMaps(restA, restB, where));
  const common = (order: string[], other: Map<string, EntryRecord>) => order.filter((p) => other.has(p));
  const ca = common(orderA, restB);
  const cb = common(orderB, restA);
  const at = ca.findIndex((p, i) => p !== cb[i]);
  if (at >= 0) {
    out.push(
      difference(
        'entry-order',
        'file-order',
        { ...where, path: ca[at]! },
        ca.slice(at, at + 3),
        cb.slice(at, at + 3),
      ),
    );
  }
  return out;
}

/** Awaits both (so neither side is left running), then throws the first failure. */
async function both<X, Y>(x: Promise<X> | X, y: Promise<Y> | Y): Promise<[X, Y]> {
  const [rx, ry] = await Promise.allSettled([x, y]);
  if (rx.status === 'rejected') throw rx.reason;
  if (ry.status === 'rejected') throw ry.reason;
  return [rx.value, ry.value];
}

/** Compares two path-keyed maps of records (sorted by path). */
export function compareMaps(
  a: Map<string, EntryRecord>,
  b: Map<string, EntryRecord>,
  where: { platform: string; layer?: number },
): Difference[] {
  const out: Difference[] = [];
  const paths = [...new Set([...a.keys(), ...b.keys()])].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
  for (const path of paths) {
    const ra = a.get(path);
    const rb = b.get(path);
    const w = { ...where, path };
    if (ra !== undefined && rb !== undefined) out.push(...compareRecords(ra, rb, w));
    else if (ra !== undefined) out.push(presence(ra, 'a', w));
    else if (rb !== undefined) out.push(presence(rb, 'b', w));
  }
  return out;
}

/**
 * The filesystem an image's layers make: path → record, whiteouts (`.wh.NAME`, `.wh..wh..opq`) applied
 * and removed. Cost: streams every layer; memory O(paths) (metadata and digests only); each layer's
 * whiteouts cost one pass over the paths below it, however many there are.
 */
export async function flattenLayers(
  blobs: BlobReader,
  layers: Descriptor[],
): Promise<Map<string, EntryRecord>> {
  const fs = new Map<string, EntryRecord>();
  for (const layer of layers) {
    const whiteouts = new LayerWhiteouts();
    const added = new Map<string, EntryRecord>();
    for await (const e of layerEntries(blobs, layer)) {
      const { record } = await readRecord(e, false);
      if (!whiteouts.add(record.path)) added.set(record.path, record);
    }
    whiteouts.applyTo(fs);
    for (const [k, v] of added) fs.set(k, v);
  }
  return fs;
}

/**
 * What one layer's whiteouts hide in the layers below it: gathered while the layer streams, applied at
 * its end. `.wh.NAME` hides NAME and everything under it; `.wh..wh..opq` everything its directory
 * holds below, not the directory itself (the layer's own entries are not affected: apply before adding
 * them).
 */
export class LayerWhiteouts {
  /** Whited-out paths themselves. */
  readonly #paths = new Set<string>();
  /** Prefixes (ending in '/') everything under which is hidden, the directory entry `x/` included. */
  readonly #below = new Set<string>();
  /** Opaque directories' prefixes ('' for the root): what is under them is hidden, not their entry. */
  readonly #opaque = new Set<string>();

  /**
   * Records `path` (an archive path) when it is a whiteout; returns whether it was one. A malformed
   * one (`.wh.`, `.wh..`) hides nothing: the diff shows it as the entry it is.
   */
  add(path: string): boolean {
    const wh = whiteoutOf(path);
    if (wh === null || wh === 'malformed') return false;
    if ('opaqueDir' in wh) {
      this.#opaque.add(wh.opaqueDir); // 'a/', or '' at the root of the layer
    } else {
      this.#paths.add(wh.removes);
      this.#below.add(wh.removes.endsWith('/') ? wh.removes : `${wh.removes}/`);
    }
    return true;
  }

  /** Deletes the paths these whiteouts hide from `fs`; returns how many. Cost: O(paths × depth). */
  applyTo(fs: Map<string, unknown>): number {
    if (this.#paths.size === 0 && this.#opaque.size === 0) return 0;
    let removed = 0;
    for (const path of fs.keys()) {
      if (this.#hides(path)) {
        fs.delete(path);
        removed++;
      }
    }
    return removed;
  }

  #hides(path: string): boolean {
    if (this.#paths.has(path) || (this.#opaque.has('') && path !== '')) return true;
    for (let i = path.indexOf('/'); i >= 0; i = path.indexOf('/', i + 1)) {
      const prefix = path.slice(0, i + 1);
      if (this.#below.has(prefix)) return true;
      if (i + 1 < path.length && this.#opaque.has(prefix)) return true;
    }
    return false;
  }
}
