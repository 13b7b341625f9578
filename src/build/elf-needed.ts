import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { childNames, statPath } from '../debian/effects/tree-io.js';
import type { VNode } from '../vfs/node.js';
import { normalizeImagePath } from '../vfs/path.js';
import type { FileTree } from '../vfs/tree.js';
import { imageLdSoCache } from './ld-so-cache.js';

// The shared libraries a dynamically linked program needs (DT_NEEDED, transitively), looked up as
// glibc's loader would: the object's RPATH and RUNPATH ($ORIGIN expanded), LD_LIBRARY_PATH, the
// names /etc/ld.so.cache lists (ld-so-cache.ts), then /lib/<triplet>, /usr/lib/<triplet>, /lib, /usr/lib.
// A library left out (`dependencies: false`, a `remove`) fails the container at start.

/** ELF e_machine values by OCI architecture. */
export const ELF_MACHINE: Readonly<Record<string, number>> = {
  amd64: 62,
  arm64: 183,
  '386': 3,
  arm: 40,
  riscv64: 243,
  ppc64le: 21,
  ppc64: 21,
  s390x: 22,
  mips64le: 8,
  loong64: 258,
};
export const MACHINE_NAMES: Readonly<Record<number, string>> = {
  62: 'x86-64',
  183: 'aarch64',
  3: 'i386',
  40: 'arm',
  243: 'riscv',
  21: 'ppc64',
  22: 's390',
  8: 'mips',
  258: 'loongarch',
};

/** Objects read at most (a larger one is taken as it is, unread). */
const MAX_OBJECT_BYTES = 512 * 1024 * 1024;
/** Libraries followed at most per program. */
const MAX_OBJECTS = 400;
const LOADER = /^(ld-linux[^/]*|ld64\.so\.[0-9]+|ld\.so\.[0-9]+)$/;

interface Dynamic {
  /** e_machine (ELF_MACHINE's values). */
  machine: number;
  /** ELFCLASS64 (x32, n32 and 31-bit s390 objects share their 64-bit machine's e_machine). */
  is64: boolean;
  needed: string[];
  /** DT_SONAME, when the object has one. */
  soname: string | undefined;
  /** RPATH and RUNPATH directories, as written ($ORIGIN not yet expanded). */
  paths: string[];
}

/**
 * The libraries `program` (a tree key of an ELF file) needs that the image cannot provide, each once,
 * with the first object found needing it, in breadth-first order. Empty when the image has an
 * /etc/ld.so.cache this cannot read (its directories are then unknown here), or the program is not
 * dynamically linked. Objects that are
 * `baseNodes` (a base image's) count as present and are not read. Cost: streams the program and every
 * library it loads up to their dynamic segment and string table (most of each file), keeping only those.
 */
export async function missingLibraries(
  tree: FileTree,
  program: string,
  env: { LD_LIBRARY_PATH?: string },
  baseNodes?: ReadonlyMap<string, VNode>,
): Promise<Array<{ name: string; by: string }>> {
  // With a cache the loader looks names up there before its system directories; one it cannot read
  // (another format) leaves the directories unknown here, so nothing is reported.
  const found = await imageLdSoCache(tree);
  if (found === null) return [];
  const cache = found ?? new Map<string, string>();
  const system = [
    ...childNames(tree, 'usr/lib')
      .filter((d) => d.includes('-linux-'))
      .flatMap((d) => [`/lib/${d}`, `/usr/lib/${d}`]),
    '/lib',
    '/usr/lib',
  ];
  const extra = (env.LD_LIBRARY_PATH ?? '').split(/[:;]/).filter((d) => d.startsWith('/'));
  const missing: Array<{ name: string; by: string }> = [];
  const seen = new Set<string>([program]);
  const queue = [program];
  let programPaths: string[] | undefined;
  while (queue.length > 0 && seen.size <= MAX_OBJECTS) {
    const key = queue.shift() as string;
    const node = statPath(tree, `/${key}`)?.node;
    if (node?.kind !== 'file' || node.size > MAX_OBJECT_BYTES || baseNodes?.get(key) === node) continue;
    const dynamic = await parseDynamic((start, end) => readRange(node, start, end));
    if (dynamic === undefined) continue;
    const origin = `/${key.slice(0, key.lastIndexOf('/'))}`;
    const own = dynamic.paths.map((p) => p.replace(/\$(ORIGIN|\{ORIGIN\})/g, origin));
    programPaths ??= own;
    const dirs = [...own, ...programPaths, ...extra, ...system];
    for (const name of dynamic.needed) {
      if (LOADER.test(name)) continue;
      const at = (path: string) => statPath(tree, normalizeImagePath(posix.normalize(path)));
      const cached = cache.get(name);
      const found = name.includes('/')
        ? at(name)
        : (dirs
            .slice(0, dirs.length - system.length)
            .filter((d) => !d.includes('$'))
            .map((d) => at(`${d}/${name}`))
            .find((hit) => hit?.node.kind === 'file') ??
          (cached === undefined ? undefined : at(cached)) ??
          system.map((d) => at(`${d}/${name}`)).find((hit) => hit?.node.kind === 'file'));
      if (found === undefined) {
        if (!dirs.some((d) => d.includes('$')) && !missing.some((m) => m.name === name))
          missing.push({ name, by: `/${key}` });
        continue;
      }
      if (!seen.has(found.key)) {
        seen.add(found.key);
        queue.push(found.key);
      }
    }
  }
  return missing;
}

