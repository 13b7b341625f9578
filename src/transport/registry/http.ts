// One HTTP exchange with a registry over node:http/https (streaming request and response bodies, custom CAs).
import {
  type Agent,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import { type Readable, Transform } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import { errorText, ImprintError } from '../../errors.js';
import { type ProxySettings, proxyFor, tunnelAgent, viaHttpProxy } from '../../net/proxy.js';

/** A request body: bytes, or a function that opens a fresh stream (so that a retry can send it again). */
export type RequestBody = Buffer | (() => Promise<Readable>);

export interface HttpRequest {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  url: string;
  headers?: Record<string, string>;
  body?: RequestBody;
  /** Content-Length of a streamed body (bytes bodies set it themselves). */
  bodyLength?: number;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** The response body; the caller reads or destroys it. */
  body: IncomingMessage;
}

export interface TlsOptions {
  /** PEM certificate(s) trusted in addition to the system's. */
  ca?: Buffer | undefined;
  /** false: accept any certificate (`--tls-verify=false`). */
  verify: boolean;
  /** HTTP proxies (http_proxy, https_proxy, no_proxy); none when undefined. */
  proxy?: ProxySettings | undefined;
}

/** One CONNECT-tunnelling agent per proxy (connections to the registry kept alive through it). */
const tunnels = new Map<string, Agent>();

function tunnelFor(proxy: URL): Agent {
  let agent = tunnels.get(proxy.href);
  if (agent === undefined) {
    agent = tunnelAgent(
      proxy,
      { request: httpRequest },
      { Agent: HttpsAgent },
      tlsConnect as (opts: object) => Socket,
    );
    tunnels.set(proxy.href, agent);
  }
  return agent;
}

/** Time allowed until response headers arrive, and between body chunks. */
export const DEFAULT_TIMEOUT_MS = 60_000;

/**
 * Sends one request and resolves once response headers arrive. Network failures reject with NETWORK
 * (`details.network = true`). No retries, no redirects, no auth: see client.ts.
 */
export function send(
  req: HttpRequest,
  tls: TlsOptions,
  timeoutMs = DEFAULT_TIMEOUT_MS,
): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const url = new URL(req.url);
    const headers: Record<string, string> = { 'user-agent': 'imprint', ...req.headers };
    const body = req.body;
    if (Buffer.isBuffer(body)) headers['content-length'] = String(body.length);
    else if (body !== undefined && req.bodyLength !== undefined)
      headers['content-length'] = String(req.bodyLength);
    else if (body === undefined && (req.method === 'PUT' || req.method === 'POST' || req.method === 'PATCH'))
      headers['content-length'] = '0';
    const proxy = proxyFor(url, tls.proxy);
    const options = {
      method: req.method,
      headers,
      timeout: timeoutMs,
      ...(url.protocol === 'https:' ? { ca: tls.ca, rejectUnauthorized: tls.verify } : {}),
      // Through a proxy: http in absolute form, https in a CONNECT tunnel.
      ...(proxy === undefined
        ? {}
        : url.protocol === 'https:'
          ? { agent: tunnelFor(proxy) }
          : { ...viaHttpProxy(url, proxy, headers), method: req.method }),
    };
    let settled = false;
    const fail = (err: unknown): void => {
      if (settled) return;
      settled = true;
      reject(networkError(req, err));
    };
    const r = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, options, (res) => {
      settled = true;
      res.setTimeout(timeoutMs, () => res.destroy(new Error(`no data for ${timeoutMs} ms`)));
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: res });
    });
    r.on('timeout', () => r.destroy(new Error(`no response within ${timeoutMs} ms`)));
    r.on('error', fail);
    if (body === undefined) r.end();
    else if (Buffer.isBuffer(body)) r.end(body);
    else {
      body().then(
        (stream) => {
          stream.on('error', (err) => {
            r.destroy(err);
            fail(err);
          });
          r.on('close', () => stream.destroy());
          stream.pipe(r);
        },
        (err: unknown) => {
          r.destroy();
          if (settled) return;
          settled = true;
          reject(err);
        },
      );
    }
  });
}

/** Reads a (small) response body whole; more than `maxBytes` is REGISTRY. */
export async function readBody(res: HttpResponse, maxBytes: number, what: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of res.body) {
      total += (chunk as Buffer).length;
      if (total > maxBytes) {
        throw new ImprintError('REGISTRY', `${what}: the response is larger than ${maxBytes} bytes`, {
          details: { maxBytes },
        });
      }
      chunks.push(chunk as Buffer);
    }
  } catch (err) {
    if (err instanceof ImprintError) throw err;
    throw new ImprintError('NETWORK', `${what}: the response broke off: ${errorText(err)}`, {
      cause: err,
      details: { network: true },
    });
  } finally {
    res.body.destroy();
  }
  return Buffer.concat(chunks, total);
}

/** Discards a response body. */
export function drain(res: HttpResponse): void {
  res.body.resume();
  res.body.on('error', () => undefined);
}

function networkError(req: HttpRequest, err: unknown): ImprintError {
  if (err instanceof ImprintError) return err;
  return new ImprintError('NETWORK', `${req.method} ${req.url}: ${errorText(err)}`, {
    hint: 'Check the network and the registry address; imprint retried with backoff.',
    cause: err,
    details: { url: req.url, network: true, errno: (err as NodeJS.ErrnoException).code },
  });
}

/** Reports progress as `stream` is read, at most every 1 MiB and at its end. */
export function counted(stream: Readable, progress: (done: number) => void): Readable {
  let done = 0;
  let reported = 0;
  const out = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      done += chunk.length;
      if (done - reported >= 1 << 20) {
        reported = done;
        progress(done);
      }
      cb(null, chunk);
    },
    flush(cb) {
      progress(done);
      cb();
    },
  });
  stream.on('error', (err) => out.destroy(err));
  out.on('close', () => stream.destroy());
  return stream.pipe(out);
}
