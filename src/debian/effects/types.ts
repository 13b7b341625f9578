// Shared types of the install effects: what a rule sees and what it may do.

import type { FileTree } from '../../vfs/tree.js';
import type { AlternativeRegistration } from './alternatives.js';
import type { EffectWriter } from './tree-io.js';

/** An installed package as effects see it. */
export interface InstalledInfo {
  name: string;
  version: string;
  architecture: string;
  multiArch: string;
  /** The update-alternatives registrations its postinst makes with literal arguments. */
  alternatives?: readonly AlternativeRegistration[];
  /** Its postinst, as text (rules read known debhelper snippets from it; nothing is run). */
  postinst?: string;
  /** Its preinst, as text: some packages create their accounts there (mariadb-server's mysql). */
  preinst?: string;
  /** Names its Pre-Depends and Depends fields name (every alternative), for the configure order. */
  depends?: readonly string[];
}

/** Choices that maintainer scripts would take from debconf; each has the Debian default. */
export interface EffectOptions {
  /** tzdata's time zone, `Area/Zone` under /usr/share/zoneinfo (default `Etc/UTC`). */
  timezone?: string;
  /** ca-certificates/trust_new_crts: trust every shipped certificate (default true). */
  trustNewCertificates?: boolean;
}

/** What a rule gets: the tree after every package was unpacked, and how to write into it. */
export interface EffectContext {
  tree: FileTree;
  /** The build epoch: mtime of everything effects create. */
  epoch: number;
  /** The image's (dpkg) architecture, e.g. amd64. */
  arch: string;
  /** Installed packages by name (a foreign-architecture twin is listed under `name:arch`). */
  installed: ReadonlyMap<string, InstalledInfo>;
  options: EffectOptions;
  /** A writer whose nodes carry `origin` (the package the effect belongs to). */
  writer(origin: string): EffectWriter;
  /** Reports what a script would have done that the rule could not (a warning for the build to print). */
  warn?(message: string): void;
}

/**
 * One effect of a package's maintainer scripts, reproduced natively: it runs when `package` (a name,
 * or a pattern matched against every installed name: once per match) is installed, or once when
 * `package` is null; after all packages are unpacked, in table order. `apply` must be deterministic: same tree and options, same result.
 */
export interface EffectRule {
  /** Stable id, e.g. 'ca-certificates/bundle'. */
  id: string;
  package: string | RegExp | null;
  /** What the script does and why the image needs it (documentation; shown in INSTALL.md). */
  describe: string;
  apply(ctx: EffectContext, pkg: InstalledInfo, match: RegExpExecArray | null): Promise<void> | void;
}
