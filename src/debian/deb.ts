// Streaming .deb reader: ar container → debian-binary, control.tar.*, data.tar.* (deb(5)).
import type { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream';
import {
  DEFAULT_RATIO_GRACE_BYTES,
  type Decompression,
  type DecompressLimits,
  decompressStream,
} from '../compress/index.js';
import { errorText, ImprintError, isImprintError } from '../errors.js';
import { BLOCK_SIZE, MAX_OCTAL_7, readTar, type TarReadEntry, type TarReadLimits } from '../tar/index.js';
import { MAX_EPOCH, MAX_ID } from '../vfs/node.js';
import { type ArMember, readAr } from './ar.js';
import { type Deb822Paragraph, parseDeb822 } from './deb822.js';

/** What the control archive of a .deb says. */
export interface DebControl {
  /** The `control` file's single paragraph, fields in the package's order. */
  paragraph: Deb822Paragraph;
  /** Every regular file of control.tar by name ('control', 'md5sums', 'conffiles', 'postinst', ...). */
  files: ReadonlyMap<string, Buffer>;
  /** The `md5sums` file as text, when the package has one. */
  md5sums: string | undefined;
  /** Absolute paths listed in `conffiles` (flags such as 'remove-on-upgrade' dropped). */
  conffiles: string[];
  /** The data member's name, e.g. 'data.tar.xz'. */
  dataMember: string;
}

export interface DebLimits {
  /** Bound on the decompressed control.tar (and so on each control file); default 64 MiB. */
  maxControlBytes?: number;
  /** Bounds on data.tar entries (entry count, entry size, PAX and path sizes). */
  data?: TarReadLimits;
  /** Bounds on data.tar decompression (ratio, absolute output). */
  decompress?: DecompressLimits;
}

export interface ReadDebOptions {
  /** Names the .deb in errors, e.g. `python3_3.11.2-1+b1_amd64.deb`. */
  what: string;
  /** The .deb's size when known (from the lock): members reaching past it are refused up front. */
  size?: number;
  limits?: DebLimits;
  /** Called once control.tar has been read, before any data entry. */
  onControl?: (control: DebControl) => void | Promise<void>;
  /**
   * Called for each data.tar entry in archive order; read `entry.body` within the call (it is
   * skipped afterwards). Without it, reading stops after the control archive.
   */
  onEntry?: (entry: TarReadEntry) => void | Promise<void>;
}

const DEFAULT_MAX_CONTROL_BYTES = 64 * 1024 * 1024;

/**
 * Twice the bytes a package's control says its files take (Installed-Size, KiB, counts each file
 * rounded up and each directory, so twice it covers tar headers and padding); undefined without a
 * valid Installed-Size. Pure.
 */
export function declaredUnpackBytes(control: DebControl): number | undefined {
  const kib = Number(control.paragraph.get('Installed-Size'));
  return Number.isSafeInteger(kib) && kib >= 0 ? 2 * kib * 1024 : undefined;
}
const MAX_DEBIAN_BINARY = 4096;

/**
 * Reads a .deb in one streaming pass: checks `debian-binary` (format 2.x), reads control.tar.* whole
 * (bounded by maxControlBytes) and hands it to `onControl`, then decompresses and parses data.tar.*
 * as it streams, calling `onEntry` per entry; nothing is extracted to disk and no body is buffered
 * here. Members named `_*` are skipped (dpkg reserves them). With `onEntry`, the rest of the archive
 * is drained so a verifying source checks its digest. Errors are AR_INVALID / DEB_INVALID /
 * COMPRESSION_* / TAR_* / DECOMPRESSION_BOMB naming the .deb and, inside it, the member and entry; a
 * data.tar entry's owner, time or device number out of range (checkEntryRanges) is TAR_INVALID.
 * Cost: one read of the file; memory: the control archive plus stream buffers.
 */
export async function readDeb(
  open: () => Promise<Readable> | Readable,
  opts: ReadDebOptions,
): Promise<DebControl> {
  const { what } = opts;
  const source = await open();
  let stage: 'debian-binary' | 'control' | 'data' | 'done' = 'debian-binary';
  let control: DebControl | undefined;
  for await (const member of readAr(source, {
    archive: what,
    ...(opts.size === undefined ? {} : { size: opts.size }),
  })) {
    if (stage === 'done') continue; // trailing members are read past (and so verified), not interpreted
    if (stage === 'debian-binary') {
      if (member.name !== 'debian-binary') {
        throw debError(
          what,
          `expected "debian-binary" as the first member, found ${JSON.stringify(member.name)}`,
          member.name,
        );
      }
      await checkFormat(member, what);
      stage = 'control';
      continue;
    }
    if (member.name.startsWith('_')) continue;
    if (stage === 'control') {
      const kind = memberCompression(member.name, 'control.tar', what);
      control = await readControl(member, kind, opts);
      await opts.onControl?.(control);
      if (opts.onEntry === undefined) return control; // closes the source: no data wanted
      stage = 'data';
      continue;
    }
    const kind = memberCompression(member.name, 'data.tar', what);
    (control as DebControl).dataMember = member.name;
    await readData(member, kind, opts, declaredUnpackBytes(control as DebControl));
    stage = 'done';
  }
  if (control === undefined || stage !== 'done') {
    const missing =
      stage === 'debian-binary' ? 'debian-binary' : stage === 'control' ? 'control.tar' : 'data.tar';
    throw debError(what, `the archive ends before its ${missing} member`);
  }
  return control;
}

/** Reads only the control archive of a .deb (stops reading after it). */
export async function readDebControl(
  open: () => Promise<Readable> | Readable,
  opts: Omit<ReadDebOptions, 'onEntry' | 'onControl'>,
): Promise<DebControl> {
  return readDeb(open, {
    what: opts.what,
    ...(opts.size === undefined ? {} : { size: opts.size }),
    ...(opts.limits ? { limits: opts.limits } : {}),
  });
}

async function checkFormat(member: ArMember, what: string): Promise<void> {
  if (member.size > MAX_DEBIAN_BINARY)
    throw debError(what, `debian-binary is ${member.size} bytes, expected a short version line`, member.name);
  const text = (await collect(member.body)).toString('latin1');
  if (!/^2\.[0-9]+\n/.test(text)) {
    throw debError(
      what,
      `unsupported package format ${JSON.stringify(text.split('\n')[0])}, expected "2.x"`,
      member.name,
    );
  }
}

/** The compression of a control.tar / data.tar member from its suffix. */
function memberCompression(name: string, base: 'control.tar' | 'data.tar', what: string): Decompression {
  if (name === base) return 'none';
  if (name === `${base}.gz`) return 'gzip';
  if (name === `${base}.xz`) return 'xz';
  if (name === `${base}.zst`) return 'zstd';
  if (name === `${base}.bz2` || name === `${base}.lzma`) {
    throw new ImprintError(
      'COMPRESSION_UNSUPPORTED',
      `${what}: member ${name} uses a compression imprint does not read`,
      {
        hint: 'imprint reads .deb members compressed with gzip, xz or zstd, or uncompressed.',
        details: { archive: what, member: name },
      },
    );
  }
  throw debError(what, `expected a ${base}[.gz|.xz|.zst] member, found ${JSON.stringify(name)}`, name);
}

/** Pipes a member body through its decompressor; errors of either side surface on the result. */
function decompressed(
  member: ArMember,
  kind: Decompression,
  what: string,
  limits?: DecompressLimits,
): Transform {
  const decoder = decompressStream(kind, {
    what: `${what}: ${member.name}`,
    inputSize: member.size,
    ...(limits ? { limits } : {}),
  });
  pipeline(member.body, decoder, () => {}); // errors reach the consumer through `decoder`
  return decoder;
}

async function readControl(member: ArMember, kind: Decompression, opts: ReadDebOptions): Promise<DebControl> {
  const { what } = opts;
  const max = opts.limits?.maxControlBytes ?? DEFAULT_MAX_CONTROL_BYTES;
  const archive = `${what}: ${member.name}`;
  const files = new Map<string, Buffer>();
  const stream = decompressed(member, kind, what, { maxOutputBytes: max });
  for await (const entry of readTar(stream, { archive, limits: { maxEntrySize: max, maxEntries: 10_000 } })) {
    if (entry.type !== 'file') continue;
    if (entry.path.includes('/')) continue; // control files live at the top; dpkg ignores the rest
    files.set(entry.path, await collect(entry.body));
  }
  const controlFile = files.get('control');
  if (controlFile === undefined) throw debError(what, `${member.name} has no "control" file`, member.name);
  let paragraphs: Deb822Paragraph[];
  try {
    paragraphs = parseDeb822(controlFile.toString('utf8'), `${what}: control`);
  } catch (err) {
    throw debError(what, `control file: ${errorText(err)}`, member.name, err);
  }
  const paragraph = paragraphs[0];
  if (paragraphs.length !== 1 || paragraph === undefined) {
    throw debError(what, `control file has ${paragraphs.length} paragraphs, expected 1`, member.name);
  }
  for (const field of ['Package', 'Version', 'Architecture']) {
    if (!paragraph.get(field)) throw debError(what, `control file has no ${field} field`, member.name);
  }
  const conffiles = (files.get('conffiles')?.toString('utf8') ?? '')
    .split('\n')
    .map((line) => line.trim().split(/\s+/)[0] ?? '')
    .filter((p) => p.startsWith('/'));
  return { paragraph, files, md5sums: files.get('md5sums')?.toString('utf8'), conffiles, dataMember: '' };
}

/** The longest path a package entry (or link target) may have: Linux's PATH_MAX. */
const MAX_PACKAGE_PATH = 4096;

async function readData(
  member: ArMember,
  kind: Decompression,
  opts: ReadDebOptions,
  declared: number | undefined,
): Promise<void> {
  const archive = `${opts.what}: ${member.name}`;
  // The ratio is checked only beyond what the package says it unpacks to: timezone data in JSON
  // (libjs-moment-timezone, 38 MB from 193 KB of xz) compresses past any fixed ratio.
  const limits = opts.limits?.decompress ?? {};
  const grace = Math.max(limits.ratioGraceBytes ?? DEFAULT_RATIO_GRACE_BYTES, declared ?? 0);
  const stream = decompressed(member, kind, opts.what, { ...limits, ratioGraceBytes: grace });
  const onEntry = opts.onEntry as NonNullable<ReadDebOptions['onEntry']>;
  // Paths longer than Linux's PATH_MAX (4096) cannot be installed anyway, and each implicit parent of
  // a deep path is a tree node: a few entries 64 KiB deep made a 3 GB layer from an 824-byte .deb.
  for await (const entry of readTar(stream, {
    archive,
    limits: { maxPathBytes: MAX_PACKAGE_PATH, ...opts.limits?.data },
  })) {
    checkEntryRanges(entry, archive);
    await onEntry(entry);
  }
}

/**
 * Refuses, as TAR_INVALID naming the package, member and entry (as the tar reader reports a malformed
 * header), owners, times and device numbers no installed file can have, whatever the tar field held
 * (octal, base-256, PAX): uid/gid above 2^32 - 2, an mtime before 1970 or after 9999 (later ones
 * within it are clamped to the epoch), device numbers beyond what a layer's header holds.
 */
function checkEntryRanges(entry: TarReadEntry, archive: string): void {
  const device = entry.type === 'char' || entry.type === 'block';
  const fields: Array<[string, number | undefined, number, string]> = [
    ['uid', entry.uid, MAX_ID, 'a 32-bit id'],
    ['gid', entry.gid, MAX_ID, 'a 32-bit id'],
    ['mtime', entry.mtime, MAX_EPOCH, 'seconds from 1970 to year 9999'],
    ['devmajor', device ? entry.devmajor : 0, MAX_OCTAL_7, 'what a ustar header holds'],
    ['devminor', device ? entry.devminor : 0, MAX_OCTAL_7, 'what a ustar header holds'],
  ];
  for (const [field, value, max, what] of fields) {
    if (value === undefined || (Number.isSafeInteger(value) && value >= 0 && value <= max)) continue;
    const offset = entry.dataOffset - BLOCK_SIZE;
    throw new ImprintError(
      'TAR_INVALID',
      `${archive}: entry ${JSON.stringify(entry.path)} at byte ${offset}: ${field} ${value} is out of range (0 to ${max}: ${what})`,
      {
        hint: 'No installed file can have this value: the package is corrupt or was made to attack its installer.',
        details: { archive, entry: entry.path, offset, field, found: value, max },
      },
    );
  }
}

async function collect(body: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of body) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
}

/** DEB_INVALID naming the .deb (and member). */
export function debError(what: string, why: string, member?: string, cause?: unknown): ImprintError {
  return new ImprintError('DEB_INVALID', `${what}: ${why}`, {
    hint: 'The .deb does not have the layout dpkg writes (debian-binary, control.tar.*, data.tar.*).',
    ...(cause === undefined ? {} : { cause }),
    details: {
      archive: what,
      ...(member === undefined ? {} : { member }),
      ...(isImprintError(cause) ? { cause: cause.code } : {}),
    },
  });
}
