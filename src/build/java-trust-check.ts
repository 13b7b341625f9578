import { childNames, readTreeFile, statPath } from '../debian/effects/tree-io.js';
import type { VNode } from '../vfs/node.js';
import type { FileTree } from '../vfs/tree.js';

// A Debian JRE's trust store, lib/security/cacerts, is a link to /etc/ssl/certs/java/cacerts, which
// imprint writes (as ca-certificates-java's postinst would) from the certificates in /etc/ssl/certs.
// Without ca-certificates-java, or without ca-certificates (`dependencies: false`, a `remove`), the
// store is missing or empty, and every TLS connection Java makes fails its certificate check at run
// time ("the trustAnchors parameter must be non-empty"); the build says so instead.

const JVM_DIR = 'usr/lib/jvm';
const JKS_MAGIC = 0xfeedfeed;

/**
 * Warnings for each JRE under /usr/lib/jvm whose lib/security/cacerts is missing or a JKS store with
 * no entries (one per store). Cost: reads each store, except a base image's (`baseNodes`, whose
 * contents would be read again from its layers): that one is only checked to exist.
 */
export async function javaTrustNotes(
  tree: FileTree,
  baseNodes?: ReadonlyMap<string, VNode>,
): Promise<string[]> {
  const notes: string[] = [];
  const seen = new Set<string>();
  for (const jre of childNames(tree, JVM_DIR)) {
    const path = `/${JVM_DIR}/${jre}/lib/security/cacerts`;
    const link = tree.get(`${JVM_DIR}/${jre}/lib/security/cacerts`);
    if (link === undefined || statPath(tree, `/${JVM_DIR}/${jre}/bin/java`) === undefined) continue;
    const hit = statPath(tree, path);
    const where = link.kind === 'symlink' ? `${path} -> ${link.target}` : path;
    if (hit !== undefined && seen.has(hit.key)) continue;
    if (hit !== undefined) seen.add(hit.key);
    if (hit !== undefined && baseNodes?.get(hit.key) === hit.node) continue;
    const head = hit?.node.kind === 'file' ? await readTreeFile(tree, path) : undefined;
    const entries =
      head !== undefined && head.length >= 12 && head.readUInt32BE(0) === JKS_MAGIC
        ? head.readUInt32BE(8)
        : undefined;
    if (hit !== undefined && hit.node.kind === 'file' && entries !== 0) continue;
    notes.push(
      `the Java trust store ${where} ${hit === undefined ? 'is missing' : 'holds no certificates'}: every TLS connection Java makes will fail its certificate check; add ca-certificates and ca-certificates-java to packages (imprint writes the store from /etc/ssl/certs)`,
    );
  }
  return notes;
}
