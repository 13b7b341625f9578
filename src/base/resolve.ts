import type { Digest } from '../digest/index.js';
import { ImprintError } from '../errors.js';
import type { LockBase, LockBaseImage } from '../lock/types.js';
import type { BlobReader } from '../oci/image-set.js';
import { INDEX_TYPES, MANIFEST_TYPES } from '../oci/media-types.js';
import { formatPlatform, platformMatches } from '../oci/platform.js';
import type { Descriptor, ImageConfig, ImageIndex, ImageManifest, Platform } from '../oci/types.js';
import { parseJson } from '../transport/layout-docs.js';
import type { BaseReference } from './reference.js';
import type { BaseBlobs } from './source.js';

/**
 * Resolves a base reference to digests, as `imprint lock` records them: the digest the reference
 * names now (a tag is resolved once, like BuildKit's CONVERT source policy; a pinned digest must be
 * reachable at the location) and, for every platform, the image manifest a build uses. Cost: reads
 * the top index or manifest and one config per platform when the top is a single manifest.
 */
export async function resolveBase(blobs: BaseBlobs, platforms: readonly Platform[]): Promise<LockBase> {
  const base = blobs.base;
  const top = base.pin === undefined ? await namedTop(blobs) : await pinnedTop(blobs, base.pin);
  const images: Record<string, LockBaseImage> = {};
  for (const platform of platforms) {
    const d = await platformImage(blobs, top, platform, base, blobs.label);
    images[formatPlatform(platform)] = { digest: d.digest, size: d.size, mediaType: d.mediaType };
  }
  return { ref: base.written, digest: top.digest, platforms: images };
}

/** The one image the reference names at its location (a registry tag, a layout tag, an archive's image). */
async function namedTop(blobs: BaseBlobs): Promise<Descriptor> {
  const set = await blobs.named();
  const images = set.index.manifests.filter(
    (d) =>
      (INDEX_TYPES.includes(d.mediaType) || MANIFEST_TYPES.includes(d.mediaType)) &&
      d.artifactType === undefined,
  );
  if (images.length === 1) return images[0]!;
  const base = blobs.base;
  throw new ImprintError(
    'BAD_REFERENCE',
    `${blobs.label}: the location holds ${images.length} images, expected exactly one`,
    {
      hint:
        images.length === 0
          ? 'Check the tag or name; the location has no image under it.'
          : 'Name one by tag (oci:DIR:TAG) or pin it by digest (...@sha256:<digest>).',
      details: { base: base.written, images: images.map((d) => d.digest) },
    },
  );
}

/** The pinned digest's descriptor (media type read from the document itself). */
async function pinnedTop(blobs: BlobReader, pin: Digest): Promise<Descriptor> {
  const bytes = await blobs.readBytes({ digest: pin });
  const doc = parseJson(bytes, `base image manifest ${pin}`) as { mediaType?: unknown; manifests?: unknown };
  const mediaType =
    typeof doc.mediaType === 'string'
      ? doc.mediaType
      : Array.isArray(doc.manifests)
        ? INDEX_TYPES[0]!
        : MANIFEST_TYPES[0]!;
  return { mediaType, digest: pin, size: bytes.length };
}

/** The image manifest of `platform` under `top` (an index, possibly nested, or one manifest). */
async function platformImage(
  blobs: BlobReader,
  top: Descriptor,
  want: Platform,
  base: BaseReference,
  label: string,
): Promise<Descriptor> {
  const seen: string[] = [];
  const walk = async (d: Descriptor, depth: number): Promise<Descriptor | undefined> => {
    if (INDEX_TYPES.includes(d.mediaType)) {
      if (depth > 4) return undefined;
      const index = parseJson(await blobs.readBytes(d), `base index ${d.digest}`) as ImageIndex;
      for (const m of index.manifests ?? []) {
        if (MANIFEST_TYPES.includes(m.mediaType)) {
          if (m.platform === undefined) continue;
          seen.push(formatPlatform(m.platform));
          if (platformMatches(m.platform, want)) return m;
        } else if (INDEX_TYPES.includes(m.mediaType)) {
          const found = await walk(m, depth + 1);
          if (found !== undefined) return found;
        }
      }
      return undefined;
    }
    if (!MANIFEST_TYPES.includes(d.mediaType)) {
      throw new ImprintError('INVALID_IMAGE', `${label}: ${d.digest} is a ${d.mediaType}, not an image`, {
        details: { base: base.written, mediaType: d.mediaType },
      });
    }
    const manifest = parseJson(await blobs.readBytes(d), `base manifest ${d.digest}`) as ImageManifest;
    const config = parseJson(
      await blobs.readBytes(manifest.config),
      `base config ${manifest.config.digest}`,
    ) as ImageConfig;
    const platform: Platform = {
      os: config.os,
      architecture: config.architecture,
      ...(config.variant === undefined ? {} : { variant: config.variant }),
    };
    seen.push(formatPlatform(platform));
    return platformMatches(platform, want) ? { ...d, platform } : undefined;
  };
  const found = await walk(top, 0);
  if (found !== undefined) return found;
  throw new ImprintError('PLATFORM_NOT_FOUND', `${label} has no ${formatPlatform(want)} image`, {
    hint: `It has: ${[...new Set(seen)].join(', ') || 'no platform-specific images'}. Remove the platform from the spec, or use a base that has it.`,
    details: { base: base.written, wanted: formatPlatform(want) },
  });
}
