import { ImprintError } from '../errors.js';
import type { ImageSet } from './image-set.js';
import { INDEX_TYPES, MANIFEST_TYPES } from './media-types.js';
import { formatPlatform, platformMatches } from './platform.js';
import type { Descriptor, ImageIndex, Platform } from './types.js';

/** Every image manifest descriptor reachable from the set's root, with its platform. Reads indexes only. */
export async function platformManifests(set: ImageSet): Promise<Descriptor[]> {
  const out: Descriptor[] = [];
  // Each index once: indexes that list one another twice per level would otherwise cost 2^depth reads.
  const seen = new Set<string>();
  const walk = async (d: Descriptor): Promise<void> => {
    if (INDEX_TYPES.includes(d.mediaType)) {
      if (seen.has(d.digest)) return;
      seen.add(d.digest);
      const index = JSON.parse((await set.blobs.readBytes(d)).toString('utf8')) as ImageIndex;
      for (const m of index.manifests) await walk(m);
    } else if (MANIFEST_TYPES.includes(d.mediaType) && d.platform !== undefined) {
      out.push(d);
    }
  };
  for (const d of set.index.manifests) await walk(d);
  return out;
}

/**
 * Narrows a set to the one image for `want`: a root index whose only entry is that platform's manifest.
 * For outputs that hold a single image (docker-archive). PLATFORM_NOT_FOUND lists what the set has.
 */
export async function selectPlatform(set: ImageSet, want: Platform): Promise<ImageSet> {
  const all = await platformManifests(set);
  const matching = all.filter((d) => platformMatches(d.platform, want));
  const found = matching[0];
  if (found === undefined) {
    throw new ImprintError('PLATFORM_NOT_FOUND', `the image has no ${formatPlatform(want)} variant`, {
      hint: `It has: ${all.map((d) => formatPlatform(d.platform!)).join(', ') || 'no platform-specific manifests'}; choose one with --platform.`,
      details: { wanted: formatPlatform(want) },
    });
  }
  const variants = [...new Set(matching.map((d) => formatPlatform(d.platform!)))];
  if (variants.length > 1) {
    throw new ImprintError(
      'PLATFORM_NOT_FOUND',
      `${formatPlatform(want)} matches more than one image: ${variants.join(', ')}`,
      {
        hint: `Name the variant with --platform, e.g. --platform ${variants[variants.length - 1]}.`,
        details: { wanted: formatPlatform(want), variants },
      },
    );
  }
  return { index: { ...set.index, manifests: [found] }, blobs: set.blobs };
}

/** The OCI platform of this machine (`linux/<arch>`), for choosing a default single image. */
export function hostPlatform(nodeArch: string = process.arch): Platform {
  const arch: Record<string, string> = {
    x64: 'amd64',
    arm64: 'arm64',
    arm: 'arm',
    ia32: '386',
    ppc64: 'ppc64le',
    s390x: 's390x',
    riscv64: 'riscv64',
  };
  return { os: 'linux', architecture: arch[nodeArch] ?? nodeArch };
}
