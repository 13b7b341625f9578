import { join, resolve } from 'node:path';
import { loadBaseImage } from '../base/image.js';
import type { LayerFiles } from '../base/image-files.js';
import { lowerTree } from '../base/lower.js';
import { parseBaseReference } from '../base/reference.js';
import { BaseBlobs } from '../base/source.js';
import { bodyCacheFor, codecDescription, prewarmCompression } from '../compress/index.js';
import { ContentSpool } from '../debian/install-spool.js';
import { dpkgArch } from '../debian/resolve.js';
import { ImprintError, step } from '../errors.js';
import { loadFreshLock } from '../lock/fresh.js';
import { lockPathFor } from '../lock/io.js';
import { checkLockSigned } from '../lock/signed.js';
import type { LockBaseImage, LockFile, LockPackage } from '../lock/types.js';
import type { ImageSet } from '../oci/image-set.js';
import { Annotation, MediaType } from '../oci/media-types.js';
import { formatPlatform } from '../oci/platform.js';
import type { Descriptor, ImageIndex, Platform } from '../oci/types.js';
import { type LoadedSpec, type Spec, specField } from '../spec/index.js';
import type { BlobStore } from '../store/index.js';
import type { RegistryOptions } from '../transport/registry/index.js';
import { checkUserExists, platformTree, specFilesTree, treeFingerprint } from './assemble.js';
import { layerCompression } from './compression.js';
import { specConfigNotes } from './config-check.js';
import { containerConfig } from './container.js';
import { type EpochResolution, resolveEpoch } from './epoch.js';
import { refetchingCorrupt, startFetch } from './fetching.js';
import { type BuildPath, type SourceReads, sourceHashes } from './files.js';
import { checkoutRoot, type GitInfo, gitInfo, gitSearchPath } from './git.js';
import { imageConfig, imageIndex, imageManifest, jsonBlob, rfc3339 } from './image.js';
import { imageNotes } from './image-notes.js';
import { LayerCache } from './layer-cache.js';
import { checkLayerCount } from './layering.js';
import { writePlatformLayers } from './platform-layers.js';
import { configNotes, runCheckInputs } from './run-check.js';
import type { KnownSource } from './source-file.js';

/** What happened during a build, for progress display. Library code never prints. */
export type BuildEvent =
  | { type: 'epoch'; epoch: EpochResolution }
  | { type: 'platform'; platform: string }
  | { type: 'layer'; platform: string; digest: string; size: number; uncompressedSize: number }
  | { type: 'cached'; platform: string }
  | { type: 'fetch'; platform: string; done: number; total: number; bytes: number; totalBytes: number }
  | { type: 'warning'; message: string };

export interface BuildRequest {
  loaded: LoadedSpec;
  /** The environment (for SOURCE_DATE_EPOCH); passed in, never read from process.env here. */
  env: Record<string, string | undefined>;
  store: BlobStore;
  /** The cache directory (layer cache records, the install spool); the store usually lives here too. */
  cacheDir: string;
  /** Use only what is cached: no network. */
  offline?: boolean;
  /** Host paths the caller writes the image to (layouts, archives): a files source may not include them. */
  outputs?: readonly BuildPath[];
  /**
   * The git facts of the spec's checkout (revision/source annotations, epoch fallback) when the caller
   * knows them, e.g. a verifier rebuilding from provenance; null for "no checkout". Read when absent.
   */
  git?: GitInfo | null;
  /** How a registry base image is reached (credentials, TLS). */
  registry?: RegistryOptions;
  /**
   * The time archive keys must be valid at, when the lock's packages are checked against the signed
   * metadata (default: the machine's clock). It decides only whether a build may go on, never a byte.
   */
  now?: Date;
  onEvent?: (event: BuildEvent) => void;
}

export interface BuiltImage {
  platform: string;
  manifest: Descriptor;
  config: Descriptor;
  layers: Descriptor[];
  /** What the layers this build wrote (not those from the cache or a base) hold for the SBOM, by digest. */
  layerFiles?: ReadonlyMap<string, LayerFiles>;
}

export interface BuildResult {
  /** The image set to hand to a transport: a root index with the image index as its one entry. */
  set: ImageSet;
  /** The image index (the digest users pin). */
  index: Descriptor;
  images: BuiltImage[];
  epoch: EpochResolution;
  git: GitInfo | undefined;
  warnings: string[];
  /** The spec's source files the build read, by host path: stamp and sha256 (for the provenance). */
  sourceHashes?: ReadonlyMap<string, KnownSource>;
}

