// docker-archive:FILE[:NAME[:TAG]] — what `docker save` (Docker >= 25) writes: an OCI layout plus manifest.json.
import { type Digest, digestHex, sha256 } from '../digest/index.js';
import { ImprintError } from '../errors.js';
import { canonicalJson } from '../oci/canonical-json.js';
import type { ImageSet } from '../oci/image-set.js';
import { Annotation, LAYER_TYPES, MediaType } from '../oci/media-types.js';
import { formatPlatform } from '../oci/platform.js';
import type { Descriptor, ImageIndex, Platform } from '../oci/types.js';
import {
  familiarName,
  familiarString,
  formatDockerReference,
  parseDockerReference,
} from './docker-reference.js';
import { annotate, parseJson, withoutAnnotation } from './layout-docs.js';
import { layoutEntries, readLayoutFromArchive } from './oci-archive.js';
import { bytesEntry, TarBlobReader, TarFileIndex, type TarMember, writeTarFile } from './tar-file.js';
import { walkImageSet } from './walk.js';

/** One entry of a docker-archive's manifest.json. */
export interface DockerManifestItem {
  Config: string;
  RepoTags: string[] | null;
  Layers: string[];
}

/**
 * Writes the set's one image as a docker-archive that `docker load` and `podman load` accept: an OCI
 * layout (index.json holds the image's root entry) plus `manifest.json`, and `repositories` when
 * named. Layers are stored as they are (compressed); both loaders detect compression. `name` is
 * `repo:tag`. UNSUPPORTED when the set holds more than one image (a docker-archive holds one platform).
 * Cost: streams every blob once.
 */
export async function writeDockerArchive(
  file: string,
  set: ImageSet,
  name: string | undefined,
): Promise<void> {
  const walk = await walkImageSet(set);
  const [image, ...others] = walk.images;
  if (image === undefined) {
    throw new ImprintError('UNSUPPORTED', 'docker-archive: the image set holds no image manifest', {
      hint: 'Only images (not bare artifacts) can be written as docker-archive; use oci-archive.',
    });
  }
  if (others.length > 0) {
    const platforms = walk.images
      .map((i) => formatPlatform(i.descriptor.platform ?? { os: '?', architecture: '?' }))
      .join(', ');
    throw new ImprintError(
      'UNSUPPORTED',
      `docker-archive holds one image, the set has ${walk.images.length} (${platforms})`,
      {
        hint: 'Select one platform for a docker-archive output, or write oci-archive:FILE for a multi-platform image.',
        details: { images: walk.images.length },
      },
    );
  }
  for (const layer of image.manifest.layers) {
    if (!LAYER_TYPES.includes(layer.mediaType)) {
      throw new ImprintError(
        'UNSUPPORTED',
        `docker-archive: layer ${layer.digest} has media type ${layer.mediaType}, not a tar layer`,
        {
          hint: 'docker load accepts tar layers (uncompressed, gzip or zstd) only; use oci-archive.',
        },
      );
    }
  }
  const root = set.index.manifests[image.root] as Descriptor;
  const item: DockerManifestItem = {
    Config: blobPath(image.manifest.config.digest),
    RepoTags: [],
    Layers: image.manifest.layers.map((l) => blobPath(l.digest)),
  };
  // Unnamed, as manifest.json says (RepoTags []): a source layout's bare tag ("latest") or image name
  // left in index.json would make podman load it as localhost/latest:latest, or under the old name.
  let rootEntry = withoutAnnotation(
    withoutAnnotation(root, Annotation.refName),
    Annotation.containerdImageName,
  );
  let repositories: Record<string, Record<string, string>> | undefined;
  if (name !== undefined) {
    const ref = parseDockerReference(name, 'docker-archive image name');
    const tag = ref.tag ?? 'latest';
    ref.tag = tag;
    // the annotations `docker save` writes, so a containerd-backed `docker load` names the image too
    rootEntry = annotate(rootEntry, {
      [Annotation.containerdImageName]: formatDockerReference(ref),
      [Annotation.refName]: tag,
    });
    item.RepoTags = [familiarString(ref)];
    const top = image.manifest.layers.at(-1);
    if (top !== undefined) repositories = { [familiarName(ref)]: { [tag]: digestHex(top.digest) } };
  }
  const index: ImageIndex = { ...set.index, manifests: [rootEntry] };
  const entries = await layoutEntries(set, index);
  entries.push(bytesEntry('manifest.json', canonicalJson([item])));
  if (repositories !== undefined) entries.push(bytesEntry('repositories', canonicalJson(repositories)));
  await writeTarFile(file, entries, 'docker-archive');
}

