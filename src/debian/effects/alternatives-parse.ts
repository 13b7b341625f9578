// The `update-alternatives --install` calls of a postinst, read as text (never run): the registrations
// a package makes, for the packages imprint's table does not list (libblas3, less, nano, netcat, ...).
import type { AlternativeRegistration, AlternativeSlave } from './alternatives.js';

/** What a postinst registers: the calls with literal arguments, and how many were not literal. */
export interface ParsedAlternatives {
  registrations: AlternativeRegistration[];
  /** Calls whose arguments use shell expansion ($var, `cmd`, globs): not reproduced. */
  skipped: number;
}

/**
 * The `update-alternatives [--quiet|--force] --install LINK NAME PATH PRIORITY [--slave LINK NAME
 * PATH]...` calls of a maintainer script, with line continuations joined. A call is taken only when
 * every argument is literal (plain words or quoted strings without expansion), its paths absolute and
 * its priority an integer; others are counted in `skipped`. Pure.
 */
export function parseAlternativeInstalls(script: string, pkg: string): ParsedAlternatives {
  const registrations: AlternativeRegistration[] = [];
  let skipped = 0;
  const text = script.replace(/\\\r?\n/g, ' ');
  for (const line of text.split(/\r?\n/)) {
    for (const command of line.split(/;|&&|\|\|/)) {
      const words = shellWords(command);
      const at = words?.indexOf('update-alternatives') ?? -1;
      if (words === undefined) {
        if (/\bupdate-alternatives\b[^\n]*--install\b/.test(command)) skipped++;
        continue;
      }
      if (at < 0 || !words.includes('--install')) continue;
      const reg = registration(words.slice(at + 1), pkg);
      if (reg === undefined) skipped++;
      else registrations.push(reg);
    }
  }
  return { registrations, skipped };
}

function registration(args: string[], pkg: string): AlternativeRegistration | undefined {
  let i = 0;
  while (args[i] === '--quiet' || args[i] === '--force' || args[i] === '--verbose') i++;
  if (args[i] !== '--install') return undefined;
  const [link, name, target, priorityText] = args.slice(i + 1, i + 5);
  if (link === undefined || name === undefined || target === undefined || priorityText === undefined)
    return undefined;
  if (!/^-?[0-9]+$/.test(priorityText) || !isPath(link) || !isPath(target) || !isName(name)) return undefined;
  const slaves: AlternativeSlave[] = [];
  for (i += 5; i < args.length; i += 4) {
    if (args[i] !== '--slave') return undefined;
    const [sLink, sName, sTarget] = args.slice(i + 1, i + 4);
    if (sLink === undefined || sName === undefined || sTarget === undefined) return undefined;
    if (!isPath(sLink) || !isPath(sTarget) || !isName(sName)) return undefined;
    slaves.push({ name: sName, link: sLink, target: sTarget });
  }
  return { package: pkg, name, link, target, priority: Number(priorityText), slaves };
}

const isPath = (p: string): boolean => p.startsWith('/') && !p.includes('\0') && !/(^|\/)\.\.(\/|$)/.test(p);
const isName = (n: string): boolean => /^[A-Za-z0-9_.+@-]+$/.test(n);

/**
 * The words of one simple shell command when every one is literal: unquoted words without $ ` * ? [
 * ~ { } < > |, 'single-quoted' text, "double-quoted" text without $ ` \. Undefined when any word
 * would expand. Pure.
 */
function shellWords(command: string): string[] | undefined {
  const words: string[] = [];
  let i = 0;
  const n = command.length;
  while (i < n) {
    while (i < n && /\s/.test(command[i] as string)) i++;
    if (i >= n || command[i] === '#') break;
    let word = '';
    while (i < n && !/\s/.test(command[i] as string)) {
      const c = command[i] as string;
      if (c === "'") {
        const end = command.indexOf("'", i + 1);
        if (end < 0) return undefined;
        word += command.slice(i + 1, end);
        i = end + 1;
      } else if (c === '"') {
        const end = command.indexOf('"', i + 1);
        if (end < 0) return undefined;
        const inner = command.slice(i + 1, end);
        if (/[$`\\]/.test(inner)) return undefined;
        word += inner;
        i = end + 1;
      } else if (/[$`*?[\]~{}<>|\\()]/.test(c)) {
        return undefined;
      } else {
        word += c;
        i++;
      }
    }
    words.push(word);
  }
  return words;
}