/**
 * Builds the spec's image for every platform into the store: the locked packages (fetched and
 * verified), the spec's files and accounts, layered and compressed, then config, manifest and index as
 * canonical JSON. Every input is explicit (spec, lock, epoch); nothing reads the clock, the host user,
 * umask, locale or directory order. Layers come from the layer cache when every input is unchanged.
 */
export async function buildImage(req: BuildRequest): Promise<BuildResult> {
  const { loaded, store } = req;
  const spec = loaded.spec;
  const emit = req.onEvent ?? (() => {});
  const warnings: string[] = [];
  // Each warning once, however many platforms (or the cache and a fresh build) report it.
  const warn = (message: string) => {
    if (warnings.includes(message)) return;
    warnings.push(message);
    emit({ type: 'warning', message });
  };

  const git =
    req.git !== undefined
      ? (req.git ?? undefined)
      : await step(
          'reading the git checkout of the spec',
          async () => {
            const info = await gitInfo(loaded.dir, {
              inputs: buildInputs(loaded),
              path: gitSearchPath(req.env.PATH),
            });
            const root = info === undefined ? checkoutRoot(loaded.dir) : undefined;
            if (root !== undefined)
              warn(
                `the spec is in a git checkout (${root}) that git could not read (git is not installed, or the checkout belongs to another user and git refuses it: safe.directory); the commit time cannot be the epoch and the revision annotations are left out, so this image differs from one built where git can read it. Run as the checkout's owner, or set SOURCE_DATE_EPOCH.`,
              );
            return info;
          },
          'IO',
        );
  const epoch = await resolveEpoch({
    env: req.env,
    specEpoch: spec.epoch,
    specDir: loaded.dir,
    git: git ?? null,
  });
  emit({ type: 'epoch', epoch });
  const baseRef = spec.base === undefined ? undefined : parseBaseReference(spec.base, loaded.dir);
  const annotations = standardAnnotations(spec, epoch.epoch, git, baseRef?.name, warn);
  const compression = layerCompression(loaded);
  const cacheDir = req.cacheDir;
  // A lock is read and checked; resolving (OpenPGP, the resolver) is `imprint lock`'s, not loaded here.
  const lock = spec.packages.length > 0 || spec.base !== undefined ? await loadFreshLock(loaded) : undefined;
  const baseBlobs =
    baseRef === undefined
      ? undefined
      : new BaseBlobs(baseRef, store, {
          offline: req.offline === true,
          field: specField(loaded, ['base']),
          ...(req.registry === undefined ? {} : { registry: req.registry }),
        });
  // Every locked package must be one its archive signed: checked while it installs (a hand-edited
  // lock could name any .deb), and passed before a layer is cached or an image made of it.
  const signedCheck = (
    platform: Platform,
    name: string,
    packages: LockPackage[],
  ): Promise<void> | undefined => {
    if (lock === undefined || packages.length === 0) return undefined;
    const lockFile = lockPathFor(loaded.file);
    const check = step(
      `checking the packages of ${lockFile} for ${name} against the signed archive metadata`,
      () =>
        checkLockSigned({
          loaded,
          lock,
          lockFile,
          platform: name,
          arch: dpkgArch(platform),
          packages,
          // Archive metadata and check records live with the content store (a verifier's rebuild
          // keeps only its layer cache apart), so an offline verify finds what a build fetched.
          cacheDir: store.root,
          offline: req.offline === true,
          now: req.now ?? new Date(),
          templates: spec.fetch.sources,
        }).then((notes) => {
          for (const message of notes) warn(message);
        }),
    );
    check.catch(() => undefined); // awaited below; not an unhandled rejection meanwhile
    return check;
  };
  const own = { store: store.root, cacheDir, outputs: req.outputs ?? [] }; // not to be copied
  const reads: SourceReads = new Map();
  const readFiles = () => specFilesTree(loaded, epoch.epoch, own, reads);
  const files = await step("reading the spec's files", readFiles, 'IO');
  const filesPrint = await step("hashing the spec's files", () => treeFingerprint(files, loaded), 'IO');
  const cache = new LayerCache(join(cacheDir, 'layers'), store, warn);
  let spool: ContentSpool | undefined;

  const images: BuiltImage[] = [];
  try {
    for (const platform of spec.platforms) {
      const name = formatPlatform(platform);
      emit({ type: 'platform', platform: name });
      const packages = lock === undefined ? [] : lockedPackages(lock, name);
      const base =
        baseBlobs === undefined
          ? undefined
          : await step(`reading the base image for ${name}`, () =>
              loadBaseImage(baseBlobs, lockedBase(lock!, name)),
            );
      const key = LayerCache.key({
        platform: name,
        epoch: epoch.epoch,
        compression: codecDescription(compression),
        layering: spec.layering,
        // Name, version, architecture (the install checks them against the control data) and source
        // (per-package layering groups by it) too: a lock edited in them must not reuse layers.
        packages: packages.map((p) => `${p.name} ${p.version} ${p.architecture} ${p.sha256} ${p.source}`),
        files: filesPrint,
        accounts: spec.accounts,
        remove: spec.remove,
        ...(spec.timezone === undefined ? {} : { timezone: spec.timezone }),
        // The build makes a workdir the image lacks.
        ...(spec.workdir === undefined ? {} : { workdir: spec.workdir }),
        ...(base === undefined ? {} : { base: base.manifest.digest }),
      });
      const signed = signedCheck(platform, name, packages);
      const container = containerConfig(spec, base?.config.config);
      for (const message of specConfigNotes(loaded, base?.config.config)) warn(message);
      const cached = await cache.get(key);
      let layers = cached?.layers;
      let layerFiles = new Map<string, LayerFiles>();
      if (cached !== undefined && layers !== undefined) {
        await signed;
        // The user is no input of the layers: checked against the accounts they hold.
        if (cached.accounts !== undefined) checkUserExists(cached.accounts, spec.user, loaded);
        // What the build that made them warned about still holds.
        for (const message of cached.notes ?? []) warn(message);
        // The program is no input of the layers: its warnings hold only for the same config. For
        // another program or env the check runs on the layers' files, read back from the store.
        const inputs = runCheckInputs(container);
        if (cached.run?.inputs === inputs) {
          for (const message of cached.run.notes) warn(message);
        } else {
          const { tree: image } = await step(`reading the layers of ${name} back for the run check`, () =>
            lowerTree(store, [...(base?.layers ?? []), ...cached.layers.map((l) => l.descriptor)]),
          );
          const notes = await configNotes(image, container, name, undefined, { libraries: false });
          for (const message of notes) warn(message);
          await cache.put(key, { ...cached, run: { inputs, notes } });
        }
        emit({ type: 'cached', platform: name });
      } else {
        // Large bodies are compressed on the cores the unpacking leaves idle.
        const bodies = bodyCacheFor(compression);
        // Downloads run while packages install: each package waits only for its own file. A cached
        // .deb found corrupt is removed, and the whole assembly runs once more with it fetched again.
        const assembled = await refetchingCorrupt(req.offline === true, warn, async () => {
          const fetching =
            packages.length > 0
              ? startFetch(lock!, packages, spec.fetch.sources, req.offline === true, store, name, emit)
              : undefined;
          try {
            const lower =
              base === undefined
                ? undefined
                : await step(`reading the base image's files for ${name}`, () =>
                    lowerTree(store, base.layers, base.config.rootfs.diff_ids),
                  );
            prewarmCompression(compression); // worker start-up overlaps the install
            spool ??= new ContentSpool(join(cacheDir, 'spool'));
            const currentSpool = spool;
            const tree = await step(`assembling the file tree for ${name}`, () =>
              platformTree({
                bodies,
                container,
                loaded,
                platform,
                epoch: epoch.epoch,
                store,
                packages,
                whenStored: fetching?.whenStored,
                files,
                spool: currentSpool,
                spoolDir: join(cacheDir, 'spool'),
                base: lower,
              }),
            );
            const fetched = (await fetching?.done) as { warnings?: string[] } | undefined;
            for (const message of fetched?.warnings ?? []) warn(message);
            return tree;
          } catch (err) {
            // A lock naming packages its archive never signed explains whatever went wrong with them; a
            // failed download is the cause of whatever the install reported when it could not open it.
            const unsigned = await signed?.then(
              () => undefined,
              (e: unknown) => e,
            );
            throw unsigned ?? (await fetching?.abort()) ?? err;
          }
        });
        await signed;
        const { tree, install, accounts, runNotes, treeNotes } = assembled;
        const notes = [
          ...(install?.warnings ?? []),
          ...treeNotes,
          ...imageNotes(tree, packages.length > 0 && base === undefined),
        ];
        for (const message of [...notes, ...runNotes]) warn(message);
        const written = await writePlatformLayers({
          tree,
          install,
          packages,
          layering: spec.layering,
          compression,
          store,
          cache,
          bodies,
          platform: name,
          onLayer: (layer) =>
            emit({
              type: 'layer',
              platform: name,
              digest: layer.descriptor.digest,
              size: layer.descriptor.size,
              uncompressedSize: layer.uncompressedSize,
            }),
        });
        layerFiles = written.layerFiles;
        bodies?.close();
        layers = written.layers;
        await cache.put(key, {
          layers,
          accounts,
          notes,
          run: { inputs: runCheckInputs(container), notes: runNotes },
        });
      }

      checkLayerCount(base?.layers.length ?? 0, layers.length, loaded);
      const config = jsonBlob(
        MediaType.ociConfig,
        imageConfig({
          platform,
          epoch: epoch.epoch,
          container,
          diffIds: [...(base?.config.rootfs.diff_ids ?? []), ...layers.map((l) => l.diffId)],
          baseHistory: base?.config.history ?? [],
          history: layers.map((l) => ({
            created_by: `imprint build: ${l.name}`,
            comment: historyText(spec, packages.length),
          })),
        }),
      );
      await store.putBytes(config.bytes, config.descriptor);
      const layerDescriptors = [...(base?.layers ?? []), ...layers.map((l) => l.descriptor)];
      const manifest = jsonBlob(
        MediaType.ociManifest,
        imageManifest(
          config.descriptor,
          layerDescriptors,
          base === undefined
            ? annotations
            : { ...annotations, [Annotation.baseDigest]: base.manifest.digest, ...spec.annotations },
        ),
        { platform },
      );
      await store.putBytes(manifest.bytes, manifest.descriptor);
      images.push({
        platform: name,
        manifest: manifest.descriptor,
        config: config.descriptor,
        layers: layerDescriptors,
        ...(layerFiles.size > 0 ? { layerFiles } : {}),
      });
    }
  } finally {
    await spool?.close();
  }

  const index = jsonBlob(
    MediaType.ociIndex,
    imageIndex(
      images.map((i) => i.manifest),
      annotations,
    ),
  );
  await store.putBytes(index.bytes, index.descriptor);
  const root: ImageIndex = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [index.descriptor] };
  const set = { index: root, blobs: store };
  return { set, index: index.descriptor, images, epoch, git, warnings, sourceHashes: sourceHashes(reads) };
}

