// Runs the CLI's `main(argv)` for bin/imprint and sets the process's exit code from it.
//
// Node exits when nothing is left for its event loop to wait on, even while a promise is pending: a
// stream that stalls (a consumer that stops reading while its producer waits for it, with no timer or
// I/O in flight) would end the process with exit code 0 and nothing written, which a script or CI job
// takes for success. When the process exits before `main` has settled, this reports an internal error
// and exits 70 (EX_SOFTWARE) instead.
import { writeSync } from 'node:fs';

/** The exit code of a command that stopped before it finished: EX_SOFTWARE, as sysexits.h has it. */
export const EXIT_STALLED = 70;

/** Calls `cli.main(argv)`; its result becomes process.exitCode (see above for a main that never settles). */
export function runMain(cli, argv) {
  let settled = false;
  const onExit = () => {
    if (settled) return;
    writeSync(
      2,
      'imprint: internal error: the command stopped before it finished (its work stalled, with nothing ' +
        'left to wait for); nothing it was writing was completed. Please report this with the command ' +
        'and the spec.\n',
    );
    // --json promises one document on stdout, also on failure.
    if (argv.includes('--json'))
      writeSync(
        1,
        `${JSON.stringify({ schemaVersion: 1, error: { code: 'INTERNAL', message: 'the command stopped before it finished' } }, null, 2)}\n`,
      );
    process.exitCode = EXIT_STALLED;
  };
  process.once('exit', onExit);
  return Promise.resolve()
    .then(() => cli.main(argv))
    .then(
      (code) => {
        settled = true;
        process.exitCode = code;
      },
      (err) => {
        settled = true;
        writeSync(2, `imprint: internal error: ${err?.stack ? err.stack : String(err)}\n`);
        if (argv.includes('--json'))
          writeSync(
            1,
            `${JSON.stringify({ schemaVersion: 1, error: { code: 'INTERNAL', message: String(err?.message ?? err) } }, null, 2)}\n`,
          );
        process.exitCode = 1;
      },
    );
}
