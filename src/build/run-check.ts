import { statPath } from '../debian/effects/tree-io.js';
import type { ContainerConfig } from '../oci/types.js';
import type { VNode } from '../vfs/node.js';
import { normalizeImagePath } from '../vfs/path.js';
import type { FileTree } from '../vfs/tree.js';
import { ELF_MACHINE, MACHINE_NAMES, missingLibraries, readRange } from './elf-needed.js';
import { DEFAULT_PATH } from './image.js';
import { localeEnv, localeNotes } from './locale-check.js';
import { tzEnv, tzNotes } from './tz-check.js';
import { workdirNotes } from './workdir-check.js';

// What the container would run, checked against the image before it is published: a distroless
// image has no shell to say "not found" helpfully, and a runtime reports a missing #! interpreter or
// ELF loader as "no such file or directory" naming the program, not what is missing. So the build
// warns when the program (entrypoint[0], else cmd[0]) is not in the image or not executable, when a
// script's #! interpreter (or the command `#!/usr/bin/env` runs) is missing, when an ELF program's
// loader is missing, and when an ELF program is for another architecture than the image.

/** Packages that provide interpreters scripts commonly name, for the hint. */
const PROVIDERS: Readonly<Record<string, string>> = {
  '/usr/bin/env': 'coreutils',
  '/bin/sh': 'dash (or bash)',
  '/bin/bash': 'bash',
  '/usr/bin/bash': 'bash',
  '/bin/dash': 'dash',
  '/usr/bin/perl': 'perl-base',
  '/usr/bin/python3': 'python3',
  '/usr/bin/node': 'nodejs',
  '/usr/bin/nodejs': 'nodejs',
};

/** Bytes of a program read to find its #! line or ELF program headers. */
const HEAD_BYTES = 64 * 1024;

/** The image's PATH: its config's, else the default the runtime uses. */
function imagePath(config: ContainerConfig): string {
  return config.Env?.find((e) => e.startsWith('PATH='))?.slice('PATH='.length) ?? DEFAULT_PATH;
}

/** The config fields the check and the locale check read (also what a cached result is valid for). */
export function runCheckInputs(config: ContainerConfig): string {
  return JSON.stringify([
    config.Entrypoint ?? [],
    config.Cmd ?? [],
    config.WorkingDir ?? '',
    imagePath(config),
    localeEnv(config),
    tzEnv(config) ?? null,
    config.Env?.find((e) => e.startsWith('LD_LIBRARY_PATH=')) ?? null,
  ]);
}

/**
 * Warnings about the program the container runs, for `platform` (e.g. "linux/amd64", whose
 * architecture the ELF machine must match). Empty when neither entrypoint nor cmd is set. Cost: reads
 * the first 64 KiB of the program and of its interpreter, and streams an ELF program's libraries up to
 * their dynamic sections (unless `options.libraries` is false), except files that are `baseNodes` (a
 * base image's, whose contents would be read again from its layers): those are checked by name and mode.
 */
export async function runNotes(
  tree: FileTree,
  config: ContainerConfig,
  platform: string,
  baseNodes?: ReadonlyMap<string, VNode>,
  options: RunCheckOptions = {},
): Promise<string[]> {
  const argv =
    config.Entrypoint !== undefined && config.Entrypoint.length > 0 ? config.Entrypoint : config.Cmd;
  const field = argv === config.Entrypoint ? 'entrypoint' : 'cmd';
  const program = argv?.[0];
  if (program === undefined || program === '') return [];
  const path = imagePath(config)
    .split(':')
    .filter((d) => d.startsWith('/'));
  const arch = platform.split('/')[1] ?? '';
  const what = `${field} ${JSON.stringify(program)} (${platform})`;
  const found = locate(tree, program, config.WorkingDir ?? '/', path);
  if (found === undefined) {
    return [
      `the image's ${what} is not in the image${program.includes('/') ? '' : ` (looked in PATH=${path.join(':')})`}: the container cannot start${busyboxHint(tree, program, path)}`,
    ];
  }
  const libraryPath = config.Env?.find((e) => e.startsWith('LD_LIBRARY_PATH='))?.slice(
    'LD_LIBRARY_PATH='.length,
  );
  return checkProgram(
    tree,
    found,
    { what, arch, path, baseNodes, libraryPath, libraries: options.libraries !== false },
    0,
  );
}

