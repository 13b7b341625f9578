import { Command, CommanderError, Option } from '@commander-js/extra-typings';
import { ImprintError } from '../errors.js';
import { buildCommand } from './build.js';
import { withCacheHint } from './cache.js';
import { copyCommand } from './copy.js';
import { diffCommand } from './diff.js';
import { inspectCommand } from './inspect.js';
import { lockCommand } from './lock.js';
import {
  EXIT_OK,
  EXIT_USAGE,
  jsonError,
  processTerminal,
  reportError,
  type Terminal,
  writeJson,
} from './output.js';
import { verifyCommand } from './verify.js';
import { VERSION } from './version.js';

/** Runs the CLI with `argv` (without node and script); resolves to the exit code. Never calls process.exit. */
export async function main(
  argv: string[],
  terminal: Terminal = processTerminal(process.env),
): Promise<number> {
  const program = new Command('imprint')
    .description('Build bit-for-bit reproducible OCI images, and prove it.')
    .version(VERSION, '--version')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => terminal.out.write(s),
      writeErr: (s) => terminal.err.write(s),
    })
    .showHelpAfterError('(run with --help for usage)')
    // Each command's --help lists --cache-dir too, which every command accepts after its name.
    .configureHelp({ showGlobalOptions: true });
  program.addOption(
    new Option(
      '--cache-dir <dir>',
      'content store and caches (default: $IMPRINT_CACHE_DIR, $XDG_CACHE_HOME/imprint or ~/.cache/imprint)',
    ),
  );

  let exit = EXIT_OK;
  /** The command's failure document, when it runs with --json. */
  let failure: JsonFailure | undefined;
  const run: Runner =
    (fn) =>
    async (...args: unknown[]) => {
      const cmd = args[args.length - 1] as Command;
      const mine: JsonFailure = { fields: {}, stdoutTaken: false };
      if ((cmd.opts() as { json?: boolean }).json === true) failure = mine;
      exit = await fn(cmd, mine);
    };
  buildCommand(program, terminal, run);
  copyCommand(program, terminal, run);
  inspectCommand(program, terminal, run);
  diffCommand(program, terminal, run);
  lockCommand(program, terminal, run);
  verifyCommand(program, terminal, run);

  if (argv.length === 0) {
    // No command: the help, on stderr, as a usage error.
    terminal.err.write(program.helpInformation());
    return EXIT_USAGE;
  }
  if (argv[0] === 'help' && argv[1] !== undefined && !program.commands.some((c) => c.name() === argv[1])) {
    terminal.err.write(`error: unknown command '${argv[1]}'\n(run with --help for usage)\n`);
    return EXIT_USAGE;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exit;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (
        err.code === 'commander.helpDisplayed' ||
        err.code === 'commander.version' ||
        err.code === 'commander.help'
      )
        return EXIT_OK;
      // A usage error of a command given --json: the document says so too (commander printed the message).
      const name = argv.find((a) => program.commands.some((c) => c.name() === a));
      const command = program.commands.find((c) => c.name() === name);
      if (argv.includes('--json') && command?.options.some((o) => o.long === '--json'))
        writeJson(terminal, { error: { code: 'USAGE', message: err.message.replace(/^error: /, '') } });
      return EXIT_USAGE;
    }
    const reported = withCacheHint(err, (program.opts() as { cacheDir?: string }).cacheDir);
    const code = reportError(terminal, reported);
    if (failure !== undefined && !failure.stdoutTaken)
      writeJson(terminal, { ...failure.fields, error: jsonError(reported) });
    return code;
  }
}

/**
 * What a command run with `--json` prints when it fails: one document of `fields` (those it knew, e.g.
 * verify's reference and `verified: false`) and `error`; none when its stdout carries an archive.
 */
export interface JsonFailure {
  fields: Record<string, unknown>;
  stdoutTaken: boolean;
}

/** Wraps a command's action (which receives its Command) so that its exit code is recorded. */
export type Runner = (
  fn: (cmd: Command, failure: JsonFailure) => Promise<number>,
) => (...args: unknown[]) => Promise<void>;

/** A usage error (exit 2) with a hint. */
export function usage(message: string, hint?: string): ImprintError {
  return new ImprintError('USAGE', message, hint ? { hint } : {});
}

/**
 * Loads (evaluates the top level of) the modules `imprint build` loads on demand, running nothing
 * else: bin/load-bundle.mjs calls it before it takes a V8 code cache of the bundle, so the cache holds
 * their compiled code too, which every build then loads instead of compiling (~20 ms on Node 20).
 */
export async function primeCodeCache(): Promise<void> {
  const [, , , , spec] = await Promise.all([
    import('../attest/attest-build.js'),
    import('../build/build.js'),
    import('../lock/io.js'),
    import('../oci/select.js'),
    import('../spec/index.js'),
    import('../transport/index.js'),
  ]);
  // Every build parses and checks a spec first: parsing one here compiles the YAML parser's and the
  // schema's code into the cache too (~10 ms of a build's start-up on Node 20).
  spec.parseSpec(PRIME_SPEC, 'imprint.yaml');
}

/** A spec with a value in most fields, parsed by primeCodeCache. */
const PRIME_SPEC = `version: 1
platforms: [linux/amd64, linux/arm64]
sources:
  - suites: [bookworm, bookworm-updates]
    components: [main]
packages:
  - python3
  - {name: tzdata, dependencies: false}
files:
  - source: app/
    target: /app/
    mode: "0755"
accounts:
  users:
    - {name: app, uid: 1000, home: /home/app}
  groups:
    - {name: app, gid: 1000}
user: app
workdir: /app
env: {A: "1"}
entrypoint: [/usr/bin/python3, /app/hello.py]
cmd: [--help]
labels: {org.opencontainers.image.title: x}
`;
