// A response body sent slowly, for tests of stall protection.
import type { ServerResponse } from 'node:http';

/**
 * Writes `body` to `res` `step` bytes every `everyMs` ms, then ends it: a server that never goes quiet
 * for long, yet would take minutes for a few KB. Stops when the socket closes.
 */
export function trickleBody(res: ServerResponse, body: Uint8Array, step: number, everyMs: number): void {
  let at = 0;
  const timer = setInterval(() => {
    if (res.destroyed || at >= body.length) {
      clearInterval(timer);
      res.end();
      return;
    }
    res.write(body.subarray(at, at + step));
    at += step;
  }, everyMs);
  res.on('close', () => clearInterval(timer));
}
