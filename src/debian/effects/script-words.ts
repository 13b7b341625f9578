// Shell text as a maintainer-script reader sees it (script-eval.ts evaluates it): the script split
// into simple commands, a command's leading keywords and case pattern, and its words expanded over the
// script's literal variables. Nothing is executed. Pure.

/**
 * Variables: literal text, or null when the script computes the value at run time; `unassigned` gives
 * the value of a name the map lacks (empty, or undefined when unknown).
 */
export type Vars = Map<string, string | null> & { unassigned?: (name: string) => string | undefined };

/**
 * The script as simple commands: split at newlines, `;`, `&&`, `||` and `|` outside quotes (a quoted
 * string may span lines, as in `su -c "test -O x &&\n test -G x" || chown ...`; a `case` arm's `;;`
 * gives empty commands). Comments and here-document bodies are dropped. A quote still open at the end
 * of the script (an apostrophe the reading got wrong) is taken to end with the line that opened it.
 */
export function splitCommands(text: string): string[] {
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
export function withoutKeywords(command: string): string {
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
export function withoutCasePattern(command: string): string {
  const m =
    /^\(?(?:[^\s()'"|;&<>]+|'[^']*'|"[^"]*")(?:\s*\|\s*(?:[^\s()'"|;&<>]+|'[^']*'|"[^"]*"))*\)\s*(.*)$/s.exec(
      command,
    );
  return m === null ? command : (m[1] as string);
}

/**
 * A command whose name is a variable holding a literal program (stunnel4's `CHOWN="/bin/chown"`, then
 * `$CHOWN -R ...`) with the name written out, so the readers see the call; other commands as they are.
 */
export function commandThroughVariable(command: string, vars: Vars): string {
  const m = /^\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?(?=\s|$)/.exec(command);
  const value = m === null ? undefined : vars.get(m[1] as string);
  return typeof value === 'string' && /^[A-Za-z0-9_./+-]+$/.test(value)
    ? value + command.slice((m as RegExpExecArray)[0].length)
    : command;
}

/** `command` without redirections that discard output or join descriptors (`>/dev/null`, `2>&1`, `>&2`). */
export function withoutRedirections(command: string): string {
  return command.replace(/(^|\s)[0-9]?>>?\s*(?:\/dev\/null|&[0-9])(?=\s|$)/g, '$1');
}

/**
 * The words `text` expands to: unquoted words, 'single-quoted' text, "double-quoted" text with $VAR
 * and ${VAR} expanded, unquoted $VAR and ${VAR} expanded and split at whitespace when `split` (an
 * assignment's value is not split). Undefined when anything would need running the shell: command
 * substitution, an unknown or computed variable, positional or special parameters, ${VAR:-...} forms,
 * globs, ~, redirections, subshells. Pure.
 */
export function expandWords(text: string, vars: Vars, split: boolean): string[] | undefined {
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