/**
 * Reads a docker-archive. With an OCI layout inside (Docker >= 25, imprint), its index.json is used;
 * otherwise (podman, skopeo, older Docker) an OCI manifest and index are synthesised from
 * manifest.json, hashing the config and layer members (media types sniffed: gzip, zstd or plain tar).
 * `name` (repo:tag) or `sourceIndex` selects one image; without either, all of them.
 * Cost: reads the archive once to index it; synthesis reads every layer once more.
 */
export async function readDockerArchive(
  file: string,
  name: string | undefined,
  sourceIndex: number | undefined,
): Promise<ImageSet> {
  const archive = await TarFileIndex.load(file, 'docker-archive');
  const where = `docker-archive ${file}`;
  const hasLayout =
    archive.resolve('index.json') !== undefined && archive.resolve('oci-layout') !== undefined;
  const manifestMember = archive.resolve('manifest.json');
  const selecting = name !== undefined || sourceIndex !== undefined;
  if (manifestMember === undefined) {
    if (hasLayout && !selecting) return readLayoutFromArchive(archive, 'docker-archive', undefined);
    throw new ImprintError('INVALID_IMAGE', `${where} has no manifest.json`, {
      hint: 'This does not look like a docker-archive (docker save / podman save output).',
      details: { file },
    });
  }
  const items = parseDockerManifest(
    await archive.readSmall(manifestMember, `${where}: manifest.json`),
    `${where}: manifest.json`,
  );
  if (!selecting) {
    if (hasLayout) return readLayoutFromArchive(archive, 'docker-archive', undefined);
    return synthesize(archive, items, where);
  }
  const item = pickItem(items, name, sourceIndex, where);
  if (hasLayout) {
    const layoutSet = await readLayoutFromArchive(archive, 'docker-archive', undefined);
    const configMember = member(archive, item.Config, where);
    const configDigest = (await archive.hash(configMember, `${where}: ${item.Config}`)).digest;
    const found = (await walkImageSet(layoutSet)).images.find(
      (i) => i.manifest.config.digest === configDigest,
    );
    if (found !== undefined) {
      const root = layoutSet.index.manifests[found.root] as Descriptor;
      const entry = withoutAnnotation(
        withoutAnnotation(root, Annotation.refName),
        Annotation.containerdImageName,
      );
      return {
        index: { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [entry] },
        blobs: layoutSet.blobs,
      };
    }
  }
  return synthesize(archive, [item], where);
}

function blobPath(d: Digest): string {
  return `blobs/sha256/${digestHex(d)}`;
}

function parseDockerManifest(bytes: Buffer, what: string): DockerManifestItem[] {
  const doc = parseJson(bytes, what);
  const bad = (why: string) => new ImprintError('INVALID_IMAGE', `${what}: ${why}`, { details: { what } });
  if (!Array.isArray(doc) || doc.length === 0) throw bad('expected a non-empty JSON array of images');
  return doc.map((raw, i) => {
    const item = raw as Partial<DockerManifestItem> | null;
    if (typeof item !== 'object' || item === null || typeof item.Config !== 'string')
      throw bad(`[${i}] has no "Config" path`);
    if (!Array.isArray(item.Layers) || !item.Layers.every((l) => typeof l === 'string'))
      throw bad(`[${i}] has no "Layers" path list`);
    const tags = item.RepoTags ?? [];
    if (!Array.isArray(tags) || !tags.every((t) => typeof t === 'string'))
      throw bad(`[${i}] "RepoTags" is not a list of names`);
    return { Config: item.Config, RepoTags: tags, Layers: item.Layers };
  });
}

