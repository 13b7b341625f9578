import { ImprintError } from '../errors.js';

/**
 * Runs `fn`, which checks a command-line argument: a BAD_REFERENCE or BAD_PLATFORM it throws becomes a
 * usage error (exit 2), with the same message and hint.
 */
export function argument<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof ImprintError && (err.code === 'BAD_REFERENCE' || err.code === 'BAD_PLATFORM'))
      throw new ImprintError('USAGE', err.message, {
        ...(err.hint ? { hint: err.hint } : {}),
        details: err.details ?? {},
      });
    throw err;
  }
}

/**
 * The argument parser of a repeatable option (`-o A -o B`): collects the values in order. The option has
 * no default (undefined until given), so help shows the description's own default, not "(default: [])".
 */
export function repeatable(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
