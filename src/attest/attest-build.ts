// One call for the build: provenance and SBOMs as referrers of each platform manifest.
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { parseBaseReference } from '../base/reference.js';
import type { BuildResult } from '../build/build.js';
import { codecDescription } from '../compress/index.js';
import type { Digest } from '../digest/index.js';
import { sha256 } from '../digest/index.js';
import { errorText, ImprintError } from '../errors.js';
import { lockPathFor } from '../lock/io.js';
import type { LockFile } from '../lock/types.js';
import { canonicalJson } from '../oci/canonical-json.js';
import type { ImageSet } from '../oci/image-set.js';
import { MediaType } from '../oci/media-types.js';
import type { Descriptor } from '../oci/types.js';
import type { LoadedSpec } from '../spec/index.js';
import type { BlobStore } from '../store/index.js';
import { CHECKED_SUFFIX, readCheckedFile, writeCheckedFile } from '../store/index.js';
import { collectFileSets } from './file-sets.js';
import { type InTotoStatement, provenanceStatement, type SlsaProvenance } from './provenance.js';
import { artifactBlob, storeAttestation, withReferrers } from './referrers.js';
import { imageSbom } from './sbom.js';

export interface AttestRequest {
  loaded: LoadedSpec;
  result: BuildResult;
  store: BlobStore;
  /** imprint's version (cli/version.ts VERSION). */
  version: string;
  /** Also attach an SPDX SBOM to every platform manifest (default true). */
  sbom?: boolean;
  /**
   * Where SBOMs are cached by manifest digest and imprint version (an SBOM is a pure function of the
   * image), so a rebuild with no change does not read the layers again. No cache when absent.
   */
  cacheDir?: string;
}

export interface AttestedBuild {
  /** result.set with the attestations as extra entries of its root index (the image index is unchanged). */
  set: ImageSet;
  provenance: InTotoStatement<SlsaProvenance>;
  /** The provenance's bytes as attached (`build --provenance-out` writes them). */
  provenanceBytes: Buffer;
  /** The artifact manifests added, in root-index order. */
  referrers: Descriptor[];
}

/**
 * Records the build's provenance (in-toto + SLSA v1) and each platform image's SPDX SBOM as OCI 1.1
 * artifact manifests whose subject is that platform's manifest, stores their blobs, and returns the
 * set with them as root-index entries. Reads the lock next to the spec and every `files[].source`
 * (hashing them); the SBOM reads every layer once. Deterministic: same build, same bytes.
 */
export async function attestBuild(req: AttestRequest): Promise<AttestedBuild> {
  const { loaded, result, store } = req;
  const spec = loaded.spec;
  let lock: { bytes: Uint8Array; lock: LockFile } | undefined;
  if (spec.packages.length > 0 || spec.base !== undefined) {
    const path = lockPathFor(loaded.file);
    const bytes = await readFile(path).catch((err: unknown) => {
      throw new ImprintError('LOCK_NOT_FOUND', `cannot read ${path} for the provenance: ${errorText(err)}`, {
        cause: err,
        details: { file: path },
      });
    });
    lock = { bytes, lock: JSON.parse(bytes.toString('utf8')) as LockFile };
  }
  const files = await collectFileSets(
    loaded.dir,
    spec.files.map((f) => f.source),
    result.sourceHashes,
  );
  const statement = provenanceStatement({
    version: req.version,
    spec: { path: basename(loaded.file), bytes: loaded.raw },
    lock,
    files,
    epoch: result.epoch.epoch,
    platforms: result.images.map((i) => i.platform),
    compression: codecDescription({ compression: spec.compression.algorithm, level: spec.compression.level }),
    layering: spec.layering,
    git: result.git
      ? { commit: result.git.commit, dirty: result.git.dirty, remoteUrl: result.git.remoteUrl }
      : undefined,
    index: result.index,
    images: result.images.map((i) => ({ platform: i.platform, manifest: i.manifest })),
    bases:
      lock?.lock.base === undefined
        ? []
        : [baseDependency(parseBaseReference(lock.lock.base.ref, loaded.dir), lock.lock.base.digest)],
  });
  const provenanceBlob = artifactBlob(MediaType.inToto, statement);
  // The provenance is attached to the image index too: the digest a multi-platform tag resolves to,
  // which tools asking for an image's attestations (cosign tree, oras discover) ask about.
  const referrers: Descriptor[] = [await storeAttestation(store, result.index, provenanceBlob)];
  for (const image of result.images) {
    referrers.push(await storeAttestation(store, image.manifest, provenanceBlob));
    if (req.sbom !== false) {
      const sbomInput = {
        blobs: store,
        manifest: image.manifest,
        platform: image.platform,
        layers: image.layers,
        epoch: result.epoch.epoch,
        version: req.version,
        ...(image.layerFiles === undefined ? {} : { known: image.layerFiles }),
      };
      const doc = await cachedSbom(
        req.cacheDir,
        `${req.version}/sbom-3/${image.platform}/${image.manifest.digest}`,
        () => imageSbom(sbomInput),
      );
      referrers.push(await storeAttestation(store, image.manifest, artifactBlob(MediaType.spdx, doc)));
    }
  }
  return {
    set: withReferrers(result.set, referrers),
    provenance: statement,
    provenanceBytes: provenanceBlob.bytes,
    referrers,
  };
}

/**
 * The SBOM from `<cacheDir>/sbom/<key hash>.checked`, or computed and stored there (atomically, with
 * its sha256: a damaged file is computed again rather than attached to the image).
 */
async function cachedSbom(
  cacheDir: string | undefined,
  key: string,
  compute: () => Promise<unknown>,
): Promise<unknown> {
  if (cacheDir === undefined) return compute();
  const file = join(cacheDir, 'sbom', `${sha256(key).slice('sha256:'.length)}${CHECKED_SUFFIX}`);
  const content = await readCheckedFile(file);
  if (content !== undefined) {
    try {
      return JSON.parse(content.toString('utf8')) as unknown;
    } catch {
      // Not JSON though its checksum matched (a file of another writer): made again below.
    }
  }
  const doc = await compute();
  await writeCheckedFile(file, canonicalJson(doc));
  return doc;
}

/**
 * A base image as a provenance dependency: its name (as the base.name annotation has it) and a URI
 * with a scheme, so policies read its host right: `docker://HOST/REPO:TAG` for a registry, else the
 * reference as written (`oci:DIR:TAG`, `oci-archive:FILE`).
 */
function baseDependency(
  ref: ReturnType<typeof parseBaseReference>,
  digest: Digest,
): { name: string; uri: string; digest: Digest } {
  return {
    name: ref.name,
    uri: ref.ref.transport === 'docker' ? `docker://${ref.name}` : ref.written,
    digest,
  };
}
