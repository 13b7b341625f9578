import { ImprintError, isImprintError } from '../errors.js';
import { compareCodeUnits } from '../oci/canonical-json.js';
import { parsePlatform } from '../oci/platform.js';
import type { Platform } from '../oci/types.js';
import { type Alternatives, formatRelation, type PackageRecord, type Relation } from './packages-index.js';
import { describeAlternative, formatGroup } from './resolve-explain.js';
import { nearestNames } from './resolve-names.js';
import {
  compareRecords,
  effectiveArch,
  type PackageUniverse,
  type Provider,
  providerSatisfies,
  realSatisfies,
  versionedProvideMatches,
} from './resolve-universe.js';
import { compareVersions, satisfies } from './version.js';

export { PackageUniverse, type Provider } from './resolve-universe.js';

/** What to install on one architecture. */
export interface ResolveRequest {
  /** Requested packages, in order (the order can matter for which alternative wins, as in apt). */
  names: Array<{ name: string; version?: string | undefined; arch?: string | undefined }>;
  /** dpkg architecture of the image (amd64, arm64, armhf, ...); see dpkgArch(). */
  arch: string;
  /** Also install every package whose candidate is `Essential: yes` (default false, as distroless wants). */
  includeEssential?: boolean | undefined;
}

/** The chosen set. */
export interface Resolution {
  /** One record per package, sorted by name, then architecture (code units). */
  packages: PackageRecord[];
  /** Package (name, or name:arch for a foreign architecture) → the chain of packages that pulled it, root first, itself last. */
  reasons: Map<string, string[]>;
}

const DPKG_ARCH: Record<string, string> = {
  amd64: 'amd64',
  arm64: 'arm64',
  '386': 'i386',
  ppc64le: 'ppc64el',
  s390x: 's390x',
  riscv64: 'riscv64',
};

/**
 * The dpkg architecture of an OCI platform: amd64→amd64, arm64→arm64, arm/v7 (and plain arm)→armhf,
 * arm/v6 and arm/v5→armel, 386→i386, ppc64le→ppc64el, s390x→s390x, riscv64→riscv64. Others are UNSUPPORTED.
 */
export function dpkgArch(platform: string | Platform): string {
  const p = typeof platform === 'string' ? parsePlatform(platform) : platform;
  const text = [p.os, p.architecture, p.variant].filter((x) => x !== undefined && x !== '').join('/');
  let arch: string | undefined;
  if (p.os === 'linux') {
    if (p.architecture === 'arm')
      arch =
        p.variant === undefined || p.variant === 'v7'
          ? 'armhf'
          : p.variant === 'v6' || p.variant === 'v5'
            ? 'armel'
            : undefined;
    else if (p.variant === undefined || (p.architecture === 'arm64' && p.variant === 'v8'))
      arch = DPKG_ARCH[p.architecture];
  }
  if (arch === undefined) {
    throw new ImprintError('UNSUPPORTED', `platform ${text} has no Debian architecture`, {
      hint: 'Debian packages can be installed for linux/amd64, arm64, arm/v7, arm/v6, 386, ppc64le, s390x and riscv64.',
      details: { platform: text },
    });
  }
  return arch;
}

/**
 * Parses a package request as written in a spec or on a command line: `name`, `name=version`,
 * `name:arch` or `name:arch=version` (apt's syntax). SPEC_INVALID when malformed.
 */
export function parsePackageRequest(text: string): { name: string; version?: string; arch?: string } {
  const m = /^([a-z0-9][a-z0-9+.-]*)(?::([a-z0-9-]+))?(?:=(\S+))?$/.exec(text);
  if (m === null) {
    throw new ImprintError(
      'SPEC_INVALID',
      `expected a package as name[:arch][=version], found ${JSON.stringify(text)}`,
      {
        hint: 'Package names are lower case letters, digits and + - . (e.g. "libssl3" or "tzdata=2024a-0+deb12u1").',
        details: { value: text },
      },
    );
  }
  const out: { name: string; version?: string; arch?: string } = { name: m[1] as string };
  if (m[2] !== undefined) out.arch = m[2];
  if (m[3] !== undefined) out.version = m[3];
  return out;
}

/**
 * Resolves the dependency closure of the requested packages on one architecture, choosing as apt
 * does on an empty system (see RESOLVER.md): depth-first, Pre-Depends then Depends, the first
 * alternative that can be installed, real package before providers. Throws PACKAGE_NOT_FOUND,
 * UNSATISFIABLE or PACKAGE_CONFLICT naming the chain that led there. Cost: roughly linear in the
 * size of the closure times the alternatives tried; pure and deterministic.
 */
