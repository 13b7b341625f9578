// diffImageSets: index → platforms → manifest → config → layers → tar entries, as data.
import { ImprintError } from '../errors.js';
import type { ImageSet } from '../oci/image-set.js';
import { INDEX_TYPES } from '../oci/media-types.js';
import { formatPlatform, parsePlatform, platformMatches } from '../oci/platform.js';
import type { Descriptor, ImageConfig, ImageIndex, ImageManifest } from '../oci/types.js';
import { walkImageSet } from '../transport/index.js';
import { applyIgnores, difference, sortDifferences } from './classify.js';
import { compareAnnotations, compareConfigs, compareFields } from './documents.js';
import { compareLayerEntries, compareMaps, flattenLayers } from './layers.js';
import type { Difference, DiffOptions, DiffResult } from './types.js';

interface ImageSide {
  platform: string;
  descriptor: Descriptor;
  manifest: ImageManifest;
  config: ImageConfig;
}

async function imagesOf(set: ImageSet): Promise<Map<string, ImageSide>> {
  const walked = await walkImageSet(set);
  const out = new Map<string, ImageSide>();
  for (const img of walked.images) {
    const config = JSON.parse(
      (await set.blobs.readBytes(img.manifest.config)).toString('utf8'),
    ) as ImageConfig;
    const p = img.descriptor.platform ?? {
      os: config.os,
      architecture: config.architecture,
      ...(config.variant ? { variant: config.variant } : {}),
    };
    const platform = formatPlatform(p);
    if (!out.has(platform))
      out.set(platform, { platform, descriptor: img.descriptor, manifest: img.manifest, config });
  }
  return out;
}

function layerValue(l: Descriptor): { digest: string; mediaType: string; size: number } {
  return { digest: l.digest, mediaType: l.mediaType, size: l.size };
}

/** Differences between the root indexes (and root entries that are indexes, paired by position). */
async function compareIndexes(a: ImageSet, b: ImageSet): Promise<Difference[]> {
  const out = compareAnnotations(a.index.annotations, b.index.annotations, {}, 'index.');
  const n = Math.min(a.index.manifests.length, b.index.manifests.length);
  for (let i = 0; i < n; i++) {
    const da = a.index.manifests[i]!;
    const db = b.index.manifests[i]!;
    if (da.digest === db.digest) continue;
    if (INDEX_TYPES.includes(da.mediaType) !== INDEX_TYPES.includes(db.mediaType)) {
      // An index on one side, a bare manifest on the other (a copy narrowed to one platform): the
      // digests people pin differ, but not what runs: the images inside are compared by platform
      // below, so --semantic can tell the same content in another wrapper.
      out.push(
        difference(
          'index',
          'wrapper',
          { field: `manifests[${i}]` },
          { mediaType: da.mediaType, digest: da.digest },
          { mediaType: db.mediaType, digest: db.digest },
        ),
      );
      continue;
    }
    if (!INDEX_TYPES.includes(da.mediaType)) continue;
    const ia = JSON.parse((await a.blobs.readBytes(da)).toString('utf8')) as ImageIndex;
    const ib = JSON.parse((await b.blobs.readBytes(db)).toString('utf8')) as ImageIndex;
    out.push(...compareAnnotations(ia.annotations, ib.annotations, {}, `manifests[${i}].`));
    const skip = new Set(['manifests', 'annotations']);
    out.push(
      ...compareFields(
        'index',
        ia as unknown as Record<string, unknown>,
        ib as unknown as Record<string, unknown>,
        skip,
        {},
        `manifests[${i}].`,
      ),
    );
  }
  return out;
}

/** Differences between two images of one platform. Cost: streams only the layers whose digests differ. */
async function compareImages(a: ImageSet, b: ImageSet, ia: ImageSide, ib: ImageSide): Promise<Difference[]> {
  const where = { platform: ia.platform };
  if (ia.descriptor.digest === ib.descriptor.digest) return [];
  const out: Difference[] = [];
  const skip = new Set(['config', 'layers', 'annotations']);
  out.push(
    ...compareFields(
      'manifest',
      ia.manifest as unknown as Record<string, unknown>,
      ib.manifest as unknown as Record<string, unknown>,
      skip,
      where,
    ),
  );
  if (ia.manifest.config.mediaType !== ib.manifest.config.mediaType) {
    out.push(
      difference(
        'manifest',
        'substance',
        { ...where, field: 'config.mediaType' },
        ia.manifest.config.mediaType,
        ib.manifest.config.mediaType,
      ),
    );
  }
  out.push(...compareAnnotations(ia.manifest.annotations, ib.manifest.annotations, where, 'manifest.'));
  if (ia.manifest.config.digest !== ib.manifest.config.digest)
    out.push(...compareConfigs(ia.config, ib.config, where));
  const la = ia.manifest.layers;
  const lb = ib.manifest.layers;
  const reordered = sameLayersReordered(la, lb, ia.config, ib.config);
  if (la.length !== lb.length || reordered) {
    // Another count, or the same layers in another order: pairing by position would list every
    // file of the moved layers as added and removed; what the container sees is the flattened tree.
    out.push(
      difference(
        reordered ? 'layer-order' : 'layer-count',
        'substance',
        { ...where, field: 'layers' },
        la.map((l) => l.digest),
        lb.map((l) => l.digest),
      ),
    );
    const [fa, fb] = await Promise.all([flattenLayers(a.blobs, la), flattenLayers(b.blobs, lb)]);
    out.push(...compareMaps(fa, fb, where));
    return out;
  }
  for (let i = 0; i < la.length; i++) {
    const x = la[i]!;
    const y = lb[i]!;
    if (x.digest === y.digest) {
      // The same bytes, described otherwise (a media type rewritten by a push, annotations).
      out.push(...compareLayerDescriptors(x, y, { ...where, layer: i }));
      continue;
    }
    const at = { ...where, layer: i };
    const diffA = ia.config.rootfs?.diff_ids?.[i];
    const diffB = ib.config.rootfs?.diff_ids?.[i];
    if (diffA !== undefined && diffA === diffB) {
      out.push(
        difference('compression', 'tar-format', { ...at, field: 'digest' }, layerValue(x), layerValue(y)),
      );
      continue;
    }
    const entries = await compareLayerEntries({ blobs: a.blobs, layer: x }, { blobs: b.blobs, layer: y }, at);
    if (entries.length === 0) {
      out.push(
        difference('tar-format', 'tar-format', { ...at, field: 'diff_id' }, diffA ?? null, diffB ?? null),
      );
    }
    out.push(...entries);
  }
  return out;
}

