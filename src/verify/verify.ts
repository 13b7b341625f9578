// verifyImage: read the provenance, rebuild in a clean workspace, compare digests, diff on mismatch.
import { mkdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SLSA_PROVENANCE } from '../attest/provenance.js';
import { findReferrers, readArtifactPayload } from '../attest/referrers.js';
import { type BuildEvent, buildImage, DIRTY_CHECKOUT_WARNING } from '../build/build.js';
import type { GitInfo } from '../build/git.js';
import { diffImageSets } from '../diff/diff.js';
import type { Difference } from '../diff/types.js';
import { type Digest, sha256 } from '../digest/index.js';
import { errorText, ImprintError, isImprintError } from '../errors.js';
import type { ImageSet } from '../oci/image-set.js';
import { INDEX_TYPES, MediaType } from '../oci/media-types.js';
import { formatPlatform } from '../oci/platform.js';
import { platformManifests } from '../oci/select.js';
import { loadSpec } from '../spec/index.js';
import type { BlobStore } from '../store/index.js';
import { removeOnInterrupt } from '../store/interrupt-cleanup.js';
import { makeOwnedTempDir } from '../store/temp-dirs.js';
import {
  formatReference,
  type ImageRef,
  readImageSet,
  type WalkedImage,
  walkImageSet,
  wholeLayoutOf,
} from '../transport/index.js';
import { requireOneImage, subjectDigestsOf } from '../transport/referrer-subjects.js';
import type { RegistryOptions } from '../transport/registry/index.js';
import { parseProvenance, type RecordedBuild } from './recorded.js';
import { linkKeyrings, linkLocalBase, recreateInputs } from './workspace.js';

export interface VerifyRequest {
  ref: ImageRef;
  /** The directory holding the spec's local files (`files[].source`), as when it was built. */
  context?: string | undefined;
  /** The content store (packages are fetched into it) and a cache directory; the rebuild uses neither's layer cache. */
  store: BlobStore;
  /** Use only cached packages. */
  offline?: boolean;
  /** A provenance statement file to use instead of the one attached to the image. */
  provenanceFile?: string | undefined;
  /**
   * A source policy file (BuildKit format) the rebuild's inputs must pass, as `build --policy`
   * applies it: a recorded base image or archive it denies fails the verification before anything
   * is fetched.
   */
  policyFile?: string | undefined;
  allowVersionMismatch?: boolean;
  /** imprint's version (cli/version.ts VERSION): must equal the recorded one. */
  version: string;
  /** Where the temporary workspace goes (default: the OS temp directory). */
  tmpDir?: string;
  /** How registries are reached: the image itself (docker://) and a base image of the rebuild. */
  registry?: RegistryOptions;
  onEvent?: (event: BuildEvent) => void;
  /**
   * Called with what is known so far, each time more is (the image's digests, the provenance used,
   * the source policy): what a failed verification's summary names.
   */
  onKnown?: (known: VerifyKnown) => void;
}

/** What verifyImage has learnt before it finished: `--attest` and `--json` name it when it fails. */
export type VerifyKnown = Partial<Pick<VerifyResult, 'image' | 'provenance' | 'sourcePolicy'>>;

export interface VerifyResult {
  reference: string;
  verified: boolean;
  /** Digests of the image verified: its index (when it has one) and each platform's manifest. */
  image: { index?: Digest; manifests: Record<string, Digest> };
  rebuilt: { index: Digest; manifests: Record<string, Digest> };
  provenance: { source: string; digest: Digest; builtWith: string; epoch: number };
  verifiedWith: string;
  /** The source policy the rebuild's inputs passed (`policyFile`), by file URI and sha256. */
  sourcePolicy?: { uri: string; digest: Digest };
  /** Differences between the image (a) and the rebuild (b); empty when verified. */
  differences: Difference[];
  warnings: string[];
}

/**
 * Verifies an image by rebuilding it: reads its provenance (attached as a referrer, or a file), refuses
 * a different imprint version (VERSION_MISMATCH) unless allowed, recreates spec, lock and local files
 * (each checked by hash) in a fresh temporary directory, builds there with the recorded
 * SOURCE_DATE_EPOCH and no layer cache, and compares digests; on a mismatch the image diff names what
 * differs. Cost: a full build, plus streaming the differing layers of both sides.
 */
