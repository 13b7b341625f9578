import { pipeline } from 'node:stream/promises';
import { decompressStream } from '../compress/index.js';
import { type Digest, HashingStream, isDigest } from '../digest/index.js';
import { errorText, ImprintError } from '../errors.js';
import type { BlobReader, ImageSet } from './image-set.js';
import { CONFIG_TYPES, INDEX_TYPES, LAYER_TYPES, layerCompression, MANIFEST_TYPES } from './media-types.js';
import { formatPlatform } from './platform.js';
import type { Descriptor, ImageConfig, ImageIndex, ImageManifest, Platform } from './types.js';

export interface ValidateOptions {
  /** Decompress every layer and check it against the config's diff_ids (reads every layer). Default true. */
  checkLayers?: boolean;
}

export interface ValidatedImage {
  manifest: Digest;
  platform: string;
  layers: number;
}

export interface ValidationReport {
  images: ValidatedImage[];
  artifacts: Digest[];
}

/**
 * Checks every invariant of an image set: descriptors (media type, digest form, size), blob digests and
 * sizes, JSON structure, manifest ↔ descriptor media types, config platform ↔ descriptor platform,
 * layer count ↔ diff_ids ↔ non-empty history, and (by default) each layer's uncompressed digest against
 * its diff_id. Collects every problem, then throws one INVALID_IMAGE listing them all.
 * Cost: reads every blob; with checkLayers, decompresses every layer.
 */
export async function validateImage(set: ImageSet, options: ValidateOptions = {}): Promise<ValidationReport> {
  const v = new Validator(set.blobs, options.checkLayers ?? true);
  v.checkIndexDoc(set.index, 'index.json');
  for (const [i, d] of set.index.manifests.entries()) await v.walk(d, `index.json manifests[${i}]`);
  if (v.problems.length > 0) {
    throw new ImprintError(
      'INVALID_IMAGE',
      `the image is invalid:\n${v.problems.map((p) => `  - ${p}`).join('\n')}`,
      {
        hint: 'The image was built or transferred incorrectly; rebuild it or fetch it again.',
        details: { problems: v.problems },
      },
    );
  }
  return v.report;
}

class Validator {
  readonly problems: string[] = [];
  readonly report: ValidationReport = { images: [], artifacts: [] };
  readonly #seen = new Set<string>();

  constructor(
    readonly blobs: BlobReader,
    readonly checkLayers: boolean,
  ) {}

  problem(where: string, what: string): void {
    this.problems.push(`${where}: ${what}`);
  }

