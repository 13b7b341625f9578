// docker://REGISTRY/REPOSITORY[:TAG|@DIGEST] — the OCI distribution API (push and pull).
import type { Digest } from '../../digest/index.js';
import type { ImageSet } from '../../oci/image-set.js';
import { RegistryClient, type RegistryOptions } from './client.js';
import { type PullOptions, pullImageSet } from './pull.js';
import { type PushResult, pushImageSet } from './push.js';

export { authFiles, type Credentials, lookupCredentials, parseCreds } from './auth.js';
export { isLocalhost, RegistryClient, type RegistryOptions, type RegistryProgress } from './client.js';
export { type PullOptions, pullImageSet, RegistryBlobReader } from './pull.js';
export { type PushResult, type PushTarget, pushImageSet } from './push.js';
export { listReferrers, type ReferrersQuery, referrersTag } from './referrers.js';

/** A `docker://` reference as `parseReference` returns it. */
export interface RegistryRef {
  registry: string;
  repository: string;
  tag?: string | undefined;
  digest?: Digest | undefined;
}

/** Options of a registry write: connection options plus repositories to mount blobs from. */
export interface RegistryWriteOptions extends RegistryOptions {
  /** Repositories on the same registry tried with a cross-repository mount before uploading. */
  mountFrom?: string[] | undefined;
}

/** Pushes `set` to the reference (see pushImageSet). Cost: streams each blob the registry lacks. */
export async function writeRegistry(
  ref: RegistryRef,
  set: ImageSet,
  opts: RegistryWriteOptions = {},
): Promise<PushResult> {
  const client = new RegistryClient(ref.registry, ref.repository, opts);
  return pushImageSet(client, { tag: ref.tag, digest: ref.digest }, set, opts.mountFrom ?? []);
}

/** Reads the image the reference names (the digest wins over a tag). Cost: one manifest request. */
export async function readRegistry(
  ref: RegistryRef,
  opts: RegistryOptions & PullOptions = {},
): Promise<ImageSet> {
  const client = new RegistryClient(ref.registry, ref.repository, opts);
  return pullImageSet(client, ref.digest ?? ref.tag ?? 'latest', opts);
}
