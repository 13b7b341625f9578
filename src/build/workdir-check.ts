import { statPath } from '../debian/effects/tree-io.js';
import type { ContainerConfig } from '../oci/types.js';
import type { FileTree } from '../vfs/tree.js';

// A WorkingDir the image lacks is made by the runtime when the container starts, and runtimes differ:
// Podman makes it owned by the container's user, Docker and runc under containerd (Kubernetes) owned
// by root, so a non-root program that writes there works under one and fails under the others.

/**
 * A warning when the config's WorkingDir is not a directory of the image (missing, or a file, which
 * the runtime refuses at start). Cost: one lookup.
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
