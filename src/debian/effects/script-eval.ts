// Maintainer scripts read as text, never run: the calls of one command (update-alternatives, adduser,
// dpkg-statoverride, ...) whose arguments are literal once the script's own literal variables are
// expanded. A small evaluator follows what such scripts do to name their arguments: literal variable
// assignments (`basedir=/usr/lib/jvm/x`, `tools='jar javac'`, `unset a`), `for VAR in WORDS; do ...
// done` loops over literal words or such variables, and shell functions called with literal arguments
// (procps' `check_alternatives "ps" "/bin" "1"`). Nothing is executed.

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
 * Variables: literal text, or null when the script computes the value at run time; `unassigned` gives
 * the value of a name the map lacks (empty, or undefined when unknown).
 */
type Vars = Map<string, string | null> & { unassigned?: (name: string) => string | undefined };

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
}
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
  options: { functions?: boolean } = {},
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
  const ctx: Run = { isCall, out, budget, functions: options.functions ? new Map() : undefined, depth: 0 };
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
    const active = branch(raw, branches, vars);
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
function branch(raw: string, branches: Branch[], vars: Vars): boolean {
  const top = branches[branches.length - 1];
  const ifm = /^if\s+(.*)$/s.exec(raw);
  if (ifm !== null) {
    const active = branches.every(runs);
    branches.push({ state: condition(ifm[1] as string, vars), inElse: false });
    return active;
  }
  const elif = /^elif\s+(.*)$/s.exec(raw);
  if (elif !== null && top !== undefined) {
    if (top.state === 'true' || top.state === 'taken') top.state = 'taken';
    else if (top.state === 'false') top.state = condition(elif[1] as string, vars);
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

/** `[ A = B ]`, `[ A != B ]` or `test A = B` (optionally after `!`) over literal words; else unknown. */
function condition(text: string, vars: Vars): Branch['state'] {
  const m = /^(!\s+)?(?:\[\s+(.*)\s+\]|test\s+(.*))$/s.exec(text.trim());
  if (m === null) return 'unknown';
  const words = expandWords((m[2] ?? m[3]) as string, vars, false);
  if (words === undefined || words.length !== 3) return 'unknown';
  const [a, op, b] = words as [string, string, string];
  if (op !== '=' && op !== '==' && op !== '!=') return 'unknown';
  const holds = ((a === b) === (op !== '!=')) !== (m[1] !== undefined);
  return holds ? 'true' : 'false';
}

/**
 * The script as simple commands: split at newlines, `;`, `&&`, `||` and `|` outside quotes (a quoted
 * string may span lines, as in `su -c "test -O x &&\n test -G x" || chown ...`; a `case` arm's `;;`
 * gives empty commands). Comments and here-document bodies are dropped. A quote still open at the end
 * of the script (an apostrophe the reading got wrong) is taken to end with the line that opened it.
 */
function splitCommands(text: string): string[] {
  const lines = text.split(/\r?\n/);
  const commands: string[] = [];
  /** Lines whose open quote ends with the line. */
  const lineQuotes = new Set<number>();
  let current = '';
  let quote: string | undefined;
  let heredoc: string | undefined;
  /** Where the open quote started: its line, and the state before that line. */
  let opened: { line: number; commands: number; current: string } | undefined;
  for (let n = 0; n <= lines.length; n++) {
    if (n === lines.length) {
      if (quote === undefined || opened === undefined) break;
      // Start again at the line that opened the quote, ending that quote with its line.
      lineQuotes.add(opened.line);
      n = opened.line;
      commands.length = opened.commands;
      current = opened.current;
      quote = undefined;
      heredoc = undefined;
      opened = undefined;
    }
    const line = lines[n] as string;
    if (heredoc !== undefined) {
      if (line.replace(/^\t+/, '') === heredoc) heredoc = undefined;
      continue;
    }
    const before = { line: n, commands: commands.length, current };
    const wasOpen = quote !== undefined;
    for (let i = 0; i < line.length; i++) {
      const c = line[i] as string;
      if (quote !== undefined) {
        if (c === quote) quote = undefined;
        else if (c === '\\' && quote === '"') {
          current += c + (line[i + 1] ?? '');
          i++;
          continue;
        }
        current += c;
        continue;
      }
      if (c === "'" || c === '"') quote = c;
      else if (c === '#' && (current === '' || /\s$/.test(current))) break;
      else if (c === '<' && line[i + 1] === '<' && line[i + 2] !== '<') {
        const m = /^<<-?\s*(['"]?)([A-Za-z_][A-Za-z0-9_]*)\1/.exec(line.slice(i));
        if (m !== null) heredoc = m[2];
      } else if (c === ';' || c === '|' || (c === '&' && line[i + 1] === '&')) {
        commands.push(current.trim());
        current = '';
        if (line[i + 1] === c) i++;
        continue;
      }
      current += c;
    }
    if (quote !== undefined && !lineQuotes.has(n)) {
      if (!wasOpen) opened = before;
      current += '\n';
      continue;
    }
    quote = undefined;
    opened = undefined;
    commands.push(current.trim());
    current = '';
  }
  commands.push(current.trim());
  return commands.filter((c) => c !== '');
}

/** The command without leading `then`, `else`, `do`, `{`, `!` and the like: what runs in that branch. */
function withoutKeywords(command: string): string {
  let rest = command;
  for (;;) {
    const m = /^(then|else|do|\{|\(|!)\s+(.*)$/s.exec(rest) ?? /^(then|else|do)$/.exec(rest);
    if (m === null) return rest;
    rest = (m[2] ?? '').trim();
  }
}

/**
 * The command without a `case` arm's pattern (`*) if apache2_switch_mpm prefork` reads as `if ...`):
 * a command cannot otherwise start with `WORD)`.
 */
function withoutCasePattern(command: string): string {
  const m =
    /^\(?(?:[^\s()'"|;&<>]+|'[^']*'|"[^"]*")(?:\s*\|\s*(?:[^\s()'"|;&<>]+|'[^']*'|"[^"]*"))*\)\s*(.*)$/s.exec(
      command,
    );
  return m === null ? command : (m[1] as string);
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

/** `command` without redirections that discard output or join descriptors (`>/dev/null`, `2>&1`, `>&2`). */
/**
 * A command whose name is a variable holding a literal program (stunnel4's `CHOWN="/bin/chown"`, then
 * `$CHOWN -R ...`) with the name written out, so the readers see the call; other commands as they are.
 */
function commandThroughVariable(command: string, vars: Vars): string {
  const m = /^\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?(?=\s|$)/.exec(command);
  const value = m === null ? undefined : vars.get(m[1] as string);
  return typeof value === 'string' && /^[A-Za-z0-9_./+-]+$/.test(value)
    ? value + command.slice((m as RegExpExecArray)[0].length)
    : command;
}

function withoutRedirections(command: string): string {
  return command.replace(/(^|\s)[0-9]?>>?\s*(?:\/dev\/null|&[0-9])(?=\s|$)/g, '$1');
}

/**
 * The words `text` expands to: unquoted words, 'single-quoted' text, "double-quoted" text with $VAR
 * and ${VAR} expanded, unquoted $VAR and ${VAR} expanded and split at whitespace when `split` (an
 * assignment's value is not split). Undefined when anything would need running the shell: command
 * substitution, an unknown or computed variable, positional or special parameters, ${VAR:-...} forms,
 * globs, ~, redirections, subshells. Pure.
 */
function expandWords(text: string, vars: Vars, split: boolean): string[] | undefined {
  const words: string[] = [];
  let word: string | undefined;
  const add = (piece: string) => {
    word = (word ?? '') + piece;
  };
  const end = () => {
    if (word !== undefined) words.push(word);
    word = undefined;
  };
  const n = text.length;
  for (let i = 0; i < n; ) {
    const c = text[i] as string;
    if (/\s/.test(c)) {
      end();
      i++;
    } else if (c === "'") {
      const close = text.indexOf("'", i + 1);
      if (close < 0) return undefined;
      add(text.slice(i + 1, close));
      i = close + 1;
    } else if (c === '"') {
      let j = i + 1;
      let inner = '';
      for (; j < n && text[j] !== '"'; j++) {
        const d = text[j] as string;
        if (d === '`' || d === '\\') return undefined;
        if (d === '$') {
          const v = variable(text, j, vars);
          if (v === undefined) return undefined;
          inner += v.value;
          j = v.end - 1;
        } else inner += d;
      }
      if (j >= n) return undefined;
      add(inner);
      i = j + 1;
    } else if (c === '$') {
      const v = variable(text, i, vars);
      if (v === undefined) return undefined;
      if (!split) add(v.value);
      else {
        // Field splitting: the value's words join the current word at its edges.
        const parts = v.value.split(/\s+/);
        const leading = /^\s/.test(v.value);
        const trailing = /\s$/.test(v.value);
        const fields = parts.filter((p) => p !== '');
        if (leading) end();
        fields.forEach((f, k) => {
          if (k > 0) end();
          add(f);
        });
        if (trailing) end();
      }
      i = v.end;
    } else if (/[`*?[\]~{}<>|\\()&;]/.test(c)) {
      return undefined;
    } else {
      add(c);
      i++;
    }
  }
  end();
  return words;
}

/** `$NAME` or `${NAME}` at `at`: its literal value and where it ends; undefined when not known. */
function variable(text: string, at: number, vars: Vars): { value: string; end: number } | undefined {
  const m = /^\$(?:([A-Za-z_][A-Za-z0-9_]*|[0-9])|\{([A-Za-z_][A-Za-z0-9_]*|[0-9]+)\})/.exec(text.slice(at));
  if (m === null) return undefined;
  const name = (m[1] ?? m[2]) as string;
  // A positional parameter is known inside a function called with literal arguments; `$0` never.
  const positional = /^[0-9]+$/.test(name);
  if (positional && (!vars.has('#') || name === '0')) return undefined;
  const value = vars.has(name) ? vars.get(name) : positional ? '' : vars.unassigned?.(name);
  return typeof value === 'string' ? { value, end: at + m[0].length } : undefined;
}