export async function verifyImage(req: VerifyRequest): Promise<VerifyResult> {
  const reference = formatReference(req.ref);
  const warnings: string[] = [];
  let sourcePolicy: VerifyResult['sourcePolicy'];
  const set = await readImageSet(req.ref, { registry: { ...req.registry } });
  requireOneImage(req.ref, set, 'verify');
  const walked = await walkImageSet(set);
  const image = await imageDigests(set, walked.images);
  const known: VerifyKnown = { image };
  req.onKnown?.({ ...known });
  await checkStoredBlobs(set, walked.images, reference);
  const prov =
    req.provenanceFile !== undefined
      ? await provenanceFromFile(req.provenanceFile)
      : await attachedProvenance(req.ref, image, warnings, req.registry);
  const recorded = prov.build;
  known.provenance = {
    source: prov.source,
    digest: prov.digest,
    builtWith: recorded.version,
    epoch: recorded.epoch,
  };
  req.onKnown?.({ ...known });
  if (recorded.version !== req.version && req.allowVersionMismatch !== true) {
    throw new ImprintError(
      'VERSION_MISMATCH',
      `${reference} was built by imprint ${recorded.version}; this is imprint ${req.version}`,
      {
        hint: `Verify with imprint ${recorded.version}, or pass --allow-version-mismatch (a different version may legitimately build different bytes).`,
        details: { recorded: recorded.version, running: req.version },
      },
    );
  }
  if (recorded.version !== req.version)
    warnings.push(`rebuilding with imprint ${req.version}; the image was built by ${recorded.version}`);

  const parent = req.tmpDir ?? tmpdir();
  let work: string;
  try {
    work = makeOwnedTempDir(parent, 'imprint-verify-'); // sweeps those of killed verifications first
  } catch (err) {
    throw new ImprintError('IO', `cannot make a workspace for the rebuild in ${parent}: ${errorText(err)}`, {
      hint: 'Set TMPDIR to a directory you can write to.',
      cause: err,
      details: { path: parent },
    });
  }
  const keep = removeOnInterrupt(work);
  try {
    const specDir = join(work, 'spec');
    await mkdir(specDir);
    const specFile = await recreateInputs(recorded, specDir, req.context);
    const recreated = await loadSpec(specFile);
    let loaded = recreated;
    if (req.policyFile !== undefined) {
      const [{ applySourcePolicy }, { loadPolicy }] = await Promise.all([
        import('../build/policy.js'),
        import('../policy/index.js'),
      ]);
      const policy = await loadPolicy(req.policyFile);
      // Known before it is applied: a denial's summary names the policy that denied.
      sourcePolicy = { uri: pathToFileURL(policy.file).href, digest: policy.digest as Digest };
      req.onKnown?.({ ...known, sourcePolicy });
      loaded = await applySourcePolicy(recreated, policy);
    }
    const baseMissing = await linkLocalBase(loaded.spec.base, specDir, req.context);
    await linkKeyrings(loaded.spec.sources, specDir, req.context);
    const result = await buildImage({
      loaded,
      env: { SOURCE_DATE_EPOCH: String(recorded.epoch) },
      // The workspace has no checkout: the build takes the recorded git facts instead.
      git: recordedGit(recorded),
      store: req.store,
      cacheDir: join(work, 'cache'),
      offline: req.offline === true,
      ...(req.registry === undefined ? {} : { registry: req.registry }),
      ...(req.onEvent ? { onEvent: req.onEvent } : {}),
    }).catch((err: unknown) => {
      if (isImprintError(err, 'OFFLINE')) throw offlineRebuild(err, specDir);
      // A local base the rebuild could not find (unless the store had its blobs): say where it looked.
      if (baseMissing === undefined || !isImprintError(err)) throw err;
      throw new ImprintError(err.code, `${err.message} (${baseMissing})`, {
        hint: "Pass --context DIR, DIR being the spec's directory as it was built, so that the base's relative path from it exists.",
        cause: err,
        details: err.details,
      });
    });
    const rebuilt = {
      index: result.index.digest,
      manifests: Object.fromEntries(result.images.map((i) => [i.platform, i.manifest.digest])),
    };
    const verified =
      image.index !== undefined
        ? image.index === rebuilt.index
        : Object.entries(image.manifests).every(([p, d]) => rebuilt.manifests[p] === d) &&
          Object.keys(image.manifests).length > 0;
    if (verified && recorded.index !== rebuilt.index)
      warnings.push(
        `the provenance names index ${recorded.index}; the image and the rebuild are ${rebuilt.index}`,
      );
    let differences: Difference[] = [];
    if (!verified) {
      // The rebuild is what the image should be: A, so that what the image has beyond it reads as
      // added (a planted file is entry-added) and what it lacks as removed.
      const diff = await diffImageSets(
        await rebuildOfPlatforms(result.set, image),
        imageOnly(set),
        {},
        { a: 'rebuild', b: reference },
      );
      differences = diff.differences;
    }
    return {
      reference,
      verified,
      image,
      rebuilt,
      provenance: known.provenance,
      verifiedWith: req.version,
      ...(sourcePolicy === undefined ? {} : { sourcePolicy }),
      differences,
      // The rebuild replays the recorded git facts: a dirty checkout is the original build's, not the verifier's.
      warnings: [
        ...warnings,
        ...result.warnings.map((w) =>
          w === DIRTY_CHECKOUT_WARNING
            ? 'the image was built from a git checkout with uncommitted changes (its provenance records a dirty checkout), so it has no org.opencontainers.image.revision: its revision does not identify its inputs'
            : ofProvenance(w, specDir),
        ),
      ],
    };
  } finally {
    await rm(work, { recursive: true, force: true });
    keep();
  }
}

