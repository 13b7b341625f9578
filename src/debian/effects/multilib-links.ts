// glibc's multilib packages (libc6-i386 on amd64, libc6-amd64 on i386, ...): since trixie their
// postinst, not their data.tar, links the loader into /usr/lib (`ln -s ../lib32/ld-linux.so.2
// "$DPKG_ROOT/usr/lib/ld-linux.so.2"`, the PT_INTERP of every 32-bit program) and the multilib
// directory into /usr (`ln -s usr/lib32 "$DPKG_ROOT/lib32"`), each only where nothing is yet.
import { literalCalls } from './script-eval.js';
import { targetKey, writeSymlink } from './tree-io.js';
import type { EffectRule } from './types.js';

/** The links such a postinst makes: a loader directly in /usr/lib, or a top-level multilib directory. */
const LINK_PATH = /^\/(?:usr\/lib\/ld[^/]*\.so[^/]*|lib(?:32|64|x32|o32))$/;
/** Their targets: relative, into a multilib directory. */
const LINK_TARGET = /^(?:\.\.\/|usr\/)lib(?:32|64|x32|o32)(?:\/[^/]+)?$/;

/** The `ln -s TARGET PATH` calls of a postinst that make such links (see `literalCalls`). Pure. */
export function multilibLinks(postinst: string): Array<{ path: string; target: string }> {
  const out: Array<{ path: string; target: string }> = [];
  for (const words of literalCalls(postinst, (c) => /\bln\b/.test(c)).calls) {
    const at = words.indexOf('ln');
    const args = words.slice(at + 1);
    if (at < 0 || args.length !== 3 || args[0] !== '-s') continue;
    const [, target, path] = args as [string, string, string];
    if (LINK_PATH.test(path) && LINK_TARGET.test(target) && !out.some((l) => l.path === path))
      out.push({ path, target });
  }
  return out;
}

export const multilibLinksRule: EffectRule = {
  id: 'libc6-multilib/links',
  package: /^libc6-(?:i386|amd64|x32|s390|powerpc|ppc64|sparc64|mips32|mipsn32|mips64|mipso32)$/,
  describe:
    'postinst (trixie): `ln -s ../lib32/ld-linux.so.2 /usr/lib/ld-linux.so.2` (the loader 32-bit programs name) and `ln -s usr/lib32 /lib32`, each when nothing is there',
  apply(ctx, pkg) {
    if (pkg.postinst === undefined) return;
    const w = ctx.writer(pkg.name);
    for (const { path, target } of multilibLinks(pkg.postinst)) {
      if (ctx.tree.get(targetKey(w, path)) === undefined) writeSymlink(w, path, target);
    }
  },
};
