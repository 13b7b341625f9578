// Maintainer scripts read as text, never run: the calls of one command (update-alternatives, adduser,
// dpkg-statoverride, ...) whose arguments are literal once the script's own literal variables are
// expanded. A small evaluator follows what such scripts do to name their arguments: literal variable
// assignments (`basedir=/usr/lib/jvm/x`, `tools='jar javac'`, `unset a`), `for VAR in WORDS; do ...
// done` loops over literal words or such variables, and shell functions called with literal arguments
// (procps' `check_alternatives "ps" "/bin" "1"`). Nothing is executed.

import {
  commandThroughVariable,
  expandWords,
  splitCommands,
  type Vars,
  withoutCasePattern,
  withoutKeywords,
  withoutRedirections,
} from './script-words.js';

/** The calls of a command in a script: those it could evaluate, and how many it could not. */
export interface LiteralCalls {
  /** Each call's words, the command name among them, in script order (loops unrolled). */
  calls: string[][];
  /**
   * Calls not evaluated: arguments from command output, the script's positional parameters (a
   * function's are known when its call's arguments are literal), variables never assigned a literal,
   * globs, `while` loops.
   */
  skipped: number;
}

/**
 * Bound on loop iterations and function calls over one script (a postinst's loops run over a few dozen
 * words, its functions are called a few times).
 */
const MAX_ITERATIONS = 10_000;
/** Bound on nested function calls (recursion). */
const MAX_CALL_DEPTH = 16;

/** The script's shell functions by name: body commands, and whether a call ran the body. */
type Functions = Map<string, { body: string[]; called: boolean }>;

/** What one evaluation shares across loops and function calls. */
interface Run {
  isCall: (command: string) => boolean;
  out: LiteralCalls;
  budget: { iterations: number };
  /** The functions defined so far; undefined when definitions are read as plain commands. */
  functions: Functions | undefined;
  depth: number;
  /** Decides `[ -e PATH ]`-style tests of literal absolute paths, when the caller can. */
  fileTest: FileTest | undefined;
}

/**
 * Whether `[ OP PATH ]` holds (OP one of -e -f -d -L -h -s -x -r -w), for a literal absolute path, as
 * the script would find it; undefined when the caller cannot tell (the branch then counts).
 */
export type FileTest = (op: string, path: string) => boolean | undefined;
/** Bound on a variable's value: a longer one (`x=$x$x` doubled) is unknown, not expanded. */
const MAX_VALUE = 64 * 1024;

/**
 * The calls `isCall` selects among a maintainer script's simple commands (line continuations joined;
 * e.g. `update-alternatives ... --install ...`), evaluated in order:
 * - `NAME=value` (also after `export`/`local`/`readonly`) assigns when the value is literal after
 *   expansion; a computed value (`$(...)`, backquotes) makes the variable unknown, except that a
 *   variable with a literal value keeps it (such reassignments are the upgrade and cross-architecture
 *   branches: `priority=$(expr $priority - 1)`); `unset NAME` empties it;
 * - `for VAR in WORDS; do ... done` runs its body once per word (WORDS expanded and split);
 * - with `functions`, `NAME() { ... }` (or `function NAME { ... }`) defines a function: its body runs
 *   where it is called, with `$1`... the call's arguments when they are literal (`shift` follows), else
 *   unknown; a function no command calls runs once at the end with unknown parameters (it may be
 *   called in a way not read here). Only for calls whose outcome the caller checks against the tree
 *   (alternatives: a candidate whose target is missing is dropped), since every branch counts: base-files'
 *   `install_local_dir /usr/local` would otherwise chown it root:staff, which its `[ -f ... ]` guard
 *   prevents on Debian. Without it, a function's body is read where it is written, its `$1` unknown;
 *   the script's own `$1`, `$2` are always unknown;
 * - conditions (`if`, `case`, `&&`, `||`) are not evaluated: every branch counts, as on a first install,
 *   except an `if`/`elif` comparing literal words (`[ "$d" = /etc/x ]` in a loop), which is followed;
 * - a call is taken when every word expands to literal text: `$VAR` and `${VAR}` expand (unquoted ones
 *   split into words); redirections to /dev/null or a descriptor (`>/dev/null`, `2>&1`) are dropped;
 *   anything else is skipped.
 * Pure.
 */
