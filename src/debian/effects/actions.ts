// Declarative actions for the simple effects (copy a template, make a link or directory, write a text).
import { ImprintError } from '../../errors.js';
import { normalizeImagePath } from '../../vfs/path.js';
import {
  type EffectWriter,
  exists,
  isDir,
  makeDir,
  putNode,
  statPath,
  targetKey,
  writeFile,
  writeSymlink,
} from './tree-io.js';

/** A condition on the tree: a path that must (`if`) or must not (`unless`) exist, links followed. */
interface Guard {
  if?: string;
  unless?: string;
}

/**
 * The vocabulary of simple effects. Unless said otherwise an action does nothing when its
 * destination already exists (the scripts' `if [ ! -e ... ]` on a fresh install).
 */
export type EffectAction = Guard &
  (
    | { op: 'copy'; from: string; to: string; mode?: number } // `cp -p` (source mode, owner and mtime kept)
    | { op: 'link'; path: string; target: string; force?: boolean; requireTarget?: boolean } // `ln -s`, `ln -sf` with force
    | { op: 'mkdir'; path: string; mode: number; uid?: number; gid?: number } // `mkdir; chown; chmod`
    | { op: 'write'; path: string; text: string; mode?: number; uid?: number; gid?: number } // `cat > path <<EOF`
    | { op: 'migrate-dir'; path: string; target: string } // base-files: `rmdir path; ln -s target path` unless a link
    | { op: 'chown'; path: string; user: string; group: string; mode?: number } // `chown user:group path; chmod mode path` (names; skipped when unknown)
  );

/** uids and gids of the account names `chown` actions use, as the image's /etc/passwd and /etc/group give them. */
export interface AccountIds {
  users: ReadonlyMap<string, number>;
  groups: ReadonlyMap<string, number>;
}

/** Runs `actions` in order. Cost: reads nothing; copies share the source's content opener. */
export function runActions(w: EffectWriter, actions: readonly EffectAction[], ids?: AccountIds): void {
  for (const a of actions) {
    if (a.if !== undefined && !exists(w.tree, a.if)) continue;
    if (a.unless !== undefined && exists(w.tree, a.unless)) continue;
    switch (a.op) {
      case 'copy': {
        if (present(w, a.to)) break;
        const src = statPath(w.tree, a.from);
        if (src === undefined || src.node.kind !== 'file') break; // the template is not shipped (path-excluded or absent)
        putNode(w, a.to, { ...src.node, ...(a.mode === undefined ? {} : { mode: a.mode }) });
        break;
      }
      case 'link': {
        if (!a.force && present(w, a.path)) break;
        if (a.requireTarget && !exists(w.tree, resolveRelative(a.path, a.target))) break;
        writeSymlink(w, a.path, a.target);
        break;
      }
      case 'mkdir':
        makeDir(w, a.path, a.mode, a.uid ?? 0, a.gid ?? 0);
        break;
      case 'write':
        if (present(w, a.path)) break;
        writeFile(w, a.path, a.text, { mode: a.mode ?? 0o644, uid: a.uid ?? 0, gid: a.gid ?? 0 });
        break;
      case 'migrate-dir':
        migrateDir(w, a.path, a.target);
        break;
      case 'chown': {
        const hit = statPath(w.tree, a.path);
        const uid = ids?.users.get(a.user);
        const gid = ids?.groups.get(a.group);
        if (hit === undefined || uid === undefined || gid === undefined) break;
        const mode = a.mode ?? hit.node.mode;
        if (hit.node.uid === uid && hit.node.gid === gid && hit.node.mode === mode) break;
        w.tree.add(hit.key, { ...hit.node, uid, gid, mode, origin: w.origin }, { onExisting: 'replace' });
        w.record(hit.key);
        break;
      }
    }
  }
}

/** True when something (even a dangling link) is at `path`. */
function present(w: EffectWriter, path: string): boolean {
  return w.tree.get(targetKey(w, path)) !== undefined || exists(w.tree, path);
}

/** An absolute form of a link target, for existence checks. */
function resolveRelative(linkPath: string, target: string): string {
  if (target.startsWith('/')) return target;
  const dir = normalizeImagePath(linkPath).split('/').slice(0, -1).join('/');
  return `/${dir}/${target}`;
}

/**
 * Replaces the directory at `path` by a symlink to `target` (base-files' migrate_directory). What
 * packages shipped inside it moves under the target, keeping names and metadata (the script's
 * `rmdir` would fail on a non-empty directory; moving keeps what the packages meant to install).
 */
function migrateDir(w: EffectWriter, path: string, target: string): void {
  const key = targetKey(w, path);
  const node = w.tree.get(key);
  if (node?.kind === 'symlink') return;
  if (node !== undefined && node.kind !== 'dir') {
    throw new ImprintError(
      'FILE_CONFLICT',
      `/${key}: ${w.origin} turns it into a link to ${target}, but it is a ${node.kind}`,
      {
        details: { path: `/${key}` },
      },
    );
  }
  if (node !== undefined) {
    const prefix = `${key}/`;
    const children = [...w.tree.keys()]
      .filter((k) => k.startsWith(prefix))
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const dest = targetKey(w, target);
    for (const child of children) {
      const moved = `${dest}/${child.slice(prefix.length)}`;
      const c = w.tree.get(child);
      if (c === undefined || (c.kind === 'dir' && isDir(w.tree, moved))) continue;
      w.tree.add(moved, c, { onExisting: 'replace' });
      w.record(moved);
    }
    w.tree.remove(key);
  }
  writeSymlink(w, path, target);
}
