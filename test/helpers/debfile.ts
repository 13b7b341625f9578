// Builds .deb files inside tests: an ar writer (dpkg, GNU and BSD name styles), a raw ustar writer that
// can also write hostile entries ('../', absolute links), and gzip/xz/zstd compression.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import type { InstallInput, InstallRecord } from '../../src/debian/install.js';
import { parseRelationList } from '../../src/debian/relations.js';

export type Compression = 'gzip' | 'xz' | 'zstd' | 'none';

/** One data.tar (or control.tar) entry; `path` is written as given ('./usr/bin/x', 'etc/', '../evil'). */
export interface TarEntrySpec {
  path: string;
  type?: 'file' | 'dir' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';
  content?: string | Buffer;
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: number;
  linkname?: string;
  /** Declared size when it should differ from the content (hostile archives). */
  size?: number;
  /** Raw bytes for numeric header fields (e.g. base-256 from encodeBase256), written over the octal. */
  raw?: Partial<Record<'uid' | 'gid' | 'mtime' | 'devmajor' | 'devminor', Buffer>>;
  /** PAX records for this entry, written in an 'x' header before it. */
  pax?: Record<string, string>;
}

/** Offsets of the numeric fields `raw` may set. */
const RAW_FIELD = { uid: 108, gid: 116, mtime: 136, devmajor: 329, devminor: 337 } as const;

export interface DebSpec {
  name: string;
  version?: string;
  arch?: string;
  /** Extra control fields, written after Package/Version/Architecture/Maintainer/Installed-Size, before Description. */
  fields?: Record<string, string>;
  /** data.tar entries in order; parent directories ('./', './usr/', ...) are added first unless autoDirs is false. */
  entries: TarEntrySpec[];
  autoDirs?: boolean;
  compression?: Compression;
  controlCompression?: Compression;
  /** md5sums control file: computed from the file entries unless false. */
  md5sums?: boolean;
  conffiles?: string[];
  controlFiles?: Record<string, string | Buffer>;
  /** ar member naming: dpkg-deb's space-padded names, GNU 'name/' or BSD '#1/len'. */
  arStyle?: 'dpkg' | 'gnu' | 'bsd';
  debianBinary?: string;
  /** Replaces the data.tar member bytes (already compressed as `compression` says). */
  dataTar?: Buffer;
  /** Members inserted after debian-binary (e.g. signatures named _gpgorigin). */
  extraMembers?: Array<{ name: string; data: Buffer }>;
  /** Overrides the Installed-Size field (KiB). */
  installedSize?: number;
}

export const DEFAULT_MTIME = 1_600_000_000;

/** base-passwd with these master files, the accounts effect's input (`/etc/passwd`, `/etc/group`). */
export function basePasswdDeb(passwd: string, group: string): DebSpec {
  return {
    name: 'base-passwd',
    entries: [
      { path: './usr/share/base-passwd/passwd.master', content: passwd },
      { path: './usr/share/base-passwd/group.master', content: group },
    ],
  };
}

function octal(n: number, width: number): string {
  return `${n.toString(8).padStart(width - 1, '0')}\0`;
}

const TYPEFLAGS = {
  file: '0',
  hardlink: '1',
  symlink: '2',
  char: '3',
  block: '4',
  dir: '5',
  fifo: '6',
} as const;

