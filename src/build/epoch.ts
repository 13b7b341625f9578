import { ImprintError } from '../errors.js';
import { MAX_EPOCH } from '../spec/schema.js';
import { type GitInfo, gitInfo } from './git.js';

/** The build's SOURCE_DATE_EPOCH and where it came from. */
export interface EpochResolution {
  epoch: number;
  source: 'env' | 'spec' | 'git' | 'default';
}

/** Inputs of resolveEpoch; the caller passes the environment (the library never reads process.env). */
export interface EpochOptions {
  env: Record<string, string | undefined>;
  specEpoch?: number | undefined;
  specDir: string;
  /** Git facts already read for specDir (null: known not to be a checkout); saves running git again. */
  git?: GitInfo | null | undefined;
}

/**
 * SOURCE_DATE_EPOCH for a build, first found of: the environment's `SOURCE_DATE_EPOCH` (a non-negative
 * integer, else BAD_EPOCH), the spec's `epoch`, the committer time of HEAD of the git checkout holding the
 * spec, else 0. Runs git (see gitInfo) only when neither of the first two is set and `git` is not given.
 */
export async function resolveEpoch(opts: EpochOptions): Promise<EpochResolution> {
  const fromEnv = opts.env.SOURCE_DATE_EPOCH;
  if (fromEnv !== undefined) return { epoch: parseEpoch(fromEnv, 'SOURCE_DATE_EPOCH'), source: 'env' };
  if (opts.specEpoch !== undefined)
    return { epoch: checkEpoch(opts.specEpoch, 'the spec field epoch'), source: 'spec' };
  const git =
    opts.git === undefined ? await gitInfo(opts.specDir, pathOption(opts.env.PATH)) : (opts.git ?? undefined);
  if (git !== undefined)
    return { epoch: checkEpoch(git.commitTime, `the commit time of ${git.commit}`), source: 'git' };
  return { epoch: 0, source: 'default' };
}

/** Parses an epoch given as text (decimal digits only); BAD_EPOCH names `what` and the value. Pure. */
export function parseEpoch(text: string, what: string): number {
  if (!/^[0-9]+$/.test(text)) {
    throw new ImprintError(
      'BAD_EPOCH',
      `${what} must be a non-negative integer (seconds since 1970), found ${JSON.stringify(text)}`,
      {
        hint: 'Set it to whole seconds, e.g. SOURCE_DATE_EPOCH=$(git log -1 --format=%ct), or unset it.',
        details: { value: text, source: what },
      },
    );
  }
  return checkEpoch(Number(text), what, text);
}

function checkEpoch(value: number, what: string, text = String(value)): number {
  if (!Number.isSafeInteger(value) || value < 0 || value > MAX_EPOCH) {
    throw new ImprintError(
      'BAD_EPOCH',
      `${what} must be an integer from 0 to ${MAX_EPOCH} (year 9999), found ${JSON.stringify(text)}`,
      {
        details: { value: text, source: what },
      },
    );
  }
  return value;
}

function pathOption(path: string | undefined): { path?: string } {
  return path === undefined || path === '' ? {} : { path };
}