export function literalCalls(
  script: string,
  isCall: (command: string) => boolean,
  options: { functions?: boolean; fileTest?: FileTest } = {},
): LiteralCalls {
  const out: LiteralCalls = { calls: [], skipped: 0 };
  const commands = splitCommands(script.replace(/\\\r?\n/g, ' '));
  const budget = { iterations: MAX_ITERATIONS };
  // A variable the script never assigns is empty, as in the shell ($DPKG_ROOT on a normal install, a
  // tool list of another package's script), unless the script sources a file that may assign it.
  const sources = /^\s*(?:\.|source)\s+\S/m.test(script);
  const assigned = new Set(
    [...script.matchAll(/(?:^|[\s;])([A-Za-z_][A-Za-z0-9_]*)=/gm)].map((m) => m[1] as string),
  );
  const vars: Vars = new Map();
  vars.unassigned = (name) => (!sources && !assigned.has(name) ? '' : undefined);
  const ctx: Run = {
    isCall,
    out,
    budget,
    functions: options.functions ? new Map() : undefined,
    depth: 0,
    fileTest: options.fileTest,
  };
  run(commands, vars, ctx);
  for (const fn of ctx.functions?.values() ?? []) if (!fn.called) call(fn, undefined, vars, ctx);
  return out;
}

