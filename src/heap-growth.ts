// How far V8 lets the JavaScript heap grow past what its last full collection kept.
import { setFlagsFromString } from 'node:v8';

/** Bytes of .deb files from which an install holds the heap's growth (the TeX Live set has 645 MB). */
export const LARGE_INSTALL_BYTES = 256 * 1024 * 1024;

let held = false;

/**
 * Holds V8's heap growth to 1.5 times what the last full collection kept (V8 lets a busy heap grow up
 * to 4 times) for an install of `debBytes` >= LARGE_INSTALL_BYTES. A large package is placed in one
 * synchronous pass, and its garbage stayed until the heap had doubled: the TeX Live set (117k entries)
 * peaked at 560-610 MB of RSS with the JS heap at 212 MB used, 100-120 MB of it live; held from the
 * start, 460-485 MB, in the same CPU time. Set when the large package is reached, it came too late
 * (the limit V8 had set at its last collection stood). Small builds keep V8's default: their heap is
 * ~15 MB, and tighter growth only adds collections (+6 % CPU for examples/python). Same bytes either
 * way; a V8 without the flag ignores it.
 */
export function holdHeapGrowthFor(debBytes: number): void {
  if (held || debBytes < LARGE_INSTALL_BYTES) return;
  held = true;
  setFlagsFromString('--heap-growing-percent=50');
}
