// The `update-alternatives --install` calls of a postinst, read as text (never run): the registrations
// a package makes, for the packages imprint's table does not list (libblas3, less, nano, netcat,
// openjdk's tools, php, ...). `script-eval.ts` follows the script's literal variables and loops.
import type { AlternativeRegistration, AlternativeSlave } from './alternatives.js';
import { literalCalls } from './script-eval.js';

/** What a postinst registers: the calls it could evaluate, and how many it could not. */
export interface ParsedAlternatives {
  registrations: AlternativeRegistration[];
  /**
   * `--install` calls not reproduced: arguments from command output, positional parameters, variables
   * never assigned a literal, globs, `while` loops, or not the shape LINK NAME PATH PRIORITY [--slave ...].
   */
  skipped: number;
}

/**
 * The `update-alternatives [--quiet|--force] --install LINK NAME PATH PRIORITY [--slave LINK NAME
 * PATH]...` calls of a maintainer script (see `literalCalls`: literal variables and loops followed,
 * every branch counted, as on a first install); a call is taken when its paths are absolute and its
 * priority an integer. Pure.
 */
export function parseAlternativeInstalls(script: string, pkg: string): ParsedAlternatives {
  // Functions are followed (procps' check_alternatives "ps" "/bin" "1"): the branches they guard with
  // `[ -e TARGET ]` need no reading, since a registration whose target is missing is dropped anyway.
  const found = literalCalls(script, (c) => /\bupdate-alternatives\b/.test(c) && /--install\b/.test(c), {
    functions: true,
  });
  const out: ParsedAlternatives = { registrations: [], skipped: found.skipped };
  for (const words of found.calls) {
    const at = words.indexOf('update-alternatives');
    const reg = at < 0 ? undefined : registration(words.slice(at + 1), pkg);
    if (reg === undefined) out.skipped++;
    else out.registrations.push(reg);
  }
  return out;
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
    if (args[i] === '||' || args[i] === 'true') break;
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
