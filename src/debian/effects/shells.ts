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

/** The shells the packages declare: template then shells.d files in C order, each followed by its real path when different. */
async function packageShells(ctx: EffectContext): Promise<string[]> {
  const files = [TEMPLATE];
  for (const name of childNames(ctx.tree, SHELLS_D)) {
    if (isFile(ctx.tree, `${SHELLS_D}/${name}`)) files.push(`/${SHELLS_D}/${name}`);
  }
  const out: string[] = [];
  for (const f of files) {
    const text = (await readTreeFile(ctx.tree, f))?.toString('utf8') ?? '';
    for (const raw of text.split('\n')) {
      const line = raw.split('#', 1)[0] as string; // IFS='#' read -r line _
      if (line === '') continue;
      out.push(line);
      const real = realShell(ctx, line);
      if (real !== line) out.push(real);
    }
  }
  return out;
}

export const shellsRule: EffectRule = {
  id: 'debianutils/shells',
  package: 'debianutils',
  describe:
    'postinst copies /usr/share/debianutils/shells to /etc/shells and runs update-shells: shells.d entries appended, ' +
    'each followed by its merged-/usr twin; /var/lib/shells.state lists them',
  async apply(ctx) {
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
    // Shells the packages declare that /etc/shells lacks (update-shells does not dedupe this list).
    for (const shell of pkgShells) if (!etc.has(shell)) out.push(shell);
    const { mode, uid, gid } = source.node;
    writeFile(w, '/etc/shells', out.map((l) => `${l}\n`).join(''), { mode, uid, gid });
    writeFile(w, '/var/lib/shells.state', pkgShells.map((l) => `${l}\n`).join(''), { mode: 0o644 });
  },
};
