// The header blocks of one entry as imprint writes them: ustar, plus a PAX 'x' header only where needed.
import { ImprintError } from '../errors.js';
import { BLOCK_SIZE, encodeHeader, FIELD, MAX_OCTAL_7, MAX_OCTAL_11 } from './header.js';
import { symlinkEscapes, throwPathProblem, writePathProblem } from './paths.js';
import { encodePax, type PaxRecord } from './pax.js';
import type { TarEntry, TarEntryType } from './types.js';

/** The ustar typeflag of each entry type. */
export const TYPEFLAG: Readonly<Record<TarEntryType, string>> = {
  file: '0',
  hardlink: '1',
  symlink: '2',
  char: '3',
  block: '4',
  dir: '5',
  fifo: '6',
};

/** Prefix of the name of every PAX header block imprint writes ("PaxHeaders/<base name>"). */
export const PAX_HEADER_DIR = 'PaxHeaders/';

const NAME_MAX = FIELD.name[1];
const PREFIX_MAX = FIELD.prefix[1];
const LINKNAME_MAX = FIELD.linkname[1];

/**
 * Validates `entry` and returns its header bytes: an optional PAX 'x' header block with its padded
 * records, then the ustar block. Pure; `what` names the archive in errors. Throws TAR_UNSAFE_PATH /
 * VFS_INVALID_PATH for bad paths, TAR_UNSAFE_LINK for bad link targets, TAR_INVALID for bad fields.
 */
export function encodeEntryHeaders(entry: TarEntry, what: string): Buffer {
  validateEntry(entry, what);
  const pax: PaxRecord[] = [];
  const record = (key: string, value: string | Buffer): void => {
    pax.push({ key, value: typeof value === 'string' ? Buffer.from(value, 'utf8') : value });
  };

  const pathBytes = Buffer.from(entry.path, 'utf8');
  let split = splitUstarPath(pathBytes);
  if (split === null) {
    record('path', pathBytes);
    split = { name: truncateUtf8(pathBytes, NAME_MAX), prefix: Buffer.alloc(0) };
  }
  let linkname: Buffer = Buffer.from(entry.linkname ?? '', 'utf8');
  if (linkname.length > LINKNAME_MAX) {
    record('linkpath', linkname);
    linkname = truncateUtf8(linkname, LINKNAME_MAX);
  }
  const fit = (key: string, value: number, max: number): number => {
    if (value >= 0 && value <= max) return value;
    record(key, String(value));
    return 0;
  };
  const uid = fit('uid', entry.uid, MAX_OCTAL_7);
  const gid = fit('gid', entry.gid, MAX_OCTAL_7);
  const size = fit('size', entry.size, MAX_OCTAL_11);
  const mtime = fit('mtime', entry.mtime, MAX_OCTAL_11);
  for (const [name, value] of Object.entries(entry.xattrs ?? {})) record(`SCHILY.xattr.${name}`, value);

  const device = entry.type === 'char' || entry.type === 'block';
  const ustar = encodeHeader({
    name: split.name,
    prefix: split.prefix,
    linkname,
    mode: entry.mode,
    uid,
    gid,
    size,
    mtime,
    typeflag: TYPEFLAG[entry.type],
    devmajor: device ? (entry.devmajor ?? 0) : 0,
    devminor: device ? (entry.devminor ?? 0) : 0,
  });
  if (pax.length === 0) return ustar;

  const body = encodePax(pax);
  const paxHeader = encodeHeader({
    name: paxHeaderName(entry.path),
    mode: 0o644,
    uid: 0,
    gid: 0,
    size: body.length,
    mtime: 0,
    typeflag: 'x',
  });
  return Buffer.concat([paxHeader, body, Buffer.alloc(padding(body.length)), ustar]);
}

/** Zero bytes needed after `size` bytes to reach a block boundary. */
export function padding(size: number): number {
  return (BLOCK_SIZE - (size % BLOCK_SIZE)) % BLOCK_SIZE;
}

/**
 * The ustar (name, prefix) pair for a path, or null when it needs a PAX record. Paths of ≤100 bytes go
 * in `name`; longer ones split at the last '/' that leaves a prefix of ≤155 bytes (Go's rule).
 */
