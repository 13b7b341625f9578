// Which root entries of an image set are referrers (attestations) of which images: the link between a
// tagged image and the untagged referrer entries beside it in an OCI layout.
import { ImprintError } from '../errors.js';
import type { BlobReader, ImageSet } from '../oci/image-set.js';
import { Annotation, INDEX_TYPES } from '../oci/media-types.js';
import type { Descriptor } from '../oci/types.js';
import { parseIndex, parseManifest } from './layout-docs.js';
import { formatReference, type ImageRef } from './reference.js';

/**
 * The digests the entries stand for as a referrer's subject: each entry's own digest and, for an
 * image index, the manifests it lists. Cost: reads each index entry's blob.
 */
export async function subjectDigestsOf(
  blobs: BlobReader,
  entries: readonly Descriptor[],
): Promise<Set<string>> {
  const out = new Set<string>();
  for (const d of entries) {
    out.add(d.digest);
    if (INDEX_TYPES.includes(d.mediaType)) {
      for (const m of parseIndex(await blobs.readBytes(d), `index ${d.digest}`).manifests) out.add(m.digest);
    }
  }
  return out;
}

/**
 * The untagged artifact entries of `entries` (attestations, as imprint and oras store them in a
 * layout) whose manifest's subject is in `subjects`, in order. An entry whose manifest cannot be read
 * is left out. Cost: reads each untagged artifact manifest.
 */
export async function referrerEntriesOf(
  blobs: BlobReader,
  entries: readonly Descriptor[],
  subjects: ReadonlySet<string>,
): Promise<Descriptor[]> {
  const out: Descriptor[] = [];
  for (const d of entries) {
    if (d.artifactType === undefined || d.annotations?.[Annotation.refName] !== undefined) continue;
    const manifest = await blobs
      .readBytes(d)
      .then((bytes) => parseManifest(bytes, `manifest ${d.digest}`))
      .catch(() => undefined);
    if (manifest?.subject !== undefined && subjects.has(manifest.subject.digest)) out.push(d);
  }
  return out;
}

/**
 * USAGE when `set`, read from `ref` without a tag, is a layout holding several tagged images: taking
 * one of them would be a silent guess (skopeo refuses too). `what` says what needs one image.
 */
export function requireOneImage(ref: ImageRef, set: ImageSet, what: string): void {
  if ((ref.transport !== 'oci' && ref.transport !== 'oci-archive') || ref.tag !== undefined) return;
  const tags = [
    ...new Set(
      set.index.manifests
        .map((m) => m.annotations?.[Annotation.refName])
        .filter((t): t is string => t !== undefined),
    ),
  ];
  if (tags.length <= 1) return;
  throw new ImprintError(
    'USAGE',
    `${formatReference(ref)} holds ${tags.length} tagged images (${tags.join(', ')}); ${what} needs one`,
    {
      hint: `Name it: ${formatReference({ ...ref, tag: tags[0] as string })}${what === 'copy' ? ', or copy them all with --all' : ''}.`,
    },
  );
}
