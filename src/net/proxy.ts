// HTTP proxies, as curl and apt take them from the environment: http_proxy for http: URLs, https_proxy
// for https: URLs (tunnelled with CONNECT), no_proxy for hosts to reach directly. Proxy URLs are
// http://[user:password@]host[:port]; credentials go in Proxy-Authorization.
import type { Agent, ClientRequest, IncomingMessage, RequestOptions } from 'node:http';
import type { Socket } from 'node:net';
import { ImprintError } from '../errors.js';

/** The proxies of an environment; undefined fields mean "connect directly". */
export interface ProxySettings {
  http?: URL | undefined;
  https?: URL | undefined;
  /** no_proxy entries, lower-cased: `*`, a host, `.domain` or `domain` (its subdomains too), host:port. */
  noProxy: string[];
}

const LOOPBACK = ['localhost', '127.0.0.1', '[::1]'];

/**
 * The proxy settings `env` gives (lower-case names first, as curl reads them); loopback addresses
 * are always reached directly. A proxy URL that does not parse, or is not http://, is a USAGE error
 * naming the variable.
 */
export function proxyFromEnv(env: Record<string, string | undefined>): ProxySettings {
  const pick = (name: string): URL | undefined => {
    const key = env[name] !== undefined ? name : name.toUpperCase();
    const text = env[key]?.trim();
    if (text === undefined || text === '') return undefined;
    let url: URL;
    try {
      url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`);
    } catch {
      throw new ImprintError('USAGE', `${key}=${JSON.stringify(text)} is not a proxy URL`, {
        hint: `Set ${key} to http://host:port (or unset it).`,
      });
    }
    if (url.protocol !== 'http:')
      throw new ImprintError('USAGE', `${key}: only http:// proxies are supported, found ${url.protocol}//`, {
        hint: `Set ${key} to http://host:port.`,
      });
    return url;
  };
  const noProxy = (env.no_proxy ?? env.NO_PROXY ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== '');
  // This machine is never reached through a proxy (as Go's ProxyFromEnvironment decides).
  return { http: pick('http_proxy'), https: pick('https_proxy'), noProxy: [...noProxy, ...LOOPBACK] };
}

/** The proxy for `url`, or undefined to connect directly (no proxy set, or no_proxy matches). */
export function proxyFor(url: URL, settings: ProxySettings | undefined): URL | undefined {
  if (settings === undefined) return undefined;
  const proxy =
    url.protocol === 'https:' ? settings.https : url.protocol === 'http:' ? settings.http : undefined;
  if (proxy === undefined) return undefined;
  const host = url.hostname.toLowerCase().replace(/^\[|\]$/g, '');
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  for (const entry of settings.noProxy) {
    if (entry === '*') return undefined;
    const colons = entry.split(':').length - 1;
    const [name, entryPort] = entry.startsWith('[')
      ? [entry.slice(1, entry.indexOf(']')), entry.split(']:')[1]]
      : colons > 1
        ? [entry, undefined] // an IPv6 address without a port
        : entry.split(':');
    if (entryPort !== undefined && entryPort !== port) continue;
    const domain = (name ?? '').replace(/^\*?\./, '');
    if (host === domain || host.endsWith(`.${domain}`)) return undefined;
  }
  return proxy;
}

/** The Proxy-Authorization header of a proxy URL with credentials. */
export function proxyAuthorization(proxy: URL): Record<string, string> {
  if (proxy.username === '') return {};
  const user = decodeURIComponent(proxy.username);
  const password = decodeURIComponent(proxy.password);
  return { 'proxy-authorization': `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
}

/**
 * Request options that send an http: URL through `proxy` (the absolute URL as the request target).
 * Pure.
 */
export function viaHttpProxy(url: URL, proxy: URL, headers: Record<string, string>): RequestOptions {
  return {
    hostname: proxy.hostname,
    port: Number(proxy.port || 80),
    path: url.href,
    method: 'GET',
    headers: { ...headers, host: url.host, ...proxyAuthorization(proxy) },
  };
}

/**
 * An https Agent whose connections are CONNECT tunnels through `proxy` (kept alive like any other).
 * `http` is node:http (for the CONNECT request) and `https` node:https.
 */
export function tunnelAgent(
  proxy: URL,
  http: { request: (opts: RequestOptions) => ClientRequest },
  https: { Agent: new (opts: object) => Agent },
  tlsConnect: (opts: object) => Socket,
): Agent {
  const agent = new https.Agent({ keepAlive: true, scheduling: 'lifo' });
  (agent as unknown as { createConnection: unknown }).createConnection = (
    opts: { host: string; port: number; servername?: string },
    done: (err: Error | null, socket?: Socket) => void,
  ): undefined => {
    const req = http.request({
      host: proxy.hostname,
      port: Number(proxy.port || 80),
      method: 'CONNECT',
      path: `${opts.host}:${opts.port}`,
      headers: { host: `${opts.host}:${opts.port}`, ...proxyAuthorization(proxy) },
    });
    req.once('connect', (res: IncomingMessage, socket: Socket) => {
      if (res.statusCode !== 200) {
        socket.destroy();
        done(
          new Error(
            `proxy ${proxy.host} refused the tunnel to ${opts.host}:${opts.port}: ${res.statusCode} ${res.statusMessage ?? ''}`.trimEnd(),
          ),
        );
        return;
      }
      done(null, tlsConnect({ ...opts, socket, servername: opts.servername ?? opts.host }));
    });
    req.once('error', (err) => done(err));
    req.end();
    return undefined;
  };
  return agent;
}
