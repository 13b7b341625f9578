// Archive path rules shared by the writer (validate, never rewrite) and the reader (normalise, then judge).
import { ImprintError } from '../errors.js';

/** Why a path or link target is not acceptable, or null when it is. */
export interface PathProblem {
  code: 'TAR_UNSAFE_PATH' | 'VFS_INVALID_PATH';
  why: string;
}

/**
 * Checks a path the writer is given: relative, '/'-separated, no '.', '..' or empty components, no NUL;
 * directories end with '/', other entries do not. Returns the problem, or null. Cost: O(length).
 */
export function writePathProblem(path: string, isDir: boolean): PathProblem | null {
  if (path.includes('\0')) return { code: 'TAR_UNSAFE_PATH', why: 'contains NUL' };
  if (path.startsWith('/')) return { code: 'TAR_UNSAFE_PATH', why: 'is absolute' };
  if (path === '') return { code: 'VFS_INVALID_PATH', why: 'is empty' };
  if (isDir !== path.endsWith('/')) {
    return {
      code: 'VFS_INVALID_PATH',
      why: isDir ? "is a directory but does not end with '/'" : "is not a directory but ends with '/'",
    };
  }
  const parts = (isDir ? path.slice(0, -1) : path).split('/');
  if (parts.includes('..')) return { code: 'TAR_UNSAFE_PATH', why: "has a '..' component" };
  if (parts.includes('.')) return { code: 'VFS_INVALID_PATH', why: "has a '.' component (no './' prefix)" };
  if (parts.includes('')) return { code: 'VFS_INVALID_PATH', why: 'has an empty component' };
  return null;
}

/** A path as read from an archive, split into what the safety checks need. */
export interface ReadPath {
  /** Components without '', '.' (so './a//b' has ['a', 'b']); '..' kept. */
  parts: string[];
  absolute: boolean;
  hasDotDot: boolean;
}

/**
 * Splits a raw archive path: one or more leading '/' mark it absolute; empty and '.' components are
 * dropped, which also strips a leading './' (as in .deb data.tar). Cost: O(length).
 */
export function splitReadPath(raw: string): ReadPath {
  const parts = raw.split('/').filter((p) => p !== '' && p !== '.');
  return { parts, absolute: raw.startsWith('/'), hasDotDot: parts.includes('..') };
}

/**
 * True when a symlink at `entryParts` (its own path components) pointing at the relative `target`
 * would climb above the archive root at any step. Absolute targets are not judged here: inside an
 * image they resolve against the container root.
 */
export function symlinkEscapes(entryParts: readonly string[], target: string): boolean {
  let depth = entryParts.length - 1; // the link resolves from its parent directory
  for (const part of target.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      depth--;
      if (depth < 0) return true;
    } else {
      depth++;
    }
  }
  return false;
}

/** Throws the problem as an ImprintError naming the archive and entry. */
export function throwPathProblem(problem: PathProblem, what: string, entry: string, subject = 'path'): never {
  throw new ImprintError(problem.code, `${what}: entry ${JSON.stringify(entry)}: ${subject} ${problem.why}`, {
    hint: 'Archive paths are relative and normalised, e.g. "usr/bin/env" or "etc/" for a directory.',
    details: { archive: what, entry },
  });
}
