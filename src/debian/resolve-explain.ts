import { ImprintError } from '../errors.js';
import { compareCodeUnits } from '../oci/canonical-json.js';
import { type Alternatives, formatRelation, type PackageRecord, type Relation } from './packages-index.js';
import { nearestNames } from './resolve-names.js';
import {
  effectiveArch,
  negativeMatchesReal,
  type PackageUniverse,
  providerSatisfies,
  realSatisfies,
  repoPriority,
} from './resolve-universe.js';

/** A dependency group in control-file syntax: `a (>= 1) | b`. */
export function formatGroup(group: Alternatives): string {
  return group.map(formatRelation).join(' | ');
}

/** What another chosen version of a package blocks: its version and the chain that chose it. */
export type BlockedBy = (r: PackageRecord) => { version: string; chain: string[] } | undefined;

/**
 * Why one alternative cannot be installed, in one short clause for an UNSATISFIABLE message
 * (what exists, and why it does not fit). Cost: proportional to the versions of that name; error path only.
 */
export function describeAlternative(
  alt: Relation,
  dependerArch: string,
  native: string,
  u: PackageUniverse,
  blockedBy: BlockedBy,
): string {
  const what = formatRelation(alt);
  const real = u.byName(alt.name);
  const providers = u.providers(alt.name);
  if (real.length === 0 && providers.length === 0) return `no package is named or provides ${alt.name}`;
  for (const r of [...real, ...providers.map((p) => p.record)]) {
    const blocked = blockedBy(r);
    const fits =
      r.name === alt.name
        ? realSatisfies(r, alt, dependerArch, native)
        : providers.some(
            (p) => p.record === r && providerSatisfies(r, p.provides, alt, dependerArch, native),
          );
    if (fits && blocked !== undefined) {
      const ask = r.name === alt.name ? askFor(r, real) : `${r.name}=${r.version}`;
      return `${r.name} ${r.version} would fit ${what}, but ${r.name} ${blocked.version} is already chosen (${blocked.chain.join(' → ')}); list ${ask} in packages to choose that one`;
    }
  }
  const parts: string[] = [];
  if (real.length > 0) {
    const here = real.filter((r) => effectiveArch(r, native) === dependerArch || r.multiArch === 'foreign');
    if (here.length === 0) {
      const archs = [...new Set(real.map((r) => r.architecture))].sort(compareCodeUnits);
      parts.push(`${alt.name} exists only for ${archs.join(', ')}`);
    } else {
      const versions = [...new Set(here.map((r) => r.version))];
      const shown = versions.slice(0, 5).join(', ') + (versions.length > 5 ? ', ...' : '');
      if (
        alt.archQualifier === 'any' &&
        here.every((r) => r.multiArch !== 'allowed' && r.multiArch !== 'foreign')
      ) {
        parts.push(`${alt.name} is not Multi-Arch: allowed, so ${what} cannot be satisfied`);
      } else {
        parts.push(
          `available ${alt.name} ${here.length === 1 ? 'version' : 'versions'} ${shown} ${alt.op === undefined ? 'do not fit' : `do not satisfy ${alt.op} ${alt.version}`}`,
        );
      }
    }
  }
  if (providers.length > 0) {
    const names = [
      ...new Set(
        providers.map((p) =>
          formatRelation(p.provides) === alt.name
            ? p.record.name
            : `${p.record.name} (provides ${formatRelation(p.provides)})`,
        ),
      ),
    ];
    parts.push(
      `provided by ${names.slice(0, 5).join(', ')}${names.length > 5 ? ', ...' : ''}${alt.op === undefined ? '' : ', none with a matching version'}`,
    );
  }
  return parts.join('; ');
}

/** A package as errors show it: label (`name`, or `name:arch` when foreign), version, and the chain that pulled it. */
export interface Shown {
  label: string;
  version: string;
  chain: string[];
}

