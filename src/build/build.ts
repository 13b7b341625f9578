import { resolve } from 'node:path';
import type { CompressOptions } from '../compress/index.js';
import { step } from '../errors.js';
import type { ImageSet } from '../oci/image-set.js';
import { Annotation, MediaType } from '../oci/media-types.js';
import { formatPlatform } from '../oci/platform.js';
import type { Descriptor, ImageIndex, Platform } from '../oci/types.js';
import type { LoadedSpec, Spec } from '../spec/index.js';
import type { BlobStore } from '../store/index.js';
import { FileTree } from '../vfs/tree.js';
import { layerEntries } from '../vfs/entries.js';
import { writeLayer } from '../vfs/layer.js';
import { writeAccounts } from './accounts.js';
import { type EpochResolution, resolveEpoch } from './epoch.js';
import { copyFiles } from './files.js';
import { type GitInfo, gitInfo } from './git.js';
import { DEFAULT_PATH, envList, imageConfig, imageIndex, imageManifest, jsonBlob, rfc3339 } from './image.js';

/** What happened during a build, for progress display. Library code never prints. */
export type BuildEvent =
  | { type: 'epoch'; epoch: EpochResolution }
  | { type: 'platform'; platform: string }
  | { type: 'layer'; platform: string; digest: string; size: number; uncompressedSize: number }
  | { type: 'warning'; message: string };

export interface BuildRequest {
  loaded: LoadedSpec;
  /** The environment (for SOURCE_DATE_EPOCH); passed in, never read from process.env here. */
  env: Record<string, string | undefined>;
  store: BlobStore;
  onEvent?: (event: BuildEvent) => void;
}

export interface BuiltImage {
  platform: string;
  manifest: Descriptor;
  config: Descriptor;
  layers: Descriptor[];
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
}

/**
 * Builds the spec's image for every platform into the store: assemble the tree, normalise, write the
 * layer, then config, manifest and index as canonical JSON. Every input is explicit (spec, lock, epoch);
 * nothing reads the clock, the host user, umask, locale or directory order.
 */
export async function buildImage(req: BuildRequest): Promise<BuildResult> {
  const { loaded, store } = req;
  const spec = loaded.spec;
  const emit = req.onEvent ?? (() => {});
  const warnings: string[] = [];
  const warn = (message: string) => {
    warnings.push(message);
    emit({ type: 'warning', message });
  };

  const git = await step('reading the git checkout of the spec', () => gitInfo(loaded.dir), 'IO');
  const epoch = await resolveEpoch({ env: req.env, specEpoch: spec.epoch, specDir: loaded.dir, git: git ?? null });
  emit({ type: 'epoch', epoch });
  const annotations = standardAnnotations(spec, epoch.epoch, git, warn);
  const compression: CompressOptions = { compression: spec.compression.algorithm, level: spec.compression.level };

  const images: BuiltImage[] = [];
  for (const platform of spec.platforms) {
    const name = formatPlatform(platform);
    emit({ type: 'platform', platform: name });
    const tree = await step(`assembling the file tree for ${name}`, () => assembleTree(loaded, platform, epoch.epoch));
    const layer = await step(`writing the layer for ${name}`, () => writeLayer(layerEntries(tree), compression, store), 'IO');
    emit({ type: 'layer', platform: name, digest: layer.descriptor.digest, size: layer.descriptor.size, uncompressedSize: layer.uncompressedSize });

    const config = jsonBlob(
      MediaType.ociConfig,
      imageConfig({
        platform,
        epoch: epoch.epoch,
        container: containerConfig(spec),
        diffIds: [layer.diffId],
        history: [{ created_by: `imprint build: ${historyText(spec)}`, comment: 'imprint' }],
      }),
    );
    await store.putBytes(config.bytes, config.descriptor);
    const manifest = jsonBlob(MediaType.ociManifest, imageManifest(config.descriptor, [layer.descriptor], annotations), {
      platform,
    });
    await store.putBytes(manifest.bytes, manifest.descriptor);
    images.push({ platform: name, manifest: manifest.descriptor, config: config.descriptor, layers: [layer.descriptor] });
  }

  const index = jsonBlob(MediaType.ociIndex, imageIndex(images.map((i) => i.manifest), annotations));
  await store.putBytes(index.bytes, index.descriptor);
  const root: ImageIndex = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [index.descriptor] };
  return { set: { index: root, blobs: store }, index: index.descriptor, images, epoch, git, warnings };
}

/** The file tree of one platform: spec files, then accounts. */
async function assembleTree(loaded: LoadedSpec, _platform: Platform, epoch: number): Promise<FileTree> {
  const spec = loaded.spec;
  const tree = new FileTree({ mode: 0o755, uid: 0, gid: 0, mtime: epoch });
  await copyFiles(
    tree,
    spec.files.map((f, i) => ({
      source: resolve(loaded.dir, f.source),
      target: f.target,
      mode: f.mode,
      uid: f.owner.uid,
      gid: f.owner.gid,
      field: `files[${i}]`,
    })),
    loaded.dir,
    epoch,
  );
  if (spec.accounts.users.length > 0 || spec.accounts.groups.length > 0) {
    writeAccounts(tree, spec.accounts.users, spec.accounts.groups, epoch);
  }
  return tree;
}

function containerConfig(spec: Spec) {
  const env = { ...spec.env };
  if (env.PATH === undefined) env.PATH = DEFAULT_PATH;
  return {
    User: spec.user,
    Env: envList(env),
    Entrypoint: spec.entrypoint,
    Cmd: spec.cmd,
    WorkingDir: spec.workdir,
    Labels: spec.labels,
  };
}

/** The annotations every manifest and the index carry (DESIGN §4), then the spec's own. */
function standardAnnotations(spec: Spec, epoch: number, git: GitInfo | undefined, warn: (m: string) => void): Record<string, string> {
  const a: Record<string, string> = { [Annotation.created]: rfc3339(epoch) };
  if (git) {
    if (git.dirty) warn(`the git checkout has uncommitted changes; ${Annotation.revision} is omitted`);
    else a[Annotation.revision] = git.commit;
    if (git.remoteUrl) a[Annotation.source] = git.remoteUrl;
  }
  return { ...a, ...spec.annotations };
}

/** `created_by` describes inputs, never hosts, paths or times. */
function historyText(spec: Spec): string {
  const parts = [`${spec.files.length} file source(s)`];
  if (spec.accounts.users.length + spec.accounts.groups.length > 0) {
    parts.push(`${spec.accounts.users.length} user(s), ${spec.accounts.groups.length} group(s)`);
  }
  return parts.join(', ');
}
