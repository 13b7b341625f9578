import { ImprintError } from '../errors.js';
import type { VNode } from '../vfs/node.js';
import { normalizeImagePath, parentPath, sortBytes } from '../vfs/path.js';
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
 * VFS_CONFLICT when `neededKey` of `lower`, which the spec's node `key` of `files` needs as a directory
 * (it is that directory, or its parent reached through lower's links), is a file, device or hard link,
 * or a symlink to one (a link to a directory is followed; one leading nowhere makes the directory):
 * a package's file (or one an effect made, such as the CA bundle) would vanish from the image without
 * a word, as with `target: /etc/ssl/certs/ca-certificates.crt/x`, or the build would fail on it
 * without naming the entry (`/usr/bin/python3/`, a link to a file). The entry named is the node's own,
 * else that of the first node below it. Cost: a lookup; a walk down to an entry's node on a conflict.
 */
function refuseReplacingFile(
  lower: FileTree,
  neededKey: string,
  files: FileTree,
  key: string,
  entries: readonly FilesEntry[],
): void {
  let dirKey = neededKey;
  let existing = lower.get(dirKey);
  let link = '';
  if (existing?.kind === 'symlink') {
    // A link to a directory is followed (merged /usr's /lib), one leading nowhere makes it; a link to
    // a file would have the directory replace that file (or be dropped, for an empty source).
    const end = lower.resolvePath(dirKey);
    const reached = lower.get(end);
    if (reached === undefined || reached.kind === 'dir' || reached.kind === 'symlink') return;
    link = ` (a symbolic link${existing.origin === undefined ? '' : ` from ${existing.origin}`} to /${end})`;
    dirKey = end;
    existing = reached;
  }
  if (existing === undefined || existing.kind === 'dir') return;
  let origin = files.get(key)!.origin;
  let below = key;
  for (
    let kids = files.childKeys(below);
    origin === undefined && kids.length > 0;
    kids = files.childKeys(below)
  ) {
    below = kids[0]!;
    origin = files.get(below)!.origin;
  }
  const what = origin ?? 'files';
  const entry = entryOf(origin, entries);
  const owner = existing.origin === undefined ? '' : ` from ${existing.origin}`;
  throw new ImprintError(
    'VFS_CONFLICT',
    `${entry?.label ?? `${what}.target`}:${link === '' ? '' : ` /${neededKey}${link}:`} /${dirKey} is a ${existing.kind}${owner}; ${what} would replace it with a directory${below === neededKey ? '' : ` (to hold /${below})`} and drop it`,
    {
      hint: `Choose a target whose directories are directories in the image: /${dirKey} is a ${existing.kind} there.`,
      details: {
        field: `${what}.target`,
        path: `/${dirKey}`,
        ...(existing.origin ? { existing: existing.origin } : {}),
      },
    },
  );
}

/** The files[] entry of an origin such as `files[2]`, if it is one. */
function entryOf(origin: string | undefined, entries: readonly FilesEntry[]): FilesEntry | undefined {
  const index = /^files\[(\d+)\]$/.exec(origin ?? '')?.[1];
  return index === undefined ? undefined : entries[Number(index)];
}

/**
 * refuseHidingDirectory for every file and link of the spec's `files` tree about to be laid over
 * `lower`, refuseReplacingFile for every directory (paths resolved through lower's directory links,
 * as FileTree.overlay does). `entries` are the spec's files[] entries, by index. Cost: one lookup per
 * node of `files`.
 */
export function refuseHidingDirectories(
  lower: FileTree,
  files: FileTree,
  entries: readonly FilesEntry[],
): void {
  checkOverlay(lower, files, entries, true);
}

/**
 * refuseReplacingFile alone, for a base image's tree (`changeset` refuses a base directory that a
 * file replaces, knowing the spec's removals). Cost: one lookup per node of `files`.
 */
export function refuseReplacingFiles(lower: FileTree, files: FileTree, entries: readonly FilesEntry[]): void {
  checkOverlay(lower, files, entries, false);
}

function checkOverlay(
  lower: FileTree,
  files: FileTree,
  entries: readonly FilesEntry[],
  directories: boolean,
): void {
  for (const key of sortBytes([...files.keys()])) {
    const node = files.get(key)!;
    const lowerKey = lower.resolveParents(key);
    const parent = parentPath(lowerKey);
    if (parent !== '') refuseReplacingFile(lower, parent, files, key, entries);
    if (node.kind === 'dir') refuseReplacingFile(lower, lowerKey, files, key, entries);
    else if (directories) refuseHidingDirectory(lower, lowerKey, node, entryOf(node.origin, entries));
  }
}
