// The image config's exposed ports and stop signal as a spec writes them (Dockerfile's EXPOSE and
// STOPSIGNAL), checked and brought to the one spelling runtimes read.
import * as z from 'zod';
import { expected } from './messages.js';

/** The most ports one range may name (Docker expands a range into one config entry a port). */
export const MAX_PORT_RANGE = 1024;

const PORT_SHAPE = /^([0-9]{1,5})(?:-([0-9]{1,5}))?(?:\/([A-Za-z]+))?$/;
const PROTOCOLS = new Set(['tcp', 'udp', 'sctp']);

/**
 * `8080`, `"8080/tcp"`, `"53/udp"`, `"8000-8009/tcp"` → `["8080/tcp"]`, ..., one entry a port, as
 * Docker's EXPOSE records them (the protocol defaults to tcp, lower case).
 */
export function expandPort(
  value: number | string,
): { ok: true; ports: string[] } | { ok: false; reason: string } {
  const m = PORT_SHAPE.exec(String(value));
  if (m === null)
    return { ok: false, reason: 'expected a port: 8080, "8080/tcp", "53/udp" or a range "8000-8009/tcp"' };
  const first = Number(m[1]);
  const last = m[2] === undefined ? first : Number(m[2]);
  const protocol = (m[3] ?? 'tcp').toLowerCase();
  if (!PROTOCOLS.has(protocol))
    return { ok: false, reason: `unknown protocol ${m[3]}: expected tcp, udp or sctp` };
  for (const n of [first, last])
    if (n < 1 || n > 65535) return { ok: false, reason: `port ${n} is outside 1-65535` };
  if (last < first) return { ok: false, reason: `the range ${first}-${last} ends before it starts` };
  if (last - first + 1 > MAX_PORT_RANGE)
    return { ok: false, reason: `the range ${first}-${last} names more than ${MAX_PORT_RANGE} ports` };
  const ports: string[] = [];
  for (let n = first; n <= last; n++) ports.push(`${n}/${protocol}`);
  return { ok: true, ports };
}

/** Ports in numeric order, then by protocol: the order the spec's list normalises to. */
function comparePorts(a: string, b: string): number {
  const [pa = '', qa = ''] = a.split('/');
  const [pb = '', qb = ''] = b.split('/');
  return Number(pa) - Number(pb) || (qa < qb ? -1 : qa > qb ? 1 : 0);
}

export const exposedPorts = z
  .array(
    z.union([z.int(), z.string()], expected('a port: 8080, "8080/tcp", "53/udp" or "8000-8009/tcp"')),
    expected('a list of ports'),
  )
  .transform((list, ctx) => {
    const ports = new Set<string>();
    list.forEach((value, i) => {
      const result = expandPort(value);
      if (result.ok) for (const p of result.ports) ports.add(p);
      else ctx.issues.push({ code: 'custom', message: result.reason, input: value, path: [i] });
    });
    return [...ports].sort(comparePorts);
  })
  .optional()
  .describe(
    'Ports the image says it listens on (Dockerfile\'s EXPOSE): 8080, "8080/tcp", "53/udp", "8000-8009/tcp"; added to a base image\'s. Documentation for users and tools (docker run -P publishes them); nothing is opened.',
  );

/** Signal names Linux has (without SIG), and the real-time range. */
const SIGNALS = new Set(
  'HUP INT QUIT ILL TRAP ABRT IOT BUS FPE KILL USR1 SEGV USR2 PIPE ALRM TERM STKFLT CHLD CONT STOP TSTP TTIN TTOU URG XCPU XFSZ VTALRM PROF WINCH IO POLL PWR SYS'.split(
    ' ',
  ),
);
const REALTIME = /^RTMIN(?:\+([0-9]{1,2}))?$|^RTMAX(?:-([0-9]{1,2}))?$/;

/** `TERM`, `sigterm`, `SIGRTMIN+3` → `SIGTERM`, `SIGRTMIN+3`; `15` stays `15`; anything else undefined. */
export function normalizeSignal(text: string): string | undefined {
  if (/^[0-9]{1,2}$/.test(text)) {
    const n = Number(text);
    return n >= 1 && n <= 64 ? String(n) : undefined;
  }
  const name = text.toUpperCase().replace(/^SIG/, '');
  if (SIGNALS.has(name)) return `SIG${name}`;
  const rt = REALTIME.exec(name);
  if (rt === null) return undefined;
  const offset = Number(rt[1] ?? rt[2] ?? 0);
  return offset <= 30 ? `SIG${name}` : undefined; // SIGRTMIN+30 is SIGRTMAX on Linux
}

export const stopSignal = z
  .union([z.string(), z.int()], expected('a signal name such as SIGTERM, or its number'))
  .transform((value, ctx) => {
    const signal = normalizeSignal(String(value));
    if (signal !== undefined) return signal;
    ctx.issues.push({
      code: 'custom',
      message: `unknown signal ${JSON.stringify(value)}: expected a Linux signal name (SIGTERM, SIGQUIT, SIGRTMIN+3) or a number 1-64`,
      input: value,
    });
    return z.NEVER;
  })
  .optional()
  .describe(
    "Signal the runtime sends to stop the container (Dockerfile's STOPSIGNAL): SIGTERM, SIGQUIT, SIGINT, SIGRTMIN+3 or a number; replaces a base image's.",
  );
