import { childNames, readTreeFile, resolvePath, statPath } from '../debian/effects/tree-io.js';
import type { FileTree } from '../vfs/tree.js';
import { parseDynamic, readRange } from './elf-needed.js';

// /etc/ld.so.cache, as ldconfig writes it (glibc's "new" format, glibc-ld.so.cache1.1), for the
// libraries in the directories /etc/ld.so.conf names outside the loader's own (/usr/local/lib, an
// /opt directory an ld.so.conf.d file names): glibc's loader finds those only through the cache, and
// imprint runs no ldconfig. Written only where such libraries exist, so images without them are as
// before; the loader still searches its system directories for every name the cache lacks.
// Layout (glibc's sysdeps/generic/dl-cache.h): a 48-byte header, 24-byte entries sorted for the
// loader's binary search (descending in _dl_cache_libcmp order: digit runs compare as numbers), then
// NUL-terminated strings whose offsets count from the start of the file. Every number is in the
// target's byte order (ldconfig writes its host's), which the header's flags byte records.

const MAGIC = 'glibc-ld.so.cache1.1';
const HEADER_SIZE = 48;
const ENTRY_SIZE = 24;
/** cache_file_new_flags_endian_little and _big (the low two bits of the header's flags byte). */
const ENDIAN_LITTLE = 2;
const ENDIAN_BIG = 3;

/**
 * By dpkg architecture: the flags its loader takes a cache entry for (glibc's _DL_CACHE_DEFAULT_ID,
 * what ldconfig gives its libraries), the ELF machine and class of those libraries (an x32, n32 or
 * 31-bit library shares the machine of its 64-bit sibling; the loader would skip its entry), and
 * whether the cache is big-endian (s390x). Checked against Debian's own ldconfig of s390x and
 * mips64el run under qemu-user: same header, flags and byte order.
 */
const CACHE_ARCHES: Readonly<Record<string, { flags: number; machine: number; is64: boolean; big?: true }>> =
  {
    amd64: { flags: 0x0303, machine: 62, is64: true }, // FLAG_ELF_LIBC6 | FLAG_X8664_LIB64
    arm64: { flags: 0x0a03, machine: 183, is64: true }, // FLAG_ELF_LIBC6 | FLAG_AARCH64_LIB64
    armhf: { flags: 0x0903, machine: 40, is64: false }, // FLAG_ELF_LIBC6 | FLAG_ARM_LIBHF
    armel: { flags: 0x0b03, machine: 40, is64: false }, // FLAG_ELF_LIBC6 | FLAG_ARM_LIBSF
    i386: { flags: 0x0003, machine: 3, is64: false }, // FLAG_ELF_LIBC6
    mips64el: { flags: 0x0703, machine: 8, is64: true }, // FLAG_ELF_LIBC6 | FLAG_MIPS64_LIBN64
    ppc64el: { flags: 0x0503, machine: 21, is64: true }, // FLAG_ELF_LIBC6 | FLAG_POWERPC_LIB64
    riscv64: { flags: 0x1003, machine: 243, is64: true }, // FLAG_ELF_LIBC6 | FLAG_RISCV_FLOAT_ABI_DOUBLE
    s390x: { flags: 0x0403, machine: 22, is64: true, big: true }, // FLAG_ELF_LIBC6 | FLAG_S390_LIB64
  };

/** The dpkg architectures imprint writes /etc/ld.so.cache for. */
export const LD_CACHE_ARCHES: readonly string[] = Object.keys(CACHE_ARCHES);

const CONF = '/etc/ld.so.conf';
/** What Debian's libc-bin and libc6 name in /etc/ld.so.conf.d, for images without those files. */
const ALWAYS = ['/usr/local/lib'];
const LIBRARY = /^lib[^/]*\.so(\.[0-9]+)*$/;

/** One directory the loader reaches only through the cache, and the library names in it. */
export interface CacheOnlyDir {
  /** As named (/usr/local/lib). */
  dir: string;
  /** Its tree key, symlinks resolved. */
  key: string;
  libs: string[];
}

/**
 * The image's glibc triplets (directories of /usr/lib holding libc.so.6) and the directories holding
 * shared libraries (`lib*.so*`) that its loader finds only through /etc/ld.so.cache: /usr/local/lib,
 * /usr/local/lib/<triplet> and each /usr/local or /opt directory /etc/ld.so.conf names (its `include`d
 * files followed), in that order. Packages' private directories (fakeroot's) are left out: Debian
 * ships nothing under /usr/local or /opt, and such packages set LD_LIBRARY_PATH themselves.
 */
