import { execFile } from 'node:child_process';

/** What the git checkout holding a spec says about it. */
export interface GitInfo {
  /** Full hash of HEAD. */
  commit: string;
  /** Committer time of HEAD, seconds since 1970. */
  commitTime: number;
  /** True when `git status --porcelain` lists anything (changed, staged or untracked files). */
  dirty: boolean;
  /** `remote.origin.url` with any credentials (`user:pass@`) removed. */
  remoteUrl?: string;
}

/** Options of gitInfo. */
export interface GitOptions {
  /** PATH used to find `git`; default /usr/local/bin:/usr/bin:/bin. The library never reads process.env. */
  path?: string;
}

const DEFAULT_PATH = '/usr/local/bin:/usr/bin:/bin';

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
  const status = await runGit(
    dir,
    ['status', '--porcelain', '--untracked-files=normal', '--ignore-submodules=none'],
    path,
  );
  const remote = await runGit(dir, ['config', '--get', 'remote.origin.url'], path);
  const remoteUrl =
    remote.ok && remote.stdout.trim() !== '' ? stripCredentials(remote.stdout.trim()) : undefined;
  const info: GitInfo = {
    commit: match[1]!,
    commitTime: Number(match[2]),
    dirty: !status.ok || status.stdout !== '',
  };
  if (remoteUrl !== undefined) info.remoteUrl = remoteUrl;
  return info;
}

/**
 * Removes the user-info part (`user:password@`, `token@`) from a URL-style remote (`scheme://...`); scp-style
 * remotes (`git@host:path`) carry no password and are returned as they are. Pure.
 */
export function stripCredentials(url: string): string {
  const scheme = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.exec(url);
  if (scheme === null) return url;
  const rest = url.slice(scheme[0].length);
  const authorityEnd = rest.search(/[/?#]/);
  const authority = authorityEnd === -1 ? rest : rest.slice(0, authorityEnd);
  const at = authority.lastIndexOf('@');
  return at === -1 ? url : scheme[0] + rest.slice(at + 1);
}