export function resolvePackages(universe: PackageUniverse, req: ResolveRequest): Resolution {
  // First apt's way: a package that conflicts with an earlier automatic choice displaces it (the
  // earlier one is banned and resolution restarts). If that cannot succeed, a plain search where
  // conflicts only make alternatives fail decides, and its error is the one reported.
  const bans = new Set<PackageRecord>();
  for (let i = 0; i <= MAX_RESTARTS; i++) {
    try {
      return new Resolver(universe, req, bans, true).run();
    } catch (err) {
      const displaced = isImprintError(err) ? displacedBy.get(err) : undefined;
      if (displaced === undefined || bans.has(displaced)) break;
      bans.add(displaced);
    }
  }
  return new Resolver(universe, req, new Set(), false).run();
}

/** PACKAGE_CONFLICT errors that ask for a restart without the earlier package (apt's MarkKeep of it). */
const displacedBy = new WeakMap<ImprintError, PackageRecord>();

/** How often resolution restarts after displacing a package before the plain search takes over. */
const MAX_RESTARTS = 64;

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

class Resolver {
  readonly #u: PackageUniverse;
  readonly #req: ResolveRequest;
  readonly #native: string;
  readonly #pins = new Map<string, string>();
  readonly #candidates = new Map<string, PackageRecord | null>();
  readonly #chosen = new Map<string, Chosen>();
  readonly #chosenByName = new Map<string, PackageRecord[]>();
  readonly #provided = new Map<string, Provider[]>();
  readonly #negatives = new Map<string, Negative[]>();
  readonly #log: string[] = [];
  readonly #roots = new Set<PackageRecord>();
  /** Packages displaced by a conflicting later choice; never candidates again in this run. */
  readonly #bans: ReadonlySet<PackageRecord>;
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
    for (const n of this.#req.names) roots.push(this.#requested(n.name, n.version));
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
    for (const r of marked) this.#expand(r);
    const packages = [...this.#chosen.values()]
      .map((c) => c.record)
      .sort((a, b) => compareCodeUnits(a.name, b.name) || compareCodeUnits(a.architecture, b.architecture));
    const reasons = new Map<string, string[]>();
    for (const r of packages) reasons.set(this.#label(r), this.#chain(this.#key(r)));
    return { packages, reasons };
  }

  /** The record a requested name stands for: its candidate (or the pinned version), else a provider. */
  #requested(name: string, version: string | undefined): PackageRecord {
    const candidate = this.#candidate(name, this.#native);
    if (candidate !== undefined) return candidate;
    const real = this.#u.byName(name).filter((r) => effectiveArch(r, this.#native) === this.#native);
    if (version !== undefined && real.length > 0) {
      const available = [...new Set(real.map((r) => r.version))];
      throw new ImprintError(
        'PACKAGE_NOT_FOUND',
        `${name}=${version} not found for ${this.#native}; available versions: ${available.join(', ')}`,
        {
          hint: `Pin one of the available versions, or drop the pin to get the newest (${available[0]}).`,
          details: { name, version, arch: this.#native, available },
        },
      );
    }
    if (version === undefined) {
      const providers = this.#alternativeCandidates({ name }, this.#native);
      if (providers.length === 1) return providers[0] as PackageRecord;
      if (providers.length > 1) {
        // apt refuses too ("has no installation candidate"): an image should say which one it wants.
        const names = [...new Set(providers.map((r) => this.#label(r)))];
        throw new ImprintError(
          'PACKAGE_NOT_FOUND',
          `${name} is a virtual package provided by ${names.join(', ')}; request one of them`,
          {
            hint: `Replace ${name} by the provider the image should have, e.g. ${names[0]}.`,
            details: { name, arch: this.#native, providers: names, suggestions: names.slice(0, 5) },
          },
        );
      }
    }
    const elsewhere = [...new Set(this.#u.byName(name).map((r) => r.architecture))].sort(compareCodeUnits);
    if (elsewhere.length > 0) {
      throw new ImprintError(
        'PACKAGE_NOT_FOUND',
        `package ${name} exists only for ${elsewhere.join(', ')}, not for ${this.#native}`,
        {
          hint: 'Check the package name for this platform, or build only the platforms it exists for.',
          details: { name, arch: this.#native, architectures: elsewhere },
        },
      );
    }
    const suggestions = nearestNames(name, this.#u.names());
    const near = suggestions.length > 0 ? `; nearest names: ${suggestions.join(', ')}` : '';
    throw new ImprintError(
      'PACKAGE_NOT_FOUND',
      `package ${version === undefined ? name : `${name}=${version}`} not found in the configured sources${near}`,
      {
        hint:
          suggestions.length > 0
            ? `Did you mean ${suggestions[0]}?`
            : 'Check the name, and that the source, suite and component that carry it are configured.',
        details: { name, ...(version === undefined ? {} : { version }), arch: this.#native, suggestions },
      },
    );
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
    return list.sort((a, b) => this.#compareProviders(alt.name, a, b));
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

  /** apt's CompareProviders for new installs: the named package, Essential, Important, native, Priority; then name. */
  #compareProviders(target: string, a: PackageRecord, b: PackageRecord): number {
    return (
      rank(a.name !== target) - rank(b.name !== target) ||
      rank(!a.essential) - rank(!b.essential) ||
      rank(!isImportant(a)) - rank(!isImportant(b)) ||
      rank(effectiveArch(a, this.#native) !== this.#native) -
        rank(effectiveArch(b, this.#native) !== this.#native) ||
      priorityRank(a.priority) - priorityRank(b.priority) ||
      compareCodeUnits(a.name, b.name) ||
      compareRecords(a, b)
    );
  }

  /** The candidate of a package on an architecture: the pinned version, else the newest (first source on ties). */
  #candidate(name: string, arch: string): PackageRecord | undefined {
    const k = `${name}:${arch}`;
    const hit = this.#candidates.get(k);
    if (hit !== undefined) return hit ?? undefined;
    const pin = this.#pins.get(name);
    let found: PackageRecord | null = null;
    for (const r of this.#u.byName(name)) {
      if (effectiveArch(r, this.#native) !== arch) continue;
      if (pin !== undefined && compareVersions(r.version, pin) !== 0) continue;
      found = r;
      break;
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
    const text = formatGroup(group);
    const chain = [...this.#chain(this.#key(owner)), text];
    const arch = effectiveArch(owner, this.#native);
    const why = group.map((alt) =>
      describeAlternative(alt, arch, this.#native, this.#u, (r) => {
        const c = this.#chosen.get(this.#key(r));
        return c === undefined || c.record === r
          ? undefined
          : { version: c.record.version, chain: this.#chain(this.#key(c.record)) };
      }),
    );
    return new ImprintError(
      'UNSATISFIABLE',
      `cannot satisfy ${field}: ${text} of ${this.#label(owner)} ${owner.version} (${chain.join(' → ')}): ${why.join('; ')}`,
      {
        hint: 'Check that every suite and component the packages need is configured, or pin versions that fit together.',
        details: {
          package: this.#label(owner),
          version: owner.version,
          field,
          relation: text,
          chain,
          reasons: why,
        },
      },
    );
  }

  #conflict(
    a: PackageRecord,
    aParent: string | undefined,
    b: PackageRecord,
    bKey: string | undefined,
    kind: string,
    rel: Relation,
    aChosen = false,
  ): ImprintError {
    const aChain = aChosen ? this.#chain(aParent) : [...this.#chain(aParent), this.#label(a)];
    const bChain = aChosen ? [...this.#chain(bKey), this.#label(b)] : this.#chain(bKey);
    const verb = kind === 'Conflicts' ? 'conflicts with' : 'breaks';
    const err = new ImprintError(
      'PACKAGE_CONFLICT',
      `${this.#label(a)} ${a.version} ${verb} ${this.#label(b)} ${b.version} (${kind}: ${formatRelation(rel)}); ` +
        `${this.#label(a)} comes from ${aChain.join(' → ')}, ${this.#label(b)} from ${bChain.join(' → ')}`,
      {
        hint: 'Remove one of the two from the requested packages, or request an alternative that avoids one of them.',
        details: {
          packages: [this.#label(a), this.#label(b)],
          versions: [a.version, b.version],
          kind,
          relation: formatRelation(rel),
          chains: [aChain, bChain],
        },
      },
    );
    const earlier = aChosen ? a : b;
    if (this.#displace && !this.#roots.has(earlier)) displacedBy.set(err, earlier);
    return err;
  }

  /** Two versions of one package: the set can hold only one. */
  #clash(r: PackageRecord, parent: string | undefined, existing: Chosen): ImprintError {
    const chainNew = [...this.#chain(parent), this.#label(r)];
    const chainOld = this.#chain(this.#key(existing.record));
    return new ImprintError(
      'UNSATISFIABLE',
      `${this.#label(r)} is needed at ${r.version} (${chainNew.join(' → ')}) but ${existing.record.version} is already chosen (${chainOld.join(' → ')})`,
      {
        details: {
          package: this.#label(r),
          versions: [r.version, existing.record.version],
          chains: [chainNew, chainOld],
        },
      },
    );
  }
}

function negativeMatchesReal(s: PackageRecord, rel: Relation): boolean {
  return (
    s.name === rel.name &&
    (rel.op === undefined || rel.version === undefined || satisfies(s.version, rel.op, rel.version))
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

function pushTo<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

function pullFrom<T>(map: Map<string, T[]>, key: string, drop: (x: T) => boolean): void {
  const list = map.get(key);
  if (list === undefined) return;
  const kept = list.filter((x) => !drop(x));
  if (kept.length === 0) map.delete(key);
  else map.set(key, kept);
}
