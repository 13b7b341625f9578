// Registry credentials (auth files, --creds) and WWW-Authenticate challenges.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errorText, ImprintError } from '../../errors.js';

/** A username and password (or token) for one registry. */
export interface Credentials {
  username: string;
  password: string;
}

/** Parses `--creds USER[:PASSWORD]` (the password may contain ':'). */
export function parseCreds(text: string): Credentials {
  const colon = text.indexOf(':');
  const username = colon < 0 ? text : text.slice(0, colon);
  if (username === '') {
    throw new ImprintError('USAGE', '--creds: expected USERNAME[:PASSWORD], found an empty username', {
      hint: 'Write --creds user:password.',
    });
  }
  return { username, password: colon < 0 ? '' : text.slice(colon + 1) };
}

/**
 * The auth files searched, first match wins: `$REGISTRY_AUTH_FILE`, containers' `auth.json`
 * (`$XDG_RUNTIME_DIR/containers/auth.json`, `~/.config/containers/auth.json`), then Docker's
 * `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`.
 */
export function authFiles(env: NodeJS.ProcessEnv, home: string): string[] {
  const files: string[] = [];
  if (env.REGISTRY_AUTH_FILE) files.push(env.REGISTRY_AUTH_FILE);
  if (env.XDG_RUNTIME_DIR) files.push(join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json'));
  files.push(join(env.XDG_CONFIG_HOME || join(home, '.config'), 'containers', 'auth.json'));
  files.push(join(env.DOCKER_CONFIG || join(home, '.docker'), 'config.json'));
  return files;
}

/** The keys an auth file may use for `registry` (Docker Hub's legacy URL included). */
function keysFor(registry: string): string[] {
  const keys = [
    registry,
    `https://${registry}`,
    `http://${registry}`,
    `https://${registry}/v1/`,
    `https://${registry}/v2/`,
  ];
  if (registry === 'docker.io')
    keys.push('https://index.docker.io/v1/', 'index.docker.io', 'registry-1.docker.io');
  return keys;
}

/**
 * Looks up credentials for `registry` (`host[:port]`) in `files`, first file with an entry wins;
 * missing files are skipped, unreadable or malformed ones are AUTH errors. Credential helpers
 * (`credsStore`, `credHelpers`) are not run. Cost: reads each file once.
 */
export async function lookupCredentials(registry: string, files: string[]): Promise<Credentials | undefined> {
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if (
        (err as NodeJS.ErrnoException).code === 'ENOENT' ||
        (err as NodeJS.ErrnoException).code === 'ENOTDIR'
      )
        continue;
      throw new ImprintError('AUTH', `reading registry auth file ${file}: ${errorText(err)}`, { cause: err });
    }
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch (err) {
      throw new ImprintError('AUTH', `registry auth file ${file} is not valid JSON: ${errorText(err)}`, {
        cause: err,
        details: { file },
      });
    }
    const auths = (doc as { auths?: unknown } | null)?.auths;
    if (typeof auths !== 'object' || auths === null) continue;
    for (const key of keysFor(registry)) {
      const entry = (auths as Record<string, unknown>)[key] as { auth?: unknown } | undefined;
      if (entry === undefined || typeof entry.auth !== 'string') continue;
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon <= 0) {
        throw new ImprintError(
          'AUTH',
          `registry auth file ${file}: the entry for ${key} is not base64 of user:password`,
          {
            details: { file, registry },
          },
        );
      }
      return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
    }
  }
  return undefined;
}

/** One WWW-Authenticate challenge: its scheme (lower case) and parameters. */
export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** Parses a WWW-Authenticate header (`Bearer realm="…",service="…",scope="…"` or `Basic realm="…"`). */
export function parseChallenge(header: string): Challenge | undefined {
  const m = /^\s*([A-Za-z]+)\s*(.*)$/.exec(header);
  if (m === null) return undefined;
  const params: Record<string, string> = {};
  const re = /([A-Za-z_]+)=(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*,?\s*/g;
  for (let p = re.exec(m[2] ?? ''); p !== null; p = re.exec(m[2] ?? '')) {
    params[(p[1] ?? '').toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : (p[3] ?? '');
  }
  return { scheme: (m[1] ?? '').toLowerCase(), params };
}

/** The `Authorization` value for basic auth. */
export function basicAuth(c: Credentials): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
}
