// Downloads of a platform's locked packages, started before the install so each package waits only
// for its own file.
import { ImprintError, isImprintError, step } from '../errors.js';
import type { LockFile, LockPackage } from '../lock/types.js';
import type { BlobStore } from '../store/index.js';
import type { BuildEvent } from './build.js';

/** A download of a platform's packages under way (see startFetch). */
interface Fetching {
  /** Settles once the package with this sha256 is in the store; rejects if the download fails. */
  whenStored(sha256: string): Promise<void>;
  /** Settles when every download has; rejects with the first failure. */
  done: Promise<unknown>;
  /** Stops the downloads and waits for them to settle; gives the error they failed with before, if any. */
  abort(): Promise<unknown>;
}

/** Starts fetching `packages` into the store, in the background. */
export function startFetch(
  lock: LockFile,
  packages: readonly LockPackage[],
  templates: readonly string[],
  offline: boolean,
  store: BlobStore,
  platform: string,
  emit: (e: BuildEvent) => void,
): Fetching {
  const stored = new Map<string, { promise: Promise<void>; resolve: () => void }>();
  for (const p of packages) {
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    stored.set(p.sha256, { promise, resolve });
  }
  const controller = new AbortController();
  const done = step(`fetching packages for ${platform}`, async () => {
    const { fetchPackages } = await import('../debian/fetch.js');
    return fetchPackages(withArchiveUrls(lock, packages), {
      store,
      templates,
      offline,
      signal: controller.signal,
      onProgress: (p) => emit({ type: 'fetch', platform, ...p }),
      onStored: (sha256) => stored.get(sha256)?.resolve(),
    });
  });
  let failure: unknown;
  done.catch((err: unknown) => {
    if (!controller.signal.aborted) failure = err;
  });
  return {
    whenStored: (sha256) =>
      Promise.race([stored.get(sha256)?.promise ?? Promise.resolve(), done.then(() => {})]),
    done,
    abort: async () => {
      // A download that failed has been recorded already: the handler above was the first attached.
      const before = failure;
      controller.abort();
      await done.catch(() => {});
      return before;
    },
  };
}

/**
 * Each locked package with the URL of the archive it comes from (for the `{url}` fetch template).
 * A lock package names its archive by `repo`, an index into the lock's sources.
 */
function withArchiveUrls(
  lock: LockFile,
  packages: readonly LockPackage[],
): Array<LockPackage & { url: string }> {
  return packages.map((p) => {
    const index = p.repo ?? 0;
    const source = lock.sources[index];
    if (source === undefined) {
      throw new ImprintError(
        'LOCK_INVALID',
        `imprint.lock: ${p.name} names source ${index}, which the lock does not list`,
        { hint: 'Run `imprint lock` to rewrite it.' },
      );
    }
    return { ...p, url: source.url };
  });
}

/**
 * Runs `assemble` (a fetch of the platform's packages and their install); when it fails because
 * cached .deb files were corrupt (DIGEST_MISMATCH with `details.removed`: platformTree hashed and
 * removed them), warns naming them and runs it once more, which fetches them again. Offline, with no
 * `file:` source that has them, the error names the packages and says to build once online.
 */
export async function refetchingCorrupt<T>(
  offline: boolean,
  warn: (message: string) => void,
  assemble: () => Promise<T>,
): Promise<T> {
  try {
    return await assemble();
  } catch (err) {
    if (!isImprintError(err, 'DIGEST_MISMATCH') || err.details.removed !== true) throw err;
    const one = (err.details.packages as unknown[]).length === 1;
    warn(`${err.message}; fetching ${one ? 'it' : 'them'} again`);
    try {
      return await assemble();
    } catch (again) {
      if (!offline || !isImprintError(again, 'OFFLINE')) throw again;
      throw new ImprintError(
        'OFFLINE',
        `${err.message}, and offline ${one ? 'it is' : 'they are'} not fetched again (no file:// fetch source has ${one ? 'it' : 'them'})`,
        {
          hint: 'Build once without --offline (or run `imprint lock --fetch`): the removed packages are fetched again and verified.',
          cause: again,
          details: { ...again.details, corrupt: err.details.packages },
        },
      );
    }
  }
}