  checkDescriptor(d: Descriptor, where: string, allowed?: readonly string[]): boolean {
    let ok = true;
    if (typeof d !== 'object' || d === null) {
      this.problem(where, 'descriptor is not an object');
      return false;
    }
    if (
      typeof d.mediaType !== 'string' ||
      !/^[A-Za-z0-9][\w!#$&^.+-]*\/[A-Za-z0-9][\w!#$&^.+-]*$/.test(d.mediaType)
    ) {
      this.problem(where, `mediaType ${JSON.stringify(d.mediaType)} is not a media type`);
      ok = false;
    } else if (allowed && !allowed.includes(d.mediaType)) {
      this.problem(where, `mediaType ${d.mediaType} is not one of ${allowed.join(', ')}`);
      ok = false;
    }
    if (!isDigest(d.digest)) {
      this.problem(where, `digest ${JSON.stringify(d.digest)} is not sha256:<64 hex>`);
      ok = false;
    }
    if (!Number.isSafeInteger(d.size) || d.size < 0) {
      this.problem(where, `size ${JSON.stringify(d.size)} is not a non-negative integer`);
      ok = false;
    }
    if (d.platform !== undefined) this.checkPlatform(d.platform, `${where} platform`);
    if (d.annotations !== undefined) this.checkStringMap(d.annotations, `${where} annotations`);
    return ok;
  }

  checkPlatform(p: Platform, where: string): void {
    if (typeof p.os !== 'string' || p.os === '') this.problem(where, 'os is missing');
    if (typeof p.architecture !== 'string' || p.architecture === '')
      this.problem(where, 'architecture is missing');
    if (p.variant !== undefined && (typeof p.variant !== 'string' || p.variant === ''))
      this.problem(where, 'variant is empty');
  }

  checkStringMap(m: unknown, where: string): void {
    if (typeof m !== 'object' || m === null || Array.isArray(m)) {
      this.problem(where, 'is not a map');
      return;
    }
    for (const [k, val] of Object.entries(m))
      if (typeof val !== 'string') this.problem(where, `${k} is not a string`);
  }

  checkIndexDoc(index: ImageIndex, where: string): void {
    if (index.schemaVersion !== 2) this.problem(where, `schemaVersion is ${index.schemaVersion}, expected 2`);
    if (index.mediaType !== undefined && !INDEX_TYPES.includes(index.mediaType)) {
      this.problem(where, `mediaType ${index.mediaType} is not an index media type`);
    }
    if (!Array.isArray(index.manifests)) this.problem(where, 'manifests is not a list');
    if (index.annotations !== undefined) this.checkStringMap(index.annotations, `${where} annotations`);
  }

  async readJson<T>(d: Descriptor, where: string): Promise<T | undefined> {
    let bytes: Buffer;
    try {
      bytes = await this.blobs.readBytes(d);
    } catch (err) {
      this.problem(where, `blob ${d.digest}: ${errorText(err)}`);
      return undefined;
    }
    try {
      return JSON.parse(bytes.toString('utf8')) as T;
    } catch (err) {
      this.problem(where, `blob ${d.digest} is not JSON: ${errorText(err)}`);
      return undefined;
    }
  }

  async walk(d: Descriptor, where: string): Promise<void> {
    if (!this.checkDescriptor(d, where)) return;
    if (this.#seen.has(d.digest)) return;
    this.#seen.add(d.digest);
    if (INDEX_TYPES.includes(d.mediaType)) {
      const index = await this.readJson<ImageIndex>(d, where);
      if (index === undefined) return;
      this.checkIndexDoc(index, `${where} (${d.digest})`);
      if (index.mediaType !== d.mediaType)
        this.problem(
          where,
          `index mediaType ${index.mediaType} differs from its descriptor's ${d.mediaType}`,
        );
      for (const [i, m] of (index.manifests ?? []).entries())
        await this.walk(m, `${where} → manifests[${i}]`);
    } else if (MANIFEST_TYPES.includes(d.mediaType)) {
      await this.walkManifest(d, where);
    } else {
      // A blob referenced directly from an index that is neither index nor manifest: just check it.
      await this.checkBlob(d, where);
    }
  }

  async walkManifest(d: Descriptor, where: string): Promise<void> {
    const m = await this.readJson<ImageManifest>(d, where);
    if (m === undefined) return;
    const at = `${where} (${d.digest})`;
    if (m.schemaVersion !== 2) this.problem(at, `schemaVersion is ${m.schemaVersion}, expected 2`);
    if (m.mediaType !== d.mediaType)
      this.problem(at, `manifest mediaType ${m.mediaType} differs from its descriptor's ${d.mediaType}`);
    if (!this.checkDescriptor(m.config, `${at} config`)) return;
    if (!Array.isArray(m.layers)) {
      this.problem(at, 'layers is not a list');
      return;
    }
    if (m.subject !== undefined) this.checkDescriptor(m.subject, `${at} subject`);
    if (m.annotations !== undefined) this.checkStringMap(m.annotations, `${at} annotations`);

    if (!CONFIG_TYPES.includes(m.config.mediaType)) {
      // An artifact (attestation, SBOM...): its blobs must exist and match.
      await this.checkBlob(m.config, `${at} config`);
      for (const [i, l] of m.layers.entries())
        if (this.checkDescriptor(l, `${at} layers[${i}]`)) await this.checkBlob(l, `${at} layers[${i}]`);
      this.report.artifacts.push(d.digest);
      return;
    }
    const config = await this.readJson<ImageConfig>(m.config, `${at} config`);
    if (config === undefined) return;
    const cat = `${at} config (${m.config.digest})`;
    if (typeof config.os !== 'string' || config.os === '') this.problem(cat, 'os is missing');
    if (typeof config.architecture !== 'string' || config.architecture === '')
      this.problem(cat, 'architecture is missing');
    if (d.platform !== undefined) {
      const want = formatPlatform(d.platform);
      const found = formatPlatform({
        os: config.os,
        architecture: config.architecture,
        ...(config.variant ? { variant: config.variant } : {}),
      });
      if (want !== found) this.problem(cat, `platform ${found} differs from the descriptor's ${want}`);
    }
    if (config.created !== undefined && Number.isNaN(Date.parse(config.created)))
      this.problem(cat, `created ${config.created} is not an RFC 3339 time`);
    const diffIds = config.rootfs?.diff_ids;
    if (config.rootfs?.type !== 'layers' || !Array.isArray(diffIds)) {
      this.problem(cat, 'rootfs must be {type: "layers", diff_ids: [...]}');
      return;
    }
    if (diffIds.length !== m.layers.length) {
      this.problem(cat, `has ${diffIds.length} diff_ids for ${m.layers.length} layers`);
    }
    if (Array.isArray(config.history)) {
      const nonEmpty = config.history.filter((h) => !h.empty_layer).length;
      if (nonEmpty !== m.layers.length)
        this.problem(cat, `history has ${nonEmpty} non-empty entries for ${m.layers.length} layers`);
    }
    for (const [i, l] of m.layers.entries()) {
      const lw = `${at} layers[${i}]`;
      if (!this.checkDescriptor(l, lw, LAYER_TYPES)) continue;
      const diffId = diffIds[i];
      if (!isDigest(diffId)) {
        this.problem(cat, `diff_ids[${i}] ${JSON.stringify(diffId)} is not a digest`);
        await this.checkBlob(l, lw);
      } else if (this.checkLayers) {
        await this.checkLayer(l, diffId, lw);
      } else {
        await this.checkBlob(l, lw);
      }
    }
    this.report.images.push({
      manifest: d.digest,
      platform: formatPlatform({
        os: config.os,
        architecture: config.architecture,
        ...(config.variant ? { variant: config.variant } : {}),
      }),
      layers: m.layers.length,
    });
  }

  async checkBlob(d: Descriptor, where: string): Promise<void> {
    try {
      const stream = await this.blobs.open(d);
      for await (const _ of stream) {
        // The reader verifies digest and size at the end of the stream.
      }
    } catch (err) {
      this.problem(where, `blob ${d.digest}: ${errorText(err)}`);
    }
  }

  async checkLayer(d: Descriptor, diffId: Digest, where: string): Promise<void> {
    const hasher = new HashingStream();
    try {
      const kind = layerCompression(d.mediaType);
      await pipeline(
        await this.blobs.open(d),
        decompressStream(kind, { what: `layer ${d.digest}` }),
        hasher,
        async (src) => {
          for await (const _ of src) {
            // drain
          }
        },
      );
      if (hasher.digest() !== diffId)
        this.problem(where, `uncompressed digest ${hasher.digest()} differs from diff_id ${diffId}`);
    } catch (err) {
      this.problem(where, `layer ${d.digest}: ${errorText(err)}`);
    }
  }
}
