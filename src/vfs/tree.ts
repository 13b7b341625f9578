import { ImprintError } from '../errors.js';
import type { Meta, VNode } from './node.js';
import { normalizeImagePath, parentPath, resolveLinkTarget, sortBytes } from './path.js';

export interface AddOptions {
  /** What to do when the path exists: 'error' (default; directories merge), or 'replace'. */
  onExisting?: 'error' | 'replace';
}

const MAX_LINK_HOPS = 40;

/**
 * An in-memory file tree: metadata in memory, file contents behind openers. Keys are normalised image
 * paths (see normalizeImagePath); the root itself is not stored. Parents are created implicitly with
 * `dirMeta`. Nothing here touches the host filesystem.
 */
export class FileTree {
  readonly #nodes = new Map<string, VNode>();
  /** The keys directly below each key that has any ('' for top-level keys): removing walks a subtree. */
  readonly #children = new Map<string, Set<string>>();
  /** The hard links naming each key: what a removed or replaced file leaves linked to it. */
  readonly #linksTo = new Map<string, Set<string>>();
  #dirMeta: Meta;

  constructor(dirMeta: Meta) {
    this.#dirMeta = dirMeta;
  }

  /**
   * The metadata of parents created implicitly from now on: a base image's tree, read with its own,
   * takes the build's once the build writes into it (accounts' homes, generated files).
   */
  useDirMeta(dirMeta: Meta): void {
    this.#dirMeta = dirMeta;
  }

  /** Number of nodes (the root not counted). */
  get size(): number {
    return this.#nodes.size;
  }

  /** The node at `path`, without following symlinks. */
  get(path: string): VNode | undefined {
    // A key of this tree is normal, and no other spelling equals it: looked up as given first (callers
    // walking the tree's own keys skip normalising each of them).
    return this.#nodes.get(path) ?? this.#nodes.get(normalizeImagePath(path));
  }

  /** The keys directly below the directory `path`, sorted by UTF-8 bytes ([] when none). Cost: O(children log children). */
  childKeys(path: string): string[] {
    const kids = this.#children.get(normalizeImagePath(path));
    return kids === undefined ? [] : sortBytes([...kids]);
  }

  /** All keys, in insertion order (callers that write output must sort: see layerEntries). */
  keys(): IterableIterator<string> {
    return this.#nodes.keys();
  }

  /**
   * Adds `node` at `path`, creating missing parents. Adding a directory over a directory merges (the new
   * metadata wins); anything else over an existing node is VFS_CONFLICT unless onExisting is 'replace'.
   */
  add(path: string, node: VNode, options: AddOptions = {}): void {
    const key = normalizeImagePath(path);
    if (key === '') {
      if (node.kind !== 'dir') throw conflict('', 'the image root must be a directory');
      return;
    }
    this.#mkdirp(parentPath(key), this.#dirMeta, key);
    const existing = this.#nodes.get(key);
    if (existing !== undefined && !(existing.kind === 'dir' && node.kind === 'dir')) {
      if (options.onExisting !== 'replace') {
        throw conflict(
          key,
          `already holds a ${existing.kind}${existing.origin ? ` from ${existing.origin}` : ''}`,
          node.origin,
        );
      }
      if (existing.kind === 'dir') this.remove(key);
      else this.#keepLinked((k) => k === key, [key]);
    }
    this.#set(key, node);
  }

  /**
   * Creates `path` and its parents as directories where missing; existing directories are kept as they
   * are. Anything else in the way is VFS_CONFLICT (links are not followed), or VFS_SYMLINK_LOOP when it
   * is a link of a loop.
   */
  mkdirp(path: string, meta: Meta = this.#dirMeta): void {
    const key = normalizeImagePath(path);
    this.#mkdirp(key, meta, key);
  }