/** A plain ustar archive of `entries`, headers written byte by byte (no validation: hostile input allowed). */
export function rawTar(entries: readonly TarEntrySpec[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const type = e.type ?? (e.path.endsWith('/') ? 'dir' : 'file');
    const body = type === 'file' ? Buffer.from(e.content ?? '') : Buffer.alloc(0);
    if (e.pax !== undefined) {
      const records = Buffer.from(
        Object.entries(e.pax)
          .map(([k, v]) => paxRecord(k, v))
          .join(''),
      );
      blocks.push(rawHeader({ path: 'PaxHeaders/x', size: records.length }, 'x', records.length), records);
      blocks.push(Buffer.alloc((512 - (records.length % 512)) % 512));
    }
    blocks.push(rawHeader(e, TYPEFLAGS[type], e.size ?? body.length));
    blocks.push(body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

function rawHeader(e: TarEntrySpec, typeflag: string, size: number): Buffer {
  const type = e.type ?? (e.path.endsWith('/') ? 'dir' : 'file');
  const h = Buffer.alloc(512);
  let name = e.path;
  let prefix = '';
  if (Buffer.byteLength(name) > 100) {
    const cut = name.lastIndexOf('/', name.length - 2);
    prefix = name.slice(0, cut);
    name = name.slice(cut + 1);
  }
  h.write(name, 0, 100, 'utf8');
  h.write(octal(e.mode ?? (type === 'dir' ? 0o755 : type === 'symlink' ? 0o777 : 0o644), 8), 100, 'latin1');
  h.write(octal(e.uid ?? 0, 8), 108, 'latin1');
  h.write(octal(e.gid ?? 0, 8), 116, 'latin1');
  h.write(octal(size, 12), 124, 'latin1');
  h.write(octal(e.mtime ?? DEFAULT_MTIME, 12), 136, 'latin1');
  h.write('        ', 148, 'latin1');
  h.write(typeflag, 156, 'latin1');
  h.write(e.linkname ?? '', 157, 100, 'utf8');
  h.write('ustar\0', 257, 'latin1');
  h.write('00', 263, 'latin1');
  h.write('root', 265, 'latin1');
  h.write('root', 297, 'latin1');
  h.write(octal(0, 8), 329, 'latin1');
  h.write(octal(0, 8), 337, 'latin1');
  h.write(prefix, 345, 155, 'utf8');
  for (const [field, bytes] of Object.entries(e.raw ?? {}))
    bytes.copy(h, RAW_FIELD[field as keyof typeof RAW_FIELD]);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return h;
}

/** One PAX record, "%d %s=%s\n", its length counting itself. */
function paxRecord(key: string, value: string): string {
  const rest = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(rest) + 1;
  while (String(len).length + Buffer.byteLength(rest) !== len) len++;
  return `${len}${rest}`;
}

/** Compresses with zlib (gzip) or the xz / zstd command-line tools. */
export function compressBytes(data: Buffer, kind: Compression): Buffer {
  if (kind === 'none') return data;
  if (kind === 'gzip') return gzipSync(data);
  const r = spawnSync(kind === 'xz' ? 'xz' : 'zstd', ['-c', '-q'], { input: data, maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`${kind} failed: ${r.stderr?.toString()}`);
  return r.stdout;
}

export const SUFFIX: Record<Compression, string> = { gzip: '.gz', xz: '.xz', zstd: '.zst', none: '' };

/** An ar archive of `members` with the given name style; odd members padded with '\n'. */
export function arArchive(
  members: ReadonlyArray<{ name: string; data: Buffer }>,
  style: 'dpkg' | 'gnu' | 'bsd' = 'dpkg',
): Buffer {
  const parts: Buffer[] = [Buffer.from('!<arch>\n', 'latin1')];
  for (const m of members) {
    let name = style === 'gnu' ? `${m.name}/` : m.name;
    let data = m.data;
    if (style === 'bsd') {
      name = `#1/${Buffer.byteLength(m.name)}`;
      data = Buffer.concat([Buffer.from(m.name), m.data]);
    }
    const h =
      name.padEnd(16) +
      '0'.padEnd(12) +
      '0'.padEnd(6) +
      '0'.padEnd(6) +
      '100644'.padEnd(8) +
      String(data.length).padEnd(10) +
      '`\n';
    parts.push(Buffer.from(h, 'latin1'), data);
    if (data.length % 2 === 1) parts.push(Buffer.from('\n'));
  }
  return Buffer.concat(parts);
}

/** The data.tar entries with the parent directories dpkg-deb would list first ('./', './usr/', ...). */
export function withParents(entries: readonly TarEntrySpec[]): TarEntrySpec[] {
  const seen = new Set<string>();
  const out: TarEntrySpec[] = [];
  const addDir = (p: string): void => {
    if (seen.has(p)) return;
    seen.add(p);
    out.push({ path: p, type: 'dir', mode: 0o755 });
  };
  addDir('./');
  for (const e of entries) {
    const rel = e.path.replace(/^\.\//, '').replace(/\/$/, '');
    const parts = rel.split('/');
    for (let i = 1; i < parts.length; i++) addDir(`./${parts.slice(0, i).join('/')}/`);
    if ((e.type ?? (e.path.endsWith('/') ? 'dir' : 'file')) === 'dir') {
      const p = `./${rel}/`;
      if (seen.has(p)) continue;
      seen.add(p);
    }
    out.push(e);
  }
  return out;
}

/** The control file text of `spec`. */
export function controlText(spec: DebSpec): string {
  const size =
    spec.installedSize ??
    Math.max(1, Math.ceil(spec.entries.reduce((n, e) => n + Buffer.byteLength(e.content ?? ''), 0) / 1024));
  let text = `Package: ${spec.name}\nVersion: ${spec.version ?? '1.0-1'}\nArchitecture: ${spec.arch ?? 'amd64'}\nMaintainer: Test <test@example.org>\nInstalled-Size: ${size}\n`;
  for (const [k, v] of Object.entries(spec.fields ?? {})) text += `${k}: ${v}\n`;
  return `${text}Description: test package ${spec.name}\n a package built by the test suite\n`;
}

/** md5sums text for the file entries of `entries`. */
export function md5sumsText(entries: readonly TarEntrySpec[]): string {
  return entries
    .filter((e) => (e.type ?? (e.path.endsWith('/') ? 'dir' : 'file')) === 'file')
    .map(
      (e) =>
        `${createHash('md5')
          .update(e.content ?? '')
          .digest('hex')}  ${e.path.replace(/^\.?\//, '')}\n`,
    )
    .join('');
}

/** The bytes of a .deb described by `spec`. */
export function buildDeb(spec: DebSpec): Buffer {
  const control: TarEntrySpec[] = [
    { path: './', type: 'dir' },
    { path: './control', content: controlText(spec) },
  ];
  if (spec.md5sums !== false) control.push({ path: './md5sums', content: md5sumsText(spec.entries) });
  if (spec.conffiles)
    control.push({ path: './conffiles', content: spec.conffiles.map((c) => `${c}\n`).join('') });
  for (const [name, content] of Object.entries(spec.controlFiles ?? {}))
    control.push({ path: `./${name}`, content, mode: 0o755 });
  const cc = spec.controlCompression ?? 'xz';
  const dc = spec.compression ?? 'xz';
  const data =
    spec.dataTar ??
    compressBytes(rawTar(spec.autoDirs === false ? spec.entries : withParents(spec.entries)), dc);
  return arArchive(
    [
      { name: 'debian-binary', data: Buffer.from(spec.debianBinary ?? '2.0\n') },
      ...(spec.extraMembers ?? []),
      { name: `control.tar${SUFFIX[cc]}`, data: compressBytes(rawTar(control), cc) },
      { name: `data.tar${SUFFIX[dc]}`, data },
    ],
    spec.arStyle ?? 'dpkg',
  );
}

/** The install record of `spec` (relations parsed from its fields). */
export function recordFor(spec: DebSpec, size?: number): InstallRecord {
  const f = spec.fields ?? {};
  return {
    name: spec.name,
    version: spec.version ?? '1.0-1',
    architecture: spec.arch ?? 'amd64',
    multiArch: (f['Multi-Arch'] ?? 'no') as InstallRecord['multiArch'],
    replaces: parseRelationList(f.Replaces ?? '', `${spec.name} Replaces`),
    provides: parseRelationList(f.Provides ?? '', `${spec.name} Provides`),
    ...(size === undefined ? {} : { size }),
  };
}

/** An InstallInput for `spec`: the .deb built once, opened as a fresh stream each time. */
export function debInput(spec: DebSpec, bytes: Buffer = buildDeb(spec)): InstallInput {
  return { record: recordFor(spec, bytes.length), open: () => Readable.from([bytes]) };
}

/** A stream of `bytes` in chunks of `size` bytes (exercises reads across chunk boundaries). */
export function chunked(bytes: Buffer, size: number): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) parts.push(bytes.subarray(i, i + size));
  return Readable.from(parts);
}
