// The network limits read from the environment, and the fetcher taking its defaults from there.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { isImprintError } from '../../src/errors.js';
import { createFetcher } from '../../src/net/http.js';
import { DEFAULT_NET_TIMEOUTS, netTimeoutsFromEnv } from '../../src/net/timeouts.js';

describe('netTimeoutsFromEnv', () => {
  it('takes seconds (fractions too) and bytes per second; unset or empty means the default', () => {
    assert.deepEqual(netTimeoutsFromEnv({}), DEFAULT_NET_TIMEOUTS);
    assert.deepEqual(
      netTimeoutsFromEnv({
        IMPRINT_CONNECT_TIMEOUT: '1.5',
        IMPRINT_IDLE_TIMEOUT: ' 2 ',
        IMPRINT_LOW_SPEED_LIMIT: '100',
        IMPRINT_LOW_SPEED_TIME: '',
      }),
      {
        connectTimeoutMs: 1500,
        idleTimeoutMs: 2000,
        lowSpeedBytesPerSecond: 100,
        lowSpeedWindowMs: DEFAULT_NET_TIMEOUTS.lowSpeedWindowMs,
      },
    );
    assert.equal(netTimeoutsFromEnv({ IMPRINT_LOW_SPEED_LIMIT: '0' }).lowSpeedBytesPerSecond, 0);
  });

  it('refuses a value that is not a non-negative number with USAGE naming the variable', () => {
    for (const value of ['-1', 'ten', '1e3', '30s', 'Infinity']) {
      assert.throws(
        () => netTimeoutsFromEnv({ IMPRINT_IDLE_TIMEOUT: value }),
        (e) =>
          isImprintError(e, 'USAGE') &&
          e.details.variable === 'IMPRINT_IDLE_TIMEOUT' &&
          e.message.includes('IMPRINT_IDLE_TIMEOUT'),
      );
    }
  });

  it('sets the default limits of a fetcher', async () => {
    // Headers, a few bytes, then silence: the environment's 0.2 s idle limit ends it.
    const server = createServer((_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('abc');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/x`;
      const f = createFetcher({ retries: 0, env: { IMPRINT_IDLE_TIMEOUT: '0.2' } });
      const body = await f.get(url);
      await assert.rejects(
        (async () => {
          for await (const _ of body);
        })(),
        (e) =>
          isImprintError(e, 'NETWORK') &&
          e.details.stalled === 'idle' &&
          /no data for 200 ms/.test(e.message),
      );
      assert.throws(
        () => createFetcher({ env: { IMPRINT_CONNECT_TIMEOUT: 'soon' } }),
        (e) => isImprintError(e, 'USAGE'),
      );
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