export async function cacheOnlyDirs(tree: FileTree): Promise<{ triplets: string[]; dirs: CacheOnlyDir[] }> {
  const triplets = childNames(tree, 'usr/lib').filter(
    (t) => statPath(tree, `/usr/lib/${t}/libc.so.6`)?.node.kind === 'file',
  );
  if (triplets.length === 0) return { triplets, dirs: [] };
  const system = new Set(
    ['/lib', '/usr/lib', ...triplets.flatMap((t) => [`/lib/${t}`, `/usr/lib/${t}`])].map((d) =>
      resolvePath(tree, d),
    ),
  );
  const named = (await confDirs(tree, CONF, 0)).filter((d) => /^\/(usr\/local|opt)\//.test(d));
  const dirs: CacheOnlyDir[] = [];
  for (const dir of [...ALWAYS, ...triplets.map((t) => `/usr/local/lib/${t}`), ...named]) {
    const key = resolvePath(tree, dir);
    if (system.has(key) || dirs.some((d) => d.key === key) || statPath(tree, dir)?.node.kind !== 'dir')
      continue;
    const libs = childNames(tree, key).filter((n) => LIBRARY.test(n));
    if (libs.length > 0) dirs.push({ dir, key, libs });
  }
  return { triplets, dirs };
}

/** The directories an ld.so.conf file names, `include`d files (a `*` glob in the name) followed. */
async function confDirs(tree: FileTree, path: string, depth: number): Promise<string[]> {
  const text = (await readTreeFile(tree, path))?.toString('utf8');
  if (text === undefined || depth > 4) return [];
  const dirs: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') continue;
    const include = /^include\s+(\S+)$/.exec(line);
    if (include === null) {
      if (line.startsWith('/')) dirs.push(line.replace(/\/+$/, ''));
      continue;
    }
    const pattern = include[1] as string;
    const slash = pattern.lastIndexOf('/');
    const [dir, glob] = [pattern.slice(0, slash), pattern.slice(slash + 1)];
    const re = new RegExp(
      `^${glob
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '.*')
        .replace(/\?/g, '.')}$`,
    );
    for (const name of childNames(tree, resolvePath(tree, dir)).filter((n) => re.test(n)))
      dirs.push(...(await confDirs(tree, `${dir}/${name}`, depth + 1)));
  }
  return dirs;
}

/** The origin of the /etc/ld.so.cache a build writes (ldSoCacheBytes), as its tree node records it. */
export const LD_CACHE_ORIGIN = 'ldconfig';

/**
 * The bytes of /etc/ld.so.cache for the cache-only directories of an image of `arch` (dpkg name), or
 * undefined when there is nothing to write: no glibc, no such libraries, an architecture not in
 * LD_CACHE_ARCHES, or an image that has a cache already (a base
 * image's, which its own ldconfig made). Each library is listed under its DT_SONAME (else its file
 * name), once (the first directory wins, as with ldconfig), pointing at the file of that name in its
 * directory when there is one, else at the library itself; libraries of another machine or ELF class
 * are left out.
 * Cost: reads each such library's ELF header, dynamic segment and string table.
 */
export async function ldSoCacheBytes(tree: FileTree, arch: string): Promise<Buffer | undefined> {
  const known = CACHE_ARCHES[arch];
  if (known === undefined || statPath(tree, '/etc/ld.so.cache') !== undefined) return undefined;
  const { flags, machine, is64, big } = known;
  const { dirs } = await cacheOnlyDirs(tree);
  const entries = new Map<string, string>();
  for (const { key, libs } of dirs) {
    for (const name of libs) {
      const hit = statPath(tree, `/${key}/${name}`);
      if (hit?.node.kind !== 'file') continue;
      const node = hit.node;
      const elf = await parseDynamic((start, end) => readRange(node, start, end));
      if (elf === undefined || elf.machine !== machine || elf.is64 !== is64) continue;
      const soname = elf.soname ?? name;
      if (entries.has(soname)) continue;
      const linked = statPath(tree, `/${key}/${soname}`)?.node.kind === 'file';
      entries.set(soname, `/${key}/${linked ? soname : name}`);
    }
  }
  if (entries.size === 0) return undefined;
  return encodeLdSoCache(
    [...entries].map(([name, path]) => ({ name, path, flags })),
    big === true,
  );
}

/** One cache entry: a library name, the file the loader opens for it, and the flags of its kind. */
export interface LdCacheEntry {
  name: string;
  path: string;
  flags: number;
}

/**
 * The cache file for `entries` (any order; sorted here as the loader's binary search needs), in the
 * target's byte order (`bigEndian` for s390x).
 */
