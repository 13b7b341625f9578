import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type Digest, isDigest, sha256 } from '../digest/index.js';
import { canonicalJson } from '../oci/canonical-json.js';
import type { Descriptor } from '../oci/types.js';
import type { BlobStore } from '../store/index.js';
import { CHECKED_SUFFIX, readCheckedFile, writeCheckedFile } from '../store/index.js';
import type { WrittenLayer } from '../vfs/layer.js';
import type { AccountNames } from './assemble.js';
import { codeFingerprint } from './code-fingerprint.js';

/** A platform's layers as a previous build wrote them. */
export interface CachedLayers {
  layers: Array<{ name: string; descriptor: Descriptor; diffId: Digest; uncompressedSize?: number }>;
  /** The account names of the image's /etc/passwd and /etc/group, so `user` is checked on a hit too. */
  accounts?: AccountNames;
  /** The warnings of the build that made the layers (missing alternatives, no os-release), repeated on a hit. */
  notes?: string[];
  /** Its warnings about the program the container runs, and the config they were for (run-check.ts). */
  run?: { inputs: string; notes: string[] };
}

/**
 * Layers cached by the hash of every input that determines their bytes, so a rebuild with no change
 * does no install, decompression or compression. Records are small JSON files written atomically
 * with the sha256 of their content (a damaged record, whose diffIds would reach the image's config,
 * reads as absent); a record is only used when every blob it names is still in the store.
 */
export class LayerCache {
  readonly #dir: string;
  readonly #store: BlobStore;
  readonly #warn: (message: string) => void;

  /** `warn` is told of each damaged record or blob found (and left unused, or removed). */
  constructor(dir: string, store: BlobStore, warn: (message: string) => void = () => {}) {
    this.#dir = dir;
    this.#store = store;
    this.#warn = warn;
  }

  /**
   * The cache key of a description of inputs (any JSON value; hashed canonically) and of the running
   * code (codeFingerprint): what shapes layer bytes besides the inputs (tar rules, normalisation,
   * install effects, the removal list) is that code, so a new imprint never reuses older layers.
   */
  static key(inputs: unknown): string {
    return sha256(canonicalJson({ code: codeFingerprint(), inputs })).slice('sha256:'.length);
  }

  /**
   * The cached layers for `key`, or undefined (missing, unreadable, or a blob gone or corrupt: a
   * corrupt blob is removed, so the layer is built again). Cost: a read and hash of each layer blob.
   */
  async get(key: string): Promise<CachedLayers | undefined> {
    const file = join(this.#dir, `${key}${CHECKED_SUFFIX}`);
    const content = await readCheckedFile(file);
    if (content === undefined) {
      // Missing is the usual miss; present and failing its checksum is damage, said once it is seen.
      if (await exists(file))
        this.#warn(
          `the layer record ${file} is damaged (it does not match its checksum): not used; the layers are built again`,
        );
      return undefined;
    }
    let parsed: CachedLayers;
    try {
      parsed = JSON.parse(content.toString('utf8')) as CachedLayers;
    } catch {
      return undefined;
    }
    if (!Array.isArray(parsed.layers)) return undefined;
    for (const l of parsed.layers) {
      if (!isDigest(l.diffId) || !isDigest(l.descriptor?.digest)) return undefined;
      const desc = { digest: l.descriptor.digest, size: l.descriptor.size };
      // A blob deleted with part of the cache is a miss; one present that no longer hashes to its
      // digest is damage, which hasIntact removes.
      const present = await this.#store.has(desc.digest);
      if (await this.#store.hasIntact(desc)) continue;
      if (present)
        this.#warn(
          `the cached layer ${desc.digest} in ${this.#store.root} is damaged (its bytes no longer match its digest): removed; the layer is built again`,
        );
      return undefined;
    }
    return parsed;
  }

  /**
   * The layer of `entries` at `compression` (a codecDescription): one a build wrote before from
   * entries with the same fingerprint (entriesFingerprint: any spec, any platform) whose blob is still
   * intact, else the one `write` makes, then recorded. So a rebuild whose package layers did not change
   * (a per-package image with a new file on top) compresses only the layers that did. Cost: the
   * fingerprint, and a read and hash of the blob on a hit.
   */
  async byContent(
    fingerprint: string,
    compression: unknown,
    write: () => Promise<WrittenLayer>,
  ): Promise<{ layer: WrittenLayer; hit: boolean }> {
    const key = LayerCache.key({ layer: fingerprint, compression });
    const found = (await this.get(key))?.layers[0];
    if (found !== undefined && typeof found.uncompressedSize === 'number')
      return {
        layer: {
          descriptor: found.descriptor,
          diffId: found.diffId,
          uncompressedSize: found.uncompressedSize,
        },
        hit: true,
      };
    const layer = await write();
    await this.put(key, { layers: [{ name: 'content', ...layer }] });
    return { layer, hit: false };
  }

  /** Records the layers for `key` (atomic; concurrent writers of one key write the same bytes). */
  async put(key: string, value: CachedLayers): Promise<void> {
    await writeCheckedFile(join(this.#dir, `${key}${CHECKED_SUFFIX}`), canonicalJson(value));
  }
}

/** Whether anything is at `path` (an unreadable directory counts as nothing). */
async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
