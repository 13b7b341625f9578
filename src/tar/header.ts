// Pure codec of one 512-byte tar header block (ustar layout; reads old GNU and v7 too).
import { ImprintError } from '../errors.js';

/** Size of every tar block. */
export const BLOCK_SIZE = 512;

/** Largest value of a 7-digit octal field (mode, uid, gid, devmajor, devminor). */
export const MAX_OCTAL_7 = 0o7777777;
/** Largest value of an 11-digit octal field (size, mtime). */
export const MAX_OCTAL_11 = 0o77777777777;

/** Byte offset and width of each ustar header field. */
export const FIELD = {
  name: [0, 100],
  mode: [100, 8],
  uid: [108, 8],
  gid: [116, 8],
  size: [124, 12],
  mtime: [136, 12],
  chksum: [148, 8],
  typeflag: [156, 1],
  linkname: [157, 100],
  magic: [257, 6],
  version: [263, 2],
  uname: [265, 32],
  gname: [297, 32],
  devmajor: [329, 8],
  devminor: [337, 8],
  prefix: [345, 155],
} as const satisfies Record<string, readonly [number, number]>;

type NumericField = 'mode' | 'uid' | 'gid' | 'size' | 'mtime' | 'devmajor' | 'devminor';

/** Which header dialect a block is in: POSIX ustar ("ustar\0"), old GNU ("ustar  \0"), or v7 (no magic). */
export type HeaderFormat = 'ustar' | 'gnu' | 'v7';

/** The fields of one header block; string fields are raw bytes (UTF-8 when imprint writes them). */
export interface UstarHeader {
  name: Buffer;
  prefix: Buffer;
  linkname: Buffer;
  uname: Buffer;
  gname: Buffer;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  /** One character: '0', '5', 'x', ... ('\0' is old-style regular file). */
  typeflag: string;
  devmajor: number;
  devminor: number;
}

/** Input of encodeHeader: string fields may be text (UTF-8) or bytes; absent ones are empty/zero. */
export interface HeaderInput {
  name: Buffer | string;
  prefix?: Buffer | string;
  linkname?: Buffer | string;
  uname?: Buffer | string;
  gname?: Buffer | string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  typeflag: string;
  devmajor?: number;
  devminor?: number;
}

/** A decoded block: the fields plus the dialect they were read in. */
export interface DecodedHeader extends UstarHeader {
  format: HeaderFormat;
}

const USTAR_MAGIC = Buffer.from('ustar\0', 'latin1');
const GNU_MAGIC = Buffer.from('ustar  \0', 'latin1'); // magic + version of old GNU tar

/**
 * Encodes one ustar block ("ustar\0" "00"): octal numbers zero-padded and NUL-terminated, checksum as
 * six digits + NUL + space, unused bytes NUL. Throws TAR_INVALID when a value does not fit its field;
 * callers move such values to PAX records first.
 */
export function encodeHeader(h: HeaderInput): Buffer {
  const block = Buffer.alloc(BLOCK_SIZE);
  putString(block, 'name', h.name);
  putString(block, 'prefix', h.prefix ?? '');
  putString(block, 'linkname', h.linkname ?? '');
  putString(block, 'uname', h.uname ?? '');
  putString(block, 'gname', h.gname ?? '');
  putOctal(block, 'mode', h.mode);
  putOctal(block, 'uid', h.uid);
  putOctal(block, 'gid', h.gid);
  putOctal(block, 'size', h.size);
  putOctal(block, 'mtime', h.mtime);
  putOctal(block, 'devmajor', h.devmajor ?? 0);
  putOctal(block, 'devminor', h.devminor ?? 0);
  if (h.typeflag.length !== 1 || h.typeflag.charCodeAt(0) > 0x7f) {
    throw new ImprintError(
      'TAR_INVALID',
      `typeflag must be one ASCII character, found ${JSON.stringify(h.typeflag)}`,
    );
  }
  block.write(h.typeflag, FIELD.typeflag[0], 'latin1');
  USTAR_MAGIC.copy(block, FIELD.magic[0]);
  block.write('00', FIELD.version[0], 'latin1');
  writeChecksum(block);
  return block;
}

/** Sets the checksum field of `block` in place from its other bytes (six octal digits, NUL, space). */
export function writeChecksum(block: Buffer): void {
  const [off] = FIELD.chksum;
  const sum = checksums(block).unsigned;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, off, 'latin1');
}

/** The unsigned and signed (historic) sums of a block, counting the checksum field as eight spaces. */
export function checksums(block: Buffer): { unsigned: number; signed: number } {
  let unsigned = 0;
  let signed = 0;
  const [lo, width] = FIELD.chksum;
  for (let i = 0; i < BLOCK_SIZE; i++) {
    const c = i >= lo && i < lo + width ? 0x20 : block[i]!;
    unsigned += c;
    signed += c > 0x7f ? c - 0x100 : c;
  }
  return { unsigned, signed };
}

/** True when all 512 bytes are zero (an end-of-archive block). */
export function isZeroBlock(block: Buffer): boolean {
  for (let i = 0; i < block.length; i++) if (block[i] !== 0) return false;
  return true;
}

/**
 * Decodes one non-zero block after verifying its checksum (signed or unsigned sum accepted).
 * Numbers may be octal or base-256. Throws TAR_INVALID with `details.field` naming the bad field.
 */
