// Installs .deb packages into the in-memory tree without running maintainer scripts (see INSTALL.md).
import type { Readable } from 'node:stream';
import { ImprintError } from '../errors.js';
import type { TarReadEntry } from '../tar/index.js';
import type { VNode } from '../vfs/node.js';
import { compareBytes, resolveLinkTarget } from '../vfs/path.js';
import type { FileTree } from '../vfs/tree.js';
import { type DebControl, type DebLimits, debError, readDeb } from './deb.js';
import { type AppliedEffect, applyEffects, type EffectOptions, type InstalledInfo, removeNondeterministic } from './effects/index.js';
import { decideOverwrite, fileConflict, type PackageIdentity } from './install-conflicts.js';
import { ContentSpool, type SpoolOptions, type SpoolStats } from './install-spool.js';
import { statusEntryName, writeStatusEntry } from './install-status.js';
import { TreeTransaction } from './install-transaction.js';
import { MERGED_USR_ORIGIN, multilibLinkNodes, setupMergedUsr } from './install-usrmerge.js';
import type { PackageRecord } from './packages-index.js';

/** The fields of a lock/index record the installer uses (a full PackageRecord fits). */
export type InstallRecord = Pick<PackageRecord, 'name' | 'version' | 'architecture' | 'multiArch' | 'replaces' | 'provides'> &
  Partial<Pick<PackageRecord, 'size' | 'filename'>>;

/** One package to install: its record and a function opening its (verified) .deb stream. */
export interface InstallInput {
  record: InstallRecord;
  open: () => Promise<Readable> | Readable;
}

export interface InstallOptions {
  /** SOURCE_DATE_EPOCH: package mtimes above it are clamped to it; created nodes get it. */
  epoch: number;
  /** The image's dpkg architecture (amd64, arm64, ...). */
  arch: string;
  /** Directory for spooled file bodies (content-addressed; may be shared between builds). */
  spoolDir: string;
  /** Only the merged-/usr layout is supported (bookworm and later). */
  mergedUsr: true;
  /** Options of the effects (time zone, ...), or false to unpack only (no effects). */
  effects?: EffectOptions | false;
  /** Apply the removal list (effects/remove.ts) at the end; default true. */
  removeNondeterministic?: boolean;
  /**
   * Where file bodies are captured: a ContentSpool the caller owns (and may share between the
   * platforms of one build), or options for one the installer creates (returned in the result).
   */
  spool?: ContentSpool | SpoolOptions;
  limits?: DebLimits;
}

/** A package as installed. */
export interface InstalledPackage {
  name: string;
  version: string;
  architecture: string;
  multiArch: string;
  /** Its file name in /var/lib/dpkg/status.d (also the origin of its nodes). */
  statusEntry: string;
  /** Keys it wrote or shares (data.tar entries, status.d files, effect outputs), sorted bytewise. */
  paths: string[];
  /** Non-directory entries placed, and the bytes of its regular files. */
  files: number;
  bytes: number;
}

export interface InstallResult {
  /** In install order. */
  packages: InstalledPackage[];
  /** Every tree key's origin at the end (a package's status entry name, 'merged-usr', ...). */
  origins: Map<string, string>;
  effects: AppliedEffect[];
  /** Keys the removal list deleted or emptied. */
  removed: string[];
  stats: SpoolStats & { entries: number };
  /** The spool holding the file bodies the tree's openers read: close it after the layers are written. */
  spool: ContentSpool;
}

/** Bytes a package may unpack beyond twice its Installed-Size before it counts as a decompression bomb. */
const UNPACK_SLACK = 64 * 1024 * 1024;

/**
 * Unpacks `debs` in the given (lock) order into `tree`: merged-/usr links first, every path
 * canonicalised through them, mtimes clamped to the epoch, modes/owners as in data.tar, file bodies
 * captured in memory or in the spool; conflicts resolved by dpkg's Replaces rules (FILE_CONFLICT
 * otherwise); a `status.d` entry per package; then the effect rules and the removal list. A package
 * that fails leaves nothing in the tree. Cost: one streaming read of every .deb.
 */