/** Program headers and the ELF class, read from the first bytes. */
const HEAD_BYTES = 64 * 1024;

/**
 * DT_NEEDED names and RPATH/RUNPATH directories of an ELF object; undefined when it has none (static,
 * not ELF). `read(start, end)` gives bytes of the file. Reads the head, the dynamic segment and the
 * string table, nothing else.
 */
export async function parseDynamic(
  read: (start: number, end: number) => Promise<Buffer>,
): Promise<Dynamic | undefined> {
  const b = await read(0, HEAD_BYTES);
  if (b.length < 52 || b.readUInt32BE(0) !== 0x7f454c46) return undefined;
  const is64 = b[4] === 2;
  const little = b[5] === 1;
  const reader = (buf: Buffer) => ({
    u32: (at: number) => (little ? buf.readUInt32LE(at) : buf.readUInt32BE(at)),
    word: (at: number) =>
      is64
        ? Number(little ? buf.readBigUInt64LE(at) : buf.readBigUInt64BE(at))
        : little
          ? buf.readUInt32LE(at)
          : buf.readUInt32BE(at),
  });
  const h = reader(b);
  const u16 = (at: number) => (little ? b.readUInt16LE(at) : b.readUInt16BE(at));
  const phoff = h.word(is64 ? 32 : 28);
  const phentsize = u16(is64 ? 54 : 42);
  const phnum = u16(is64 ? 56 : 44);
  const loads: Array<{ offset: number; vaddr: number; size: number }> = [];
  let dynamic: { offset: number; size: number } | undefined;
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    if (at + phentsize > b.length) return undefined;
    const type = h.u32(at);
    const offset = h.word(is64 ? at + 8 : at + 4);
    const vaddr = h.word(is64 ? at + 16 : at + 8);
    const size = h.word(is64 ? at + 32 : at + 16);
    if (type === 1) loads.push({ offset, vaddr, size });
    if (type === 2) dynamic = { offset, size };
  }
  if (dynamic === undefined || dynamic.size > 1024 * 1024) return undefined;
  const d = await read(dynamic.offset, dynamic.offset + dynamic.size);
  const dr = reader(d);
  const entry = is64 ? 16 : 8;
  const tags: Array<[number, number]> = [];
  for (let at = 0; at + entry <= d.length; at += entry) {
    const tag = dr.word(at);
    if (tag === 0) break;
    tags.push([tag, dr.word(at + entry / 2)]);
  }
  const strtab = tags.find(([t]) => t === 5)?.[1];
  const strsz = tags.find(([t]) => t === 10)?.[1];
  const load =
    strtab === undefined ? undefined : loads.find((l) => strtab >= l.vaddr && strtab < l.vaddr + l.size);
  if (strtab === undefined || strsz === undefined || load === undefined || strsz > 16 * 1024 * 1024)
    return undefined;
  const start = strtab - load.vaddr + load.offset;
  const strings = await read(start, start + strsz);
  const text = (offset: number) => {
    const end = strings.indexOf(0, offset);
    return offset < strings.length && end > offset ? strings.subarray(offset, end).toString('latin1') : '';
  };
  const soname = tags.find(([t]) => t === 14);
  return {
    machine: u16(18),
    is64,
    soname: soname === undefined ? undefined : text(soname[1]) || undefined,
    needed: tags
      .filter(([t]) => t === 1)
      .map(([, v]) => text(v))
      .filter((n) => n !== ''),
    paths: tags
      .filter(([t]) => t === 15 || t === 29)
      .flatMap(([, v]) => text(v).split(':'))
      .filter((p) => p !== ''),
  };
}

/**
 * Bytes [start, end) of a file node: read in place where its content allows (a spooled body: only
 * those bytes), else streamed from its start (nothing before `start` is kept).
 */
export async function readRange(
  node: Extract<VNode, { kind: 'file' }>,
  start: number,
  end: number,
): Promise<Buffer> {
  const from = Math.min(start, node.size);
  const part = node.content.range?.(from, Math.max(from, Math.min(end, node.size)));
  if (part !== undefined) return part;
  const whole = node.content.sync?.();
  if (whole !== undefined) return whole.subarray(start, end);
  const stream: Readable = await node.content();
  const chunks: Buffer[] = [];
  let at = 0;
  try {
    for await (const chunk of stream) {
      const c = chunk as Buffer;
      const from = Math.max(start - at, 0);
      const to = Math.min(end - at, c.length);
      if (to > from) chunks.push(c.subarray(from, to));
      at += c.length;
      if (at >= end) break;
    }
  } finally {
    stream.destroy();
  }
  return Buffer.concat(chunks);
}
