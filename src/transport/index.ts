// Where images live: oci:, oci-archive:, docker-archive:, docker:// (registry/).
import { ImprintError } from '../errors.js';
import type { ImageSet } from '../oci/image-set.js';
import type { LockHolder } from '../store/file-lock.js';
import { readDockerArchive, writeDockerArchive } from './docker-archive.js';
import { readOciArchive, writeOciArchive } from './oci-archive.js';
import { readOciDir, writeOciDir } from './oci-dir.js';
import { checkOciTag, dockerArchiveName, formatReference, type ImageRef } from './reference.js';
import {
  type PullOptions,
  type RegistryOptions,
  type RegistryWriteOptions,
  readRegistry,
  writeRegistry,
} from './registry/index.js';

export {
  type DockerReference,
  familiarName,
  familiarString,
  formatDockerReference,
  parseDockerReference,
} from './docker-reference.js';
export { OCI_LAYOUT_BYTES, selectTag, tagIndex } from './layout-docs.js';
export {
  checkOciTag,
  formatReference,
  type ImageRef,
  isOciRefName,
  parseReference,
  REFERENCE_FORMS,
  wholeLayoutOf,
} from './reference.js';
export { type ImageSetWalk, type WalkedImage, walkImageSet } from './walk.js';

export interface WriteOptions {
  /** oci/oci-archive: the `org.opencontainers.image.ref.name` for entries when the reference names no tag. */
  tag?: string;
  /** docker-archive: `repo[:tag]` for manifest.json RepoTags when the reference names none. */
  name?: string;
  /** docker: connection, credentials, mounts (see src/transport/registry/). */
  registry?: RegistryWriteOptions;
  /** oci: told once, after ~2 s, when another writer's lock on the layout is being waited for. */
  onLockWait?: (holder: LockHolder, timeoutMs: number) => void;
}

export interface ReadOptions {
  /** docker: connection, credentials, and whether referrers join the set. */
  registry?: RegistryOptions & PullOptions;
}

/**
 * Writes an image set to `ref`. Every transport writes atomically: an interrupted or failed write
 * leaves the previous output readable. Cost: streams every blob once (hard links from a BlobStore into
 * an `oci:` directory on the same filesystem).
 */
export async function writeImageSet(ref: ImageRef, set: ImageSet, opts: WriteOptions = {}): Promise<void> {
  const what = formatReference(ref);
  switch (ref.transport) {
    case 'oci':
      return writeOciDir(ref.path, set, ociTag(ref.tag, opts.tag, what), opts.onLockWait);
    case 'oci-archive':
      return writeOciArchive(ref.path, set, ociTag(ref.tag, opts.tag, what));
    case 'docker-archive': {
      if (ref.sourceIndex !== undefined) {
        throw new ImprintError(
          'BAD_REFERENCE',
          `${what}: @N selects an image to read; a written archive is named by NAME:TAG`,
          {
            hint: 'Write to docker-archive:FILE or docker-archive:FILE:NAME:TAG.',
          },
        );
      }
      const name = ref.name ?? (opts.name === undefined ? undefined : dockerArchiveName(opts.name, what));
      return writeDockerArchive(ref.path, set, name);
    }
    case 'docker':
      await writeRegistry(ref, set, opts.registry);
      return;
  }
}

/** Reads the image set at `ref`; blobs are verified as they are read. Cost: indexes archives once. */
export async function readImageSet(ref: ImageRef, opts: ReadOptions = {}): Promise<ImageSet> {
  switch (ref.transport) {
    case 'oci':
      return readOciDir(ref.path, ref.tag);
    case 'oci-archive':
      return readOciArchive(ref.path, ref.tag);
    case 'docker-archive':
      return readDockerArchive(ref.path, ref.name, ref.sourceIndex);
    case 'docker':
      return readRegistry(ref, opts.registry);
  }
}

function ociTag(refTag: string | undefined, optTag: string | undefined, what: string): string | undefined {
  if (refTag !== undefined) return refTag;
  return optTag === undefined ? undefined : checkOciTag(optTag, what);
}
