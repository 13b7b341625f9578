// Placing one extracted package into the tree: canonical paths, clamped mtimes, overwrite rules, undo.
import { ImprintError } from '../errors.js';
import type { VNode } from '../vfs/node.js';
import type { FileTree } from '../vfs/tree.js';
import { debError } from './deb.js';
import type { Deb822Paragraph } from './deb822.js';
import { decideOverwrite, fileConflict, type PackageIdentity } from './install-conflicts.js';
import type { ExtractedEntry } from './install-extract.js';
import type { ContentSpool } from './install-spool.js';
import { TreeTransaction } from './install-transaction.js';
import { multilibLinkNodes } from './install-usrmerge.js';
import { parseRelationList } from './relations.js';

/**
 * The package's identity from its own control file (authoritative for Replaces, Provides and
 * Multi-Arch), checked against what the lock says it is: a mismatch is DEB_INVALID.
 */
export function controlIdentity(
  control: Deb822Paragraph,
  expected: { name: string; version: string; architecture: string },
  what: string,
): PackageIdentity {
  for (const [field, value] of [
    ['Package', expected.name],
    ['Version', expected.version],
    ['Architecture', expected.architecture],
  ] as const) {
    if (control.get(field) !== value) {
      const err = debError(
        what,
        `control says ${field}: ${control.get(field)}, the lock says ${value}`,
        'control',
      );
      throw new ImprintError('LOCK_INVALID', err.message, {
        hint: 'The lock does not describe the .deb it pins by sha256 (was it edited by hand?): run `imprint lock` again.',
        details: err.details,
      });
    }
  }
  return {
    name: expected.name,
    version: expected.version,
    architecture: expected.architecture,
    multiArch: control.get('Multi-Arch') ?? 'no',
    replaces: parseRelationList(control.get('Replaces') ?? '', `${what}: Replaces`),
    provides: parseRelationList(control.get('Provides') ?? '', `${what}: Provides`),
  };
}

/** Everything placements share across the packages of one install. */
export interface PlacementContext {
  tree: FileTree;
  epoch: number;
  spool: ContentSpool;
  /** Installed packages by origin (status entry name). */
  owners: ReadonlyMap<string, PackageIdentity>;
  /** sha256 of each regular file placed, by key (for Multi-Arch: same sharing). */
  sha256ByKey: Map<string, string>;
}

/**
 * Places one package's entries in archive order. Directories merge (through symlinks to directories,
 * so ./bin/ lands in usr/bin/, the newest metadata wins); other entries go through the overwrite rules.
 * Every change is logged so `rollback` restores the tree when the package fails.
 */
export class PackagePlacement {
  /** Keys the package wrote or shares. */
  readonly touched = new Set<string>();
  /** Keys of the non-directory entries it placed (they are "shipped" for the removal list). */
  readonly files = new Set<string>();
  readonly #tx: TreeTransaction;

  constructor(
    readonly ctx: PlacementContext,
    readonly identity: PackageIdentity,
    readonly origin: string,
    readonly what: string,
  ) {
    this.#tx = new TreeTransaction(
      ctx.tree,
      { kind: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: ctx.epoch, origin },
      origin,
    );
  }

  /** Places every entry; on error the caller rolls back. */
  place(entries: readonly ExtractedEntry[]): void {
    for (const e of entries) this.#entry(e);
  }

  /** Undoes every change this package made. */
  rollback(): void {
    this.#tx.rollback();
  }

  #entry(e: ExtractedEntry): void {
    const { tree, epoch } = this.ctx;
    const raw = e.path.endsWith('/') ? e.path.slice(0, -1) : e.path;
    for (const [k, node] of multilibLinkNodes(tree, raw, epoch)) {
      this.#tx.set(k, node);
      this.touched.add(k);
    }
    const key = tree.resolveParents(raw);
    const meta = {
      mode: e.mode & 0o7777,
      uid: e.uid,
      gid: e.gid,
      mtime: Math.min(e.mtime, epoch),
      origin: this.origin,
    };
    switch (e.type) {
      case 'dir':
        this.#placeDir(key, meta);
        return;
      case 'file': {
        const ref = e.content;
        if (ref === undefined)
          throw new ImprintError('INTERNAL', `${this.what}: ${e.path} has no captured content`);
        this.#placeNonDir(
          key,
          {
            kind: 'file',
            size: e.size,
            content: this.ctx.spool.opener(ref, this.what, key),
            sha256: ref.sha256,
            ...meta,
          },
          ref.sha256,
        );
        return;
      }
      case 'symlink':
        this.#placeNonDir(key, { kind: 'symlink', target: e.linkname as string, ...meta });
        return;
      case 'hardlink': {
        const target = tree.resolveParents(e.linkname as string);
        const t = tree.get(target);
        if ((t?.kind !== 'file' && t?.kind !== 'hardlink') || t.origin !== this.origin) {
          throw debError(
            this.what,
            `hard link ${e.path} points to ${e.linkname}, which is not a file this package unpacked before it`,
            'data.tar',
          );
        }
        this.#placeNonDir(key, { kind: 'hardlink', target, ...meta });
        return;
      }
      case 'char':
      case 'block':
        this.#placeNonDir(key, {
          kind: e.type,
          major: e.devmajor ?? 0,
          minor: e.devminor ?? 0,
          ...meta,
        });
        return;
      case 'fifo':
        this.#placeNonDir(key, { kind: 'fifo', ...meta });
        return;
    }
  }

  #placeDir(key: string, meta: Omit<Extract<VNode, { kind: 'dir' }>, 'kind'>): void {
    const { tree } = this.ctx;
    const k = tree.resolvePath(key); // through a link to a directory (./lib/ into usr/lib)
    const node = tree.get(k);
    if (node !== undefined && node.kind !== 'dir') {
      throw fileConflict(
        k,
        node.origin ?? 'the image',
        this.origin,
        `${this.origin} ships a directory where a ${node.kind} is`,
      );
    }
    this.#tx.set(k, { kind: 'dir', ...meta });
    this.touched.add(k);
  }

  #placeNonDir(key: string, node: VNode, sha256?: string): void {
    const { tree, owners, sha256ByKey } = this.ctx;
    const existing = tree.get(key);
    if (existing !== undefined) {
      const owner = existing.origin === undefined ? undefined : owners.get(existing.origin);
      const decision = decideOverwrite(
        key,
        existing,
        owner,
        sha256ByKey.get(key),
        node,
        this.identity,
        sha256,
      );
      if (decision !== 'replace') {
        this.touched.add(key);
        return;
      }
    }
    this.#tx.set(key, node);
    this.touched.add(key);
    this.files.add(key);
    if (sha256 !== undefined) sha256ByKey.set(key, sha256);
    else sha256ByKey.delete(key);
  }
}
