// How long a download may wait for a server, and how slowly it may go, before it counts as stalled.
// One set of limits for the archive fetcher and the registry client, read from the environment at the
// edge (the caller passes `env`), so a trickling or silent server cannot hold a build forever.
import { ImprintError } from '../errors.js';

/** Limits of one HTTP exchange; each 0 turns its check off. */
export interface NetTimeouts {
  /** Until the response headers arrive (after the request body is sent, for uploads). */
  connectTimeoutMs: number;
  /** Without a single body byte while the consumer is reading. */
  idleTimeoutMs: number;
  /** Fewer bytes per second than this, averaged over `lowSpeedWindowMs` of reading, is a stall. */
  lowSpeedBytesPerSecond: number;
  /** How long the average speed is measured before it is judged. */
  lowSpeedWindowMs: number;
}

/**
 * The defaults: generous for slow real links (a 64 kbit/s line moves 8 KB/s, 8 times the speed floor;
 * 30 s without one byte is longer than any healthy server pauses), yet a server that sends a byte
 * every few seconds fails after a minute of reading instead of never.
 */
export const DEFAULT_NET_TIMEOUTS: Readonly<NetTimeouts> = {
  connectTimeoutMs: 30_000,
  idleTimeoutMs: 30_000,
  lowSpeedBytesPerSecond: 1024,
  lowSpeedWindowMs: 60_000,
};

/** The environment variables that set the limits, in seconds except the speed (bytes per second). */
export const NET_TIMEOUT_VARIABLES = {
  connectTimeoutMs: 'IMPRINT_CONNECT_TIMEOUT',
  idleTimeoutMs: 'IMPRINT_IDLE_TIMEOUT',
  lowSpeedBytesPerSecond: 'IMPRINT_LOW_SPEED_LIMIT',
  lowSpeedWindowMs: 'IMPRINT_LOW_SPEED_TIME',
} as const satisfies Record<keyof NetTimeouts, string>;

/**
 * The limits `env` sets (IMPRINT_CONNECT_TIMEOUT, IMPRINT_IDLE_TIMEOUT and IMPRINT_LOW_SPEED_TIME in
 * seconds, fractions allowed; IMPRINT_LOW_SPEED_LIMIT in bytes per second; 0 turns a check off),
 * the defaults for the others. A value that is not a non-negative number is USAGE naming the variable.
 */
export function netTimeoutsFromEnv(env: Record<string, string | undefined>): NetTimeouts {
  const out: NetTimeouts = { ...DEFAULT_NET_TIMEOUTS };
  for (const key of Object.keys(NET_TIMEOUT_VARIABLES) as (keyof NetTimeouts)[]) {
    const name = NET_TIMEOUT_VARIABLES[key];
    const text = env[name]?.trim();
    if (text === undefined || text === '') continue;
    const value = Number(text);
    if (!/^[0-9]+(\.[0-9]+)?$/.test(text) || !Number.isFinite(value)) {
      throw new ImprintError('USAGE', `${name}=${JSON.stringify(text)} is not a non-negative number`, {
        hint: `Set ${name} to a number of ${key === 'lowSpeedBytesPerSecond' ? 'bytes per second' : 'seconds'} (0 turns the check off), or unset it.`,
        details: { variable: name, value: text },
      });
    }
    out[key] = key === 'lowSpeedBytesPerSecond' ? value : Math.round(value * 1000);
  }
  return out;
}

/** "30 s", "1.5 s", "250 ms": a limit in messages. */
export function formatDuration(ms: number): string {
  return ms < 1000 ? `${ms} ms` : `${Number((ms / 1000).toFixed(3))} s`;
}
