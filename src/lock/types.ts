import type { Digest } from '../digest/index.js';

/** The version of the lock format this code reads and writes. */
export const LOCK_VERSION = 1;

/** The lock's file name, written next to the spec. */
export const LOCK_FILE_NAME = 'imprint.lock';

/**
 * `imprint.lock`: everything resolution decided, pinned by hash. It records inputs only (no clock, no
 * host): building twice from one lock installs the same bytes.
 */
export interface LockFile {
  version: typeof LOCK_VERSION;
  /** lockSpecHash() of the spec fields that affect resolution when the lock was written. */
  specHash: Digest;
  /** One entry per (archive URL, suite), in the spec's order. */
  sources: LockSource[];
  /** Per OCI platform (`os/arch[/variant]`), the installed packages sorted by name, then architecture. */
  platforms: Record<string, LockPackage[]>;
  /** The spec's base image, resolved to digests (absent when the spec has no `base`). */
  base?: LockBase;
}

/** A base image pinned by digest: what the reference named when locked, and each platform's image. */
export interface LockBase {
  /** The spec's `base` as written (a changed reference makes the lock stale). */
  ref: string;
  /** The digest the reference resolved to: an image index or an image manifest. */
  digest: Digest;
  /** Per OCI platform, the image manifest the build starts from. */
  platforms: Record<string, LockBaseImage>;
}

/** One platform's base image manifest. */
export interface LockBaseImage {
  digest: Digest;
  size: number;
  mediaType: string;
}

/** One suite of one archive, pinned by the hash of the Release file that was verified. */
export interface LockSource {
  url: string;
  suite: string;
  components: string[];
  release: {
    /** sha256 (64 lowercase hex) of the InRelease/Release file as fetched and verified. */
    sha256: string;
    /** The Release file's `Date` field, verbatim. */
    date: string;
  };
}

/** One package of one platform, as the archive's Packages index describes it. */
export interface LockPackage {
  name: string;
  version: string;
  /** dpkg architecture, `all` included (e.g. `amd64`, `all`). */
  architecture: string;
  /** Source package name, followed by ` (<version>)` when the source version differs from `version`. */
  source: string;
  /** Path of the `.deb` relative to the archive root (`pool/main/...`). */
  filename: string;
  size: number;
  /** sha256 of the `.deb` (64 lowercase hex, as the Packages index writes it). */
  sha256: string;
  /**
   * Position in the lock's `sources` of the archive suite the `.deb` comes from (its URL is the
   * `{url}` of fetch templates). `imprint lock` always writes it; optional for locks written before.
   */
  repo?: number;
}
