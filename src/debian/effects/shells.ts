import { runActions } from './actions.js';
import { childNames, isFile, readTreeFile, resolvePath, statPath, writeFile } from './tree-io.js';
import type { EffectContext, EffectRule } from './types.js';

const TEMPLATE = '/usr/share/debianutils/shells';
const SHELLS_D = 'usr/share/debianutils/shells.d';

/** `dpkg-realpath --root` of a shell's directory joined with its name ('/bin/sh' -> '/usr/bin/sh' on merged /usr). */
function realShell(ctx: EffectContext, shell: string): string {
  const slash = shell.lastIndexOf('/');
  const dir = slash <= 0 ? '' : resolvePath(ctx.tree, shell.slice(0, slash));
  return `/${dir === '' ? '' : `${dir}/`}${shell.slice(slash + 1)}`;
}

const UPDATE_SHELLS = '/usr/sbin/update-shells';

/**
 * Whether the image's update-shells lists each shell once (debianutils 5.17, trixie, checks its
 * hashset before adding a shell or its real path; bookworm's 5.7 appends both blindly, which only
 * repeats a shell when shells.d names it twice, as trixie's bash does with /bin/bash and /usr/bin/bash).
 */
async function listsShellsOnce(ctx: EffectContext): Promise<boolean> {
  const script = (await readTreeFile(ctx.tree, UPDATE_SHELLS))?.toString('latin1') ?? '';
  return script.includes('hashset_contains "$PKG_SHELLS"');
}

/**
 * The shells the packages declare: template then shells.d files in C order, each followed by its real
 * path when different; each once when the image's update-shells dedupes (listsShellsOnce).
 */
async function packageShells(ctx: EffectContext, template = true): Promise<string[]> {
  const once = await listsShellsOnce(ctx);
  const files = template ? [TEMPLATE] : [];
  for (const name of childNames(ctx.tree, SHELLS_D)) {
    if (isFile(ctx.tree, `${SHELLS_D}/${name}`)) files.push(`/${SHELLS_D}/${name}`);
  }
  const out: string[] = [];
  for (const f of files) {
    const text = (await readTreeFile(ctx.tree, f))?.toString('utf8') ?? '';
    for (const raw of text.split('\n')) {
      const line = raw.split('#', 1)[0] as string; // IFS='#' read -r line _
      if (line === '') continue;
      const real = realShell(ctx, line);
      for (const shell of real === line ? [line] : [line, real])
        if (!once || !out.includes(shell)) out.push(shell);
    }
  }
  return out;
}

/**
 * A base image's debianutils: its dpkg trigger on shells.d runs update-shells when a package the build
 * adds ships a shells.d file (zsh): the shells /etc/shells lacks are appended to it and to
 * /var/lib/shells.state, the base's lines kept (the build sees the base's two files, not its shells.d).
 * Writes nothing when every shell is listed already.
 */
async function addToBaseShells(ctx: EffectContext): Promise<void> {
  const shells = statPath(ctx.tree, '/etc/shells');
  if (shells?.node.kind !== 'file' || statPath(ctx.tree, UPDATE_SHELLS) === undefined) return;
  const read = async (path: string) =>
    ((await readTreeFile(ctx.tree, path))?.toString('utf8') ?? '').split('\n').filter((l) => l !== '');
  const etc = await read('/etc/shells');
  const listed = new Set(etc.map((l) => l.split('#', 1)[0]));
  const added = (await packageShells(ctx, false)).filter((s) => !listed.has(s) && listed.add(s));
  if (added.length === 0) return;
  const w = ctx.writer('debianutils');
  const { mode, uid, gid } = shells.node;
  writeFile(w, '/etc/shells', [...etc, ...added].map((l) => `${l}\n`).join(''), { mode, uid, gid });
  const state = await read('/var/lib/shells.state');
  const lines = [...state, ...added.filter((s) => !state.includes(s))];
  writeFile(w, '/var/lib/shells.state', lines.map((l) => `${l}\n`).join(''), { mode: 0o644 });
}

export const shellsRule: EffectRule = {
  id: 'debianutils/shells',
  package: null,
  describe:
    'postinst copies /usr/share/debianutils/shells to /etc/shells and runs update-shells: shells.d entries appended, ' +
    'each followed by its merged-/usr twin; /var/lib/shells.state lists them',
  async apply(ctx) {
    if (!ctx.installed.has('debianutils')) return addToBaseShells(ctx);
    const w = ctx.writer('debianutils');
    runActions(w, [{ op: 'copy', from: TEMPLATE, to: '/etc/shells' }]);
    const source = statPath(ctx.tree, '/etc/shells');
    if (source === undefined || source.node.kind !== 'file') return;
    const pkgShells = await packageShells(ctx);
    const out: string[] = [];
    const etc = new Set<string>();
    const text = ((await readTreeFile(ctx.tree, '/etc/shells')) as Buffer).toString('utf8');
    const lines = text.split('\n');
    if (lines[lines.length - 1] === '') lines.pop();
    // No /var/lib/shells.state on a fresh install: every line is kept, a repeated shell dropped.
    for (const line of lines) {
      const shell = line.split('#', 1)[0] as string;
      if (shell !== '' && etc.has(shell)) continue;
      out.push(line);
      etc.add(shell);
    }
    // Shells the packages declare that /etc/shells lacks (as listed: bookworm's may repeat one).
    for (const shell of pkgShells) if (!etc.has(shell)) out.push(shell);
    const { mode, uid, gid } = source.node;
    writeFile(w, '/etc/shells', out.map((l) => `${l}\n`).join(''), { mode, uid, gid });
    writeFile(w, '/var/lib/shells.state', pkgShells.map((l) => `${l}\n`).join(''), { mode: 0o644 });
  },
};
