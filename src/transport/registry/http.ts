// One HTTP exchange with a registry over node:http/https (streaming request and response bodies, custom CAs).
import { type Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import { type Readable, Transform } from 'node:stream';
import * as nodeTls from 'node:tls';
import { errorText, ImprintError } from '../../errors.js';
import { ResponseBody } from '../../net/http-body.js';
import { type ProxySettings, proxyFor, tunnelAgent, viaHttpProxy } from '../../net/proxy.js';
import { DEFAULT_NET_TIMEOUTS, formatDuration, type NetTimeouts } from '../../net/timeouts.js';
import { trustAdding, trustOptions } from '../../net/trust.js';

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
  /**
   * The response body; the caller reads or destroys it. It fails NETWORK (`details.stalled`) when
   * the registry goes silent or slower than the speed floor while it is read.
   */
  body: Readable;
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
      nodeTls.connect as (opts: object) => Socket,
    );
    tunnels.set(proxy.href, agent);
  }
  return agent;
}

/**
 * Sends one request and resolves once response headers arrive. Network failures reject with NETWORK
 * (`details.network = true`). Without a request body the headers must arrive within
 * `connectTimeoutMs` (a deadline: a registry trickling header bytes cannot stretch it); while a body
 * is uploaded, and until the answer to it, the connection may be idle for `idleTimeoutMs` (the
 * registry's time to commit a large blob grows with it). The response body is a `ResponseBody`
 * with the idle timer and the speed floor. No retries, no redirects, no auth: see client.ts.
 */
export function send(
  req: HttpRequest,
  tls: TlsOptions,
  limits: NetTimeouts = DEFAULT_NET_TIMEOUTS,
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
      ...(url.protocol === 'https:'
        ? {
            // `ca` beside the context that holds it: the agent pools connections by `ca` (not by
            // `secureContext`), so one verified with the added CAs is not reused for a request without
            ...(tls.ca === undefined
              ? trustOptions(nodeTls, undefined)
              : { ...trustAdding(nodeTls, tls.ca), ca: tls.ca }),
            rejectUnauthorized: tls.verify,
          }
        : {}),
      // Through a proxy: http in absolute form, https in a CONNECT tunnel.
      ...(proxy === undefined
        ? {}
        : url.protocol === 'https:'
          ? { agent: tunnelFor(proxy) }
          : { ...viaHttpProxy(url, proxy, headers), method: req.method }),
    };
    let settled = false;
    let stalled = false;
    const fail = (err: unknown): void => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      reject(networkError(req, err, stalled));
    };
    const r = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, options, (res) => {
      settled = true;
      clearTimeout(deadline);
      r.setTimeout(0); // the body watches its own pace (a paused reader is no stall)
      const body = new ResponseBody(res, {
        url: req.url,
        method: req.method,
        idleTimeoutMs: limits.idleTimeoutMs,
        lowSpeedBytesPerSecond: limits.lowSpeedBytesPerSecond,
        lowSpeedWindowMs: limits.lowSpeedWindowMs,
        maxResumes: 0,
      });
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body });
    });
    const stall = (why: string): void => {
      stalled = true;
      r.destroy(new Error(why));
    };
    const deadline =
      body === undefined && limits.connectTimeoutMs > 0
        ? setTimeout(
            () => stall(`no response within ${formatDuration(limits.connectTimeoutMs)}`),
            limits.connectTimeoutMs,
          )
        : undefined;
    if (body !== undefined && limits.idleTimeoutMs > 0) {
      r.setTimeout(limits.idleTimeoutMs, () =>
        stall(`no progress for ${formatDuration(limits.idleTimeoutMs)} before the response`),
      );
    }
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

/**
 * NETWORK for a registry whose /v2/ no scheme reached, after `lastError`. A registry that stalled is
 * reachable: the stall's own hint (the timeout variables) applies, not TLS; with `plainHttpTried`
 * (localhost, --tls-verify=false) --tls-verify=false would change nothing either.
 */
export function unreachable(registry: string, lastError: unknown, plainHttpTried: boolean): ImprintError {
  const stallHint =
    lastError instanceof ImprintError && lastError.details.stalled !== undefined ? lastError.hint : undefined;
  return new ImprintError('NETWORK', `cannot reach registry ${registry}: ${errorText(lastError)}`, {
    hint:
      stallHint ??
      (plainHttpTried
        ? 'Check the address, and that the registry is running.'
        : 'Check the address; for a registry without valid TLS pass --tls-verify=false.'),
    cause: lastError,
    details: { registry },
  });
}

function networkError(req: HttpRequest, err: unknown, stalled: boolean): ImprintError {
  if (err instanceof ImprintError) return err;
  const what = `${req.method} ${req.url}`;
  if (stalled) {
    return new ImprintError('NETWORK', `${what}: the registry stalled: ${errorText(err)}`, {
      hint: 'The registry accepted the connection but did not answer; try again later. The limits are IMPRINT_CONNECT_TIMEOUT and IMPRINT_IDLE_TIMEOUT.',
      cause: err,
      details: { url: req.url, network: true, stalled: 'connect' },
    });
  }
  return new ImprintError('NETWORK', `${what}: ${errorText(err)}`, {
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
