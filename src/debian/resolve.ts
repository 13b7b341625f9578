import { ImprintError, isImprintError } from '../errors.js';
import type { PackageRecord, Relation } from './packages-index.js';
import { displacedBy, MAX_RESTARTS, Resolver } from './resolve-engine.js';
import type { PackageUniverse, SatisfierFields } from './resolve-universe.js';

export { dpkgArch } from './arch.js';

export { PackageUniverse, type Provider, type SatisfierFields } from './resolve-universe.js';

/** What to install on one architecture. */
export interface ResolveRequest {
  /** Requested packages, in order (the order can matter for which alternative wins, as in apt). */
  names: Array<{
    name: string;
    version?: string | undefined;
    arch?: string | undefined;
    /** Take the candidate from this suite (RepoRef.suite), whatever the priorities, as apt's `name/suite`. */
    suite?: string | undefined;
    /** false: install the package alone; its Depends and Pre-Depends are not followed. */
    dependencies?: false | undefined;
  }>;
  /** dpkg architecture of the image (amd64, arm64, armhf, ...); see dpkgArch(). */
  arch: string;
  /** Also install every package whose candidate is `Essential: yes` (default false, as distroless wants). */
  includeEssential?: boolean | undefined;
  /**
   * Packages already installed (a base image's dpkg database): they satisfy dependencies as they are,
   * so only what they lack is chosen; a requested package installed at its candidate version or a
   * newer one (unless the request pins a version), or installed and in no source at all, is skipped.
   */
  installed?: readonly InstalledPackage[] | undefined;
}

/** A package an image already has, as its dpkg status says. */
export interface InstalledPackage extends SatisfierFields {
  readonly provides: readonly Relation[];
}

/** The chosen set. */
export interface Resolution {
  /** One record per package, sorted by name, then architecture (code units). */
  packages: PackageRecord[];
  /** Package (name, or name:arch for a foreign architecture) → the chain of packages that pulled it, root first, itself last. */
  reasons: Map<string, string[]>;
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