export async function installPackages(tree: FileTree, debs: readonly InstallInput[], opts: InstallOptions): Promise<InstallResult> {
  if (opts.mergedUsr !== true) throw new ImprintError('UNSUPPORTED', 'only the merged-/usr layout is supported');
  const spool = opts.spool instanceof ContentSpool ? opts.spool : new ContentSpool(opts.spoolDir, opts.spool);
  const owners = new Map<string, PackageIdentity>();
  const sha256ByKey = new Map<string, string>();
  const shipped = new Set<string>();
  const pathsByOrigin = new Map<string, Set<string>>();
  const track = (origin: string, key: string): void => {
    let set = pathsByOrigin.get(origin);
    if (set === undefined) pathsByOrigin.set(origin, (set = new Set()));
    set.add(key);
  };
  const withRtld = debs.some((d) => d.record.name === 'libc6' && d.record.architecture === opts.arch);
  for (const key of setupMergedUsr(tree, opts.arch, opts.epoch, withRtld)) track(MERGED_USR_ORIGIN, key);

  const installed: InstalledPackage[] = [];
  let entries = 0;
  for (const deb of debs) {
    const rec = deb.record;
    const origin = statusEntryName(rec.name, rec.architecture, opts.arch);
    if (owners.has(origin)) throw new ImprintError('PACKAGE_CONFLICT', `${origin} is listed twice in the install list`, { details: { package: origin } });
    const identity: PackageIdentity = { ...rec, replaces: rec.replaces, provides: rec.provides };
    owners.set(origin, identity);
    const what = rec.filename?.slice(rec.filename.lastIndexOf('/') + 1) || `${rec.name}_${rec.version}_${rec.architecture}.deb`;
    const unpack = new PackageUnpack(tree, identity, origin, what, opts, spool, owners, sha256ByKey);
    try {
      await readDeb(deb.open, {
        what,
        ...(rec.size === undefined ? {} : { size: rec.size }),
        ...(opts.limits ? { limits: opts.limits } : {}),
        onControl: (control) => unpack.checkControl(control),
        onEntry: (entry) => unpack.entry(entry),
      });
    } catch (err) {
      unpack.rollback();
      throw err;
    }
    entries += unpack.entries;
    for (const key of unpack.touched) track(origin, key);
    for (const key of unpack.files) shipped.add(key);
    const control = unpack.control as DebControl;
    for (const key of writeStatusEntry(tree, origin, control.paragraph, control.md5sums, opts.epoch, origin)) track(origin, key);
    installed.push({ name: rec.name, version: rec.version, architecture: rec.architecture, multiArch: rec.multiArch, statusEntry: origin, paths: [], files: unpack.files.size, bytes: unpack.bytes });
  }

  let effects: AppliedEffect[] = [];
  if (opts.effects !== false) {
    const infos = new Map<string, InstalledInfo>();
    for (const p of installed) infos.set(p.statusEntry, { name: p.name, version: p.version, architecture: p.architecture, multiArch: p.multiArch });
    effects = await applyEffects({ tree, epoch: opts.epoch, arch: opts.arch, installed: infos, options: opts.effects ?? {} });
    for (const e of effects) for (const key of e.paths) track(e.origin, key);
  }
  const removed = opts.removeNondeterministic === false ? [] : removeNondeterministic(tree, { mtime: opts.epoch, isShipped: (k) => shipped.has(k) });

  const origins = new Map<string, string>();
  for (const key of [...tree.keys()].sort(compareBytes)) origins.set(key, tree.get(key)?.origin ?? '');
  for (const p of installed) p.paths = [...(pathsByOrigin.get(p.statusEntry) ?? [])].filter((k) => tree.get(k) !== undefined).sort(compareBytes);
  return { packages: installed, origins, effects, removed, stats: { ...spool.stats, entries }, spool };
}

/** The unpacking of one .deb: entry placement, its undo log and what it wrote. */
class PackageUnpack {
  readonly touched = new Set<string>();
  readonly files = new Set<string>();
  control: DebControl | undefined;
  entries = 0;
  bytes = 0;
  #maxBytes = Number.POSITIVE_INFINITY;
  readonly #tx: TreeTransaction;

  constructor(
    readonly tree: FileTree,
    readonly identity: PackageIdentity,
    readonly origin: string,
    readonly what: string,
    readonly opts: InstallOptions,
    readonly spool: ContentSpool,
    readonly owners: ReadonlyMap<string, PackageIdentity>,
    readonly sha256ByKey: Map<string, string>,
  ) {
    const parent: VNode = { kind: 'dir', mode: 0o755, uid: 0, gid: 0, mtime: opts.epoch, origin };
    this.#tx = new TreeTransaction(tree, parent, origin);
  }

