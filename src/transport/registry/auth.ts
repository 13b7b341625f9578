// Registry credentials (auth files, --creds) and WWW-Authenticate challenges.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { errorText, ImprintError } from '../../errors.js';
import { type HelperOptions, helperCredentials } from './cred-helper.js';
import type { HttpRequest } from './http.js';

/** A username and password for one registry, or an identity token (an OAuth2 refresh token). */
export interface Credentials {
  username: string;
  password: string;
  /** Exchanged at the bearer realm (`grant_type=refresh_token`); username and password are then unused. */
  identityToken?: string | undefined;
}

/**
 * The hint of a refused request (401, 403), by where the credentials sent came from: none, `--creds`, or
 * a login's auth file. Pure.
 */
export function authHint(registry: string, status: number, sent: '--creds' | 'login' | undefined): string {
  const login = `skopeo login ${registry} / docker login`;
  if (sent === undefined) return `Log in (${login}) or pass --creds USER:PASSWORD.`;
  const given = sent === '--creds' ? 'given with --creds' : `stored for ${registry} by a login`;
  return status === 403
    ? `The credentials ${given} were accepted but may not do this: check the account's access to the repository.`
    : `The registry refused the credentials ${given}: check the user name and password${sent === 'login' ? ` (log in again: ${login})` : ''}.`;
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
 * (`$XDG_RUNTIME_DIR/containers/auth.json`, or without XDG_RUNTIME_DIR `/run/containers/<uid>/auth.json`
 * as `podman login` and `skopeo login` write it then; `~/.config/containers/auth.json`), then Docker's
 * `$DOCKER_CONFIG/config.json` or `~/.docker/config.json`.
 */
export function authFiles(env: NodeJS.ProcessEnv, home: string, uid?: number): string[] {
  const files: string[] = [];
  if (env.REGISTRY_AUTH_FILE) files.push(env.REGISTRY_AUTH_FILE);
  if (env.XDG_RUNTIME_DIR) files.push(join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json'));
  else if (uid !== undefined) files.push(join('/run/containers', String(uid), 'auth.json'));
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
 * Looks up credentials for `registry` (`host[:port]`) in `files`, first file with an answer wins.
 * In each file: a `credHelpers` entry for the registry runs that helper (its answer, or on "not
 * found" the next file: the file's `auths` entry is not used, as in containers-auth.json(5)); else
 * an `auths` entry (`auth`: base64 `user:password`, or `identitytoken`); else `credsStore` runs that
 * helper (Docker's default store). Missing files are skipped; unreadable or malformed ones, and
 * failing helpers, are AUTH errors. Cost: reads each file once; one process per helper asked.
 */
export async function lookupCredentials(
  registry: string,
  files: string[],
  opts: HelperOptions & { repository?: string } = {},
): Promise<Credentials | undefined> {
  for (const file of files) {
    const doc = await readAuthFile(file);
    if (doc === undefined) continue;
    const helpers = objectField(doc, 'credHelpers');
    const helperKey = keysFor(registry).find((k) => typeof helpers?.[k] === 'string');
    if (helperKey !== undefined) {
      const found = await helperCredentials(
        helpers?.[helperKey] as string,
        registry,
        { file, key: 'credHelpers' },
        opts,
      );
      if (found !== undefined) return found;
      continue;
    }
    const inline = authsEntry(doc, registry, file, opts.repository);
    if (inline !== undefined) return inline;
    const store = (doc as { credsStore?: unknown }).credsStore;
    if (typeof store === 'string' && store !== '') {
      const found = await helperCredentials(store, registry, { file, key: 'credsStore' }, opts);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

/** The parsed auth file, or undefined when it does not exist. */
async function readAuthFile(file: string): Promise<object | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
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
  return typeof doc === 'object' && doc !== null ? doc : {};
}

function objectField(doc: object, key: string): Record<string, unknown> | undefined {
  const value = (doc as Record<string, unknown>)[key];
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
}

/**
 * The `auths` entry of `registry` in an auth file: `auth` (base64 user:password) and/or
 * `identitytoken`. Keys scoped to the repository or a namespace of it (`host/ns/repo`, `host/ns`)
 * come first, most specific first, as containers-auth.json(5) says.
 */
function authsEntry(
  doc: object,
  registry: string,
  file: string,
  repository: string | undefined,
): Credentials | undefined {
  const auths = objectField(doc, 'auths');
  if (auths === undefined) return undefined;
  const scoped: string[] = [];
  const parts = repository === undefined ? [] : repository.split('/');
  for (let n = parts.length; n > 0; n--) scoped.push(`${registry}/${parts.slice(0, n).join('/')}`);
  for (const key of [...scoped, ...keysFor(registry)]) {
    const entry = auths[key] as { auth?: unknown; identitytoken?: unknown } | undefined;
    if (entry === undefined || entry === null) continue;
    const token = typeof entry.identitytoken === 'string' ? entry.identitytoken : '';
    if (typeof entry.auth !== 'string') {
      if (token !== '') return { username: '', password: '', identityToken: token };
      continue;
    }
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0 && token === '') {
      throw new ImprintError(
        'AUTH',
        `registry auth file ${file}: the entry for ${key} is not base64 of user:password`,
        {
          details: { file, registry },
        },
      );
    }
    const creds: Credentials = {
      username: colon <= 0 ? '' : decoded.slice(0, colon),
      password: colon <= 0 ? '' : decoded.slice(colon + 1),
    };
    if (token !== '') creds.identityToken = token;
    return creds;
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

/**
 * The token request of a bearer challenge: `GET realm?service=&scope=` (with basic credentials when
 * known), or for an identity token the OAuth2 `POST realm` with `grant_type=refresh_token`.
 */
export function tokenRequest(
  realm: string,
  service: string | undefined,
  scopes: string[],
  creds: Credentials | undefined,
): HttpRequest {
  if (creds?.identityToken !== undefined) {
    const form = new URLSearchParams({
      grant_type: 'refresh_token',
      refresh_token: creds.identityToken,
      client_id: 'imprint',
      ...(service === undefined ? {} : { service }),
      scope: scopes.join(' '),
    });
    return {
      method: 'POST',
      url: realm,
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: Buffer.from(form.toString()),
    };
  }
  const url = new URL(realm);
  if (service !== undefined) url.searchParams.set('service', service);
  for (const s of scopes) url.searchParams.append('scope', s);
  const headers: Record<string, string> = {};
  if (creds !== undefined) headers.authorization = basicAuth(creds);
  return { method: 'GET', url: url.toString(), headers };
}
