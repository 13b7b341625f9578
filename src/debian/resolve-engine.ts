import { ImprintError, isImprintError } from '../errors.js';
import { compareCodeUnits } from '../oci/canonical-json.js';
import type { Alternatives, PackageRecord, Relation } from './packages-index.js';
import type { Resolution, ResolveRequest } from './resolve.js';
import {
  clashError,
  conflictError,
  describeAlternative,
  notFoundError,
  notInSuite,
  unsatisfiableError,
  versionAvoiding,
} from './resolve-explain.js';
import {
  compareNewInstalls,
  effectiveArch,
  type InstalledIndex,
  indexInstalled,
  installedFor,
  installedKeeps,
  negativeMatchesReal,
  type PackageUniverse,
  type Provider,
  providerSatisfies,
  pullFrom,
  pushTo,
  realSatisfies,
  repoPriority,
  versionedProvideMatches,
} from './resolve-universe.js';
import { compareVersions } from './version.js';

/** PACKAGE_CONFLICT errors that ask for a restart without the earlier package (apt's MarkKeep of it). */
export const displacedBy = new WeakMap<ImprintError, PackageRecord>();

/** How often resolution restarts after displacing a package before the plain search takes over. */
export const MAX_RESTARTS = 64;

interface Chosen {
  record: PackageRecord;
  /** Key of the package whose dependency pulled this one; undefined for requested packages. */
  parent: string | undefined;
}

interface Negative {
  owner: PackageRecord;
  rel: Relation;
  kind: 'Conflicts' | 'Breaks';
}

/** Bound on package installs tried (alternatives can back out); beyond it the search stops. */
const MAX_STEPS = 200_000;

/** One resolution attempt: the chosen set, its indexes, and an undo log for alternatives that fail. */
export class Resolver {
  readonly #u: PackageUniverse;
  readonly #req: ResolveRequest;
  readonly #native: string;
  readonly #pins = new Map<string, string>();
  /** Requested packages to take from one suite (name → suite). */
  readonly #suites = new Map<string, string>();
  readonly #candidates = new Map<string, PackageRecord | null>();
  readonly #chosen = new Map<string, Chosen>();
  readonly #chosenByName = new Map<string, PackageRecord[]>();
  readonly #provided = new Map<string, Provider[]>();
  readonly #negatives = new Map<string, Negative[]>();
  readonly #log: string[] = [];
  readonly #roots = new Set<PackageRecord>();
  /** Packages displaced by a conflicting later choice; never candidates again in this run. */
  readonly #bans: ReadonlySet<PackageRecord>;
  /** Installed packages (a base image's) by name, and by the names they provide. */
  readonly #installed: InstalledIndex['byName'];
  readonly #installedProvides: InstalledIndex['byProvides'];
  /** apt mode: a conflict with an earlier automatic choice displaces it (restart) instead of failing. */
  readonly #displace: boolean;
  #steps = 0;