export function splitUstarPath(path: Buffer): { name: Buffer; prefix: Buffer } | null {
  if (path.length <= NAME_MAX) return { name: path, prefix: Buffer.alloc(0) };
  // the slash must leave a non-empty name, so a directory's trailing '/' is never the split point
  for (let i = Math.min(path.length - 2, PREFIX_MAX); i > 0; i--) {
    if (path[i] !== 0x2f) continue;
    const name = path.subarray(i + 1);
    return name.length <= NAME_MAX ? { name, prefix: path.subarray(0, i) } : null;
  }
  return null;
}

/** The deterministic name of an entry's PAX header block: "PaxHeaders/" + its base name, cut to 100 bytes. */
export function paxHeaderName(path: string): Buffer {
  const trimmed = path.endsWith('/') ? path.slice(0, -1) : path;
  const base = trimmed.slice(trimmed.lastIndexOf('/') + 1);
  return truncateUtf8(Buffer.from(PAX_HEADER_DIR + base, 'utf8'), NAME_MAX);
}

/** The first ≤`max` bytes of UTF-8 text, never splitting a character. */
function truncateUtf8(bytes: Buffer, max: number): Buffer {
  if (bytes.length <= max) return bytes;
  let cut = max;
  while (cut > 0 && (bytes[cut]! & 0xc0) === 0x80) cut--;
  return bytes.subarray(0, cut);
}

function validateEntry(e: TarEntry, what: string): void {
  const fail = (why: string, code: 'TAR_INVALID' | 'TAR_UNSAFE_LINK' = 'TAR_INVALID'): never => {
    throw new ImprintError(code, `${what}: entry ${JSON.stringify(e.path)}: ${why}`, {
      details: { archive: what, entry: e.path },
    });
  };
  if (typeof e.path !== 'string') fail('path must be a string');
  if (!Object.hasOwn(TYPEFLAG, e.type)) fail(`unknown entry type ${JSON.stringify(e.type)}`);
  const problem = writePathProblem(e.path, e.type === 'dir');
  if (problem) throwPathProblem(problem, what, e.path);

  if (!Number.isInteger(e.mode) || e.mode < 0 || e.mode > 0o7777)
    fail(`mode must be within 0o7777, found ${e.mode}`);
  for (const key of ['uid', 'gid', 'size'] as const) {
    if (!Number.isSafeInteger(e[key]) || e[key] < 0)
      fail(`${key} must be a non-negative integer, found ${e[key]}`);
  }
  if (!Number.isSafeInteger(e.mtime)) fail(`mtime must be integer seconds, found ${e.mtime}`);
  if (e.type !== 'file' && e.size !== 0) fail(`a ${e.type} entry has size 0, found ${e.size}`);

  const isLink = e.type === 'symlink' || e.type === 'hardlink';
  if (!isLink && e.linkname !== undefined) fail(`a ${e.type} entry has no link target`);
  if (isLink) {
    const target = e.linkname;
    if (typeof target !== 'string' || target === '') fail(`a ${e.type} needs a non-empty linkname`);
    if (target!.includes('\0')) fail('link target contains NUL', 'TAR_UNSAFE_LINK');
    if (e.type === 'hardlink') {
      const p = writePathProblem(target!, false);
      if (p)
        fail(
          `hardlink target ${JSON.stringify(target)} ${p.why}`,
          p.code === 'TAR_UNSAFE_PATH' ? 'TAR_UNSAFE_LINK' : 'TAR_INVALID',
        );
    } else if (!target!.startsWith('/') && symlinkEscapes(e.path.split('/'), target!)) {
      fail(`symlink target ${JSON.stringify(target)} climbs above the archive root`, 'TAR_UNSAFE_LINK');
    }
  }

  const device = e.type === 'char' || e.type === 'block';
  for (const key of ['devmajor', 'devminor'] as const) {
    const v = e[key];
    if (v === undefined || (v === 0 && !device)) continue;
    if (!device) fail(`${key} is only for char/block devices`);
    if (!Number.isInteger(v) || v < 0 || v > MAX_OCTAL_7) fail(`${key} must be within 0o7777777, found ${v}`);
  }
  for (const [name, value] of Object.entries(e.xattrs ?? {})) {
    if (name === '' || name.includes('=') || name.includes('\0'))
      fail(`xattr name ${JSON.stringify(name)} is not encodable`);
    if (!Buffer.isBuffer(value)) fail(`xattr ${JSON.stringify(name)} must be a Buffer`);
  }
}