/** The lock's base image manifest for a platform. */
function lockedBase(lock: LockFile, platform: string): LockBaseImage {
  const image = lock.base?.platforms[platform];
  if (image === undefined) {
    throw new ImprintError('LOCK_STALE', `imprint.lock pins no base image for ${platform}`, {
      hint: 'Run `imprint lock` (or build with --update) to resolve the base image again.',
    });
  }
  return image;
}

/** The lock's packages for a platform (the lock was checked fresh, so every spec platform is there). */
function lockedPackages(lock: LockFile, platform: string): LockPackage[] {
  const list = lock.platforms[platform];
  if (list === undefined) {
    throw new ImprintError('LOCK_STALE', `imprint.lock has no packages for ${platform}`, {
      hint: 'Run `imprint lock` to update it.',
    });
  }
  return list;
}

/** The warning of a build whose spec, lock or file sources have uncommitted changes. */
export const DIRTY_CHECKOUT_WARNING = `the git checkout has uncommitted changes; ${Annotation.revision} is omitted`;

/** The annotations every manifest and the index carry (DESIGN §4), then the spec's own. */
function standardAnnotations(
  spec: Spec,
  epoch: number,
  git: GitInfo | undefined,
  baseName: string | undefined,
  warn: (m: string) => void,
): Record<string, string> {
  const a: Record<string, string> = { [Annotation.created]: rfc3339(epoch) };
  if (baseName !== undefined) a[Annotation.baseName] = baseName;
  if (git) {
    if (git.dirty) warn(DIRTY_CHECKOUT_WARNING);
    else a[Annotation.revision] = git.commit;
    if (git.remoteUrl) a[Annotation.source] = git.remoteUrl;
  }
  return { ...a, ...spec.annotations };
}

/** The history comment: what the image is made of (inputs only, never hosts, paths or times). */
function historyText(spec: Spec, packages: number): string {
  const parts = [`${packages} package(s)`, `${spec.files.length} file source(s)`];
  if (spec.accounts.users.length + spec.accounts.groups.length > 0) {
    parts.push(`${spec.accounts.users.length} user(s), ${spec.accounts.groups.length} group(s)`);
  }
  return parts.join(', ');
}

/**
 * What a build reads from the spec's directory: the spec, its lock and every file source (absolute
 * paths). Only these make a git checkout dirty for the revision annotation.
 */
function buildInputs(loaded: LoadedSpec): string[] {
  return [
    loaded.file,
    lockPathFor(loaded.file),
    ...loaded.spec.files.map((f) => resolve(loaded.dir, f.source)),
  ];
}