  /** mkdirp of a key, on the way to `placing` (the path errors name). */
  #mkdirp(key: string, meta: Meta, placing: string): void {
    if (key === '') return;
    const existing = this.#nodes.get(key);
    if (existing?.kind === 'dir') return;
    if (existing !== undefined) {
      if (existing.kind === 'symlink') this.#follow(key, placing); // a loop says so
      throw conflict(
        key,
        `is a ${existing.kind}${existing.origin ? ` from ${existing.origin}` : ''}, not a directory`,
      );
    }
    this.#mkdirp(parentPath(key), meta, placing);
    this.#set(key, { kind: 'dir', ...meta });
  }

  /**
   * Removes `path` and, for a directory, everything below it. Returns whether anything was removed.
   * Cost: O(nodes removed), whatever the size of the tree.
   */
  remove(path: string): boolean {
    const key = normalizeImagePath(path);
    if (!this.#nodes.has(key)) return false;
    if (this.#linksTo.size > 0)
      this.#keepLinked((k) => k === key || k.startsWith(`${key}/`), [key, ...this.#below(key)]);
    const parent = parentPath(key);
    const siblings = this.#children.get(parent)!;
    siblings.delete(key);
    if (siblings.size === 0) this.#children.delete(parent);
    this.#delete(key);
    this.#removeBelow(key);
    return true;
  }

  /**
   * Removes everything below the directory `path` (all nodes for the root, ''), keeping `path` itself:
   * an opaque directory. Returns the number of nodes removed. Cost: O(nodes removed).
   */
  removeBelow(path: string): number {
    const key = normalizeImagePath(path);
    if (this.#linksTo.size > 0)
      this.#keepLinked((k) => key === '' || k.startsWith(`${key}/`), this.#below(key));
    return this.#removeBelow(key);
  }

  #removeBelow(key: string): number {
    let removed = 0;
    const stack = [key];
    for (let k = stack.pop(); k !== undefined; k = stack.pop()) {
      const kids = this.#children.get(k);
      if (kids === undefined) continue;
      this.#children.delete(k);
      for (const kid of kids) {
        this.#delete(kid);
        stack.push(kid);
        removed++;
      }
    }
    return removed;
  }

  /** The keys below `key`. Cost: O(keys below). */
  #below(key: string): string[] {
    const out: string[] = [];
    const stack = [key];
    for (let k = stack.pop(); k !== undefined; k = stack.pop()) {
      for (const kid of this.#children.get(k) ?? []) {
        out.push(kid);
        stack.push(kid);
      }
    }
    return out;
  }

  /**
   * Before the nodes at `keys` go (`gone` says which keys do): a hard link that stays and reaches a
   * file through them stays a name of that file, as a file system keeps a file while a name links to
   * it. The file gone, the first such link (byte order) takes its node and the others name that link.
   */
  #keepLinked(gone: (key: string) => boolean, keys: Iterable<string>): void {
    const byFile = new Map<string, string[]>();
    for (const key of keys) {
      for (const link of this.#linksTo.get(key) ?? []) {
        const file = gone(link) ? undefined : this.#linkedFile(link);
        if (file !== undefined) byFile.set(file, [...(byFile.get(file) ?? []), link]);
      }
    }
    for (const [file, links] of byFile) {
      let name = file;
      const sorted = sortBytes(links);
      if (gone(file)) {
        name = sorted.shift()!;
        this.#set(name, this.#nodes.get(file)!);
      }
      for (const link of sorted) this.#set(link, { ...this.#nodes.get(link)!, target: `/${name}` } as VNode);
    }
  }

  /** The key of the file the hard link at `key` finally names, if any. */
  #linkedFile(key: string): string | undefined {
    let current = key;
    for (let hops = 0; hops < MAX_LINK_HOPS; hops++) {
      const node = this.#nodes.get(current);
      if (node?.kind === 'file') return current;
      if (node?.kind !== 'hardlink') return undefined;
      current = linkKey(node.target);
    }
    return undefined;
  }

  /** Sets the node at `key` (its parent's key already holds a directory), keeping #children and #linksTo in step. */
  #set(key: string, node: VNode): void {
    const old = this.#nodes.get(key);
    if (old === undefined) {
      const parent = parentPath(key);
      const siblings = this.#children.get(parent);
      if (siblings === undefined) this.#children.set(parent, new Set([key]));
      else siblings.add(key);
    } else if (old.kind === 'hardlink') this.#unlink(key, old.target);
    this.#nodes.set(key, node);
    if (node.kind === 'hardlink') {
      const target = linkKey(node.target);
      const links = this.#linksTo.get(target);
      if (links === undefined) this.#linksTo.set(target, new Set([key]));
      else links.add(key);
    }
  }

  /** Deletes the node at `key` (its parent's #children entry is the caller's). */
  #delete(key: string): void {
    const node = this.#nodes.get(key);
    if (node?.kind === 'hardlink') this.#unlink(key, node.target);
    this.#nodes.delete(key);
  }

  #unlink(key: string, target: string): void {
    const links = this.#linksTo.get(linkKey(target));
    links?.delete(key);
    if (links?.size === 0) this.#linksTo.delete(linkKey(target));
  }

  /**
   * The key `path` denotes once symlinks in its directory components are followed inside the tree
   * (the last component is not followed). Used to canonicalise paths such as /lib/x on merged-/usr.
   * VFS_SYMLINK_LOOP when a component's links lead back to themselves, or on for more than 40 hops.
   */
  resolveParents(path: string): string {
    const key = normalizeImagePath(path);
    const slash = key.lastIndexOf('/');
    if (slash < 0) return key; // the root or a top-level entry: no parents
    // Every ancestor of a node is a directory (add and mkdirp refuse anything else in the way), so
    // an existing parent directory means no link on the way: the common case, without the walk.
    if (this.#nodes.get(key.slice(0, slash))?.kind === 'dir') return key;
    const parts = key.split('/');
    let current = '';
    const followed: string[] = []; // every link followed, for the hop limit and the error
    for (let i = 0; i < parts.length - 1; i++) {
      current = current === '' ? parts[i]! : `${current}/${parts[i]}`;
      const start = followed.length;
      let node = this.#nodes.get(current);
      while (node?.kind === 'symlink') {
        const seen = followed.indexOf(current, start);
        if (seen >= 0) throw this.#linkError(key, followed.slice(seen), 'loop');
        followed.push(current);
        if (followed.length > MAX_LINK_HOPS) throw this.#linkError(key, followed, 'chain');
        current = resolveLinkTarget(current, node.target);
        node = this.#nodes.get(current);
      }
    }
    return current === '' ? parts[parts.length - 1]! : `${current}/${parts[parts.length - 1]}`;
  }

  /**
   * The key `path` denotes with every symlink followed, the last component included (like
   * `realpath -m`): a missing component ends the walk there. VFS_SYMLINK_LOOP as resolveParents.
   */
  resolvePath(path: string): string {
    const start = normalizeImagePath(path);
    return this.#follow(this.resolveParents(start), start);
  }

  /** Follows the links from `key` to where they end; errors name `path`. */
  #follow(key: string, path: string): string {
    const followed: string[] = [];
    let current = key;
    for (let node = this.#nodes.get(current); node?.kind === 'symlink'; node = this.#nodes.get(current)) {
      const seen = followed.indexOf(current);
      if (seen >= 0) throw this.#linkError(path, followed.slice(seen), 'loop');
      followed.push(current);
      if (followed.length > MAX_LINK_HOPS) throw this.#linkError(path, followed, 'chain');
      current = this.resolveParents(resolveLinkTarget(current, node.target));
    }
    return current;
  }

  /** VFS_SYMLINK_LOOP for `key`, naming the links (keys of symlinks in this tree) that make it. */
  #linkError(key: string, links: readonly string[], shape: 'loop' | 'chain'): ImprintError {
    const described = links.map((k) => {
      const node = this.#nodes.get(k) as Extract<VNode, { kind: 'symlink' }>;
      return { path: `/${k}`, target: node.target, ...(node.origin ? { origin: node.origin } : {}) };
    });
    const text = (d: (typeof described)[number]) =>
      `${d.path} -> ${d.target}${d.origin ? ` (from ${d.origin})` : ''}`;
    const message =
      shape === 'loop'
        ? `/${key} leads nowhere: the symbolic links ${described.map(text).join(', ')} form a loop`
        : `/${key} goes through more than ${MAX_LINK_HOPS} symbolic links: ${described.slice(0, 3).map(text).join(', ')}, ... ${text(described[described.length - 1]!)}`;
    return new ImprintError('VFS_SYMLINK_LOOP', message, {
      hint:
        shape === 'loop'
          ? 'Each link points to the next and the last back to the first, so nothing can be reached (or placed) below them. Change or remove one of these links in the package or spec entry that makes it.'
          : `Linux follows at most ${MAX_LINK_HOPS} symbolic links in a path; point the first link closer to where the chain ends.`,
      details: { path: `/${key}`, links: described },
    });
  }

  /**
   * A new tree holding the nodes at `keys` and every ancestor directory of them, with the same
   * metadata: one layer's share of the tree. Cost: O(keys × depth).
   */
  pick(keys: Iterable<string>): FileTree {
    const out = new FileTree(this.#dirMeta);
    for (const key of keys) {
      const node = this.#nodes.get(key);
      if (node === undefined) continue;
      let parent = parentPath(key);
      const chain: string[] = [];
      while (parent !== '' && !out.#nodes.has(parent)) {
        chain.push(parent);
        parent = parentPath(parent);
      }
      for (const p of chain.reverse()) out.#set(p, this.#nodes.get(p) ?? { kind: 'dir', ...this.#dirMeta });
      out.#set(key, node);
    }
    return out;
  }

  /**
   * Lays `upper` over this tree, as a later layer would: its nodes replace ours (paths resolved through
   * our directory symlinks); its directories merge, and its implicit directories (no origin: parents it
   * created on its own) and those marked `keep` (a COPY destination) keep our metadata.
   */
  overlay(upper: FileTree): void {
    const keys = [...upper.#nodes.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (const key of keys) {
      const node = upper.#nodes.get(key)!;
      const target = this.resolveParents(key); // e.g. bin/x lands in usr/bin/x when bin -> usr/bin
      const mine = this.#nodes.get(target);
      // A directory never replaces a symlink (merged /usr), and an implicit one (or one marked `keep`)
      // keeps our metadata.
      if (
        node.kind === 'dir' &&
        (mine?.kind === 'symlink' ||
          ((node.origin === undefined || node.keep === true) && mine?.kind === 'dir'))
      )
        continue;
      this.add(target, node, { onExisting: 'replace' });
    }
  }

  /**
   * Applies `fn` to every node; `fn` returns a replacement, the same node, or undefined to delete it
   * (a directory with everything below it: `fn` is not called for those).
   */
  map(fn: (key: string, node: VNode) => VNode | undefined): void {
    for (const [key, node] of [...this.#nodes]) {
      if (!this.#nodes.has(key)) continue; // gone with a directory fn deleted
      const next = fn(key, node);
      if (next === undefined) this.remove(key);
      else if (next !== node) this.#set(key, next);
    }
  }
}

/** The key a hard link's target names (an archive path: no symlinks followed). */
function linkKey(target: string): string {
  return target.replace(/^\/+/, '');
}

function conflict(key: string, why: string, incoming?: string): ImprintError {
  return new ImprintError('VFS_CONFLICT', `/${key} ${why}${incoming ? `; ${incoming} also writes it` : ''}`, {
    hint: 'Two inputs write the same path; remove one of them or give them different targets.',
    details: { path: `/${key}`, ...(incoming ? { incoming } : {}) },
  });
}