/** Runs `commands` (already split) with `vars`, collecting registrations into `ctx.out`. */
function run(commands: string[], vars: Vars, ctx: Run): void {
  const { isCall, out, budget } = ctx;
  const branches: Branch[] = [];
  for (let i = 0; i < commands.length; i++) {
    const raw = withoutCasePattern(commands[i] as string);
    const active = branch(raw, branches, vars, ctx.fileTest);
    const command = withoutKeywords(raw);
    const definition = ctx.functions === undefined ? undefined : functionDefinition(commands, i);
    if (definition !== undefined) {
      if (active) ctx.functions?.set(definition.name, { body: definition.body, called: false });
      i = definition.end;
      continue;
    }
    const loop = /^(for|while|until)\s+(.*)$/.exec(command);
    if (!active) {
      if (loop !== null) i = loopEnd(commands, i);
      continue;
    }
    if (loop !== null) {
      const end = loopEnd(commands, i);
      const body = commands.slice(i + 1, end);
      const words = loop[1] === 'for' ? forWords(loop[2] as string, vars) : undefined;
      if (words === undefined || words.values.length > budget.iterations)
        out.skipped += body.filter(isCall).length;
      else {
        budget.iterations -= words.values.length;
        for (const value of words.values) {
          vars.set(words.name, value);
          run(body, vars, ctx);
        }
      }
      i = end;
      continue;
    }
    const fn = ctx.functions?.get(/^\S+/.exec(command)?.[0] ?? '');
    if (fn !== undefined) {
      call(fn, expandWords(withoutRedirections(command), vars, true)?.slice(1), vars, ctx);
      // A wrapper (`in_sysroot adduser --system ...`) runs its arguments: the call is read too.
      if (!isCall(command)) continue;
    }
    if (ctx.functions !== undefined && /^shift(\s+[0-9]+)?$/.test(command)) {
      shift(vars, Number(command.slice(5).trim() || '1'));
      continue;
    }
    const assignment = /^(?:(?:export|local|readonly)\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/s.exec(command);
    if (assignment !== null) {
      const [, name, text] = assignment as unknown as [string, string, string];
      const value = expandWords(text, vars, false);
      if (value !== undefined && value.length <= 1 && (value[0] ?? '').length <= MAX_VALUE)
        vars.set(name, value[0] ?? '');
      else if (value !== undefined && (value[0] ?? '').length > MAX_VALUE) vars.set(name, null);
      else if (typeof vars.get(name) !== 'string') vars.set(name, null);
      continue;
    }
    const unset = /^unset\s+(.*)$/.exec(command);
    if (unset !== null) {
      for (const name of (unset[1] as string).split(/\s+/))
        if (/^[A-Za-z_]\w*$/.test(name)) vars.set(name, '');
      continue;
    }
    const named = commandThroughVariable(command, vars);
    if (!isCall(named)) continue;
    const words = expandWords(withoutRedirections(named), vars, true);
    if (words === undefined) out.skipped++;
    else out.calls.push(words);
  }
}

/**
 * Runs a function's body with positional parameters `args` (unknown when undefined), restoring the
 * caller's afterwards; past the depth or call budget its calls count as skipped.
 */
function call(
  fn: { body: string[]; called: boolean },
  args: string[] | undefined,
  vars: Vars,
  ctx: Run,
): void {
  fn.called = true;
  if (ctx.depth >= MAX_CALL_DEPTH || ctx.budget.iterations <= 0) {
    ctx.out.skipped += fn.body.filter(ctx.isCall).length;
    return;
  }
  ctx.budget.iterations--;
  const saved = positionals(vars);
  setPositionals(vars, args);
  ctx.depth++;
  run(fn.body, vars, ctx);
  ctx.depth--;
  setPositionals(vars, saved);
}

/** Bound on positional parameters kept (`$1`...`$99`). */
const MAX_POSITIONALS = 99;

/** The positional parameters `$1`... as set (undefined when unknown). */
function positionals(vars: Vars): string[] | undefined {
  if (!vars.has('#')) return undefined;
  const out: string[] = [];
  for (let n = 1; n <= Number(vars.get('#')); n++) out.push(vars.get(String(n)) ?? '');
  return out;
}

/** Sets `$1`...`$N` and `$#` (all unknown when `args` is undefined; unset ones beyond N are empty). */
function setPositionals(vars: Vars, args: string[] | undefined): void {
  for (const key of [...vars.keys()]) if (/^[0-9]+$/.test(key) || key === '#') vars.delete(key);
  if (args === undefined) return;
  const kept = args.slice(0, MAX_POSITIONALS);
  for (const [n, a] of kept.entries()) vars.set(String(n + 1), a);
  vars.set('#', String(kept.length));
}

/** `shift N`: drops the first N positional parameters when they are known. */
function shift(vars: Vars, n: number): void {
  const args = positionals(vars);
  if (args !== undefined) setPositionals(vars, args.slice(n));
}

/**
 * A function definition starting at `commands[start]`: `NAME() {`, `NAME()` then `{`, `function NAME
 * [()] {`, with the first body command on the same line or not; its body and the index of its `}`.
 */
function functionDefinition(
  commands: string[],
  start: number,
): { name: string; body: string[]; end: number } | undefined {
  const m =
    /^([A-Za-z_][A-Za-z0-9_-]*)\s*\(\s*\)\s*(\{.*)?$/s.exec(commands[start] as string) ??
    /^function\s+([A-Za-z_][A-Za-z0-9_-]*)\s*(?:\(\s*\))?\s*(\{.*)?$/s.exec(commands[start] as string);
  if (m === null) return undefined;
  const body: string[] = [];
  let i = start;
  let open = m[2];
  if (open === undefined) {
    if (!/^\{(\s|$)/.test(commands[start + 1] ?? '')) return undefined;
    open = commands[++i] as string;
  }
  if (!/^\{(\s|$)/.test(open)) return undefined;
  const first = open.slice(1).trim();
  let depth = 1;
  const track = (c: string): boolean => {
    if (/^\}(\s|$)/.test(c)) return --depth === 0;
    if (/^\{(\s|$)/.test(c) || /\(\s*\)\s*\{/.test(c)) depth++;
    return false;
  };
  if (first !== '') {
    if (track(first)) return { name: m[1] as string, body, end: i };
    body.push(first);
  }
  for (i++; i < commands.length; i++) {
    const c = commands[i] as string;
    if (track(c)) return { name: m[1] as string, body, end: i };
    body.push(c);
  }
  return { name: m[1] as string, body, end: commands.length };
}

/**
 * An `if` being read: its condition's value when it compares literal words (`[ "$d" = /x ]`), else
 * unknown (every branch counts); `taken` once a branch whose condition held has been read.
 */
interface Branch {
  state: 'true' | 'false' | 'unknown' | 'taken';
  inElse: boolean;
}

/**
 * Follows `if`/`elif`/`else`/`fi` at the head of `raw`, updating `branches`; true when the command
 * runs (every open branch is taken or unknown).
 */
function branch(raw: string, branches: Branch[], vars: Vars, fileTest: FileTest | undefined): boolean {
  const top = branches[branches.length - 1];
  const ifm = /^if\s+(.*)$/s.exec(raw);
  if (ifm !== null) {
    const active = branches.every(runs);
    branches.push({ state: condition(ifm[1] as string, vars, fileTest), inElse: false });
    return active;
  }
  const elif = /^elif\s+(.*)$/s.exec(raw);
  if (elif !== null && top !== undefined) {
    if (top.state === 'true' || top.state === 'taken') top.state = 'taken';
    else if (top.state === 'false') top.state = condition(elif[1] as string, vars, fileTest);
    return branches.slice(0, -1).every(runs);
  }
  if (/^else\b/.test(raw) && top !== undefined) {
    top.inElse = true;
    if (top.state === 'taken') top.state = 'true';
  }
  if (/^fi\b/.test(raw)) {
    branches.pop();
    return false;
  }
  return branches.every(runs);
}

const runs = (b: Branch): boolean =>
  b.state === 'unknown' || (b.state === 'true' && !b.inElse) || (b.state === 'false' && b.inElse);

/**
 * `[ A = B ]`, `[ A != B ]` or `test A = B` (optionally after `!`) over literal words; with `fileTest`,
 * `[ [!] -f PATH ]` and the other file tests of a literal absolute path; else unknown.
 */
function condition(text: string, vars: Vars, fileTest: FileTest | undefined): Branch['state'] {
  const m = /^(!\s+)?(?:\[\s+(.*)\s+\]|test\s+(.*))$/s.exec(text.trim().replace(/\s*;\s*then$/, ''));
  if (m === null) return 'unknown';
  const words = expandWords((m[2] ?? m[3]) as string, vars, false);
  if (words === undefined) return 'unknown';
  const test = words[0] === '!' ? words.slice(1) : words;
  if (fileTest !== undefined && test.length === 2 && /^-[efdLhsxrw]$/.test(test[0] as string)) {
    const path = test[1] as string;
    if (!path.startsWith('/') || /(^|\/)\.\.(\/|$)/.test(path)) return 'unknown';
    const found = fileTest(test[0] as string, path);
    if (found === undefined) return 'unknown';
    return (found !== (words[0] === '!')) !== (m[1] !== undefined) ? 'true' : 'false';
  }
  if (words.length !== 3) return 'unknown';
  const [a, op, b] = words as [string, string, string];
  if (op !== '=' && op !== '==' && op !== '!=') return 'unknown';
  const holds = ((a === b) === (op !== '!=')) !== (m[1] !== undefined);
  return holds ? 'true' : 'false';
}

/** The index of the `done` that closes the loop opened at `start` (or the end of the script). */
function loopEnd(commands: string[], start: number): number {
  let depth = 0;
  for (let i = start; i < commands.length; i++) {
    const c = withoutKeywords(commands[i] as string);
    if (/^(for|while|until)\s/.test(c)) depth++;
    else if (/^done\b/.test(c) && --depth === 0) return i;
  }
  return commands.length;
}

/** `VAR in WORDS` of a for loop, expanded; undefined when a word is not literal. */
function forWords(head: string, vars: Vars): { name: string; values: string[] } | undefined {
  const m = /^([A-Za-z_][A-Za-z0-9_]*)\s+in\s+(.*)$/s.exec(head.trim());
  if (m === null) return undefined;
  const values = expandWords(m[2] as string, vars, true);
  return values === undefined ? undefined : { name: m[1] as string, values };
}
