// Attestations as OCI 1.1 artifact manifests whose `subject` is the image manifest they describe.
import { sha256 } from '../digest/index.js';
import { canonicalJson } from '../oci/canonical-json.js';
import type { BlobReader, ImageSet } from '../oci/image-set.js';
import { MediaType } from '../oci/media-types.js';
import type { Descriptor, ImageManifest } from '../oci/types.js';
import { parseManifest } from '../transport/layout-docs.js';

/** Where artifact blobs go (a BlobStore). */
export interface BlobWriter {
  putBytes(data: Uint8Array, expect?: { digest?: string; size?: number }): Promise<unknown>;
}

/** The OCI empty JSON blob `{}` and its descriptor (the config of every artifact manifest). */
export const EMPTY_JSON = canonicalJson({});
export const EMPTY_DESCRIPTOR: Descriptor = {
  mediaType: MediaType.ociEmpty,
  digest: sha256(EMPTY_JSON),
  size: EMPTY_JSON.length,
};

/** A small JSON blob ready to store. */
export interface JsonArtifactBlob {
  descriptor: Descriptor;
  bytes: Buffer;
}

/** A canonical JSON blob of `value` with `mediaType`. Pure. */
export function artifactBlob(mediaType: string, value: unknown): JsonArtifactBlob {
  const bytes = canonicalJson(value);
  return { bytes, descriptor: { mediaType, digest: sha256(bytes), size: bytes.length } };
}

/**
 * The artifact manifest for one attestation: `artifactType` = the blob's media type, config = the
 * empty descriptor, one layer = the blob, `subject` = the image manifest. Returns the manifest blob;
 * its descriptor carries `artifactType` (as the OCI referrers API lists it). Pure.
 */
export function artifactManifest(
  subject: Descriptor,
  blob: Descriptor,
  annotations?: Record<string, string>,
): JsonArtifactBlob {
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.ociManifest,
    artifactType: blob.mediaType,
    config: EMPTY_DESCRIPTOR,
    layers: [{ mediaType: blob.mediaType, digest: blob.digest, size: blob.size }],
    subject: { mediaType: subject.mediaType, digest: subject.digest, size: subject.size },
    ...(annotations ? { annotations } : {}),
  };
  const { bytes, descriptor } = artifactBlob(MediaType.ociManifest, manifest);
  return { bytes, descriptor: { ...descriptor, artifactType: blob.mediaType } };
}

/** Stores an attestation blob and its artifact manifest (and the empty config); returns the manifest descriptor. */
export async function storeAttestation(
  store: BlobWriter,
  subject: Descriptor,
  blob: JsonArtifactBlob,
): Promise<Descriptor> {
  await store.putBytes(EMPTY_JSON, EMPTY_DESCRIPTOR);
  await store.putBytes(blob.bytes, blob.descriptor);
  const manifest = artifactManifest(subject, blob.descriptor);
  await store.putBytes(manifest.bytes, manifest.descriptor);
  return manifest.descriptor;
}

/**
 * The set with `artifacts` appended to its root index (the layout's index.json), after any entry with
 * the same digest is dropped (each artifact appears once). The image index blob is untouched, so its digest does not change. Pure.
 */
export function withReferrers(set: ImageSet, artifacts: readonly Descriptor[]): ImageSet {
  const unique = [...new Map(artifacts.map((a) => [a.digest, a])).values()];
  const adding = new Set(unique.map((a) => a.digest));
  return {
    index: {
      ...set.index,
      manifests: [...set.index.manifests.filter((m) => !adding.has(m.digest)), ...unique],
    },
    blobs: set.blobs,
  };
}

/** A referrer found in a set: its root entry and parsed artifact manifest. */
export interface FoundReferrer {
  descriptor: Descriptor;
  manifest: ImageManifest;
}

/**
 * The root entries of `set` that are artifact manifests with a `subject`, optionally only those whose
 * subject is one of `subjects` and whose artifactType is `artifactType`. Cost: reads each root manifest.
 */
export async function findReferrers(
  set: ImageSet,
  filter: { subjects?: readonly string[]; artifactType?: string } = {},
): Promise<FoundReferrer[]> {
  const out: FoundReferrer[] = [];
  for (const d of set.index.manifests) {
    if (d.mediaType !== MediaType.ociManifest) continue;
    const manifest = parseManifest(await set.blobs.readBytes(d), `manifest ${d.digest}`);
    if (manifest.subject === undefined) continue;
    if (filter.subjects && !filter.subjects.includes(manifest.subject.digest)) continue;
    const type = manifest.artifactType ?? manifest.config.mediaType;
    if (filter.artifactType && type !== filter.artifactType) continue;
    out.push({ descriptor: d, manifest });
  }
  return out;
}

/** The one layer (statement or document) of an artifact manifest, read whole (at most 64 MiB). */
export async function readArtifactPayload(blobs: BlobReader, referrer: FoundReferrer): Promise<Buffer> {
  const layer = referrer.manifest.layers[0];
  if (layer === undefined) return Buffer.alloc(0);
  return blobs.readBytes(layer, 64 * 1024 * 1024);
}

/** A referrer as `imprint inspect` lists it. */
export interface ListedReferrer {
  digest: string;
  artifactType: string;
  subject: string;
  /** The payload's media type and size. */
  payload: Descriptor | undefined;
}

/** Every referrer among the set's root entries, in root-index order. Cost: reads each root manifest. */
export async function listReferrers(set: ImageSet): Promise<ListedReferrer[]> {
  return (await findReferrers(set)).map((r) => ({
    digest: r.descriptor.digest,
    artifactType: r.manifest.artifactType ?? r.manifest.config.mediaType,
    subject: r.manifest.subject!.digest,
    payload: r.manifest.layers[0],
  }));
}