/**
 * PACKAGE_NOT_FOUND for a requested name, in the most useful form: a pinned version that does not
 * exist (the available ones), a virtual name with several providers, a package only other
 * architectures have, else the nearest names (edit distance, up to 5). Error path only.
 */
export function notFoundError(
  u: PackageUniverse,
  w: { name: string; version: string | undefined; native: string; providers: string[] },
): ImprintError {
  const { name, version, native } = w;
  const real = u.byName(name).filter((r) => effectiveArch(r, native) === native);
  if (version !== undefined && real.length > 0) {
    const available = [...new Set(real.map((r) => r.version))];
    // What dropping the pin gives: the newest of the highest suite priority (backports lose).
    const top = Math.max(...real.map(repoPriority));
    const candidate = real.find((r) => repoPriority(r) === top)?.version ?? available[0];
    return new ImprintError(
      'PACKAGE_NOT_FOUND',
      `${name}=${version} not found for ${native}; available versions: ${available.join(', ')}`,
      {
        hint: `Pin one of the available versions, add the suite that has ${version} to a source's suites${/~bpo\d+/.test(version) ? ' (a ~bpo version is in a -backports suite)' : ''}, or drop the pin to get the candidate (${candidate}).`,
        details: { name, version, arch: native, available },
      },
    );
  }
  if (w.providers.length > 1) {
    const names = [...new Set(w.providers)];
    return new ImprintError(
      'PACKAGE_NOT_FOUND',
      `${name} is a virtual package provided by ${names.join(', ')}; request one of them`,
      {
        hint: `Replace ${name} by the provider the image should have, e.g. ${names[0]}.`,
        details: { name, arch: native, providers: names, suggestions: names.slice(0, 5) },
      },
    );
  }
  const elsewhere = [...new Set(u.byName(name).map((r) => r.architecture))].sort(compareCodeUnits);
  if (elsewhere.length > 0) {
    return new ImprintError(
      'PACKAGE_NOT_FOUND',
      `package ${name} exists only for ${elsewhere.join(', ')}, not for ${native}`,
      {
        hint: 'Check the package name for this platform, or build only the platforms it exists for.',
        details: { name, arch: native, architectures: elsewhere },
      },
    );
  }
  const suggestions = nearestNames(name, u.names());
  const near = suggestions.length > 0 ? `; nearest names: ${suggestions.join(', ')}` : '';
  const asked = version === undefined ? name : `${name}=${version}`;
  return new ImprintError(
    'PACKAGE_NOT_FOUND',
    `package ${asked} not found in the configured sources${near}`,
    {
      hint:
        suggestions.length > 0
          ? `Did you mean ${suggestions[0]}?`
          : 'Check the name, and that the source, suite and component that carry it are configured.',
      details: { name, ...(version === undefined ? {} : { version }), arch: native, suggestions },
    },
  );
}

/** UNSATISFIABLE for a dependency group of `owner` (whose chain is `chain`); `why` has one clause per alternative. */
export function unsatisfiableError(
  owner: { label: string; version: string },
  field: string,
  group: Alternatives,
  ownerChain: string[],
  why: string[],
): ImprintError {
  const text = formatGroup(group);
  const chain = [...ownerChain, text];
  return new ImprintError(
    'UNSATISFIABLE',
    `cannot satisfy ${field}: ${text} of ${owner.label} ${owner.version} (${chain.join(' → ')}): ${why.join('; ')}`,
    {
      hint: 'Check that every suite and component the packages need is configured, or pin versions that fit together.',
      details: { package: owner.label, version: owner.version, field, relation: text, chain, reasons: why },
    },
  );
}

/**
 * How a spec asks for record `r` of a name whose records are `real` (canonical order): `name/suite`
 * when it is the newest there (naming the suite makes it chosen first), else `name=version`.
 */
function askFor(r: PackageRecord, real: readonly PackageRecord[]): string {
  const newestThere = real.find((o) => o.repo.suite === r.repo.suite);
  return newestThere?.version === r.version ? `${r.name}/${r.repo.suite}` : `${r.name}=${r.version}`;
}

