// parseAlternativeInstalls: postinst text evaluated for its update-alternatives --install calls
// (literal assignments and for loops followed; nothing run).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseAlternativeInstalls } from '../../src/debian/effects/alternatives-parse.js';

const parse = (lines: string[]) => parseAlternativeInstalls(lines.join('\n'), 'pkg');
const summary = (lines: string[]) => {
  const r = parse(lines);
  return {
    skipped: r.skipped,
    regs: r.registrations.map((x) => [x.link, x.name, x.target, x.priority, ...x.slaves.map((s) => s.link)]),
  };
};

describe('parseAlternativeInstalls', () => {
  it("follows openjdk's loop: literal variables, a tool list, per-tool slaves from quoted assignments", () => {
    const r = summary([
      '#!/bin/sh',
      'set -e',
      'priority=1711',
      'basedir=/usr/lib/jvm/java-17-openjdk-amd64',
      'mandir=$basedir/man',
      'srcext=1.gz',
      "jdk_hl_tools='jar javac'",
      'case "$1" in',
      'configure)',
      '    if [ -z "$2" ]; then update_alternatives=y; fi',
      '    for i in $jre_tools; do update-alternatives --install /usr/bin/$i $i /x 1; done',
      '    if [ "$DPKG_MAINTSCRIPT_ARCH" != $(dpkg --print-architecture) ]; then',
      '\tpriority=$(expr $priority - 1)',
      '    fi',
      '    for i in $jdk_hl_tools; do',
      '\tunset slave1 slave2 || true',
      '        if [ -e $mandir/man1/$i.$srcext ]; then',
      '\t    slave1="--slave \\',
      '\t\t/usr/share/man/man1/$i.$srcext \\',
      '                $i.$srcext \\',
      '                $mandir/man1/$i.$srcext"',
      '\tfi',
      '        update-alternatives \\',
      '            --install \\',
      '            /usr/bin/$i \\',
      '            $i \\',
      '            $basedir/bin/$i \\',
      '            $priority \\',
      '\t    $slave1 $slave2',
      '    done',
      '    ;;',
      'esac',
    ]);
    const jvm = '/usr/lib/jvm/java-17-openjdk-amd64';
    assert.deepEqual(r.regs, [
      ['/usr/bin/jar', 'jar', `${jvm}/bin/jar`, 1711, '/usr/share/man/man1/jar.1.gz'],
      ['/usr/bin/javac', 'javac', `${jvm}/bin/javac`, 1711, '/usr/share/man/man1/javac.1.gz'],
    ]);
    assert.equal(
      r.skipped,
      0,
      '$jre_tools is never assigned: empty, as in the shell; that loop runs no call',
    );
  });

  // biome-ignore-start lint/suspicious/noTemplateCurlyInString: shell text, not templates
  it("follows php's loop over literal words with ${var} (braces) inside words", () => {
    const r = summary([
      'if [ "$1" = "configure" ]; then',
      '    for binary in php phar phar.phar; do',
      '        update-alternatives \\',
      '\t    --install /usr/bin/${binary} ${binary} /usr/bin/${binary}8.2 82 \\',
      '\t    --slave /usr/share/man/man1/${binary}.1.gz ${binary}.1.gz /usr/share/man/man1/${binary}8.2.1.gz',
      '    done',
      'fi',
    ]);
    assert.deepEqual(
      r.regs.map((x) => x.slice(0, 4)),
      [
        ['/usr/bin/php', 'php', '/usr/bin/php8.2', 82],
        ['/usr/bin/phar', 'phar', '/usr/bin/phar8.2', 82],
        ['/usr/bin/phar.phar', 'phar.phar', '/usr/bin/phar.phar8.2', 82],
      ],
    );
    assert.equal(r.skipped, 0);
  });

  // biome-ignore-end lint/suspicious/noTemplateCurlyInString: shell text, not templates

  it('skips, and counts, what it cannot know: positional parameters, command output, unknown variables, while loops', () => {
    const r = summary([
      '. /usr/share/debconf/confmodule # may assign anything: unassigned variables are unknown',
      'update-alternatives --install /usr/bin/a a "$1" 10',
      'update-alternatives --install /usr/bin/b b $(command -v b) 10',
      'update-alternatives --install /usr/bin/c c $UNSET/c 10',
      'computed=$(ls /x)',
      'update-alternatives --install /usr/bin/d d $computed 10',
      'while read x; do update-alternatives --install /usr/bin/$x $x /x 1; done < list',
      'update-alternatives --install /usr/bin/e e /usr/bin/e.real notanumber',
      'update-alternatives --install relative f /usr/bin/f.real 10',
      "update-alternatives --install /usr/bin/g g '/usr/bin/g.real' 5 # a comment; update-alternatives --install",
      'update-alternatives --install /usr/bin/h h /usr/bin/h.real 5 --slave /usr/share/man/man1/h.1.gz h.1.gz /m.gz || true',
    ]);
    assert.deepEqual(r.regs, [
      ['/usr/bin/g', 'g', '/usr/bin/g.real', 5],
      ['/usr/bin/h', 'h', '/usr/bin/h.real', 5, '/usr/share/man/man1/h.1.gz'],
    ]);
    assert.equal(r.skipped, 7);
  });

  it("follows shell functions called with literal arguments: procps' check_alternatives ($1, $2, $3)", () => {
    const r = summary([
      'check_alternatives() {',
      '  BINNAME="$1"',
      '  BINPATH="$2"',
      '  MANSEC="$3"',
      '  if [ -e "$BINPATH"/"$BINNAME".procps ] ; then',
      '\tupdate-alternatives --install "$BINPATH"/"$BINNAME" "$BINNAME" \\',
      '\t    "$BINPATH"/"$BINNAME".procps 50 \\',
      '\t\t--slave /usr/share/man/man"$MANSEC"/"$BINNAME"."$MANSEC".gz "$BINNAME"."$MANSEC".gz \\',
      '\t\t/usr/share/man/man"$MANSEC"/"$BINNAME".procps."$MANSEC".gz',
      '  fi',
      '}',
      'case "$1" in',
      '  configure)',
      '    check_alternatives "uptime" "/usr/bin" "1"',
      '    check_alternatives "ps" "/bin" "1"',
      '    ;;',
      'esac',
    ]);
    assert.deepEqual(r, {
      skipped: 0,
      regs: [
        ['/usr/bin/uptime', 'uptime', '/usr/bin/uptime.procps', 50, '/usr/share/man/man1/uptime.1.gz'],
        ['/bin/ps', 'ps', '/bin/ps.procps', 50, '/usr/share/man/man1/ps.1.gz'],
      ],
    });
  });

  // biome-ignore-start lint/suspicious/noTemplateCurlyInString: shell text, not templates
  it('runs a function once per call; unknown arguments, shift, one-line and never-called functions', () => {
    const r = summary([
      'one() { update-alternatives --install /usr/bin/$1 $1 /opt/$1 ${2}; }',
      'two()',
      '{',
      '  name=$1',
      '  shift',
      '  update-alternatives --install /usr/bin/$name $name /opt/$1 1',
      '}',
      'unused() {',
      '  update-alternatives --install /usr/bin/u u /opt/u 1',
      '}',
      'loop() { loop; }',
      'in_sysroot () {',
      '  if [ -z "${DPKG_ROOT:-}" ]; then "$@"; else chroot "${DPKG_ROOT}" "$@"; fi',
      '}',
      'in_sysroot update-alternatives --install /usr/bin/w w /opt/w 2',
      'one a 3',
      'one "$@"',
      'two b c',
      'loop',
      'update-alternatives --install /usr/bin/top top "$1" 1',
    ]);
    assert.deepEqual(r.regs, [
      ['/usr/bin/w', 'w', '/opt/w', 2],
      ['/usr/bin/a', 'a', '/opt/a', 3],
      ['/usr/bin/b', 'b', '/opt/c', 1],
      ['/usr/bin/u', 'u', '/opt/u', 1],
    ]);
    assert.equal(r.skipped, 2, 'one "$@" and the script\'s own $1');
  });
  // biome-ignore-end lint/suspicious/noTemplateCurlyInString: shell text, not templates

  it('takes a variable the script never assigns (and sources nothing) as empty, as the shell does', () => {
    const r = summary([
      'update-alternatives --install $DPKG_ROOT/usr/bin/k k $DPKG_ROOT/opt/k 1',
      'later=/x',
    ]);
    assert.deepEqual(r.regs, [['/usr/bin/k', 'k', '/opt/k', 1]]);
    const assignedLater = summary(['update-alternatives --install /usr/bin/k k $later/k 1', 'later=/x']);
    assert.deepEqual(assignedLater, { skipped: 1, regs: [] }, 'assigned after the call: unknown there');
  });

  it('keeps quoting: a quoted variable is one word, an unquoted one splits; single quotes do not expand', () => {
    const r = summary([
      'dir="/opt/my tool"',
      'update-alternatives --install /usr/bin/t t "$dir/bin/t" 3',
      "update-alternatives --install /usr/bin/u u '/opt/$dir/u' 3",
      'update-alternatives --install /usr/bin/v v $dir/v 3',
    ]);
    assert.deepEqual(r.regs, [
      ['/usr/bin/t', 't', '/opt/my tool/bin/t', 3],
      ['/usr/bin/u', 'u', '/opt/$dir/u', 3],
    ]);
    assert.equal(r.skipped, 1, 'the unquoted $dir splits into two words: not the call shape');
  });

  it('does not expand a variable doubled past 64 KiB (an 872-byte postinst took 3.5 GB)', () => {
    const lines = ['a=xxxxxxxxxxxxxxxx', ...Array.from({ length: 40 }, () => 'a=$a$a')];
    for (let i = 0; i < 16; i++) lines.push(`update-alternatives --install /usr/bin/x${i} x${i} /opt/$a 1`);
    const r = parse(lines);
    assert.deepEqual(r.registrations, []);
    assert.equal(r.skipped, 16);
  });

  it('nests loops and bounds the work of hostile scripts', () => {
    const r = summary([
      'for a in x y; do for b in 1 2; do update-alternatives --install /usr/bin/$a$b $a$b /opt/$a/$b 1; done; done',
    ]);
    assert.deepEqual(
      r.regs.map((x) => x[0]),
      ['/usr/bin/x1', '/usr/bin/x2', '/usr/bin/y1', '/usr/bin/y2'],
    );
    const words = Array.from({ length: 200 }, (_, i) => `w${i}`).join(' ');
    const big = parse([
      `list='${words}'`,
      'for a in $list; do for b in $list; do for c in $list; do',
      '  update-alternatives --install /usr/bin/$a$b$c n /x 1',
      'done; done; done',
    ]);
    assert.ok(big.registrations.length <= 10_000, `${big.registrations.length} registrations`);
  });
});