/**
 * True when the two lists hold the same layers, by content (diff_ids when both configs list them,
 * else digests), in another order.
 */
function sameLayersReordered(
  la: readonly Descriptor[],
  lb: readonly Descriptor[],
  ca: ImageConfig,
  cb: ImageConfig,
): boolean {
  if (la.length !== lb.length) return false;
  const ida = ca.rootfs?.diff_ids;
  const idb = cb.rootfs?.diff_ids;
  const byContent = ida?.length === la.length && idb?.length === lb.length;
  const ka = byContent ? [...ida] : la.map((l) => l.digest);
  const kb = byContent ? [...idb] : lb.map((l) => l.digest);
  if (ka.every((k, i) => k === kb[i])) return false;
  const sorted = (ks: string[]) => [...ks].sort().join(' ');
  return sorted(ka) === sorted(kb);
}

/** Differences between two descriptors of one layer blob: its media type and annotations. */
function compareLayerDescriptors(
  x: Descriptor,
  y: Descriptor,
  where: { platform: string; layer: number },
): Difference[] {
  const out: Difference[] = [];
  if (x.mediaType !== y.mediaType)
    out.push(difference('manifest', 'substance', { ...where, field: 'mediaType' }, x.mediaType, y.mediaType));
  out.push(...compareAnnotations(x.annotations, y.annotations, where, `layers[${where.layer}].`));
  return out;
}

/**
 * Compares two image sets: root index, platforms, and per platform the manifest, config and layers
 * (tar entries; flattened filesystems when layer counts differ). `names` label the sides in the result.
 * Cost: reads every manifest and config; streams each pair of differing layers once, never whole in memory.
 */
export async function diffImageSets(
  a: ImageSet,
  b: ImageSet,
  opts: DiffOptions = {},
  names: { a: string; b: string } = { a: 'A', b: 'B' },
): Promise<DiffResult> {
  const [imgA, imgB] = [await imagesOf(a), await imagesOf(b)];
  let platforms = [...new Set([...imgA.keys(), ...imgB.keys()])].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
  const all: Difference[] = [];
  if (opts.platform !== undefined) {
    const want = parsePlatform(opts.platform);
    platforms = platforms.filter((p) => platformMatches(parsePlatformLoose(p), want));
    if (platforms.length === 0) {
      throw new ImprintError(
        'PLATFORM_NOT_FOUND',
        `neither ${names.a} nor ${names.b} has a ${opts.platform} image`,
        {
          hint: `They have: ${[...new Set([...imgA.keys(), ...imgB.keys()])].sort().join(', ') || 'no images'}.`,
          details: { wanted: opts.platform },
        },
      );
    }
  } else {
    all.push(...(await compareIndexes(a, b)));
  }
  const compared: string[] = [];
  for (const p of platforms) {
    const ia = imgA.get(p);
    const ib = imgB.get(p);
    if (ia === undefined || ib === undefined) {
      all.push(
        difference(
          'index',
          'substance',
          { platform: p, field: 'platform' },
          ia?.descriptor.digest ?? null,
          ib?.descriptor.digest ?? null,
        ),
      );
      continue;
    }
    compared.push(p);
    all.push(...(await compareImages(a, b, ia, ib)));
  }
  const { kept, ignored } = applyIgnores(all, opts);
  return {
    schemaVersion: 1,
    a: names.a,
    b: names.b,
    identical: kept.length === 0,
    differences: sortDifferences(kept),
    ignored,
    platforms: compared,
  };
}

function parsePlatformLoose(p: string): { os: string; architecture: string; variant?: string } {
  const [os = '', architecture = '', variant] = p.split('/');
  return variant === undefined ? { os, architecture } : { os, architecture, variant };
}
