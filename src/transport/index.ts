// Where images live: oci:, oci-archive:, docker-archive: (docker:// parsed; registry I/O is a later issue).
import { ImprintError } from '../errors.js';
import type { ImageSet } from '../oci/image-set.js';
import { readDockerArchive, writeDockerArchive } from './docker-archive.js';
import { readOciArchive, writeOciArchive } from './oci-archive.js';
import { readOciDir, writeOciDir } from './oci-dir.js';
import { checkOciTag, dockerArchiveName, formatReference, type ImageRef } from './reference.js';

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
} from './reference.js';
export { type ImageSetWalk, type WalkedImage, walkImageSet } from './walk.js';

export interface WriteOptions {
  /** oci/oci-archive: the `org.opencontainers.image.ref.name` for entries when the reference names no tag. */
  tag?: string;
  /** docker-archive: `repo[:tag]` for manifest.json RepoTags when the reference names none. */
  name?: string;
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
      return writeOciDir(ref.path, set, ociTag(ref.tag, opts.tag, what));
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
      throw registryUnsupported(what);
  }
}

/** Reads the image set at `ref`; blobs are verified as they are read. Cost: indexes archives once. */
export async function readImageSet(ref: ImageRef): Promise<ImageSet> {
  switch (ref.transport) {
    case 'oci':
      return readOciDir(ref.path, ref.tag);
    case 'oci-archive':
      return readOciArchive(ref.path, ref.tag);
    case 'docker-archive':
      return readDockerArchive(ref.path, ref.name, ref.sourceIndex);
    case 'docker':
      throw registryUnsupported(formatReference(ref));
  }
}

function ociTag(refTag: string | undefined, optTag: string | undefined, what: string): string | undefined {
  if (refTag !== undefined) return refTag;
  return optTag === undefined ? undefined : checkOciTag(optTag, what);
}

function registryUnsupported(what: string): ImprintError {
  return new ImprintError('UNSUPPORTED', `${what}: registry transport is not implemented yet`, {
    hint: 'Write oci:DIR or oci-archive:FILE and push it with `skopeo copy oci:DIR docker://...` for now.',
  });
}
