// The koffi FFI, as imprint's native engines use it (libdeflate-native.ts, xz-liblzma.ts): loaded once
// per thread, and configured before either loads a library, which is the only time koffi accepts it.
import { createRequire } from 'node:module';

/** A bound C function; `async` runs it on libuv's thread pool and calls back with its result. */
export type NativeFn = ((...args: unknown[]) => unknown) & {
  async: (...args: [...unknown[], (err: unknown, result: unknown) => void]) => void;
};

/** The parts of koffi imprint calls. */
export interface Koffi {
  load(path: string): { func(signature: string): NativeFn };
  struct(name: string, def: Record<string, string>): unknown;
  offsetof(type: unknown, member: string): number;
  alloc(type: unknown, length: number): unknown;
  free(pointer: unknown): void;
  view(pointer: unknown, length: number): ArrayBuffer;
  encode(pointer: unknown, offset: number, type: string, value: unknown): void;
  decode(pointer: unknown, offset: number, type: string): unknown;
  config(options: Record<string, number>): unknown;
}

/**
 * Native memory areas koffi keeps for asynchronous calls (its default is 4; a build runs up to 4
 * deflate calls and 3 xz streams at once, and each call beyond the kept areas maps and unmaps its
 * own 256 KiB).
 */
const RESIDENT_ASYNC_POOLS = 8;

let loaded: Koffi | null | undefined;

/** koffi, or undefined where it cannot load (no binary for this platform). Cost: ~5 ms, once per thread. */
export function loadKoffi(): Koffi | undefined {
  if (loaded === undefined) {
    try {
      const koffi = createRequire(import.meta.url)('koffi') as Koffi;
      try {
        koffi.config({ resident_async_pools: RESIDENT_ASYNC_POOLS });
      } catch {
        // Refused once a library is loaded (another copy of koffi's module got there first): the
        // calls still work, some with memory of their own.
      }
      loaded = koffi;
    } catch {
      loaded = null;
    }
  }
  return loaded ?? undefined;
}
