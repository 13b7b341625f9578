// Turns one decoded header plus its PAX / GNU long-name records into a normalised, safety-checked entry.
import { type ErrorCode, ImprintError } from '../errors.js';
import type { DecodedHeader } from './header.js';
import { splitReadPath, symlinkEscapes } from './paths.js';
import type { TarEntry, TarEntryType } from './types.js';

/** What resolveEntry needs to know besides the header. */
export interface ResolveContext {
  archive: string;
  /** Offset of the entry's ustar block, for error messages. */
  offset: number;
  allowUnsafe: boolean;
  maxPathBytes: number;
}

/** The records and GNU long names that precede an entry's ustar block. */
export interface EntryMeta {
  /** Effective PAX records: global ones overridden by (or deleted through) per-entry ones. */
  pax: Map<string, Buffer>;
  longName: Buffer | null;
  longLink: Buffer | null;
}

/** A resolved entry and how many body bytes follow its header in the archive. */
export interface ResolvedEntry {
  entry: TarEntry & { pax: Record<string, string> };
  /** Bytes of data after the header (a GNU dumpdir 'D' has data, reported size 0). */
  dataSize: number;
}

const TYPES: Readonly<Record<string, TarEntryType>> = {
  '0': 'file',
  '\0': 'file',
  '7': 'file', // contiguous file
  '1': 'hardlink',
  '2': 'symlink',
  '3': 'char',
  '4': 'block',
  '5': 'dir',
  '6': 'fifo',
  D: 'dir', // GNU dumpdir: a directory whose data lists its contents
};

const DATA_TYPEFLAGS = new Set(['0', '\0', '7', 'D']);

const XATTR_PREFIX = 'SCHILY.xattr.';

/**
 * Applies, in order of precedence, PAX records, GNU long names and the ustar fields; normalises the
 * path (drops a leading './', empty and '.' components; directories end with '/', the root is '');
 * then rejects, unless `allowUnsafe`, absolute or '..' paths (TAR_UNSAFE_PATH), hardlinks outside the
 * archive and symlinks climbing above its root (TAR_UNSAFE_LINK). NUL in a path is always rejected.
 */
