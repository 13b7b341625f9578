// The JSON documents of an OCI image layout (oci-layout, index.json, manifests): parse, check, tag.
import { isDigest } from '../digest/index.js';
import { errorText, ImprintError } from '../errors.js';
import { canonicalJson } from '../oci/canonical-json.js';
import { Annotation, MediaType } from '../oci/media-types.js';
import type { Descriptor, ImageIndex, ImageManifest } from '../oci/types.js';

/** The `oci-layout` file imprint writes: `{"imageLayoutVersion":"1.0.0"}` in canonical JSON. */
export const OCI_LAYOUT_BYTES: Buffer = canonicalJson({ imageLayoutVersion: '1.0.0' });

/** Parses JSON text; INVALID_JSON naming `what`. */
export function parseJson(bytes: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as unknown;
  } catch (err) {
    throw new ImprintError('INVALID_JSON', `${what} is not valid JSON: ${errorText(err)}`, {
      cause: err,
      details: { what },
    });
  }
}

function invalid(what: string, why: string): ImprintError {
  return new ImprintError('INVALID_IMAGE', `${what}: ${why}`, { details: { what } });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Checks the shape of a descriptor (media type, digest, size); INVALID_IMAGE naming `what`. */
export function checkDescriptor(value: unknown, what: string): Descriptor {
  if (!isObject(value)) throw invalid(what, 'descriptor is not an object');
  if (typeof value.mediaType !== 'string' || value.mediaType === '')
    throw invalid(what, 'descriptor has no mediaType');
  if (!isDigest(value.digest))
    throw invalid(what, `digest ${JSON.stringify(value.digest)} is not sha256:<64 hex>`);
  if (!Number.isSafeInteger(value.size) || (value.size as number) < 0) {
    throw invalid(what, `size ${JSON.stringify(value.size)} is not a non-negative integer`);
  }
  return value as unknown as Descriptor;
}

/** Checks the `oci-layout` file: it must declare imageLayoutVersion 1.0.0. */
export function checkOciLayout(bytes: Uint8Array, what: string): void {
  const doc = parseJson(bytes, what);
  if (!isObject(doc) || doc.imageLayoutVersion !== '1.0.0') {
    throw invalid(
      what,
      `expected {"imageLayoutVersion":"1.0.0"}, found ${Buffer.from(bytes).toString('utf8').slice(0, 200)}`,
    );
  }
}

/** Parses an image index (a layout's index.json or an index blob) and checks its descriptors. */
export function parseIndex(bytes: Uint8Array, what: string): ImageIndex {
  const doc = parseJson(bytes, what);
  if (!isObject(doc)) throw invalid(what, 'an image index is a JSON object');
  if (doc.schemaVersion !== 2)
    throw invalid(what, `expected schemaVersion 2, found ${JSON.stringify(doc.schemaVersion)}`);
  if (!Array.isArray(doc.manifests)) throw invalid(what, 'an image index has a "manifests" array');
  for (const [i, m] of doc.manifests.entries()) checkDescriptor(m, `${what} manifests[${i}]`);
  return doc as unknown as ImageIndex;
}

/** Parses an image manifest and checks its config and layer descriptors. */
export function parseManifest(bytes: Uint8Array, what: string): ImageManifest {
  const doc = parseJson(bytes, what);
  if (!isObject(doc)) throw invalid(what, 'an image manifest is a JSON object');
  if (doc.schemaVersion !== 2)
    throw invalid(what, `expected schemaVersion 2, found ${JSON.stringify(doc.schemaVersion)}`);
  checkDescriptor(doc.config, `${what} config`);
  if (!Array.isArray(doc.layers)) throw invalid(what, 'an image manifest has a "layers" array');
  for (const [i, l] of doc.layers.entries()) checkDescriptor(l, `${what} layers[${i}]`);
  return doc as unknown as ImageManifest;
}

/** A copy of `d` with `extra` merged into its annotations (keys of `extra` win). */
export function annotate(d: Descriptor, extra: Record<string, string>): Descriptor {
  return { ...d, annotations: { ...(d.annotations ?? {}), ...extra } };
}

/** A copy of `d` without the annotation `key` (and without `annotations` when that empties it). */
export function withoutAnnotation(d: Descriptor, key: string): Descriptor {
  if (d.annotations?.[key] === undefined) return d;
  const { [key]: _dropped, ...rest } = d.annotations;
  const out: Descriptor = { ...d };
  if (Object.keys(rest).length > 0) out.annotations = rest;
  else delete out.annotations;
  return out;
}

/**
 * The index with `org.opencontainers.image.ref.name = tag` on every image entry (unchanged without a
 * tag). Referrers (entries with an `artifactType`: provenance, SBOM) stay untagged: a tag names images.
 */
export function tagIndex(index: ImageIndex, tag: string | undefined): ImageIndex {
  if (tag === undefined) return index;
  return {
    ...index,
    manifests: index.manifests.map((m) =>
      m.artifactType === undefined ? annotate(m, { [Annotation.refName]: tag }) : m,
    ),
  };
}

/**
 * The entries of a layout's index.json that `tag` selects (all entries without a tag). A tag's
 * ref.name annotation is removed from the selected entries: the tag belongs to the reference, so a
 * set written with a tag reads back equal to what was written. BAD_REFERENCE when nothing carries the tag.
 */
export function selectTag(index: ImageIndex, tag: string | undefined, where: string): ImageIndex {
  if (tag === undefined) return index;
  const chosen = index.manifests.filter((m) => m.annotations?.[Annotation.refName] === tag);
  if (chosen.length === 0) {
    const tags = [
      ...new Set(
        index.manifests.map((m) => m.annotations?.[Annotation.refName]).filter((t) => t !== undefined),
      ),
    ].sort();
    throw new ImprintError('BAD_REFERENCE', `${where} has no image tagged ${JSON.stringify(tag)}`, {
      hint:
        tags.length > 0
          ? `Tags present: ${tags.join(', ')}.`
          : 'The layout has no tagged images; leave the tag out.',
      details: { tag, tags },
    });
  }
  return {
    schemaVersion: 2,
    mediaType: MediaType.ociIndex,
    manifests: chosen.map((m) => withoutAnnotation(m, Annotation.refName)),
  };
}
