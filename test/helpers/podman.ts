import { execFile } from 'node:child_process';
import { rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Runs containers from an OCI layout with podman in storage of its own under `work` (so a test leaves
 * no state behind), with the flags that work on this machine (runc, cgroupfs, explicit ulimits, no
 * network). `run(args)` takes what follows the image reference's place: options, then `IMAGE`, where
 * the literal `IMAGE` is replaced by the layout's reference. Call `close()` when done.
 */
export async function podmanForLayout(work: string, layoutDir: string) {
  const storage = [
    '--root',
    join(work, 'podman-root'),
    '--runroot',
    join(work, 'podman-run'),
    '--storage-driver',
    'vfs',
    '--cgroup-manager',
    'cgroupfs',
  ];
  // podman takes an oci: path as an image name, which must be lowercase: reach the layout by a lowercase link.
  const link = join(tmpdir(), `imprint-run-${process.pid}-${Date.now().toString(36)}`);
  await symlink(layoutDir, link);
  const image = `oci:${link}:latest`;
  const once = (args: string[]) =>
    run('podman', [
      ...storage,
      'run',
      '--rm',
      '--runtime',
      'runc',
      '--network',
      'none',
      '--ulimit',
      'nofile=20000:20000',
      '--ulimit',
      'nproc=4096:4096',
      ...args.map((a) => (a === 'IMAGE' ? image : a)),
    ]);
  return {
    // A run that succeeded with no output at all is run once more: in one full-suite run, Debian 12's
    // podman (4.3) exited 0 with nothing on stdout or stderr for a container that prints a line
    // (packages.test.ts; not again in 16 runs, alone or beside a concurrent build). A container that
    // really prints nothing fails its test both times.
    run: async (args: string[]) => {
      const first = await once(args);
      return first.stdout === '' && first.stderr === '' ? once(args) : first;
    },
    close: async () => {
      await rm(link, { force: true });
      await run('podman', [...storage, 'rmi', '-a', '-f']).catch(() => {});
    },
  };
}
