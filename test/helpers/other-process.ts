// Another process with a temporary-file owner tag of its own (src/store/temp-owner.ts), for tests of
// what imprint does with the temporary files of a writer that still runs or was killed.
import { spawn } from 'node:child_process';

const OWNER = new URL('../../src/store/temp-owner.ts', import.meta.url).href;
const TSX = import.meta.resolve('tsx');

/** Starts a process that prints its owner tag and lives until `stop` kills it (SIGKILL). */
export async function otherProcess(): Promise<{ tag: string; stop: () => Promise<void> }> {
  const script = `
    const { ownerTag } = await import(${JSON.stringify(OWNER)});
    console.log(ownerTag());
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ['--import', TSX, '--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const tag = await new Promise<string>((resolve) =>
    child.stdout.once('data', (d: Buffer) => resolve(d.toString().trim())),
  );
  const stop = async (): Promise<void> => {
    const ended = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await ended;
  };
  return { tag, stop };
}