/** The git facts the original build read from its checkout, as the provenance records them. */
function recordedGit(recorded: RecordedBuild): GitInfo | null {
  if (recorded.git === undefined) return null;
  const { commit, dirty, remoteUrl } = recorded.git;
  return { commit, dirty, commitTime: recorded.epoch, ...(remoteUrl ? { remoteUrl } : {}) };
}

/**
 * The rebuild as the image holds it: an image without an index (a docker-archive, a platform's
 * manifest) is compared with the rebuild's manifests of its platforms, not with the whole
 * multi-platform index, whose other platforms it never claimed to hold. Reads the rebuild's index.
 */
async function rebuildOfPlatforms(rebuilt: ImageSet, image: VerifyResult['image']): Promise<ImageSet> {
  if (image.index !== undefined) return rebuilt;
  const wanted = new Set(Object.keys(image.manifests));
  const mine = (await platformManifests(rebuilt)).filter(
    (d) => d.platform !== undefined && wanted.has(formatPlatform(d.platform)),
  );
  if (mine.length === 0) return rebuilt;
  return { ...rebuilt, index: { ...rebuilt.index, manifests: mine } };
}

/** The set without its referrer entries (root entries that are artifact manifests). */
function imageOnly(set: ImageSet): ImageSet {
  return {
    ...set,
    index: { ...set.index, manifests: set.index.manifests.filter((m) => m.artifactType === undefined) },
  };
}

async function imageDigests(set: ImageSet, images: readonly WalkedImage[]): Promise<VerifyResult['image']> {
  const manifests: Record<string, Digest> = {};
  for (const i of images) {
    const config = JSON.parse((await set.blobs.readBytes(i.manifest.config)).toString('utf8')) as {
      os: string;
      architecture: string;
      variant?: string;
    };
    const platform = [config.os, config.architecture, config.variant].filter((x) => x).join('/');
    manifests[platform] ??= i.descriptor.digest;
  }
  const index = set.index.manifests.find((m) => INDEX_TYPES.includes(m.mediaType))?.digest;
  return { ...(index ? { index } : {}), manifests };
}

/**
 * Reads every layer and config of the image through its digest check: the digests a rebuild is
 * compared with vouch for the image only if the bytes stored under them are those bytes (a layout
 * altered on disk, a registry serving other bytes). DIGEST_MISMATCH names the blob. Cost: one read of
 * the image (a download from a registry).
 */
async function checkStoredBlobs(
  set: ImageSet,
  images: readonly WalkedImage[],
  reference: string,
): Promise<void> {
  const seen = new Set<string>();
  for (const i of images) {
    for (const desc of [i.manifest.config, ...i.manifest.layers]) {
      if (seen.has(desc.digest)) continue;
      seen.add(desc.digest);
      try {
        for await (const _ of await set.blobs.open(desc));
      } catch (err) {
        if (!isImprintError(err, 'DIGEST_MISMATCH') && !isImprintError(err, 'SIZE_MISMATCH')) throw err;
        throw new ImprintError(
          'DIGEST_MISMATCH',
          `${reference}: the blob stored as ${desc.digest} is not those bytes (${errorText(err)}): the image was altered or damaged where it is stored`,
          {
            hint: 'Fetch the image again from where it was published, then verify that copy.',
            cause: err,
            details: { reference, digest: desc.digest },
          },
        );
      }
    }
  }
}

interface FoundProvenance {
  build: RecordedBuild;
  source: string;
  digest: Digest;
}

async function provenanceFromFile(file: string): Promise<FoundProvenance> {
  const bytes = await readFile(file).catch((err: unknown) => {
    throw new ImprintError('IO', `cannot read the provenance file ${file}: ${errorText(err)}`, {
      cause: err,
      details: { file },
    });
  });
  return { build: parseProvenance(bytes, file), source: file, digest: sha256(bytes) };
}

