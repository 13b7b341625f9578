// Whether a path names one of this process's descriptors (an archive output that is our stdout).
import { fstatSync, type Stats } from 'node:fs';

/** True when descriptor `fd` is the node `st` describes (same device and inode). */
export function sameNode(st: Stats, fd: number): boolean {
  try {
    const other = fstatSync(fd);
    return other.dev === st.dev && other.ino === st.ino;
  } catch {
    return false;
  }
}
