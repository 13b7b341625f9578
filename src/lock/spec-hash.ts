import { type Digest, sha256 } from '../digest/index.js';
import { canonicalJson } from '../oci/canonical-json.js';

/**
 * The spec fields that decide what a lock contains. Anything else in the spec (files, users, entrypoint,
 * labels, outputs, the keyring) can change without making the lock stale.
 */
export interface LockSpecInput {
  /** Archive sources in the spec's order (the order is a tie-break in resolution, so it counts). */
  sources: Array<{
    url: string;
    suites: string[];
    components: string[];
    /** Restriction of the architectures indexed for this source, when the spec names one. */
    architectures?: string[] | undefined;
  }>;
  /** Requested packages as written (`name`, `name=version`, `name:arch`), in order (order counts too). */
  packages: string[];
  /** OCI platforms `os/arch[/variant]`; their order does not count (each is resolved on its own). */
  platforms: string[];
  /** Whether every `Essential: yes` package is installed as well. */
  essential: boolean;
  /** Further inputs of resolution as plain JSON data (e.g. base image references), hashed as given. */
  extra?: unknown;
}

/** Domain separator, bumped if what is hashed ever changes meaning. */
const SPEC_HASH_SCHEME = 'imprint.lock/spec-hash/v1';

/**
 * sha256 of the canonical JSON of the resolution-relevant spec fields. The keyring is deliberately not
 * part of it: it decides what is trusted, not what is chosen, and the lock pins every Release file and
 * package by hash anyway. Pure; cost linear in the size of the input.
 */
export function lockSpecHash(input: LockSpecInput): Digest {
  const platforms = [...new Set(input.platforms)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const value = {
    scheme: SPEC_HASH_SCHEME,
    sources: input.sources.map((s) => ({
      url: s.url,
      suites: [...s.suites],
      components: [...s.components],
      architectures: s.architectures === undefined ? null : [...s.architectures],
    })),
    packages: [...input.packages],
    platforms,
    essential: input.essential,
    extra: input.extra === undefined ? null : input.extra,
  };
  return sha256(canonicalJson(value));
}
