import { makeDir, statPath } from '../debian/effects/tree-io.js';
import { ImprintError, isImprintError } from '../errors.js';
import type { ContainerConfig } from '../oci/types.js';
import { type SpecLocation, specField } from '../spec/load.js';
import { normalizeImagePath } from '../vfs/path.js';
import type { FileTree } from '../vfs/tree.js';

// A WorkingDir the image lacks is made by the runtime when the container starts, and runtimes differ:
// Podman makes it owned by the container's user, Docker and runc under containerd (Kubernetes) owned
// by root, so a non-root program that writes there works under one and fails under the others. The
// spec's own workdir is therefore made by the build (makeWorkdir), as Dockerfile's WORKDIR does; a
// base image's inherited one is only warned about.

/**
 * Makes the spec's `workdir` where the image lacks it, as a Dockerfile's WORKDIR (before any USER)
 * does under buildah and BuildKit: root-owned 0755 directories, missing parents too, mtime the
 * epoch; symlinks on the way are followed. An existing directory is left as it is (no node changes,
 * so images whose workdir exists keep their bytes). SPEC_INVALID naming `workdir` when the path or
 * one of its parents is a file (or another non-directory), or a symbolic link that leads nowhere.
 * Cost: one lookup per path component.
 */
export function makeWorkdir(
  tree: FileTree,
  workdir: string | undefined,
  epoch: number,
  spec: SpecLocation,
): void {
  if (workdir === undefined) return;
  const parts = normalizeImagePath(workdir)
    .split('/')
    .filter((p) => p !== '');
  if (parts.length === 0) return; // the root
  try {
    for (let i = 1; i <= parts.length; i++) {
      const path = `/${parts.slice(0, i).join('/')}`;
      const own = tree.get(tree.resolveParents(path)); // the component itself, not followed
      if (own === undefined) break; // the rest is missing: made below
      const found = statPath(tree, path);
      if (found?.node.kind === 'dir') continue;
      const what =
        own.kind === 'symlink'
          ? `a symbolic link to ${own.target}, which ${found === undefined ? 'does not exist in the image' : `is a ${found.node.kind}`}`
          : `a ${own.kind === 'hardlink' ? 'file' : own.kind}`;
      throw new ImprintError(
        'SPEC_INVALID',
        `${specField(spec, ['workdir'])}: ${path === `/${parts.join('/')}` ? workdir : `${path}, a parent of ${workdir},`} is ${what}${own.origin === undefined ? '' : ` (from ${own.origin})`}, not a directory: the container could not start in it`,
        {
          hint: 'Name a directory of the image (or one it lacks, which the build makes), or change the files entry or package that puts something else there.',
          details: { file: spec.file, field: 'workdir', path },
        },
      );
    }
    makeDir({ tree, mtime: epoch, origin: 'workdir', record: () => {} }, tree.resolvePath(workdir));
  } catch (err) {
    if (!isImprintError(err, 'VFS_SYMLINK_LOOP')) throw err;
    throw new ImprintError('SPEC_INVALID', `${specField(spec, ['workdir'])}: ${err.message}`, {
      ...(err.hint === undefined ? {} : { hint: err.hint }),
      cause: err,
      details: { ...err.details, file: spec.file, field: 'workdir' },
    });
  }
}

/**
 * A warning when the config's WorkingDir is not a directory of the image (missing, or a file, which
 * the runtime refuses at start): a base image's, as the spec's own is made. Cost: one lookup.
 */
export function workdirNotes(tree: FileTree, config: ContainerConfig, platform: string): string[] {
  const dir = config.WorkingDir;
  if (dir === undefined || dir === '' || dir === '/') return [];
  const found = statPath(tree, dir);
  if (found?.node.kind === 'dir') return [];
  if (found !== undefined)
    return [`the image's workdir ${dir} (${platform}) is not a directory: the container will not start`];
  return [
    `the image's workdir ${dir} (${platform}) is not in the image: the runtime makes it at start, owned by the container's user under Podman but by root under Docker and Kubernetes (a non-root user cannot write there); add it with files (a directory source, with owner) to have it in the image`,
  ];
}