/**
 * For a missing program in an image with busybox: Debian's busybox ships no applet links and its
 * `busybox --install` is never run, so `sh`, `ls`, ... exist only as `busybox NAME` (busybox's own
 * sh finds other applets only through such links in PATH).
 */
function busyboxHint(tree: FileTree, program: string, path: readonly string[]): string {
  const name = program.slice(program.lastIndexOf('/') + 1);
  if (name === 'busybox') return '';
  const busybox = locate(tree, 'busybox', '/', [...path, '/usr/bin', '/bin']);
  if (busybox === undefined || busybox.node.kind !== 'file') return '';
  return `; busybox is in the image (/${busybox.key}) but none of its applet links: Debian's package ships none and no \`busybox --install\` runs, so run ["/${busybox.key}", ${JSON.stringify(name)}, ...], or add the links you need with files (busybox's sh finds other applets only through them)`;
}

/**
 * Every warning about the config against the finished image: the program it runs (runNotes), the
 * locales (localeNotes) and the time zone (tzNotes) its env names, its workdir (workdirNotes). Cost: as runNotes.
 */
export async function configNotes(...args: Parameters<typeof runNotes>): Promise<string[]> {
  const [tree, config, platform] = args;
  return [
    ...(await runNotes(...args)),
    ...localeNotes(tree, config, platform),
    ...tzNotes(tree, config, platform),
    ...workdirNotes(tree, config, platform),
  ];
}

/** How far the run check reads. */
export interface RunCheckOptions {
  /**
   * Follow the program's shared libraries (default true). Off for a tree read back from layers,
   * where each read decompresses a layer again.
   */
  libraries?: boolean;
}

interface CheckContext {
  libraries: boolean;
  /** The config's LD_LIBRARY_PATH. */
  libraryPath: string | undefined;
  what: string;
  arch: string;
  path: readonly string[];
  baseNodes: ReadonlyMap<string, VNode> | undefined;
}

/** The file `program` runs (a path, or a name looked up in PATH as execvp does), or undefined. */
function locate(
  tree: FileTree,
  program: string,
  workdir: string,
  path: readonly string[],
): { key: string; node: VNode } | undefined {
  const candidates = program.includes('/')
    ? [program.startsWith('/') ? program : `${workdir.replace(/\/$/, '')}/${program}`]
    : path.map((dir) => `${dir.replace(/\/$/, '')}/${program}`);
  for (const candidate of candidates) {
    const hit = statPath(tree, normalizeImagePath(candidate));
    if (hit?.node.kind === 'file' && (hit.node.mode & 0o111) !== 0) return hit;
    if (program.includes('/') && hit !== undefined) return hit;
  }
  return undefined;
}

