import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** What the git checkout holding a spec says about it. */
export interface GitInfo {
  /** Full hash of HEAD. */
  commit: string;
  /** Committer time of HEAD, seconds since 1970. */
  commitTime: number;
  /**
   * True when `git status --porcelain` lists anything among the inputs (changed, staged, untracked, or
   * git-ignored files, which the image holds but the commit does not) (GitOptions.inputs; the whole work tree when not given).
   */
  dirty: boolean;
  /** `remote.origin.url` as canonicalRemote makes it (no credentials; absent for a local path). */
  remoteUrl?: string;
}

/** Options of gitInfo. */
export interface GitOptions {
  /** PATH used to find `git`; default /usr/local/bin:/usr/bin:/bin (gitSearchPath). The library never reads process.env. */
  path?: string | undefined;
  /**
   * Absolute paths of what the build reads (spec, lock, file sources): only changes to these make the
   * checkout dirty, so an untracked output directory or a note elsewhere does not. Default: everything.
   */
  inputs?: readonly string[];
}

const DEFAULT_PATH = '/usr/local/bin:/usr/bin:/bin';

/** Where to look for git: the caller's PATH (a git in ~/.local/bin, say), then the system directories. */
export function gitSearchPath(envPath: string | undefined): string {
  return envPath ? `${envPath}:${DEFAULT_PATH}` : DEFAULT_PATH;
}

// Only these settings reach git: no inherited GIT_DIR/GIT_WORK_TREE, no user or system config, no pager,
// no prompts; C locale and UTC so nothing is translated or shifted.
function gitEnv(path: string): Record<string, string> {
  return {
    PATH: path,
    LC_ALL: 'C',
    LANG: 'C',
    TZ: 'UTC',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_PAGER: 'cat',
    PAGER: 'cat',
    GIT_TERMINAL_PROMPT: '0',
    GIT_OPTIONAL_LOCKS: '0',
  };
}

// Settings a repository's own .git/config could use to change the output parsed here.
const OVERRIDES = [
  '-c',
  'log.showSignature=false',
  '-c',
  'color.ui=false',
  '-c',
  'core.fsmonitor=false',
  '-c',
  'core.untrackedCache=false',
];

interface RunResult {
  ok: boolean;
  stdout: string;
}

function runGit(dir: string, args: string[], path: string): Promise<RunResult> {
  return new Promise((resolvePromise) => {
    execFile(
      'git',
      ['--no-pager', '--no-optional-locks', ...OVERRIDES, '-C', dir, ...args],
      { env: gitEnv(path), encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, windowsHide: true },
      (err, stdout) => resolvePromise({ ok: err === null, stdout }),
    );
  });
}

/**
 * Facts about the git checkout containing `dir`: HEAD's commit and committer time, whether the work tree
 * is dirty, the origin URL without credentials. Undefined when `dir` is not in a work tree, the checkout
 * has no commit yet, or git is not installed; also when git refuses a checkout owned by another user
 * (its safe.directory check, which imprint does not bypass, as it ignores user and system git config).
 * Runs git four times; `git status` walks the work tree. Never writes to the repository (no optional locks).
 */
export async function gitInfo(dir: string, options: GitOptions = {}): Promise<GitInfo | undefined> {
  const path = options.path ?? DEFAULT_PATH;
  const inside = await runGit(dir, ['rev-parse', '--is-inside-work-tree'], path);
  if (!inside.ok || inside.stdout.trim() !== 'true') return undefined;
  const head = await runGit(dir, ['log', '-1', '--format=%H %ct', 'HEAD', '--'], path);
  const match = /^([0-9a-f]{40,64}) ([0-9]+)\n?$/.exec(head.stdout);
  if (!head.ok || match === null) return undefined;
  // Pathspecs are literal (no globbing of odd file names) and absolute paths outside the checkout
  // (a file source cannot be outside the spec's directory) simply match nothing.
  const pathspecs =
    options.inputs === undefined ? [] : ['--', ...options.inputs.map((p) => `:(literal)${p}`)];
  const status =
    options.inputs?.length === 0
      ? { ok: true, stdout: '' }
      : await runGit(
          dir,
          [
            'status',
            '--porcelain',
            '--untracked-files=normal',
            // Ignored files among the inputs count: the image would hold what the commit does not.
            ...(pathspecs.length > 0 ? ['--ignored=matching'] : []),
            '--ignore-submodules=none',
            ...pathspecs,
          ],
          path,
        );
  const remote = await runGit(dir, ['config', '--get', 'remote.origin.url'], path);
  const remoteUrl =
    remote.ok && remote.stdout.trim() !== '' ? canonicalRemote(remote.stdout.trim()) : undefined;
  const info: GitInfo = {
    commit: match[1]!,
    commitTime: Number(match[2]),
    dirty: !status.ok || status.stdout !== '',
  };
  if (remoteUrl !== undefined) info.remoteUrl = remoteUrl;
  return info;
}

/**
 * The work tree root holding `dir`: the nearest ancestor (or `dir`) with a `.git` directory or file.
 * Tells a checkout git could not read (git missing, or another user's: safe.directory) from no
 * checkout. Reads only the file system.
 */
export function checkoutRoot(dir: string): string | undefined {
  for (let d = resolve(dir); ; d = dirname(d)) {
    if (existsSync(`${d}/.git`)) return d;
    if (dirname(d) === d) return undefined;
  }
}

/**
 * The origin URL as the image records it (org.opencontainers.image.source, provenance): the same for
 * every clone of one repository, so an SSH clone and an HTTPS clone build the same digest.
 * `git@host:org/repo.git`, `ssh://git@host[:port]/org/repo.git`, `git://host/org/repo` and
 * `https://user:token@host/org/repo.git/` all become `https://host/org/repo`; a local path or `file:`
 * URL (which names a directory of one machine) gives undefined. Pure.
 */
export function canonicalRemote(url: string): string | undefined {
  const scp = /^(?:[^@/:]+@)?([^/:]+):(?!\/\/)(.+)$/.exec(url);
  let host: string;
  let path: string;
  if (scp !== null && !url.includes('://')) {
    host = scp[1]!;
    path = scp[2]!;
  } else {
    const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(?:[^/?#]*@)?([^/:?#@]+)(?::[0-9]+)?(\/[^?#]*)?/.exec(url);
    if (m === null || m[1]!.toLowerCase() === 'file') return undefined;
    host = m[2]!;
    path = m[3] ?? '';
  }
  path = path
    .replace(/^\/+/, '')
    .replace(/\/+$/, '')
    .replace(/\.git$/, '');
  if (host === '' || path === '') return undefined;
  return `https://${host.toLowerCase()}/${path}`;
}
