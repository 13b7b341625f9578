// The content spool's data types (install-spool.ts): options, where a body is, counters.

export interface SpoolOptions {
  /** Files up to this size are packed; larger ones get a file of their own under `<dir>/tmp/` (default 1 MiB). */
  packThreshold?: number;
  /** Packed bodies up to this size go to segments kept in memory (default 64 KiB), larger ones to the pack file. */
  memoryBodyLimit?: number;
  /**
   * Bytes of segments kept in memory (default 64 MiB); beyond it they are written to the pack file
   * too. 0 keeps nothing in memory (a worker's spool: another thread reads its refs).
   */
  memoryBudget?: number;
}

/** Where a captured body is: plain data, so it can cross a worker boundary. */
export type ContentRef =
  | { store: 'pack'; pack: string; offset: number; size: number; sha256: string }
  | { store: 'file'; path: string; size: number; sha256: string }
  | { store: 'empty'; size: 0; sha256: string };

/** Counters for measurements (INSTALL.md). */
export interface SpoolStats {
  /** Bodies appended to a pack file, and their bytes. */
  packedFiles: number;
  packedBytes: number;
  /** Bodies written as content-addressed files, and their bytes. */
  spooledFiles: number;
  spooledBytes: number;
  /** Bodies identical to one this spool captured before (not stored again). */
  duplicateFiles: number;
}

/** An empty stats record. */
export function emptySpoolStats(): SpoolStats {
  return { packedFiles: 0, packedBytes: 0, spooledFiles: 0, spooledBytes: 0, duplicateFiles: 0 };
}