/**
 * Another version of `b` (the package `rel` matches) that `rel` does not match, as the spec would
 * ask for it: `debhelper/bookworm-backports` where dh-debputy from backports breaks bookworm's
 * debhelper (apt's `-t bookworm-backports`). The newest such version; none for a provided name.
 * Error path only.
 */
export function versionAvoiding(
  u: PackageUniverse,
  b: PackageRecord,
  rel: Relation,
  native: string,
): string | undefined {
  if (b.name !== rel.name) return undefined;
  const arch = effectiveArch(b, native);
  const real = u.byName(b.name).filter((r) => effectiveArch(r, native) === arch);
  const other = real.find((r) => r.version !== b.version && !negativeMatchesReal(r, rel));
  return other === undefined ? undefined : `${askFor(other, real)} (${other.version})`;
}

/**
 * PACKAGE_CONFLICT: `a` declares `kind: rel`, which `b` matches; both chains are shown, and `avoid`,
 * another version of `b` that `rel` does not match, is suggested when there is one.
 */
export function conflictError(
  a: Shown,
  b: Shown,
  kind: 'Conflicts' | 'Breaks',
  rel: Relation,
  avoid?: string,
): ImprintError {
  const verb = kind === 'Conflicts' ? 'conflicts with' : 'breaks';
  return new ImprintError(
    'PACKAGE_CONFLICT',
    `${a.label} ${a.version} ${verb} ${b.label} ${b.version} (${kind}: ${formatRelation(rel)}); ` +
      `${origin(a)}, ${origin(b)}`,
    {
      hint:
        avoid === undefined
          ? 'Remove one of the two from the requested packages, or request an alternative that avoids one of them.'
          : `List ${avoid} in packages: ${a.label} does not ${kind === 'Conflicts' ? 'conflict with' : 'break'} that version. Else remove one of the two from the requested packages.`,
      details: {
        packages: [a.label, b.label],
        versions: [a.version, b.version],
        kind,
        relation: formatRelation(rel),
        chains: [a.chain, b.chain],
      },
    },
  );
}

/** How a package came into the set: requested, or the chain of dependencies from a requested one. */
function origin(s: Shown): string {
  return s.chain.length <= 1 ? `${s.label} is requested` : `${s.label} comes from ${s.chain.join(' → ')}`;
}

/** UNSATISFIABLE: `wanted` needs another version of a package than the one already chosen. */
export function clashError(wanted: Shown, chosen: Shown): ImprintError {
  return new ImprintError(
    'UNSATISFIABLE',
    `${wanted.label} is needed at ${wanted.version} (${wanted.chain.join(' → ')}) but ${chosen.version} is already chosen (${chosen.chain.join(' → ')})`,
    {
      details: {
        package: wanted.label,
        versions: [wanted.version, chosen.version],
        chains: [wanted.chain, chosen.chain],
      },
    },
  );
}

/**
 * PACKAGE_NOT_FOUND when a package requested from one suite (`name/suite`) has versions only in
 * others, naming them; nothing when the package does not exist at all (notFoundError says so).
 */
export function notInSuite(
  u: PackageUniverse,
  w: { name: string; version: string | undefined; suite: string; native: string },
): void {
  const elsewhere = u.byName(w.name).filter((r) => effectiveArch(r, w.native) === w.native);
  if (elsewhere.length === 0) return;
  throw new ImprintError(
    'PACKAGE_NOT_FOUND',
    `${w.name}${w.version === undefined ? '' : `=${w.version}`} is not in suite ${w.suite}; the sources have ${elsewhere.map((r) => `${r.version} (${r.repo.suite})`).join(', ')}`,
    {
      hint: 'Name another suite for it, or drop the suite to take the candidate of all sources.',
      details: { name: w.name, suite: w.suite },
    },
  );
}
