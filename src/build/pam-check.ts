import { childNames, readTreeFile, statPath } from '../debian/effects/tree-io.js';
import type { VNode } from '../vfs/node.js';
import type { FileTree } from '../vfs/tree.js';

// A PAM service file (/etc/pam.d/sudo, su, sshd, ...) that includes a file the image lacks makes
// libpam refuse the whole service at run time (sudo: "unable to initialize PAM: Critical error -
// immediate abort"). Debian's common-auth, common-account, ... come from libpam-runtime's
// pam-auth-update, which imprint reproduces, but nothing depends on libpam-runtime (every Debian
// system has it through login and passwd), so a package set such as sudo's leaves it out; the build
// says so.

const PAM_DIR = 'etc/pam.d';

/**
 * Services not checked: the passwd package's (shadow's account tools), which adduser's dependency
 * brings into most server images, where nothing runs them; naming them would warn on every such image.
 */
const UNCHECKED = new Set(['chfn', 'chpasswd', 'chsh', 'newusers', 'passwd']);

/**
 * Warnings for the /etc/pam.d files whose `@include NAME` or `TYPE include|substack NAME` lines name
 * a file /etc/pam.d lacks (one warning for all of them). Files of a base image (`baseNodes`) are
 * not read. Cost: reads each service file.
 */
export async function pamIncludeNotes(
  tree: FileTree,
  baseNodes?: ReadonlyMap<string, VNode>,
): Promise<string[]> {
  const missing = new Map<string, string[]>();
  for (const service of childNames(tree, PAM_DIR).filter((n) => !UNCHECKED.has(n))) {
    const key = `${PAM_DIR}/${service}`;
    const hit = statPath(tree, `/${key}`);
    if (hit?.node.kind !== 'file' || baseNodes?.get(hit.key) === hit.node) continue;
    const text = (await readTreeFile(tree, `/${key}`))?.toString('utf8') ?? '';
    for (const line of text.split('\n')) {
      const m = /^\s*(?:@include\s+|-?[a-z]+\s+(?:include|substack)\s+)([^\s/]+)\s*$/.exec(line);
      const name = m?.[1];
      if (name === undefined || statPath(tree, `/${PAM_DIR}/${name}`) !== undefined) continue;
      const services = missing.get(name) ?? [];
      if (!services.includes(service)) services.push(service);
      missing.set(name, services);
    }
  }
  if (missing.size === 0) return [];
  const names = [...missing.keys()].sort();
  const services = [...new Set(names.flatMap((n) => missing.get(n) ?? []))].sort();
  const hint = names.every((n) => n.startsWith('common-'))
    ? 'add libpam-runtime to packages (imprint writes the common-* files as its pam-auth-update does)'
    : 'add the package that ships them, or write them with files';
  return [
    `the PAM configuration of ${services.join(', ')} includes ${names.map((n) => `/etc/pam.d/${n}`).join(', ')}, which the image lacks: PAM refuses ${services.length === 1 ? 'that service' : 'those services'} at run time (sudo: "unable to initialize PAM"); ${hint}`,
  ];
}