export function resolveEntry(h: DecodedHeader, meta: EntryMeta, ctx: ResolveContext): ResolvedEntry {
  const rawPathBytes =
    meta.pax.get('path') ??
    meta.longName ??
    (h.prefix.length > 0 ? Buffer.concat([h.prefix, Buffer.from('/'), h.name]) : h.name);
  let entryName = rawPathBytes.toString('utf8');
  const fail = (code: ErrorCode, why: string, hint?: string): never => {
    throw new ImprintError(
      code,
      `${ctx.archive}: entry ${JSON.stringify(entryName)} at byte ${ctx.offset}: ${why}`,
      {
        hint,
        details: { archive: ctx.archive, entry: entryName, offset: ctx.offset },
      },
    );
  };
  for (const key of meta.pax.keys()) {
    if (key.startsWith('GNU.sparse.'))
      fail('UNSUPPORTED', 'sparse files (GNU.sparse PAX records) are not supported');
  }
  if (h.typeflag === 'S') fail('UNSUPPORTED', "sparse files (GNU typeflag 'S') are not supported");
  let type = TYPES[h.typeflag];
  if (type === undefined) fail('UNSUPPORTED', `unsupported typeflag ${JSON.stringify(h.typeflag)}`);
  const rawPath = text(rawPathBytes, 'path', ctx.maxPathBytes, fail, 'TAR_UNSAFE_PATH');
  // old archives mark directories with a trailing slash on a regular-file header
  if ((h.typeflag === '0' || h.typeflag === '\0') && rawPath.endsWith('/')) type = 'dir';
  const kind = type!;

  const split = splitReadPath(rawPath);
  if (!ctx.allowUnsafe && split.absolute) fail('TAR_UNSAFE_PATH', 'absolute path');
  if (!ctx.allowUnsafe && split.hasDotDot) fail('TAR_UNSAFE_PATH', "path has a '..' component");
  const joined = (split.absolute ? '/' : '') + split.parts.join('/');
  if (split.parts.length === 0 && kind !== 'dir') fail('TAR_INVALID', `a ${kind} entry has an empty path`);
  const path =
    kind === 'dir' && split.parts.length > 0 ? `${joined}/` : kind === 'dir' && !split.absolute ? '' : joined;
  entryName = path;

  const size = paxInteger(meta.pax, 'size', fail) ?? h.size;
  const uid = paxInteger(meta.pax, 'uid', fail) ?? h.uid;
  const gid = paxInteger(meta.pax, 'gid', fail) ?? h.gid;
  const mtime = paxTime(meta.pax, fail) ?? h.mtime;
  if (size < 0 || uid < 0 || gid < 0)
    fail('TAR_INVALID', `negative size, uid or gid (${size}, ${uid}, ${gid})`);
  // data follows file-like typeflags (even an old-style '0' read as a directory) and GNU dumpdirs
  const dataSize = DATA_TYPEFLAGS.has(h.typeflag) ? size : 0;

  const entry: TarEntry & { pax: Record<string, string> } = {
    path,
    type: kind,
    mode: h.mode & 0o7777,
    uid,
    gid,
    mtime,
    size: kind === 'file' ? size : 0,
    pax: paxText(meta.pax),
  };

  if (kind === 'symlink' || kind === 'hardlink') {
    const linkBytes = meta.pax.get('linkpath') ?? meta.longLink ?? h.linkname;
    const target = text(linkBytes, 'link target', ctx.maxPathBytes, fail, 'TAR_UNSAFE_LINK');
    if (target === '') fail('TAR_INVALID', `${kind} has an empty target`);
    if (kind === 'hardlink') {
      const t = splitReadPath(target);
      if (!ctx.allowUnsafe && (t.absolute || t.hasDotDot)) {
        fail('TAR_UNSAFE_LINK', `hardlink target ${JSON.stringify(target)} is outside the archive`);
      }
      if (t.parts.length === 0)
        fail('TAR_INVALID', `hardlink target ${JSON.stringify(target)} names no entry`);
      entry.linkname = (t.absolute ? '/' : '') + t.parts.join('/');
    } else {
      if (!ctx.allowUnsafe && !target.startsWith('/') && symlinkEscapes(split.parts, target)) {
        fail('TAR_UNSAFE_LINK', `symlink target ${JSON.stringify(target)} climbs above the archive root`);
      }
      entry.linkname = target;
    }
  }
  if (kind === 'char' || kind === 'block') {
    entry.devmajor = h.devmajor;
    entry.devminor = h.devminor;
  }
  const xattrKeys = [...meta.pax.keys()].filter((k) => k.startsWith(XATTR_PREFIX)).sort(compare);
  if (xattrKeys.length > 0) {
    entry.xattrs = {};
    for (const k of xattrKeys) entry.xattrs[k.slice(XATTR_PREFIX.length)] = meta.pax.get(k)!;
  }
  return { entry, dataSize };
}

type Fail = (code: ErrorCode, why: string, hint?: string) => never;

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Decodes a path or link target: bounded length, valid UTF-8, no NUL. */
function text(bytes: Buffer, what: string, max: number, fail: Fail, nulCode: ErrorCode): string {
  if (bytes.length > max)
    fail('TAR_HEADER_TOO_LARGE', `${what} is ${bytes.length} bytes, the limit is ${max}`);
  if (bytes.includes(0)) fail(nulCode, `${what} contains NUL`);
  try {
    return UTF8.decode(bytes);
  } catch {
    return fail('TAR_INVALID', `${what} is not valid UTF-8`, 'imprint reads archive names as UTF-8.');
  }
}

function paxInteger(pax: Map<string, Buffer>, key: string, fail: Fail): number | undefined {
  const v = pax.get(key)?.toString('utf8');
  if (v === undefined) return undefined;
  if (!/^[0-9]{1,16}$/.test(v) || !Number.isSafeInteger(Number(v)))
    fail('TAR_INVALID', `PAX ${key} is not an integer: ${JSON.stringify(v)}`);
  return Number(v);
}

/** PAX mtime, "[-]seconds[.fraction]", floored to whole seconds. */
function paxTime(pax: Map<string, Buffer>, fail: Fail): number | undefined {
  const v = pax.get('mtime')?.toString('utf8');
  if (v === undefined) return undefined;
  const m = /^(-?)([0-9]{1,16})(?:\.([0-9]*))?$/.exec(v);
  if (m === null || !Number.isSafeInteger(Number(m[2])))
    return fail('TAR_INVALID', `PAX mtime is not a time: ${JSON.stringify(v)}`);
  const whole = Number(m[2]);
  const fraction = /[1-9]/.test(m[3] ?? '');
  return m[1] === '-' ? 0 - whole - (fraction ? 1 : 0) : whole; // 0 - 0 is +0
}

function paxText(pax: Map<string, Buffer>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of [...pax.keys()].sort(compare)) out[k] = pax.get(k)!.toString('utf8');
  return out;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
