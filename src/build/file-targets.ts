import { ImprintError } from '../errors.js';
import type { VNode } from '../vfs/node.js';
import { normalizeImagePath, sortBytes } from '../vfs/path.js';
import type { FileTree } from '../vfs/tree.js';

/** A files[] entry as errors name it. */
export interface FilesEntry {
  /** The entry's target field as errors name it: `imprint.yaml:7:13: files[2].target`. */
  label: string;
  /** The target as written. */
  target: string;
}

/**
 * VFS_CONFLICT when the spec's file or link `node`, placed at `key`, would take the place of a directory
 * of `lower` that has content (installed by a package, or made by an earlier files[] entry): everything
 * below it would vanish from the image without a word, as when `target: /etc/ssl/certs` lacks the
 * trailing / that means "into". An empty directory may be replaced; a base image's directories are
 * checked by `changeset`. `entry` is the files[] entry that places `node`, for the message and the
 * hint. Cost: a lookup.
 */
export function refuseHidingDirectory(
  lower: FileTree,
  key: string,
  node: VNode,
  entry: FilesEntry | undefined,
): void {
  if (node.kind === 'dir') return;
  const existing = lower.get(key);
  if (existing?.kind !== 'dir') return;
  const below = lower.childKeys(key);
  if (below.length === 0) return;
  const origin = node.origin ?? 'files';
  const owner = existing.origin === undefined ? '' : ` from ${existing.origin}`;
  const count = below.length === 1 ? '1 entry' : `${below.length} entries`;
  const intoTarget = entry !== undefined && normalizeImagePath(entry.target) === key;
  throw new ImprintError(
    'VFS_CONFLICT',
    `${entry?.label ?? `${origin}.target`}: /${key} is a directory${owner} holding ${count} (e.g. /${below[0]}); ${origin} would replace it with a ${node.kind} and drop them`,
    {
      hint: intoTarget
        ? `To copy into the directory, end the target with a slash: target: /${key}/. Otherwise choose another target.`
        : 'Two inputs write the same path; remove one of them or give them different targets.',
      details: {
        field: `${origin}.target`,
        path: `/${key}`,
        ...(existing.origin ? { existing: existing.origin } : {}),
      },
    },
  );
}

/**
 * refuseHidingDirectory for every file and link of the spec's `files` tree about to be laid over
 * `lower` (paths resolved through lower's directory links, as FileTree.overlay does). `entries` are
 * the spec's files[] entries, by index. Cost: one lookup per node of `files`.
 */
export function refuseHidingDirectories(
  lower: FileTree,
  files: FileTree,
  entries: readonly FilesEntry[],
): void {
  for (const key of sortBytes([...files.keys()])) {
    const node = files.get(key)!;
    if (node.kind === 'dir') continue;
    const index = /^files\[(\d+)\]$/.exec(node.origin ?? '')?.[1];
    refuseHidingDirectory(
      lower,
      lower.resolveParents(key),
      node,
      index === undefined ? undefined : entries[Number(index)],
    );
  }
}
