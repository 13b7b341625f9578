import { childNames, readTreeFile, resolvePath, statPath } from '../debian/effects/tree-io.js';
import type { VNode } from '../vfs/node.js';
import type { FileTree } from '../vfs/tree.js';

// Debian's servers drop to a system account their configuration names: php-fpm's pool, nginx and
// lighttpd run as www-data, apache2 as its envvars' APACHE_RUN_USER. Those accounts come from
// base-passwd, which every Debian system has (Essential) and no package depends on, so an image that
// declares its own accounts and leaves base-passwd out has an /etc/passwd without them, and the server
// refuses to start (php-fpm: "cannot get uid for user 'www-data'"; nginx: getpwnam("www-data")
// failed). The build says so.

interface ServiceConfig {
  /** The configuration files, as a directory and how their names end, or one file. */
  dir: string;
  suffix: string;
  program: string;
  /** Each match: [kind of account, name]. */
  read(text: string): Array<['user' | 'group', string]>;
  failure: string;
}

const matches = (text: string, re: RegExp, kind: (key: string) => 'user' | 'group') =>
  [...text.matchAll(re)].map((m) => [kind(m[1] as string), m[2] as string] as ['user' | 'group', string]);

const SERVICES: readonly ServiceConfig[] = [
  {
    dir: '/etc/php/*/fpm/pool.d',
    suffix: '.conf',
    program: 'php-fpm',
    read: (text) =>
      matches(text, /^[ \t]*(user|group|listen\.owner|listen\.group)[ \t]*=[ \t]*([^\s;"]+)[ \t]*$/gm, (k) =>
        k.endsWith('user') || k.endsWith('owner') ? 'user' : 'group',
      ),
    failure: 'refuses to start ("cannot get uid for user \'www-data\'")',
  },
  {
    dir: '/etc/nginx',
    suffix: 'nginx.conf',
    program: 'nginx',
    read: (text) => {
      const m = /^[ \t]*user[ \t]+([^\s;]+)(?:[ \t]+([^\s;]+))?[ \t]*;/m.exec(text);
      if (m === null) return [];
      return [
        ['user', m[1] as string],
        ...(m[2] === undefined ? [] : [['group', m[2]] as ['group', string]]),
      ];
    },
    failure: 'refuses to start (getpwnam("www-data") failed)',
  },
  {
    dir: '/etc/apache2',
    suffix: 'envvars',
    program: 'apache2',
    read: (text) =>
      matches(
        text,
        /^[ \t]*export[ \t]+APACHE_RUN_(USER|GROUP)=([A-Za-z0-9_][A-Za-z0-9_.-]*)[ \t]*$/gm,
        (k) => (k === 'USER' ? 'user' : 'group'),
      ),
    failure: 'refuses to start ("Bad user name")',
  },
  {
    dir: '/etc/lighttpd',
    suffix: 'lighttpd.conf',
    program: 'lighttpd',
    read: (text) =>
      matches(text, /^[ \t]*server\.(username|groupname)[ \t]*=[ \t]*"([^"]+)"/gm, (k) =>
        k === 'username' ? 'user' : 'group',
      ),
    failure: 'refuses to start ("can\'t find username")',
  },
];

/** The directories a `dir` with `*` components names in the tree, sorted. */
function expandDir(tree: FileTree, dir: string): string[] {
  let dirs = [''];
  for (const part of dir.split('/').filter((p) => p !== '')) {
    dirs =
      part === '*'
        ? dirs.flatMap((d) => childNames(tree, resolvePath(tree, d)).map((n) => `${d}/${n}`))
        : dirs.map((d) => `${d}/${part}`);
  }
  return dirs.filter((d) => statPath(tree, d)?.node.kind === 'dir');
}

/**
 * Warnings for each server configuration of `SERVICES` that names a user or group the image's
 * /etc/passwd or /etc/group lacks. Images without those files are left to `image-notes.ts`; files
 * of a base image (`baseNodes`) are not read. Cost: reads each configuration file.
 */
export async function serviceUserNotes(
  tree: FileTree,
  accounts: { users: readonly string[] | null; groups: readonly string[] | null },
  baseNodes?: ReadonlyMap<string, VNode>,
): Promise<string[]> {
  if (accounts.users === null || accounts.groups === null) return [];
  const notes: string[] = [];
  for (const service of SERVICES) {
    for (const dir of expandDir(tree, service.dir)) {
      const names = childNames(tree, resolvePath(tree, dir)).filter((n) =>
        service.suffix.startsWith('.') ? n.endsWith(service.suffix) : n === service.suffix,
      );
      for (const name of names) {
        const hit = statPath(tree, `${dir}/${name}`);
        if (hit?.node.kind !== 'file' || baseNodes?.get(hit.key) === hit.node) continue;
        const text = (await readTreeFile(tree, `${dir}/${name}`))?.toString('utf8') ?? '';
        const missing = [
          ...new Set(
            service
              .read(text)
              .filter(([kind, n]) => !(kind === 'user' ? accounts.users : accounts.groups)?.includes(n))
              .map(([kind, n]) => `${kind} ${n}`),
          ),
        ];
        if (missing.length === 0) continue;
        notes.push(
          `${dir}/${name} names ${missing.join(' and ')}, which the image's ${missing.some((m) => m.startsWith('user')) ? '/etc/passwd' : '/etc/group'} lacks: ${service.program} ${service.failure}; add base-passwd to packages (www-data and Debian's other system accounts), or declare the account under accounts`,
        );
      }
    }
  }
  return notes;
}
