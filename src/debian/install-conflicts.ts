// Who may write a path another package already wrote: dpkg's file-overwrite rules, without --force.
import { ImprintError } from '../errors.js';
import type { VNode } from '../vfs/node.js';
import type { Relation } from './relations.js';
import { satisfies } from './version.js';

/** The facts about a package that the overwrite rules look at. */
export interface PackageIdentity {
  name: string;
  version: string;
  architecture: string;
  multiArch: string;
  replaces: readonly Relation[];
  provides: readonly Relation[];
}

/** What to do with an incoming non-directory entry at a path that already holds a node. */
export type OverwriteDecision = 'replace' | 'keep' | 'same';

/**
 * True when `by` declares `Replaces` on `other`: a relation naming it (or, unversioned, a virtual
 * package it provides) whose version constraint `other`'s version satisfies. An arch qualifier on
 * the relation must match `other`'s architecture (':any' matches all).
 */
export function replacesPackage(by: PackageIdentity, other: PackageIdentity): boolean {
  return by.replaces.some((rel) => {
    const q = rel.archQualifier;
    if (q !== undefined && q !== 'any' && q !== other.architecture) return false;
    if (rel.name === other.name)
      return rel.op === undefined || satisfies(other.version, rel.op, rel.version as string);
    return rel.op === undefined && other.provides.some((p) => p.name === rel.name);
  });
}

/**
 * Decides an incoming non-directory node at `key` against the node already there (owned by
 * `existingOwner`, undefined when not a package's): identical symlinks are 'same'; a package
 * rewriting its own path 'replace's it; between packages, the one that Replaces the other wins
 * ('replace' or 'keep'); identical regular files of the same Multi-Arch: same package in two
 * architectures are 'same'. Anything else is FILE_CONFLICT naming both packages and the path.
 */
export function decideOverwrite(
  key: string,
  existing: VNode,
  existingOwner: PackageIdentity | undefined,
  existingSha256: string | undefined,
  incoming: VNode,
  incomingOwner: PackageIdentity,
  incomingSha256: string | undefined,
): OverwriteDecision {
  if (existing.kind === 'symlink' && incoming.kind === 'symlink' && existing.target === incoming.target)
    return 'same';
  if (existing.kind === 'dir') {
    throw fileConflict(
      key,
      existing.origin ?? 'the image',
      incomingOwner.name,
      `${incomingOwner.name} ships a ${incoming.kind} where a directory is`,
    );
  }
  if (existingOwner === undefined) {
    throw fileConflict(
      key,
      existing.origin ?? 'the image',
      incomingOwner.name,
      `the path is already taken by ${existing.origin ?? 'the image'}`,
    );
  }
  if (existingOwner === incomingOwner) return 'replace';
  if (replacesPackage(incomingOwner, existingOwner)) return 'replace';
  if (replacesPackage(existingOwner, incomingOwner)) return 'keep';
  if (
    existingOwner.name === incomingOwner.name &&
    existingOwner.multiArch === 'same' &&
    incomingOwner.multiArch === 'same' &&
    existing.kind === 'file' &&
    incoming.kind === 'file' &&
    existingSha256 !== undefined &&
    existingSha256 === incomingSha256 &&
    existing.mode === incoming.mode &&
    existing.uid === incoming.uid &&
    existing.gid === incoming.gid
  ) {
    return 'same';
  }
  throw fileConflict(
    key,
    label(existingOwner),
    label(incomingOwner),
    `both packages ship it and neither Replaces the other`,
  );
}

function label(p: PackageIdentity): string {
  return `${p.name}:${p.architecture} ${p.version}`;
}

/** FILE_CONFLICT naming the path and both parties. */
export function fileConflict(key: string, existing: string, incoming: string, why: string): ImprintError {
  return new ImprintError('FILE_CONFLICT', `/${key}: ${existing} and ${incoming} both write it: ${why}`, {
    hint: 'Remove one of the packages, or use a version where one declares Replaces on the other.',
    details: { path: `/${key}`, packages: [existing, incoming] },
  });
}
