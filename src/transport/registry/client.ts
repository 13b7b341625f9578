// A client for one repository of an OCI distribution registry: scheme probing, auth, retries, errors.
import { homedir } from 'node:os';
import { errorText, ImprintError, isImprintError } from '../../errors.js';
import { proxyFromEnv } from '../../net/proxy.js';
import { type NetTimeouts, netTimeoutsFromEnv } from '../../net/timeouts.js';
import {
  authFiles,
  authHint,
  basicAuth,
  type Challenge,
  type Credentials,
  lookupCredentials,
  parseChallenge,
  tokenRequest,
} from './auth.js';
import { registryCa } from './ca.js';
import {
  drain,
  type HttpRequest,
  type HttpResponse,
  readBody,
  send,
  type TlsOptions,
  unreachable,
} from './http.js';

/** Progress of a push or pull, for progress bars. */
export type RegistryProgress =
  | { type: 'blob'; digest: string; size: number; done: number }
  | { type: 'skip'; digest: string; size: number; why: 'exists' | 'mounted' }
  | { type: 'manifest'; digest: string; reference: string };

export interface RegistryOptions {
  /** Credentials (`--creds`); otherwise looked up in `authFiles`. */
  creds?: Credentials | undefined;
  /** Auth files searched for credentials (default: see `authFiles` in auth.ts). */
  authFiles?: string[] | undefined;
  /**
   * Environment for finding auth files, running credential helpers ($PATH), the proxies and the
   * network limits (IMPRINT_CONNECT_TIMEOUT, ...) (default process.env).
   */
  env?: NodeJS.ProcessEnv | undefined;
  /** false: accept any TLS certificate and fall back to plain http (`--tls-verify=false`). */
  tlsVerify?: boolean | undefined;
  /** A PEM file of certificate authorities trusted for https, besides the system's and certs.d's. */
  caFile?: string | undefined;
  /**
   * Directories of per-registry CA certificates (`<dir>/<host[:port]>/*.crt`, as containers and
   * Docker keep them), trusted besides the system's and caFile; default CERTS_DIRS (ca.ts, with the
   * user's own).
   */
  certsDirs?: readonly string[] | undefined;
  /** Retries after the first attempt on network errors, 408, 429 and 5xx (default 4). */
  retries?: number | undefined;
  /** First backoff delay, doubled per retry with jitter in [0.5, 1.5) (default 500 ms). */
  backoffMs?: number | undefined;
  /** Bound of one delay and of a Retry-After (default 20 s). */
  maxBackoffMs?: number | undefined;
  /** Limits against stalled registries (default: `netTimeoutsFromEnv(env)`); see src/net/README.md. */
  timeouts?: Partial<NetTimeouts> | undefined;
  /** Blobs larger than this are uploaded in PATCH chunks of this size (default 32 MiB). */
  chunkSize?: number | undefined;
  /** Source of jitter (default Math.random). */
  random?: (() => number) | undefined;
  /** Called before every request sent (retries included); for logging and tests. */
  onRequest?: ((info: { method: string; url: string }) => void) | undefined;
  onProgress?: ((e: RegistryProgress) => void) | undefined;
}

/** A request relative to the repository (`path` below `/v2/<repo>/`) or to an absolute URL. */
export interface ClientRequest extends Omit<HttpRequest, 'url'> {
  path?: string;
  url?: string;
  /** Whether transient failures are retried here (default true; uploads retry at a higher level). */
  retry?: boolean;
  /** Access the request needs (default 'pull'). */
  access?: 'pull' | 'push';
}