  /** The .deb must be the package the record names; its Installed-Size bounds what it may unpack. */
  checkControl(control: DebControl): void {
    const p = control.paragraph;
    const id = this.identity;
    for (const [field, expected] of [['Package', id.name], ['Version', id.version], ['Architecture', id.architecture]] as const) {
      if (p.get(field) !== expected) {
        throw debError(this.what, `control says ${field}: ${p.get(field)}, the lock says ${expected}`, 'control');
      }
    }
    const kib = Number(p.get('Installed-Size'));
    if (Number.isSafeInteger(kib) && kib >= 0) this.#maxBytes = 2 * kib * 1024 + UNPACK_SLACK;
    this.control = control;
  }

  async entry(e: TarReadEntry): Promise<void> {
    if (e.path === '') return; // './': the root directory is the image's, not the package's
    this.entries++;
    const raw = e.path.endsWith('/') ? e.path.slice(0, -1) : e.path;
    for (const [k, node] of multilibLinkNodes(this.tree, raw, this.opts.epoch)) this.#tx.set(k, node);
    const key = this.tree.resolveParents(raw);
    const meta = { mode: e.mode & 0o7777, uid: e.uid, gid: e.gid, mtime: Math.min(e.mtime, this.opts.epoch), origin: this.origin };
    switch (e.type) {
      case 'dir':
        return this.#placeDir(key, meta);
      case 'file': {
        this.bytes += e.size;
        if (this.bytes > this.#maxBytes) {
          throw new ImprintError('DECOMPRESSION_BOMB', `${this.what}: data.tar unpacks to more than ${this.#maxBytes} bytes, far beyond its Installed-Size`, {
            details: { archive: this.what, entry: e.path, maxBytes: this.#maxBytes },
          });
        }
        const c = await this.spool.capture(e.body, e.size, `${this.what}: ${e.path}`);
        return this.#placeNonDir(key, { kind: 'file', size: e.size, content: c.open, ...meta }, c.sha256);
      }
      case 'symlink':
        return this.#placeNonDir(key, { kind: 'symlink', target: e.linkname as string, ...meta });
      case 'hardlink': {
        const target = this.tree.resolveParents(e.linkname as string);
        const t = this.tree.get(target);
        if ((t?.kind !== 'file' && t?.kind !== 'hardlink') || t.origin !== this.origin) {
          throw debError(this.what, `hard link ${e.path} points to ${e.linkname}, which is not a file this package unpacked before it`, 'data.tar');
        }
        return this.#placeNonDir(key, { kind: 'hardlink', target, ...meta });
      }
      case 'char':
      case 'block':
        return this.#placeNonDir(key, { kind: e.type, major: e.devmajor ?? 0, minor: e.devminor ?? 0, ...meta });
      case 'fifo':
        return this.#placeNonDir(key, { kind: 'fifo', ...meta });
    }
  }

  /** A directory entry: merged into what is there, through symlinks to directories (bin/ -> usr/bin/). */
  #placeDir(key: string, meta: Omit<Extract<VNode, { kind: 'dir' }>, 'kind'>): void {
    let k = key;
    let node = this.tree.get(k);
    for (let hops = 0; node?.kind === 'symlink'; hops++) {
      if (hops >= 40) throw debError(this.what, `directory ${key} is behind too many symbolic links`, 'data.tar');
      k = this.tree.resolveParents(resolveLinkTarget(k, node.target));
      node = this.tree.get(k);
    }
    if (node !== undefined && node.kind !== 'dir') {
      throw fileConflict(k, node.origin ?? 'the image', this.origin, `${this.origin} ships a directory where a ${node.kind} is`);
    }
    this.#tx.set(k, { kind: 'dir', ...meta });
    this.touched.add(k);
  }

  #placeNonDir(key: string, node: VNode, sha256?: string): void {
    const existing = this.tree.get(key);
    if (existing !== undefined) {
      const owner = existing.origin === undefined ? undefined : this.owners.get(existing.origin);
      const decision = decideOverwrite(key, existing, owner, this.sha256ByKey.get(key), node, this.identity, sha256);
      if (decision !== 'replace') {
        this.touched.add(key);
        return;
      }
    }
    this.#tx.set(key, node);
    this.touched.add(key);
    if (sha256 !== undefined) this.sha256ByKey.set(key, sha256);
    else this.sha256ByKey.delete(key);
    if (node.kind !== 'dir') this.files.add(key);
  }

  rollback(): void {
    this.#tx.rollback();
  }
}
