import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** True when `cmd args` exits 0. */
export function succeeds(cmd: string, args: string[]): Promise<boolean> {
  return run(cmd, args).then(
    () => true,
    () => false,
  );
}

/** True when gcc can link a static binary here (gcc and libc6-dev's libc.a; .ci/run installs both). */
export function canCompileStatic(work: string): Promise<boolean> {
  return succeeds('sh', [
    '-c',
    `printf 'int main(void){return 0;}' | gcc -static -x c -o ${join(work, 'probe')} -`,
  ]);
}

/** Compiles C source to a static binary at `out` (the source is written beside it as `out.c`). */
export async function compileStatic(source: string, out: string): Promise<void> {
  await writeFile(`${out}.c`, source);
  await run('gcc', ['-static', '-O1', '-o', out, `${out}.c`]);
}
