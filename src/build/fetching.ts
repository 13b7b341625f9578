// Downloads of a platform's locked packages, started before the install so each package waits only
// for its own file.
import { ImprintError, step } from '../errors.js';
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
