import { compareCodeUnits } from '../oci/canonical-json.js';
import { type Alternatives, formatRelation, type PackageRecord, type Relation } from './packages-index.js';
import { effectiveArch, type PackageUniverse, providerSatisfies, realSatisfies } from './resolve-universe.js';

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
      return `${r.name} ${r.version} would fit ${what}, but ${r.name} ${blocked.version} is already chosen (${blocked.chain.join(' → ')})`;
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
