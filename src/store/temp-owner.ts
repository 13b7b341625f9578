// Who owns a temporary file: its name carries the writing process's identity, so that the process can
// find its own temporary files when a signal ends it, and a sweep can tell a file whose writer is
// provably gone from one still being written, even in a cache shared by hosts and containers.
import { createHash } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';

/** The prefix of every temporary file imprint creates; such files are never read as content. */
export const TEMP_PREFIX = '.tmp-';

/**
 * The start of the temporary names of a target named `hint` (`.tmp-<hint>-`); the hint is cut short,
 * as a long target name plus owner and random part could exceed NAME_MAX. Pure.
 */
export function tempLabel(hint: string): string {
  return `${TEMP_PREFIX}${hint.slice(0, 100)}-`;
}

/**
 * A process's identity in temporary names: `p<pid>.<start>.<where>`, where `start` is its start time
 * (clock ticks since boot, /proc/<pid>/stat) and `where` hashes the boot id and the pid namespace.
 * A pid alone names different processes in different containers (and, later, on one host); with the
 * start time and the namespace it names one process ever, and only a process that can see that
 * namespace can check it. The same for every thread of a process (workers' spool packs included).
 */
export interface TempOwner {
  pid: number;
  start: string;
  where: string;
}

let mine: TempOwner | null | undefined;

/** This process's identity; null where /proc does not tell it (then names carry a random owner). */
export function processOwner(): TempOwner | null {
  if (mine === undefined) mine = readOwner();
  return mine;
}

function readOwner(): TempOwner | null {
  try {
    const stat = readFileSync('/proc/self/stat', 'latin1');
    // /proc of another pid namespace than ours would name another process: only trust a match.
    if (Number(stat.slice(0, stat.indexOf(' '))) !== process.pid) return null;
    const start = startTimeOf(stat);
    if (start === undefined) return null;
    const boot = readFileSync('/proc/sys/kernel/random/boot_id', 'latin1').trim();
    const pidns = readlinkSync('/proc/self/ns/pid');
    if (boot === '' || pidns === '') return null;
    const where = createHash('sha256').update(`${boot}\n${pidns}`).digest('hex').slice(0, 16);
    return { pid: process.pid, start, where };
  } catch {
    return null;
  }
}

/** Field 22 of /proc/<pid>/stat (after the command name, which may hold spaces and parentheses). */
function startTimeOf(stat: string): string | undefined {
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const start = fields[19];
  return start !== undefined && /^[0-9]+$/.test(start) ? start : undefined;
}

/** The owner part of this process's temporary names; a random one (never matched) without /proc. */
export function ownerTag(): string {
  const o = processOwner();
  if (o !== null) return `p${o.pid}.${o.start}.${o.where}`;
  fallbackTag ??= `r${process.pid}.${Math.random().toString(16).slice(2, 10)}`;
  return fallbackTag;
}
let fallbackTag: string | undefined;

const OWNED = /-p([0-9]+)\.([0-9]+)\.([0-9a-f]{16})-[0-9a-f]{16}$/;

/**
 * The owner a temporary file's name records; undefined for names without one (older or foreign).
 * `prefix`: the start of the names of that kind (`.tmp-`, or a temporary directory's label).
 */
export function ownerOf(name: string, prefix = TEMP_PREFIX): TempOwner | undefined {
  if (!name.startsWith(prefix)) return undefined;
  const m = OWNED.exec(name);
  if (m === null) return undefined;
  return { pid: Number(m[1]), start: m[2] as string, where: m[3] as string };
}

/** True when `name` is a temporary file of this very process. */
export function isOwnTemp(name: string): boolean {
  const o = processOwner();
  if (o === null) return name.startsWith(TEMP_PREFIX) && name.includes(`-${ownerTag()}-`);
  const owner = ownerOf(name);
  return owner !== undefined && owner.pid === o.pid && owner.start === o.start && owner.where === o.where;
}

/**
 * True only when the process that wrote temporary file `name` (named with `prefix`, see ownerOf)
 * provably no longer runs: it ran on this
 * boot of this host, in this pid namespace, and its pid is free or now belongs to a process that
 * started at another time. Any doubt (another host or container, an older name, a /proc that hides
 * other users' processes) is false: the age of the file decides then.
 */
export function ownerGone(name: string, prefix = TEMP_PREFIX): boolean {
  const me = processOwner();
  const owner = ownerOf(name, prefix);
  if (me === null || owner === undefined || owner.where !== me.where) return false;
  try {
    process.kill(owner.pid, 0);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ESRCH') return true;
    if (code !== 'EPERM') return false; // EPERM: a process of another user has the pid
  }
  try {
    const start = startTimeOf(readFileSync(`/proc/${owner.pid}/stat`, 'latin1'));
    return start !== undefined && start !== owner.start;
  } catch {
    return false;
  }
}