export function decodeHeader(block: Buffer): DecodedHeader {
  if (block.length !== BLOCK_SIZE) {
    throw new ImprintError('TAR_INVALID', `a tar header is ${BLOCK_SIZE} bytes, found ${block.length}`, {
      details: { field: 'block' },
    });
  }
  const stored = decodeNumber(field(block, 'chksum'), 'chksum');
  const { unsigned, signed } = checksums(block);
  if (stored !== unsigned && stored !== signed) {
    throw new ImprintError(
      'TAR_INVALID',
      `header checksum mismatch: stored ${stored}, computed ${unsigned} (unsigned) or ${signed} (signed)`,
      {
        hint: 'The archive is corrupt or this is not a tar archive.',
        details: { field: 'chksum', expected: unsigned, found: stored },
      },
    );
  }
  const magic = field(block, 'magic');
  const format: HeaderFormat = block.subarray(257, 265).equals(GNU_MAGIC)
    ? 'gnu'
    : magic.equals(USTAR_MAGIC)
      ? 'ustar'
      : 'v7';
  const num = (f: NumericField): number => decodeNumber(field(block, f), f);
  const extended = format !== 'v7';
  return {
    format,
    name: cString(field(block, 'name')),
    // old GNU keeps atime/ctime where ustar has its prefix
    prefix: format === 'ustar' ? cString(field(block, 'prefix')) : Buffer.alloc(0),
    linkname: cString(field(block, 'linkname')),
    uname: extended ? cString(field(block, 'uname')) : Buffer.alloc(0),
    gname: extended ? cString(field(block, 'gname')) : Buffer.alloc(0),
    mode: num('mode'),
    uid: num('uid'),
    gid: num('gid'),
    size: num('size'),
    mtime: num('mtime'),
    typeflag: String.fromCharCode(block[FIELD.typeflag[0]]!),
    devmajor: extended ? num('devmajor') : 0,
    devminor: extended ? num('devminor') : 0,
  };
}

/**
 * Parses a numeric field: base-256 when the first byte has its high bit set (0xff-led values are
 * negative), else octal digits padded by spaces or NULs (empty means 0). Throws TAR_INVALID for
 * non-octal characters or values beyond Number.MAX_SAFE_INTEGER.
 */
export function decodeNumber(bytes: Buffer, name = 'number'): number {
  if (bytes.length > 0 && (bytes[0]! & 0x80) !== 0) {
    const negative = (bytes[0]! & 0x40) !== 0;
    let v = 0n;
    for (let i = 0; i < bytes.length; i++) {
      let c = negative ? bytes[i]! ^ 0xff : bytes[i]!;
      if (i === 0) c &= 0x7f;
      v = (v << 8n) | BigInt(c);
    }
    if (negative) v = -v - 1n;
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new ImprintError('TAR_INVALID', `base-256 ${name} field is out of range: ${v}`, {
        details: { field: name },
      });
    }
    return Number(v);
  }
  let lo = 0;
  let hi = bytes.length;
  while (lo < hi && (bytes[lo] === 0x20 || bytes[lo] === 0)) lo++;
  while (hi > lo && (bytes[hi - 1] === 0x20 || bytes[hi - 1] === 0)) hi--;
  let v = 0;
  for (let i = lo; i < hi; i++) {
    const c = bytes[i]!;
    if (c < 0x30 || c > 0x37) {
      const text = bytes.subarray(lo, hi).toString('latin1');
      throw new ImprintError('TAR_INVALID', `${name} field is not octal: ${JSON.stringify(text)}`, {
        details: { field: name },
      });
    }
    v = v * 8 + (c - 0x30);
  }
  return v;
}

/**
 * Base-256 (GNU/star) encoding of `value` in `width` bytes, for fields octal cannot hold. imprint's
 * writer uses PAX records instead; this exists for tests and tools that must produce such archives.
 */
export function encodeBase256(value: number, width: number): Buffer {
  const bits = BigInt(8 * width);
  let v = BigInt(value);
  const limit = 1n << (bits - 2n);
  if (!Number.isSafeInteger(value) || v >= limit || v < -limit) {
    throw new ImprintError('TAR_INVALID', `${value} does not fit in ${width} base-256 bytes`);
  }
  if (v < 0n) v += 1n << bits;
  const out = Buffer.alloc(width);
  for (let i = width - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  out[0]! |= 0x80;
  return out;
}

/** The bytes of one named field of a block (a view, not a copy). */
export function field(block: Buffer, name: keyof typeof FIELD): Buffer {
  const [off, width] = FIELD[name];
  return block.subarray(off, off + width);
}

function cString(bytes: Buffer): Buffer {
  const end = bytes.indexOf(0);
  return end < 0 ? bytes : bytes.subarray(0, end);
}

function putString(block: Buffer, name: keyof typeof FIELD, value: Buffer | string): void {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  const [off, width] = FIELD[name];
  if (bytes.length > width) {
    throw new ImprintError('TAR_INVALID', `${name} field holds ${width} bytes, found ${bytes.length}`, {
      details: { field: name },
    });
  }
  if (bytes.includes(0)) {
    throw new ImprintError('TAR_INVALID', `${name} field must not contain NUL`, { details: { field: name } });
  }
  bytes.copy(block, off);
}

function putOctal(block: Buffer, name: NumericField, value: number): void {
  const [off, width] = FIELD[name];
  const digits = width - 1;
  if (!Number.isSafeInteger(value) || value < 0 || value > 8 ** digits - 1) {
    throw new ImprintError('TAR_INVALID', `${name} ${value} does not fit in ${digits} octal digits`, {
      details: { field: name },
    });
  }
  block.write(`${value.toString(8).padStart(digits, '0')}\0`, off, 'latin1');
}
