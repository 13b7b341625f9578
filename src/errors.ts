/** Every failure imprint reports is an ImprintError with one of these codes. Tests assert on codes. */
export type ErrorCode =
  // usage and input
  | 'USAGE'
  | 'SPEC_NOT_FOUND'
  | 'SPEC_PARSE'
  | 'SPEC_INVALID'
  | 'SPEC_SOURCE_MISSING'
  | 'BAD_REFERENCE'
  | 'BAD_PLATFORM'
  | 'BAD_EPOCH'
  | 'UNSUPPORTED'
  // content and integrity
  | 'DIGEST_MISMATCH'
  | 'SIZE_MISMATCH'
  | 'BLOB_NOT_FOUND'
  | 'INVALID_IMAGE'
  | 'INVALID_JSON'
  | 'PLATFORM_NOT_FOUND'
  // archives
  | 'TAR_INVALID'
  | 'TAR_UNSAFE_PATH'
  | 'TAR_UNSAFE_LINK'
  | 'TAR_HEADER_TOO_LARGE'
  | 'TAR_LIMIT'
  | 'DECOMPRESSION_BOMB'
  | 'COMPRESSION_UNSUPPORTED'
  | 'COMPRESSION_INVALID'
  | 'AR_INVALID'
  | 'DEB_INVALID'
  // tree assembly
  | 'VFS_CONFLICT'
  | 'VFS_INVALID_PATH'
  | 'VFS_SYMLINK_LOOP'
  | 'FILE_CONFLICT'
  // debian archives and packages
  | 'APT_SOURCE_NOT_FOUND'
  | 'KEYRING_NOT_FOUND'
  | 'SIGNATURE_INVALID'
  | 'RELEASE_EXPIRED'
  | 'RELEASE_NOT_YET_VALID'
  | 'RELEASE_INVALID'
  | 'RELEASE_CHANGED'
  | 'INDEX_NOT_FOUND'
  | 'DEB822_PARSE'
  | 'VERSION_INVALID'
  | 'PACKAGE_NOT_FOUND'
  | 'UNSATISFIABLE'
  | 'PACKAGE_CONFLICT'
  // lock
  | 'LOCK_NOT_FOUND'
  | 'LOCK_INVALID'
  | 'LOCK_STALE'
  | 'LOCK_UNVERIFIED'
  // network and io
  | 'NETWORK'
  | 'HTTP_STATUS'
  | 'OFFLINE'
  | 'IO'
  | 'OUTPUT_EXISTS'
  // registries, policy, verification
  | 'AUTH'
  | 'REGISTRY'
  | 'POLICY_DENIED'
  | 'POLICY_INVALID'
  | 'PROVENANCE_INVALID'
  | 'VERSION_MISMATCH'
  | 'VERIFY_MISMATCH'
  | 'SANDBOX'
  | 'INTERNAL';

export interface ImprintErrorOptions {
  /** What the user can do about it. */
  hint?: string;
  /** The lower-level error this one wraps. */
  cause?: unknown;
  /** Structured facts (expected/found values, file, field, entry) for JSON output and tests. */
  details?: Record<string, unknown>;
}

/** The one error type of the library; `message` says what was expected and what was found. */
export class ImprintError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: ImprintErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ImprintError';
    this.code = code;
    this.hint = options.hint;
    this.details = options.details ?? {};
  }
}

/** True when `err` is an ImprintError, optionally with the given code. */
export function isImprintError(err: unknown, code?: ErrorCode): err is ImprintError {
  return err instanceof ImprintError && (code === undefined || err.code === code);
}

/**
 * Labels a step: runs `fn`, and wraps any error that is not already an ImprintError as `code`
 * with `label` as context. ImprintErrors pass through unchanged, so the innermost code wins.
 */
export async function step<T>(label: string, fn: () => Promise<T>, code: ErrorCode = 'INTERNAL'): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof ImprintError) throw err;
    throw new ImprintError(code, `${label}: ${errorText(err)}`, { cause: err });
  }
}

/** The message of any thrown value. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