/**
 * The provenance attached to the image: an in-toto referrer whose subject is one of its manifests or
 * its index. A tagged oci reference is also searched untagged (referrers need not carry the tag). When
 * none names this image but the layout holds one, that one is used with a warning (a changed image).
 */
async function attachedProvenance(
  ref: ImageRef,
  image: VerifyResult['image'],
  warnings: string[],
  registry: RegistryOptions | undefined,
): Promise<FoundProvenance> {
  // From a registry, referrers come from the referrers API or the sha256-<hex> fallback tags.
  const sets = [await readImageSet(ref, { registry: { ...registry, referrers: true } })];
  const layout = wholeLayoutOf(ref);
  if (layout !== undefined) sets.push(await readImageSet(layout));
  const subjects = [...Object.values(image.manifests), ...(image.index ? [image.index] : [])];
  for (const matching of [true, false]) {
    for (const set of sets) {
      const found = await findReferrers(set, {
        artifactType: MediaType.inToto,
        ...(matching ? { subjects } : {}),
      });
      // The fallback is for an image that replaced the one its provenance names: provenance of an
      // image still in the set (another tag of the layout) is that image's, not this one's.
      const present = matching
        ? new Set<string>()
        : await subjectDigestsOf(
            set.blobs,
            set.index.manifests.filter((d) => d.artifactType === undefined),
          );
      const all: Array<{ r: (typeof found)[number]; bytes: Buffer; ofIndex: boolean }> = [];
      for (const r of found) {
        if (!matching && present.has(r.manifest.subject?.digest ?? '')) continue;
        const bytes = await readArtifactPayload(set.blobs, r);
        const statement = JSON.parse(bytes.toString('utf8')) as {
          predicateType?: unknown;
          subject?: unknown;
        };
        if (statement.predicateType !== SLSA_PROVENANCE) continue;
        const subjects = Array.isArray(statement.subject) ? (statement.subject as unknown[]) : [];
        const ofIndex =
          image.index !== undefined &&
          subjects.some(
            (s) => `sha256:${(s as { digest?: { sha256?: unknown } })?.digest?.sha256}` === image.index,
          );
        all.push({ r, bytes, ofIndex });
      }
      // A platform manifest two builds share (one platform of a multi-platform build, built alone too)
      // carries both builds' statements: the one whose subjects name this image's index is its own.
      const own = all.filter((p) => p.ofIndex);
      const provenances = own.length > 0 ? own : all;
      const first = provenances[0];
      if (first === undefined) continue;
      const { r, bytes } = first;
      if (!matching)
        warnings.push(
          `the provenance in ${formatReference(ref)} names ${r.manifest.subject?.digest}, not this image; rebuilding from it`,
        );
      const others = new Set(provenances.map((p) => p.r.manifest.layers[0]?.digest));
      if (others.size > 1)
        warnings.push(
          `${formatReference(ref)} has ${others.size} different provenance statements (${[...others].join(', ')}); rebuilding from the first, ${r.manifest.layers[0]!.digest} (pass --provenance FILE to choose)`,
        );
      return {
        build: parseProvenance(bytes, `provenance ${r.manifest.layers[0]!.digest}`),
        source: r.descriptor.digest,
        digest: r.manifest.layers[0]!.digest,
      };
    }
  }
  throw new ImprintError('PROVENANCE_INVALID', `${formatReference(ref)} has no provenance attached`, {
    hint:
      ref.transport === 'docker-archive'
        ? 'A docker-archive holds no attestations: pass --provenance FILE, the statement `imprint build --provenance-out FILE` writes (or verify the oci:/registry copy, which carries it).'
        : 'Build it with an imprint that attaches provenance, or pass --provenance FILE (`imprint build --provenance-out FILE` writes it).',
  });
}

/**
 * An OFFLINE failure of the rebuild, told as verify's: the workspace's temporary paths become "the
 * provenance's", and the hint is to verify once with the network (a build of the user's own checkout
 * would not fill the cache with what the provenance's lock names, should they differ).
 */
function offlineRebuild(err: ImprintError, specDir: string): ImprintError {
  return new ImprintError('OFFLINE', ofProvenance(err.message, specDir), {
    hint: 'Run the same `imprint verify` once without --offline (with this --cache-dir): it fetches what the provenance names into the cache.',
    cause: err,
    details: err.details,
  });
}

/**
 * A rebuild's message with the temporary workspace's paths told as the provenance's (`the
 * provenance's imprint.lock`): the workspace is gone when the user reads it, and its files are the
 * ones the provenance embeds.
 */
function ofProvenance(message: string, specDir: string): string {
  return message.replaceAll(`${specDir}${sep}`, "the provenance's ");
}