  constructor(
    universe: PackageUniverse,
    req: ResolveRequest,
    bans: ReadonlySet<PackageRecord>,
    displace: boolean,
  ) {
    this.#u = universe;
    this.#req = req;
    this.#native = req.arch;
    this.#bans = bans;
    this.#displace = displace;
    ({ byName: this.#installed, byProvides: this.#installedProvides } = indexInstalled(req.installed ?? []));
  }

  run(): Resolution {
    for (const n of this.#req.names) {
      if (n.arch !== undefined && n.arch !== this.#native && n.arch !== 'all') {
        throw new ImprintError(
          'UNSUPPORTED',
          `package ${n.name}:${n.arch} is for another architecture than the image's (${this.#native})`,
          {
            hint: 'imprint installs one architecture per platform; drop the :arch qualifier or add the platform.',
            details: { name: n.name, arch: n.arch, imageArch: this.#native },
          },
        );
      }
      if (n.suite !== undefined) this.#suites.set(n.name, n.suite);
      if (n.version === undefined) continue;
      const pinned = this.#pins.get(n.name);
      if (pinned !== undefined && compareVersions(pinned, n.version) !== 0) {
        throw new ImprintError(
          'UNSATISFIABLE',
          `${n.name} is requested at two versions: ${pinned} and ${n.version}`,
          {
            details: { name: n.name, versions: [pinned, n.version] },
          },
        );
      }
      this.#pins.set(n.name, n.version);
    }
    const roots: PackageRecord[] = [];
    const alone = new Set<PackageRecord>();
    for (const n of this.#req.names) {
      // Installed (by the base image) and in no source, as in the lock's own check, which resolves
      // over the locked packages only: apt says it is already the newest version.
      if (
        this.#candidate(n.name, this.#native) === undefined &&
        installedFor(this.#installed, n.name, this.#native, n.version)
      )
        continue;
      const r = this.#requested(n.name, n.version);
      if (installedKeeps(this.#installed, r, n.version !== undefined)) continue;
      roots.push(r);
      if (n.dependencies === false) alone.add(r);
    }
    if (this.#req.includeEssential === true) {
      for (const name of this.#u.packageNames()) {
        const c = this.#candidate(name, this.#native);
        if (c?.essential === true) roots.push(c);
      }
    }
    // Like apt, mark every requested package first, then install dependencies in request order.
    const marked: PackageRecord[] = [];
    for (const r of roots) {
      const existing = this.#chosen.get(this.#key(r));
      if (existing !== undefined) {
        if (existing.record !== r) throw this.#clash(r, undefined, existing);
        continue;
      }
      this.#checkConflicts(r, undefined);
      this.#add(r, undefined);
      this.#roots.add(r);
      marked.push(r);
    }
    for (const r of marked) if (!alone.has(r)) this.#expand(r);
    const packages = [...this.#chosen.values()]
      .map((c) => c.record)
      .sort((a, b) => compareCodeUnits(a.name, b.name) || compareCodeUnits(a.architecture, b.architecture));
    const reasons = new Map<string, string[]>();
    for (const r of packages) reasons.set(this.#label(r), this.#chain(this.#key(r)));
    return { packages, reasons };
  }

  /** The record a requested name stands for: its candidate (or the pinned version), else its only provider. */
  #requested(name: string, version: string | undefined): PackageRecord {
    const candidate = this.#candidate(name, this.#native);
    if (candidate !== undefined) return candidate;
    const suite = this.#suites.get(name);
    if (suite !== undefined) notInSuite(this.#u, { name, version, suite, native: this.#native });
    const providers = version === undefined ? this.#alternativeCandidates({ name }, this.#native) : [];
    if (providers.length === 1) return providers[0] as PackageRecord;
    // Several providers: apt refuses too ("has no installation candidate"); the spec should say which.
    throw notFoundError(this.#u, {
      name,
      version,
      native: this.#native,
      providers: providers.map((r) => this.#label(r)),
    });
  }

  /** Installs the dependencies of a chosen package, depth-first. */
  #expand(r: PackageRecord): void {
    for (const group of r.preDepends) this.#satisfy(r, group, 'Pre-Depends');
    for (const group of r.depends) this.#satisfy(r, group, 'Depends');
  }

  #satisfy(owner: PackageRecord, group: Alternatives, field: string): void {
    const arch = effectiveArch(owner, this.#native);
    if (this.#groupSatisfied(group, arch)) return;
    let candidates = this.#groupCandidates(group, arch, false);
    if (candidates.length === 0) candidates = this.#groupCandidates(group, arch, true);
    if (candidates.length === 0) throw this.#unsatisfiable(owner, group, field);
    let first: ImprintError | undefined;
    for (const c of candidates) {
      const mark = this.#log.length;
      try {
        this.#install(c, owner);
        return;
      } catch (err) {
        if (
          candidates.length === 1 ||
          !isImprintError(err) ||
          (err.code !== 'UNSATISFIABLE' && err.code !== 'PACKAGE_CONFLICT')
        )
          throw err;
        if (err.details.budget === true || displacedBy.has(err)) throw err;
        this.#rollback(mark);
        first ??= err;
      }
    }
    throw first as ImprintError;
  }

  #install(r: PackageRecord, owner: PackageRecord): void {
    if (++this.#steps > MAX_STEPS) {
      throw new ImprintError(
        'UNSATISFIABLE',
        `gave up after trying ${MAX_STEPS} package choices; the alternatives do not converge`,
        {
          hint: 'Request the packages that should win the alternatives explicitly.',
          details: { budget: true },
        },
      );
    }
    const k = this.#key(r);
    const existing = this.#chosen.get(k);
    if (existing !== undefined) {
      if (existing.record === r) return;
      throw this.#clash(r, this.#key(owner), existing);
    }
    this.#checkConflicts(r, this.#key(owner));
    this.#add(r, this.#key(owner));
    this.#expand(r);
  }

  #groupSatisfied(group: Alternatives, arch: string): boolean {
    for (const alt of group) {
      for (const r of this.#chosenByName.get(alt.name) ?? [])
        if (realSatisfies(r, alt, arch, this.#native)) return true;
      for (const p of this.#provided.get(alt.name) ?? [])
        if (providerSatisfies(p.record, p.provides, alt, arch, this.#native)) return true;
      for (const i of this.#installed.get(alt.name) ?? [])
        if (realSatisfies(i, alt, arch, this.#native)) return true;
      for (const p of this.#installedProvides.get(alt.name) ?? [])
        if (providerSatisfies(p.pkg, p.provides, alt, arch, this.#native)) return true;
    }
    return false;
  }

  /** Installable records for a group, in preference order; `fallback` looks past the candidate versions. */
  #groupCandidates(group: Alternatives, arch: string, fallback: boolean): PackageRecord[] {
    const out: PackageRecord[] = [];
    const seen = new Set<PackageRecord>();
    for (const alt of group) {
      const list = fallback ? this.#olderVersions(alt, arch) : this.#alternativeCandidates(alt, arch);
      for (const r of list) {
        if (seen.has(r) || this.#bans.has(r)) continue;
        seen.add(r);
        const chosen = this.#chosen.get(this.#key(r));
        if (chosen !== undefined && chosen.record !== r) continue; // another version is already in the set
        out.push(r);
      }
    }
    return out;
  }

  /**
   * apt's choice for one alternative: the candidate version of the named package and of every
   * provider that satisfy it, ordered as apt's CompareProviders orders them.
   */
  #alternativeCandidates(alt: Relation, arch: string): PackageRecord[] {
    const list: PackageRecord[] = [];
    const archs = new Set<string>();
    for (const r of this.#u.byName(alt.name)) archs.add(effectiveArch(r, this.#native));
    for (const a of [...archs].sort(compareCodeUnits)) {
      const c = this.#candidate(alt.name, a);
      if (c !== undefined && realSatisfies(c, alt, arch, this.#native)) list.push(c);
    }
    for (const p of this.#u.providers(alt.name)) {
      if (list.includes(p.record) || !this.#isCandidate(p.record)) continue;
      if (providerSatisfies(p.record, p.provides, alt, arch, this.#native)) list.push(p.record);
    }
    return list.sort((a, b) => compareNewInstalls(alt.name, a, b, this.#native));
  }

  /** Versions that are not candidates but satisfy `alt` (newest first): tried only when no candidate can. */
  #olderVersions(alt: Relation, arch: string): PackageRecord[] {
    const real = this.#u
      .byName(alt.name)
      .filter((r) => !this.#isCandidate(r) && realSatisfies(r, alt, arch, this.#native));
    const provided = this.#u
      .providers(alt.name)
      .filter(
        (p) =>
          !this.#isCandidate(p.record) && providerSatisfies(p.record, p.provides, alt, arch, this.#native),
      )
      .map((p) => p.record);
    return [...real, ...provided];
  }

  /**
   * The candidate of a package on an architecture, as apt chooses it: the pinned version, else the
   * newest (first source on ties) of the records with the highest suite priority (RepoRef.priority);
   * of a requested suite's records only, when the request names one.
   */
  #candidate(name: string, arch: string): PackageRecord | undefined {
    const k = `${name}:${arch}`;
    const hit = this.#candidates.get(k);
    if (hit !== undefined) return hit ?? undefined;
    const pin = this.#pins.get(name);
    const suite = this.#suites.get(name);
    let found: PackageRecord | null = null;
    for (const r of this.#u.byName(name)) {
      if (effectiveArch(r, this.#native) !== arch) continue;
      if (pin !== undefined && compareVersions(r.version, pin) !== 0) continue;
      if (suite !== undefined && r.repo.suite !== suite) continue;
      if (found === null || repoPriority(r) > repoPriority(found)) found = r;
      if (pin !== undefined || suite !== undefined) break;
    }
    this.#candidates.set(k, found);
    return found ?? undefined;
  }

  #isCandidate(r: PackageRecord): boolean {
    return this.#candidate(r.name, effectiveArch(r, this.#native)) === r;
  }

  #checkConflicts(r: PackageRecord, parent: string | undefined): void {
    const kinds: Array<['Conflicts' | 'Breaks', readonly Relation[]]> = [
      ['Conflicts', r.conflicts],
      ['Breaks', r.breaks],
    ];
    for (const [kind, rels] of kinds) {
      for (const rel of rels) {
        for (const s of this.#chosenByName.get(rel.name) ?? []) {
          if (s !== r && negativeMatchesReal(s, rel))
            throw this.#conflict(r, parent, s, this.#key(s), kind, rel);
        }
        for (const p of this.#provided.get(rel.name) ?? []) {
          if (p.record !== r && versionedProvideMatches(p.provides, rel))
            throw this.#conflict(r, parent, p.record, this.#key(p.record), kind, rel);
        }
      }
    }
    for (const neg of this.#negatives.get(r.name) ?? []) {
      if (neg.owner !== r && negativeMatchesReal(r, neg.rel))
        throw this.#conflict(neg.owner, this.#key(neg.owner), r, parent, neg.kind, neg.rel, true);
    }
    for (const p of r.provides) {
      for (const neg of this.#negatives.get(p.name) ?? []) {
        if (neg.owner !== r && versionedProvideMatches(p, neg.rel))
          throw this.#conflict(neg.owner, this.#key(neg.owner), r, parent, neg.kind, neg.rel, true);
      }
    }
  }

  #add(r: PackageRecord, parent: string | undefined): void {
    const k = this.#key(r);
    this.#chosen.set(k, { record: r, parent });
    pushTo(this.#chosenByName, r.name, r);
    for (const p of r.provides) pushTo(this.#provided, p.name, { record: r, provides: p });
    for (const rel of r.conflicts) pushTo(this.#negatives, rel.name, { owner: r, rel, kind: 'Conflicts' });
    for (const rel of r.breaks) pushTo(this.#negatives, rel.name, { owner: r, rel, kind: 'Breaks' });
    this.#log.push(k);
  }

  /** Undoes every #add after log position `mark` (an alternative that could not be installed). */
  #rollback(mark: number): void {
    while (this.#log.length > mark) {
      const k = this.#log.pop() as string;
      const r = (this.#chosen.get(k) as Chosen).record;
      this.#chosen.delete(k);
      pullFrom(this.#chosenByName, r.name, (x) => x === r);
      for (const p of r.provides) pullFrom(this.#provided, p.name, (x) => x.record === r);
      for (const rel of [...r.conflicts, ...r.breaks])
        pullFrom(this.#negatives, rel.name, (x) => x.owner === r);
    }
  }

  #key(r: PackageRecord): string {
    return `${r.name}:${effectiveArch(r, this.#native)}`;
  }

  #label(r: PackageRecord): string {
    const arch = effectiveArch(r, this.#native);
    return arch === this.#native ? r.name : `${r.name}:${arch}`;
  }

  /** Labels from the requested root down to the package with key `k`, inclusive. */
  #chain(k: string | undefined): string[] {
    const out: string[] = [];
    const seen = new Set<string>();
    while (k !== undefined && !seen.has(k)) {
      seen.add(k);
      const c = this.#chosen.get(k);
      if (c === undefined) break;
      out.push(this.#label(c.record));
      k = c.parent;
    }
    return out.reverse();
  }

  #unsatisfiable(owner: PackageRecord, group: Alternatives, field: string): ImprintError {
    const arch = effectiveArch(owner, this.#native);
    const why = group.map((alt) =>
      describeAlternative(alt, arch, this.#native, this.#u, (r) => {
        const c = this.#chosen.get(this.#key(r));
        if (c === undefined || c.record === r) return undefined;
        return { version: c.record.version, chain: this.#chain(this.#key(c.record)) };
      }),
    );
    const owned = { label: this.#label(owner), version: owner.version };
    return unsatisfiableError(owned, field, group, this.#chain(this.#key(owner)), why);
  }

  /** PACKAGE_CONFLICT of `a` with `b`; `aChosen` tells which of the two is already in the set. */
  #conflict(
    a: PackageRecord,
    aParent: string | undefined,
    b: PackageRecord,
    bKey: string | undefined,
    kind: 'Conflicts' | 'Breaks',
    rel: Relation,
    aChosen = false,
  ): ImprintError {
    const aChain = aChosen ? this.#chain(aParent) : [...this.#chain(aParent), this.#label(a)];
    const bChain = aChosen ? [...this.#chain(bKey), this.#label(b)] : this.#chain(bKey);
    const err = conflictError(
      { label: this.#label(a), version: a.version, chain: aChain },
      { label: this.#label(b), version: b.version, chain: bChain },
      kind,
      rel,
      versionAvoiding(this.#u, b, rel, this.#native),
    );
    const earlier = aChosen ? a : b;
    if (this.#displace && !this.#roots.has(earlier)) displacedBy.set(err, earlier);
    return err;
  }

  /** Two versions of one package: the set can hold only one. */
  #clash(r: PackageRecord, parent: string | undefined, existing: Chosen): ImprintError {
    return clashError(
      { label: this.#label(r), version: r.version, chain: [...this.#chain(parent), this.#label(r)] },
      {
        label: this.#label(existing.record),
        version: existing.record.version,
        chain: this.#chain(this.#key(existing.record)),
      },
    );
  }
}