export function encodeLdSoCache(entries: LdCacheEntry[], bigEndian = false): Buffer {
  const sorted = [...entries].sort((a, b) => libcmp(b.name, a.name) || b.flags - a.flags);
  const stringsAt = HEADER_SIZE + sorted.length * ENTRY_SIZE;
  const strings: Buffer[] = [];
  const offsets = new Map<string, number>();
  let size = 0;
  const offset = (text: string): number => {
    let at = offsets.get(text);
    if (at === undefined) {
      at = stringsAt + size;
      offsets.set(text, at);
      const bytes = Buffer.from(`${text}\0`, 'utf8');
      strings.push(bytes);
      size += bytes.length;
    }
    return at;
  };
  const u32 = (b: Buffer, value: number, at: number) =>
    bigEndian ? b.writeUInt32BE(value, at) : b.writeUInt32LE(value, at);
  const table = Buffer.alloc(sorted.length * ENTRY_SIZE);
  sorted.forEach((e, i) => {
    const at = i * ENTRY_SIZE;
    if (bigEndian) table.writeInt32BE(e.flags, at);
    else table.writeInt32LE(e.flags, at);
    u32(table, offset(e.name), at + 4);
    u32(table, offset(e.path), at + 8);
    // osversion_unused and hwcap stay 0
  });
  const header = Buffer.alloc(HEADER_SIZE);
  header.write(MAGIC, 0, 'latin1');
  u32(header, sorted.length, 20);
  u32(header, size, 24);
  header[28] = bigEndian ? ENDIAN_BIG : ENDIAN_LITTLE;
  // padding, extension_offset (0: no extensions) and the unused words stay 0
  return Buffer.concat([header, table, ...strings]);
}

/**
 * The name → path map of a cache in the new format (the first entry of a name wins), or undefined.
 * Either byte order: the header's flags say which (a cache of glibc before 2.33 says nothing and is
 * read in the order whose entry count fits the file).
 */
export function decodeLdSoCache(bytes: Buffer): Map<string, string> | undefined {
  if (bytes.length < HEADER_SIZE || bytes.toString('latin1', 0, MAGIC.length) !== MAGIC) return undefined;
  const endian = (bytes[28] as number) & 3;
  const fits = (n: number) => HEADER_SIZE + n * ENTRY_SIZE <= bytes.length;
  const big = endian === ENDIAN_BIG || (endian !== ENDIAN_LITTLE && !fits(bytes.readUInt32LE(20)));
  const u32 = (at: number) => (big ? bytes.readUInt32BE(at) : bytes.readUInt32LE(at));
  const count = u32(20);
  if (HEADER_SIZE + count * ENTRY_SIZE > bytes.length) return undefined;
  const text = (at: number): string | undefined => {
    const end = bytes.indexOf(0, at);
    return at < bytes.length && end >= at ? bytes.toString('utf8', at, end) : undefined;
  };
  const map = new Map<string, string>();
  for (let i = 0; i < count; i++) {
    const at = HEADER_SIZE + i * ENTRY_SIZE;
    const name = text(u32(at + 4));
    const path = text(u32(at + 8));
    if (name === undefined || path === undefined) return undefined;
    if (!map.has(name)) map.set(name, path);
  }
  return map;
}

/** An /etc/ld.so.cache larger than this is not read (ldconfig's are tens of KB). */
const MAX_CACHE_BYTES = 16 * 1024 * 1024;

/**
 * The image's /etc/ld.so.cache as name → path: undefined when the image has none, null when it has
 * one this cannot read (another format, not a file, too large). Cost: one read of the cache.
 */
export async function imageLdSoCache(tree: FileTree): Promise<Map<string, string> | null | undefined> {
  const node = statPath(tree, '/etc/ld.so.cache')?.node;
  if (node === undefined) return undefined;
  if (node.kind !== 'file' || node.size > MAX_CACHE_BYTES) return null;
  return decodeLdSoCache(await readRange(node, 0, node.size)) ?? null;
}

/** glibc's _dl_cache_libcmp: byte order, except that runs of digits compare as numbers. */
export function libcmp(a: string, b: string): number {
  const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
  let i = 0;
  let j = 0;
  while (i < a.length) {
    const ca = a.charCodeAt(i);
    const cb = j < b.length ? b.charCodeAt(j) : 0;
    if (isDigit(ca)) {
      if (!isDigit(cb)) return 1;
      let va = 0;
      let vb = 0;
      while (i < a.length && isDigit(a.charCodeAt(i))) va = va * 10 + a.charCodeAt(i++) - 0x30;
      while (j < b.length && isDigit(b.charCodeAt(j))) vb = vb * 10 + b.charCodeAt(j++) - 0x30;
      if (va !== vb) return va - vb;
    } else if (isDigit(cb)) return -1;
    else if (ca !== cb) return ca - cb;
    else {
      i++;
      j++;
    }
  }
  return 0 - (j < b.length ? b.charCodeAt(j) : 0);
}
