// Installs generated .debs into a fresh tree, with effects, for tests of what packages leave behind;
// the spools are closed and the temporary directory removed after the file's tests.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { installPackages } from '../../src/debian/install.js';
import { FileTree } from '../../src/vfs/tree.js';
import { type DebSpec, debInput } from './debfile.js';

/**
 * An install function for this test file: `await install(specs)` gives the tree (amd64, at `epoch`);
 * the install's warnings are appended to `warnings` when given.
 */
export function treeInstaller(
  prefix: string,
  epoch: number,
): (specs: DebSpec[], warnings?: string[]) => Promise<FileTree> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const spools: Array<{ close(): Promise<void> }> = [];
  after(async () => {
    for (const s of spools) await s.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return async (specs, warnings) => {
    const tree = new FileTree({ mode: 0o755, uid: 0, gid: 0, mtime: epoch });
    const result = await installPackages(
      tree,
      specs.map((s) => debInput(s)),
      { epoch, arch: 'amd64', spoolDir: join(dir, 'spool'), mergedUsr: true },
    );
    spools.push(result.spool);
    warnings?.push(...result.warnings);
    return tree;
  };
}

/** The text of the file at `key` in `tree` (asserts it is a file). Reads it whole: test fixtures are small. */
export async function treeText(tree: FileTree, key: string): Promise<string> {
  const node = tree.get(key);
  if (node?.kind !== 'file') throw new Error(`${key}: expected a file, found ${node?.kind ?? 'nothing'}`);
  const parts: Buffer[] = [];
  for await (const c of await node.content()) parts.push(Buffer.from(c as Buffer));
  return Buffer.concat(parts).toString('utf8');
}
