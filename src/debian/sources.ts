import { isAbsolute, resolve } from 'node:path';
import { ImprintError } from '../errors.js';
import { findAptSource } from './apt-sources.js';
import type { ArchiveSource } from './archive.js';
import { type Keyring, resolveKeyring } from './keyring.js';
import { normalizeSourceUrl } from './source-url.js';

/** A source as the spec states it (structurally the spec's `SpecSource`). */
export interface SourceSpec {
  url?: string | undefined;
  suites: readonly string[];
  components?: readonly string[] | undefined;
  /** A keyring path, absolute or relative to `baseDir`. */
  keyring?: string | undefined;
  checkValidUntil?: boolean | undefined;
  checkDate?: boolean | undefined;
}

export interface ResolveSourceOptions {
  /** Position of the source in the spec (recorded in every record's RepoRef). */
  sourceIndex: number;
  /** Directory that relative keyring paths are relative to (the spec's directory). */
  baseDir: string;
  /** Host root for apt sources and the default keyring (default '/'). */
  root?: string;
  /** Parse the keyrings' keys (default true); false only reads them for `Keyring.digest`. */
  parseKeys?: boolean;
}

/**
 * Turns one spec source into one ArchiveSource per suite. Without `url`, each suite takes the URL
 * (and, without `keyring`, the Signed-By keyring and Check-Valid-Until) of the host's apt source
 * that serves it, else APT_SOURCE_NOT_FOUND; the keyring defaults to the host's Debian archive
 * keyring, else KEYRING_NOT_FOUND. Cost: reads the host's apt configuration and keyrings.
 */
export async function resolveSourceSpec(
  spec: SourceSpec,
  opts: ResolveSourceOptions,
): Promise<ArchiveSource[]> {
  const root = opts.root ?? '/';
  const components = [...(spec.components ?? ['main'])];
  const specKeyring =
    spec.keyring === undefined
      ? undefined
      : isAbsolute(spec.keyring)
        ? spec.keyring
        : resolve(opts.baseDir, spec.keyring);
  const keyrings = new Map<string, Promise<Keyring>>(); // one load per distinct keyring choice
  const out: ArchiveSource[] = [];
  for (const suite of spec.suites) {
    let url = spec.url;
    let aptKeyrings: string[] | undefined;
    let aptArmoredKey: string | undefined;
    let checkValidUntil = spec.checkValidUntil;
    let checkDate = spec.checkDate;
    if (url === undefined) {
      const apt = await findAptSource(suite, { root });
      url = apt.url;
      aptKeyrings = apt.keyrings;
      aptArmoredKey = apt.keyringArmored;
      // An explicit spec value wins; apt's own Check-Valid-Until applies otherwise.
      checkValidUntil ??= apt.checkValidUntil;
      checkDate ??= apt.checkDate;
    }
    url = normalizeSourceUrl(url);
    if (!/^(https?|file):/.test(url)) {
      throw new ImprintError(
        'SPEC_INVALID',
        `source URL ${JSON.stringify(url)} is not an http, https or file URL`,
        {
          details: { url },
        },
      );
    }
    const key = JSON.stringify([specKeyring, aptKeyrings, aptArmoredKey]);
    let keyring = keyrings.get(key);
    if (keyring === undefined) {
      keyring = resolveKeyring(
        { keyring: specKeyring, aptKeyrings, aptArmoredKey, root },
        { parse: opts.parseKeys !== false },
      );
      keyrings.set(key, keyring);
    }
    out.push({
      sourceIndex: opts.sourceIndex,
      url,
      suite,
      components,
      keyring: await keyring,
      checkValidUntil: checkValidUntil ?? true,
      checkDate: checkDate ?? true,
    });
  }
  return out;
}