async function checkProgram(
  tree: FileTree,
  hit: { key: string; node: VNode },
  ctx: CheckContext,
  depth: number,
): Promise<string[]> {
  const { what, arch, path } = ctx;
  const { node } = hit;
  if (node.kind !== 'file') return [`the image's ${what} is a ${node.kind} at /${hit.key}, not a program`];
  if ((node.mode & 0o111) === 0) {
    return [
      `the image's ${what} is /${hit.key}, which is not executable (mode ${(node.mode & 0o7777).toString(8)}): set its mode`,
    ];
  }
  if (ctx.baseNodes?.get(hit.key) === node) return []; // the base's: not read again from its layers
  const head = await readRange(node, 0, HEAD_BYTES);
  if (head.subarray(0, 2).toString('latin1') === '#!') {
    const line = head.subarray(2, Math.max(2, head.indexOf(0x0a))).toString('utf8');
    const [interpreter, ...args] = line.trim().split(/[ \t]+/);
    if (interpreter === undefined || interpreter === '') return [];
    const used = statPath(tree, normalizeImagePath(interpreter));
    if (used === undefined || used.node.kind !== 'file') {
      const provider = PROVIDERS[interpreter];
      return [
        `the image's ${what} is a script for #!${interpreter}, which is not in the image${provider === undefined ? '' : `: add ${provider} to packages`}${busyboxHint(tree, interpreter, path)}`,
      ];
    }
    if (interpreter === '/usr/bin/env' || interpreter === '/bin/env') {
      const command = args.find((a) => !a.startsWith('-') && !a.includes('='));
      if (command !== undefined && locate(tree, command, '/', path) === undefined) {
        return [
          `the image's ${what} is a script for #!${interpreter} ${command}, and ${command} is not in the image's PATH (${path.join(':')})`,
        ];
      }
      return [];
    }
    return depth < 2 ? checkProgram(tree, used, ctx, depth + 1) : [];
  }
  const notes = elfNotes(tree, head, hit.key, what, arch);
  if (notes.length > 0 || !ctx.libraries || head.readUInt32BE(0) !== 0x7f454c46) return notes;
  const missing = await missingLibraries(tree, hit.key, { LD_LIBRARY_PATH: ctx.libraryPath }, ctx.baseNodes);
  if (missing.length === 0) return [];
  const named = missing
    .slice(0, 5)
    .map((m) => (m.by === `/${hit.key}` ? m.name : `${m.name} (for ${m.by})`))
    .join(', ');
  return [
    `the image's ${what} is /${hit.key}, which needs ${named}${missing.length > 5 ? `, ... (${missing.length})` : ''}, not in the image's library path (RUNPATH, LD_LIBRARY_PATH, /usr/lib/<triplet>, /usr/lib; no ld.so.cache): the container cannot start; add the packages that ship them (or drop dependencies: false)`,
  ];
}

/** Notes on an ELF program: another architecture, or a dynamic loader (PT_INTERP) that is missing. */
function elfNotes(tree: FileTree, head: Buffer, key: string, what: string, arch: string): string[] {
  if (head.length < 52 || head.readUInt32BE(0) !== 0x7f454c46) return [];
  const is64 = head[4] === 2;
  const little = head[5] === 1;
  const u16 = (at: number) => (little ? head.readUInt16LE(at) : head.readUInt16BE(at));
  const u32 = (at: number) => (little ? head.readUInt32LE(at) : head.readUInt32BE(at));
  const word = (at: number) =>
    is64 ? Number(little ? head.readBigUInt64LE(at) : head.readBigUInt64BE(at)) : u32(at);
  const machine = u16(18);
  const expected = ELF_MACHINE[arch];
  // An x86-64 kernel runs i386 programs (their loader, e.g. libc6-i386's, is checked below).
  const runsOn = machine === expected || (arch === 'amd64' && machine === ELF_MACHINE['386']);
  if (expected !== undefined && !runsOn) {
    return [
      `the image's ${what} is /${key}, an ELF program for ${MACHINE_NAMES[machine] ?? `machine ${machine}`}: it cannot run on ${arch}`,
    ];
  }
  const phoff = word(is64 ? 32 : 28);
  const phentsize = u16(is64 ? 54 : 42);
  const phnum = u16(is64 ? 56 : 44);
  for (let i = 0; i < phnum; i++) {
    const at = phoff + i * phentsize;
    if (at + phentsize > head.length) break;
    if (u32(at) !== 3) continue; // PT_INTERP
    const offset = word(is64 ? at + 8 : at + 4);
    const size = word(is64 ? at + 32 : at + 16);
    if (offset + size > head.length || size < 2) break;
    const loader = head.subarray(offset, offset + size - 1).toString('latin1');
    if (statPath(tree, normalizeImagePath(loader)) === undefined) {
      return [
        `the image's ${what} is /${key}, which is dynamically linked against ${loader}, and that is not in the image: add libc6 to packages, or link the program statically`,
      ];
    }
    break;
  }
  return [];
}
