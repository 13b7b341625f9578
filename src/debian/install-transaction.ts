// Changes to the tree that can be rolled back: a package that fails half-way leaves nothing behind.
import type { VNode } from '../vfs/node.js';
import { parentPath } from '../vfs/path.js';
import type { FileTree } from '../vfs/tree.js';
import { fileConflict } from './install-conflicts.js';

/**
 * Records every node a package's unpacking sets (with what was there before) so `rollback` can
 * restore the tree exactly. Missing parent directories are created explicitly (and logged) with
 * `parentMeta`, so nothing appears in the tree implicitly.
 */
export class TreeTransaction {
  readonly #tree: FileTree;
  readonly #log: Array<{ key: string; prev: VNode | undefined }> = [];
  readonly #parentNode: VNode;
  readonly #who: string;

  /** `who` names the package in conflicts with non-directories on the way to a path. */
  constructor(tree: FileTree, parentNode: VNode, who: string) {
    this.#tree = tree;
    this.#parentNode = parentNode;
    this.#who = who;
  }

  /** Sets `node` at `key` (replacing what is there; directories merge), creating missing parents first. */
  set(key: string, node: VNode): void {
    this.ensureParents(key);
    this.#log.push({ key, prev: this.#tree.get(key) });
    this.#tree.add(key, node, { onExisting: 'replace' });
  }

  /** Creates the missing ancestors of `key` as directories; a non-directory on the way is FILE_CONFLICT. */
  ensureParents(key: string): void {
    const missing: string[] = [];
    for (let p = parentPath(key); p !== ''; p = parentPath(p)) {
      const node = this.#tree.get(p);
      if (node === undefined) missing.push(p);
      else if (node.kind === 'dir') break;
      else
        throw fileConflict(
          key,
          node.origin ?? 'the image',
          this.#who,
          `/${p} is a ${node.kind}, not a directory`,
        );
    }
    for (const p of missing.reverse()) {
      this.#log.push({ key: p, prev: undefined });
      this.#tree.add(p, this.#parentNode);
    }
  }

  /** Undoes every change, newest first. */
  rollback(): void {
    for (let i = this.#log.length - 1; i >= 0; i--) {
      const { key, prev } = this.#log[i] as { key: string; prev: VNode | undefined };
      if (prev === undefined) this.#tree.remove(key);
      else this.#tree.add(key, prev, { onExisting: 'replace' });
    }
    this.#log.length = 0;
  }
}