function pickItem(
  items: DockerManifestItem[],
  name: string | undefined,
  sourceIndex: number | undefined,
  where: string,
): DockerManifestItem {
  if (sourceIndex !== undefined) {
    const item = items[sourceIndex];
    if (item === undefined) {
      throw new ImprintError(
        'BAD_REFERENCE',
        `${where} has ${items.length} image(s); @${sourceIndex} is out of range`,
        {
          hint: `Use @0 to @${items.length - 1}.`,
        },
      );
    }
    return item;
  }
  const want = formatDockerReference(parseDockerReference(name as string, 'docker-archive image name'));
  const normalize = (t: string): string | undefined => {
    try {
      return formatDockerReference(parseDockerReference(t));
    } catch {
      return undefined;
    }
  };
  const item = items.find((i) => (i.RepoTags ?? []).some((t) => normalize(t) === want));
  if (item === undefined) {
    const names = items.flatMap((i) => i.RepoTags ?? []).sort();
    throw new ImprintError('BAD_REFERENCE', `${where} has no image named ${name}`, {
      hint:
        names.length > 0
          ? `Names present: ${names.join(', ')}.`
          : 'The archive has no named images; use @N or no name.',
      details: { name, names },
    });
  }
  return item;
}

function member(archive: TarFileIndex, path: string, where: string): TarMember {
  const m = archive.resolve(path);
  if (m === undefined) {
    throw new ImprintError(
      'INVALID_IMAGE',
      `${where}: manifest.json names ${path}, which the archive does not hold as a file`,
      {
        details: { entry: path },
      },
    );
  }
  return m;
}

async function synthesize(
  archive: TarFileIndex,
  items: DockerManifestItem[],
  where: string,
): Promise<ImageSet> {
  const paths = new Map<Digest, string>();
  const synthesized = new Map<Digest, Buffer>();
  const hashed = new Map<string, Descriptor>();
  const describe = async (
    path: string,
    mediaType: (m: TarMember) => Promise<string>,
  ): Promise<Descriptor> => {
    const m = member(archive, path, where);
    const cached = hashed.get(m.path);
    if (cached !== undefined) return cached;
    const { digest, size } = await archive.hash(m, `${where}: ${path}`);
    const d: Descriptor = { mediaType: await mediaType(m), digest, size };
    hashed.set(m.path, d);
    paths.set(digest, m.path);
    return d;
  };
  const manifests: Descriptor[] = [];
  for (const item of items) {
    const config = await describe(item.Config, async () => MediaType.ociConfig);
    const platform = platformOf(
      parseJson(
        await archive.readSmall(member(archive, item.Config, where), `${where}: ${item.Config}`),
        `${where}: ${item.Config}`,
      ),
    );
    const layers: Descriptor[] = [];
    for (const l of item.Layers)
      layers.push(await describe(l, async (m) => sniffLayerType(await archive.head(m, 4))));
    const bytes = canonicalJson({ schemaVersion: 2, mediaType: MediaType.ociManifest, config, layers });
    const digest = sha256(bytes);
    synthesized.set(digest, bytes);
    const d: Descriptor = { mediaType: MediaType.ociManifest, digest, size: bytes.length };
    if (platform !== undefined) d.platform = platform;
    manifests.push(d);
  }
  return {
    index: { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests },
    blobs: new TarBlobReader(archive, 'docker-archive', paths, synthesized),
  };
}

function platformOf(config: unknown): Platform | undefined {
  if (typeof config !== 'object' || config === null) return undefined;
  const c = config as Record<string, unknown>;
  if (typeof c.os !== 'string' || typeof c.architecture !== 'string') return undefined;
  const p: Platform = { architecture: c.architecture, os: c.os };
  if (typeof c.variant === 'string' && c.variant !== '') p.variant = c.variant;
  return p;
}

/** The OCI layer media type for a layer's first bytes: gzip, zstd, else plain tar. */
export function sniffLayerType(head: Buffer): string {
  if (head[0] === 0x1f && head[1] === 0x8b) return MediaType.ociLayerGzip;
  if (head.length >= 4 && head.readUInt32BE(0) === 0x28b52ffd) return MediaType.ociLayerZstd;
  return MediaType.ociLayer;
}
