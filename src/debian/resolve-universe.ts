import { compareCodeUnits } from '../oci/canonical-json.js';
import type { PackageRecord, Relation } from './packages-index.js';
import type { InstalledPackage } from './resolve.js';
import { compareVersions, satisfies } from './version.js';

/** A package that provides a (virtual) name, with the Provides entry that says so. */
export interface Provider {
  record: PackageRecord;
  provides: Relation;
}

/**
 * Every package of every configured source, indexed by name and by provided name. Lists are kept in a
 * canonical order that does not depend on the order records were given in: for one name, highest
 * version first, then by source order (`repo.sourceIndex`), suite, component, filename, sha256.
 * Building it is linear in the number of records; each name's list is sorted on first use.
 */
export class PackageUniverse {
  readonly #byName = new Map<string, PackageRecord[]>();
  readonly #sorted = new Set<string>();
  readonly #providers = new Map<string, Provider[]>();
  readonly #providersSorted = new Set<string>();
  #allNames: string[] | undefined;

  /** Indexes `records` (any order; the spec's source order is read from `record.repo.sourceIndex`). */
  constructor(records: Iterable<PackageRecord>) {
    for (const r of records) {
      pushTo(this.#byName, r.name, r);
      for (const p of r.provides) pushTo(this.#providers, p.name, { record: r, provides: p });
    }
  }

  /** All versions and architectures of the real package `name`, in canonical order (newest first). */
  byName(name: string): readonly PackageRecord[] {
    const list = this.#byName.get(name);
    if (list === undefined) return [];
    if (!this.#sorted.has(name)) {
      list.sort(compareRecords);
      this.#sorted.add(name);
    }
    return list;
  }

  /** Every Provides entry naming `name`, ordered by provider name, then as byName orders records. */
  providers(name: string): readonly Provider[] {
    const list = this.#providers.get(name);
    if (list === undefined) return [];
    if (!this.#providersSorted.has(name)) {
      list.sort(
        (a, b) => compareCodeUnits(a.record.name, b.record.name) || compareRecords(a.record, b.record),
      );
      this.#providersSorted.add(name);
    }
    return list;
  }

  /** True when `name` is a real package or provided by one. */
  has(name: string): boolean {
    return this.#byName.has(name) || this.#providers.has(name);
  }

  /** Real and virtual names, sorted by code units. Cost: sorts all names once. */
  names(): readonly string[] {
    this.#allNames ??= [...new Set([...this.#byName.keys(), ...this.#providers.keys()])].sort(
      compareCodeUnits,
    );
    return this.#allNames;
  }

  /** Names of real packages, sorted by code units. */
  packageNames(): string[] {
    return [...this.#byName.keys()].sort(compareCodeUnits);
  }
}

/** Appends `value` to the list under `key`. */
export function pushTo<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

/** Removes the values `drop` says from the list under `key` (and the key, once empty). */
export function pullFrom<T>(map: Map<string, T[]>, key: string, drop: (x: T) => boolean): void {
  const list = map.get(key);
  if (list === undefined) return;
  const kept = list.filter((x) => !drop(x));
  if (kept.length === 0) map.delete(key);
  else map.set(key, kept);
}

/** apt's pin priority of the suite a record comes from (500 unless the Release says otherwise). */
export function repoPriority(r: PackageRecord): number {
  return r.repo.priority ?? 500;
}

/** Canonical record order: version descending, then source order, suite, component, filename, sha256. */
export function compareRecords(a: PackageRecord, b: PackageRecord): number {
  if (a === b) return 0;
  return (
    compareVersions(b.version, a.version) ||
    a.repo.sourceIndex - b.repo.sourceIndex ||
    compareCodeUnits(a.repo.suite, b.repo.suite) ||
    compareCodeUnits(a.repo.component, b.repo.component) ||
    compareCodeUnits(a.architecture, b.architecture) ||
    compareCodeUnits(a.filename, b.filename) ||
    compareCodeUnits(a.sha256, b.sha256)
  );
}

/** The dpkg architecture a record installs as: `all` counts as the native architecture (as apt does). */
/** What deciding whether a package satisfies a relation reads of it (also true of installed packages). */
export type SatisfierFields = Pick<PackageRecord, 'name' | 'version' | 'architecture' | 'multiArch'>;

export function effectiveArch(r: Pick<PackageRecord, 'architecture'>, native: string): string {
  return r.architecture === 'all' ? native : r.architecture;
}

/**
 * True when the real package `r` satisfies `rel` for a depender of architecture `dependerArch`.
 * No qualifier: same architecture, or `Multi-Arch: foreign`. `:any`: `Multi-Arch: allowed` (or foreign).
 * `:native`: the native architecture. `:<arch>`: that architecture.
 */
export function realSatisfies(
  r: SatisfierFields,
  rel: Relation,
  dependerArch: string,
  native: string,
): boolean {
  if (r.name !== rel.name) return false;
  if (!archAccepts(r, rel.archQualifier, dependerArch, native)) return false;
  return rel.op === undefined || rel.version === undefined || satisfies(r.version, rel.op, rel.version);
}

/**
 * True when `provides` (an entry of `r`'s Provides) satisfies `rel`: a versioned relation needs a
 * versioned (`=`) Provides whose version matches; an unversioned one accepts any Provides.
 */
export function providerSatisfies(
  r: SatisfierFields,
  provides: Relation,
  rel: Relation,
  dependerArch: string,
  native: string,
): boolean {
  if (provides.name !== rel.name) return false;
  if (!archAccepts(r, rel.archQualifier, dependerArch, native)) return false;
  return versionedProvideMatches(provides, rel);
}

/** Version part of a Provides match (shared with Conflicts/Breaks checks). */
export function versionedProvideMatches(provides: Relation, rel: Relation): boolean {
  if (rel.op === undefined || rel.version === undefined) return true;
  return (
    provides.op === '=' && provides.version !== undefined && satisfies(provides.version, rel.op, rel.version)
  );
}

function archAccepts(
  r: SatisfierFields,
  qualifier: string | undefined,
  dependerArch: string,
  native: string,
): boolean {
  const arch = effectiveArch(r, native);
  if (qualifier === undefined) return arch === dependerArch || r.multiArch === 'foreign';
  if (qualifier === 'any') return r.multiArch === 'allowed' || r.multiArch === 'foreign';
  if (qualifier === 'native') return arch === native;
  return arch === qualifier;
}

/**
 * apt's CompareProviders for new installs, as a sort comparator for the candidates of one
 * alternative naming `target`: the package of that very name first, then `Essential: yes`, then
 * `Protected: yes`, then the native architecture, then `Priority`; then, where apt takes the package
 * its cache met last (the highest ID), the greatest source package name, then binary name (the order
 * of Debian's Packages indexes: the last record there), then canonical record order.
 */
export function compareNewInstalls(
  target: string,
  a: PackageRecord,
  b: PackageRecord,
  native: string,
): number {
  return (
    rank(a.name !== target) - rank(b.name !== target) ||
    rank(!a.essential) - rank(!b.essential) ||
    rank(!isImportant(a)) - rank(!isImportant(b)) ||
    rank(effectiveArch(a, native) !== native) - rank(effectiveArch(b, native) !== native) ||
    priorityRank(a.priority) - priorityRank(b.priority) ||
    compareCodeUnits(b.source.name, a.source.name) ||
    compareCodeUnits(b.name, a.name) ||
    compareRecords(a, b)
  );
}

function rank(flag: boolean): number {
  return flag ? 1 : 0;
}

/** apt's Version::Priority: no field sorts first (0), then required 1 ... extra 5; unknown words count as extra. */
function priorityRank(priority: string | undefined): number {
  if (priority === undefined) return 0;
  switch (priority.toLowerCase()) {
    case 'required':
      return 1;
    case 'important':
      return 2;
    case 'standard':
      return 3;
    case 'optional':
      return 4;
    default:
      return 5;
  }
}

const importantCache = new WeakMap<PackageRecord, boolean>();
const IMPORTANT_RE = /^(?:Protected|Important):[ \t]*yes[ \t]*$/im;

/** apt's Flag::Important: `Protected: yes` (or the older `Important: yes`). Reads the raw paragraph once. */
function isImportant(r: PackageRecord): boolean {
  let hit = importantCache.get(r);
  if (hit === undefined) {
    hit = typeof r.raw === 'string' && IMPORTANT_RE.test(r.raw);
    importantCache.set(r, hit);
  }
  return hit;
}

/** Installed packages looked up by name and by provided name (see ResolveRequest.installed). */
export interface InstalledIndex {
  byName: Map<string, InstalledPackage[]>;
  byProvides: Map<string, Array<{ pkg: InstalledPackage; provides: Relation }>>;
}

/** Indexes installed packages for the resolver. Pure; linear in their number. */
export function indexInstalled(installed: readonly InstalledPackage[]): InstalledIndex {
  const byName: InstalledIndex['byName'] = new Map();
  const byProvides: InstalledIndex['byProvides'] = new Map();
  for (const pkg of installed) {
    byName.set(pkg.name, [...(byName.get(pkg.name) ?? []), pkg]);
    for (const provides of pkg.provides)
      byProvides.set(provides.name, [...(byProvides.get(provides.name) ?? []), { pkg, provides }]);
  }
  return { byName, byProvides };
}

/**
 * Whether a requested record needs no install because the base image has it: at that version, or at
 * a newer one unless the spec pins the version (apt: "already the newest version"; never a downgrade).
 */
export function installedKeeps(
  installed: InstalledIndex['byName'],
  r: PackageRecord,
  pinned: boolean,
): boolean {
  return (installed.get(r.name) ?? []).some(
    (i) =>
      i.architecture === r.architecture &&
      (i.version === r.version || (!pinned && compareVersions(i.version, r.version) > 0)),
  );
}

/**
 * Whether `name` is installed for the image's architecture (at `version`, when given): a requested
 * name with no candidate in any source that the base has is skipped, as in the lock's own check,
 * which resolves over the locked packages only.
 */
export function installedFor(
  installed: InstalledIndex['byName'],
  name: string,
  native: string,
  version: string | undefined,
): boolean {
  return (installed.get(name) ?? []).some(
    (i) =>
      (i.architecture === native || i.architecture === 'all') &&
      (version === undefined || compareVersions(i.version, version) === 0),
  );
}

/** Whether a real package `s` matches a Conflicts/Breaks relation by its own name and version. */
export function negativeMatchesReal(s: PackageRecord, rel: Relation): boolean {
  return (
    s.name === rel.name &&
    (rel.op === undefined || rel.version === undefined || satisfies(s.version, rel.op, rel.version))
  );
}