const RETRYABLE = new Set([408, 429, 500, 502, 503, 504]);
const CERT_ERRORS = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** True for hosts served over plain http by default (like containers' insecure localhost). */
export function isLocalhost(registry: string): boolean {
  const host = registry.startsWith('[')
    ? registry.slice(0, registry.indexOf(']') + 1)
    : registry.split(':')[0];
  return host === 'localhost' || host === '127.0.0.1' || host === '[::1]';
}

/** Docker Hub's API lives on another host than its name (as containers/image and docker map it). */
const DOCKER_HUB_API = 'registry-1.docker.io';

/** The host that serves a registry's /v2/ API: registry-1.docker.io for docker.io, else the registry. */
export function apiHost(registry: string): string {
  return registry === 'docker.io' ? DOCKER_HUB_API : registry;
}

/** One repository of one registry. Connection details are learnt on the first request (GET /v2/). */
export class RegistryClient {
  readonly registry: string;
  readonly repository: string;
  readonly options: RegistryOptions;
  /** Repositories whose pull access the token must also cover (cross-repository mounts). */
  readonly extraPull = new Set<string>();
  readonly #tls: TlsOptions;
  /** The CA files trusted besides the system's (certs.d, --ca-file), for the untrusted certificate's hint. */
  readonly #caFiles: string[];
  /** The limits every request and response of this client runs under. */
  readonly limits: NetTimeouts;
  readonly #schemes: string[];
  #base: Promise<string> | undefined;
  #challenge: Challenge | undefined;
  #creds: Promise<Credentials | undefined> | undefined;
  readonly #tokens = new Map<string, string>();

  constructor(registry: string, repository: string, options: RegistryOptions = {}) {
    this.registry = registry;
    this.repository = repository;
    this.options = options;
    const env = options.env ?? process.env;
    const extra = registryCa(registry, options.caFile, env, options.certsDirs);
    const ca = extra?.pem;
    this.#caFiles = extra?.files ?? [];
    // localhost is an insecure registry (like containers'): any certificate unless a CA is given, and
    // plain http always (one --ca-file for both sides of a copy must not cut off a plain-http side)
    const loopback = isLocalhost(registry);
    const verify = options.tlsVerify ?? !(loopback && ca === undefined);
    this.#tls = { ca, verify, proxy: proxyFromEnv(env) };
    this.limits = { ...netTimeoutsFromEnv(env), ...options.timeouts };
    this.#schemes = loopback || options.tlsVerify === false ? ['https', 'http'] : ['https'];
  }

  /** `registry/repository`, for messages. */
  get name(): string {
    return `${this.registry}/${this.repository}`;
  }

  /**
   * Sends a request with auth and retries (network errors, 408, 429, 5xx; Retry-After honoured),
   * following redirects of GET/HEAD. Resolves with any final status; the caller reads the body.
   */
  async request(r: ClientRequest): Promise<HttpResponse> {
    const base = await this.#probe();
    let url = r.url ?? `${base}/v2/${this.repository}/${r.path ?? ''}`;
    const retries = r.retry === false ? 0 : (this.options.retries ?? 4);
    let lastError: unknown;
    let reauthed = false;
    let redirects = 0;
    for (let attempt = 0; attempt <= retries; attempt++) {
      if (attempt > 0) await sleep(this.retryDelay(attempt - 1, lastError));
      const headers: Record<string, string> = { ...r.headers };
      if (new URL(url).origin === new URL(base).origin) {
        const auth = await this.#authorization(r.access ?? 'pull');
        if (auth !== undefined) headers.authorization = auth;
      }
      this.options.onRequest?.({ method: r.method, url });
      let res: HttpResponse;
      try {
        res = await send({ ...r, url, headers }, this.#tls, this.limits);
      } catch (err) {
        if (!isImprintError(err, 'NETWORK')) throw err;
        lastError = err;
        continue;
      }
      const header = res.headers['www-authenticate'];
      if (
        res.status === 401 &&
        !reauthed &&
        (this.#challenge?.scheme === 'bearer' || (this.#challenge === undefined && header !== undefined))
      ) {
        drain(res);
        if (header !== undefined) this.#challenge = parseChallenge(header);
        this.#tokens.clear();
        reauthed = true;
        attempt--;
        continue;
      }
      if (REDIRECTS.has(res.status) && (r.method === 'GET' || r.method === 'HEAD') && redirects < 5) {
        const location = res.headers.location;
        drain(res);
        if (location === undefined) throw await this.fail(res, `${r.method} ${url}`);
        url = httpUrl(location, url, `${r.method} ${url}: redirect`);
        redirects++;
        attempt--;
        continue;
      }
      if (RETRYABLE.has(res.status) && attempt < retries) {
        lastError = await this.fail(res, `${r.method} ${url}`);
        continue;
      }
      return res;
    }
    throw lastError;
  }

  /** An absolute URL for a (possibly relative) Location header: http(s) only (REGISTRY otherwise). */
  async resolve(location: string): Promise<string> {
    return httpUrl(location, `${await this.#probe()}/`, 'upload location');
  }

  /** The error for an unexpected response: AUTH for 401/403, else REGISTRY with the registry's error codes. */
  async fail(res: HttpResponse, what: string): Promise<ImprintError> {
    let text = '';
    let codes: string[] = [];
    try {
      const body = await readBody(res, 64 * 1024, what);
      text = body.toString('utf8');
      const doc = JSON.parse(text) as { errors?: { code?: string; message?: string }[] };
      codes = (doc.errors ?? []).map((e) => `${e.code ?? '?'}${e.message ? ` (${e.message})` : ''}`);
    } catch {
      // a body that is not the registry's JSON error document: keep its text
    }
    const found = codes.length > 0 ? codes.join(', ') : text.slice(0, 200).trim();
    const details = {
      status: res.status,
      registry: this.registry,
      repository: this.repository,
      errors: codes,
      retryAfter: res.headers['retry-after'],
    };
    if (res.status === 401 || res.status === 403) {
      const sent = this.options.creds
        ? '--creds'
        : (await this.#credentials().catch(() => undefined)) && 'login';
      return new ImprintError(
        'AUTH',
        `${what}: the registry refused access (${res.status}${found ? `: ${found}` : ''})`,
        { hint: authHint(this.registry, res.status, sent || undefined), details },
      );
    }
    return new ImprintError(
      'REGISTRY',
      `${what}: unexpected status ${res.status}${found ? `: ${found}` : ''}`,
      { details },
    );
  }

  /** The pause before retry `attempt + 1`: exponential backoff with jitter, or the Retry-After of `err`. */
  retryDelay(attempt: number, err?: unknown): number {
    const max = this.options.maxBackoffMs ?? 20_000;
    const retryAfter = isImprintError(err) ? err.details.retryAfter : undefined;
    const seconds = typeof retryAfter === 'string' ? Number(retryAfter) : Number.NaN;
    if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds * 1000, max);
    const random = this.options.random ?? Math.random;
    return Math.min((this.options.backoffMs ?? 500) * 2 ** attempt * (0.5 + random()), max);
  }

  /** Finds the scheme (https, or http for localhost and --tls-verify=false) and the auth challenge. */
  #probe(): Promise<string> {
    this.#base ??= (async () => {
      let lastError: unknown;
      for (const scheme of this.#schemes) {
        const base = `${scheme}://${apiHost(this.registry)}`;
        for (let attempt = 0; attempt <= (this.options.retries ?? 4); attempt++) {
          if (attempt > 0) await sleep(this.retryDelay(attempt - 1, lastError));
          try {
            this.options.onRequest?.({ method: 'GET', url: `${base}/v2/` });
            const res = await send({ method: 'GET', url: `${base}/v2/` }, this.#tls, this.limits);
            drain(res);
            if (RETRYABLE.has(res.status)) {
              lastError = await this.fail(res, `GET ${base}/v2/`);
              continue;
            }
            const header = res.headers['www-authenticate'];
            if (res.status === 401 && header !== undefined) this.#challenge = parseChallenge(header);
            return base;
          } catch (err) {
            lastError = err;
            // a TLS handshake against a plain http server (or the reverse) fails at once: try the next scheme
            const code = String(isImprintError(err) ? err.details.errno : '');
            if (code === 'EPROTO' || code === 'ECONNRESET' || code.startsWith('ERR_SSL')) break;
            if (CERT_ERRORS.test(code)) {
              this.#base = undefined;
              throw new ImprintError(
                'NETWORK',
                `registry ${this.registry}: its TLS certificate is not trusted: ${errorText(err)}`,
                {
                  hint:
                    this.#caFiles.length === 0
                      ? 'Pass the CA certificate (caFile / --ca-file), or --tls-verify=false for a test registry.'
                      : `Neither the system's CAs nor ${this.#caFiles.join(', ')} signed it: pass the CA that did (caFile / --ca-file), or --tls-verify=false for a test registry.`,
                  cause: err,
                  details: { registry: this.registry, errno: code },
                },
              );
            }
          }
        }
        // nothing listens on the port: the other scheme would not find anything either
        if (isImprintError(lastError) && lastError.details.errno === 'ECONNREFUSED') break;
      }
      this.#base = undefined;
      throw unreachable(this.registry, lastError, this.#schemes.includes('http'));
    })();
    return this.#base;
  }

  async #credentials(): Promise<Credentials | undefined> {
    if (this.options.creds !== undefined) return this.options.creds;
    const env = this.options.env ?? process.env;
    this.#creds ??= lookupCredentials(
      this.registry,
      this.options.authFiles ?? authFiles(env, env.HOME || homeOrRoot(), process.getuid?.()),
      { env, repository: this.repository },
    );
    return this.#creds;
  }

  async #authorization(access: 'pull' | 'push'): Promise<string | undefined> {
    const challenge = this.#challenge;
    if (challenge === undefined) return undefined;
    const creds = await this.#credentials();
    if (challenge.scheme === 'basic') {
      if (creds?.identityToken !== undefined) {
        throw new ImprintError(
          'AUTH',
          `registry ${this.registry} asks for basic auth; its credentials are an identity token, which only token (bearer) auth accepts`,
          { hint: 'Pass --creds USER:PASSWORD.', details: { registry: this.registry } },
        );
      }
      return creds === undefined ? undefined : basicAuth(creds);
    }
    if (challenge.scheme !== 'bearer') return undefined;
    const scopes = [`repository:${this.repository}:${access === 'push' ? 'pull,push' : 'pull'}`];
    for (const repo of [...this.extraPull].sort()) scopes.push(`repository:${repo}:pull`);
    const key = scopes.join(' ');
    const cached = this.#tokens.get(key);
    if (cached !== undefined) return `Bearer ${cached}`;
    const realm = challenge.params.realm;
    if (realm === undefined)
      throw new ImprintError('AUTH', `registry ${this.registry}: the bearer challenge names no realm`);
    const request = tokenRequest(
      httpUrl(realm, `${await this.#probe()}/`, `registry ${this.registry}: bearer realm`),
      challenge.params.service,
      scopes,
      creds,
    );
    let lastError: unknown;
    for (let attempt = 0; attempt <= (this.options.retries ?? 4); attempt++) {
      if (attempt > 0) await sleep(this.retryDelay(attempt - 1, lastError));
      let res: HttpResponse;
      try {
        res = await send(request, this.#tls, this.limits);
      } catch (err) {
        lastError = err;
        continue;
      }
      if (RETRYABLE.has(res.status)) {
        lastError = await this.fail(res, `${request.method} ${realm} (token)`);
        continue;
      }
      if (res.status !== 200) throw await this.fail(res, `${request.method} ${realm} (token for ${key})`);
      const doc = JSON.parse((await readBody(res, 1 << 20, 'token response')).toString('utf8')) as {
        token?: string;
        access_token?: string;
      };
      const token = doc.token ?? doc.access_token;
      if (typeof token !== 'string')
        throw new ImprintError('AUTH', `registry ${this.registry}: the token response holds no token`);
      this.#tokens.set(key, token);
      return `Bearer ${token}`;
    }
    throw lastError;
  }
}

/** Waits `ms` (the backoff between attempts). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The home directory for auth files; '/' for a uid that has none (its auth files are then not found). */
function homeOrRoot(): string {
  try {
    return homedir();
  } catch {
    return '/';
  }
}

/** `location` resolved against `base`; REGISTRY unless it parses as an http(s) URL (never file:, data:, ...). */
function httpUrl(location: string, base: string, what: string): string {
  let url: URL;
  try {
    url = new URL(location, base);
  } catch {
    throw new ImprintError(
      'REGISTRY',
      `${what}: the registry sent an invalid URL ${JSON.stringify(location)}`,
      {
        details: { location },
      },
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new ImprintError(
      'REGISTRY',
      `${what}: the registry sent a ${url.protocol} URL; only http(s) is followed`,
      {
        details: { location },
      },
    );
  return url.toString();
}
