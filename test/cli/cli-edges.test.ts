// CLI edges a first-time user meets: the default spec argument, and a cache directory that cannot be
// one. Each must work or fail with a clear message and a non-zero exit (never exit 0 having done nothing).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertOk, ROOT, runImprint } from '../helpers/cli.js';

describe('CLI edges', async () => {
  const work = await mkdtemp(join(tmpdir(), 'imprint-cli-edges-'));
  const spec = join(work, 'spec');
  before(async () => {
    await mkdir(spec);
    await writeFile(join(spec, 'a.txt'), 'hi\n');
    await writeFile(join(spec, 'imprint.yaml'), 'version: 1\nfiles: [{source: a.txt, target: /a.txt}]\n');
  });
  after(() => rm(work, { recursive: true, force: true }));

  it('build without a spec argument uses the current directory', async () => {
    const r = assertOk(
      await runImprint(['--cache-dir', join(work, 'cache'), 'build', '-o', `oci:${join(work, 'out')}`], {
        cwd: spec,
      }),
      'imprint build',
    );
    assert.match(r.stderr + r.stdout, /wrote oci:/);
    const index = JSON.parse(await readFile(join(work, 'out', 'index.json'), 'utf8'));
    assert.ok(index.manifests.length >= 1);
  });

  it("refuses a source that holds the --provenance-out file (the image would hold the previous build's provenance)", async () => {
    const dir = join(work, 'prov-in-source');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'a.txt'), 'hi\n');
    await writeFile(join(dir, 'imprint.yaml'), 'version: 1\nfiles: [{source: ./, target: /app/}]\n');
    const r = await runImprint([
      ...['--cache-dir', join(work, 'cache'), 'build', dir, '-o', `oci:${join(work, 'prov-out')}`],
      ...['--provenance-out', join(dir, 'meta', 'prov.json')],
    ]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /files\[0\]\.source: includes .*\/meta\/prov\.json, --provenance-out /);
  });

  it("a base image that cannot be read is named with the spec's file, line and field; its path resolved from the spec's directory", async () => {
    const dir = join(work, 'missing-base');
    await mkdir(dir, { recursive: true });
    const build = async (base: string, platform = 'linux/amd64') => {
      await writeFile(join(dir, 'imprint.yaml'), `version: 1\nplatforms: [${platform}]\nbase: ${base}\n`);
      await rm(join(dir, 'imprint.lock'), { force: true });
      // Run from elsewhere: a relative base path is the spec directory's, not the current one's.
      return runImprint(['--cache-dir', join(work, 'cache'), 'build', dir], { cwd: work });
    };
    const layout = await build('oci:nowhere:v1');
    assert.equal(layout.code, 1, layout.stderr);
    assert.match(layout.stderr, /imprint\.yaml:3:7: base: base image oci:nowhere:v1: OCI layout /);
    assert.ok(layout.stderr.includes(join(dir, 'nowhere')), layout.stderr);
    assert.doesNotMatch(layout.stderr, /current directory/);
    const archive = await build('oci-archive:nowhere.tar');
    assert.equal(archive.code, 1, archive.stderr);
    assert.match(archive.stderr, /imprint\.yaml:3:7: base: base image oci-archive:nowhere\.tar: /);
    const platform = await build(`oci:${join(work, 'out')}:latest`, 'linux/s390x');
    assert.equal(platform.code, 1, platform.stderr);
    assert.match(platform.stderr, /imprint\.yaml:3:7: base: base image oci:.* has no linux\/s390x image/);
  });

  it('inspect by tag lists the referrers (provenance, SBOM) of the tagged image', async () => {
    const inspect = async (ref: string) =>
      JSON.parse(assertOk(await runImprint(['inspect', ref, '--json']), `inspect ${ref}`).stdout) as {
        images: Array<{ manifest: { digest: string } }>;
        referrers: Array<{ subject: string; artifactType: string }>;
      };
    const tagged = await inspect(`oci:${join(work, 'out')}:latest`);
    assert.equal((tagged as unknown as { schemaVersion: number }).schemaVersion, 1);
    const whole = await inspect(`oci:${join(work, 'out')}`);
    const manifest = tagged.images[0]!.manifest.digest;
    const index = (tagged as unknown as { roots: Array<{ digest: string }> }).roots[0]!.digest;
    assert.deepEqual(
      tagged.referrers.map((r) => [r.artifactType, r.subject]).sort(),
      [
        ['application/spdx+json', manifest],
        ['application/vnd.in-toto+json', manifest],
        ['application/vnd.in-toto+json', index],
      ].sort(),
    );
    assert.deepEqual(tagged.referrers, whole.referrers);
  });

  it('user[:group] must be in the /etc/passwd and /etc/group the build makes: a name the image lacks is refused, naming the field', async () => {
    const dir = join(work, 'users');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'a.txt'), 'hi\n');
    const build = async (lines: string[]) => {
      await writeFile(
        join(dir, 'imprint.yaml'),
        ['version: 1', 'files: [{source: a.txt, target: /a.txt}]', ...lines, ''].join('\n'),
      );
      return runImprint([
        '--cache-dir',
        join(work, 'cache'),
        'build',
        dir,
        '-o',
        `oci:${join(work, 'users-out')}`,
      ]);
    };
    const none = await build(['user: nobody']);
    assert.equal(none.code, 1, none.stderr);
    assert.match(
      none.stderr,
      /imprint\.yaml:3:7: user: "nobody" is not in the image's \/etc\/passwd \(the image has none\)/,
    );
    assert.match(none.stderr, /base-passwd/);
    const accounts = ['accounts:', '  users: [{name: app, uid: 1000}]'];
    const typo = await build([...accounts, 'user: appp']);
    assert.equal(typo.code, 1, typo.stderr);
    assert.match(typo.stderr, /user: "appp" is not in the image's \/etc\/passwd; did you mean "app"\?/);
    // With accounts, imprint writes root and nobody too; numeric users need no entry.
    for (const user of ['app', 'nobody', 'root', 'app:app', 'app:1000', '1000:app', 'nobody:nogroup'])
      assertOk(await build([...accounts, `user: "${user}"`]), `user ${user}`);
    assertOk(await build(['user: "1000:1000"']), 'numeric user');
    // user:group: the group part is looked up in /etc/group as the runtime will.
    const group = await build([...accounts, 'user: "app:appp"']);
    assert.equal(group.code, 1, group.stderr);
    assert.match(group.stderr, /user: group "appp" is not in the image's \/etc\/group; did you mean "app"\?/);
    assert.match(group.stderr, /accounts\.groups/);
    const noGroups = await build(['user: "1000:staff"']);
    assert.equal(noGroups.code, 1, noGroups.stderr);
    assert.match(noGroups.stderr, /group "staff" is not in the image's \/etc\/group \(the image has none\)/);
  });

  it('runs as a uid with no passwd entry and no HOME (docker run --user 12345), and says how to name a cache', {
    skip: (process.getuid?.() !== 0 || !existsSync('/usr/bin/setpriv')) && 'needs root and setpriv',
  }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'imprint-nouser-'));
    try {
      await chmod(dir, 0o777);
      await writeFile(join(dir, 'a.txt'), 'hi\n');
      await writeFile(join(dir, 'imprint.yaml'), 'version: 1\nfiles: [{source: a.txt, target: /a.txt}]\n');
      const as = (...env: string[]) => ({
        wrapper: [
          'setpriv',
          '--reuid',
          '12345',
          '--regid',
          '12345',
          '--clear-groups',
          'env',
          '-u',
          'HOME',
          ...env,
        ],
        env: { SOURCE_DATE_EPOCH: '0' },
      });
      const unset = ['-u', 'IMPRINT_CACHE_DIR', '-u', 'XDG_CACHE_HOME'];
      const out = `oci:${join(dir, 'out')}`;
      assertOk(
        await runImprint(['build', dir, '-o', out], as(...unset, `IMPRINT_CACHE_DIR=${join(dir, 'c')}`)),
        'IMPRINT_CACHE_DIR',
      );
      assertOk(
        await runImprint(['build', dir, '-o', out], as(...unset, `XDG_CACHE_HOME=${join(dir, 'x')}`)),
        'XDG_CACHE_HOME',
      );
      const none = await runImprint(['build', dir, '-o', out], as(...unset));
      assert.equal(none.code, 1, none.stderr);
      assert.match(none.stderr, /this user has no home directory/);
      assert.match(none.stderr, /--cache-dir/);
      assert.doesNotMatch(none.stderr, /internal error| {4}at /);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("warns when the spec's git checkout cannot be read (another user's: safe.directory), instead of a silently other digest", {
    skip: process.getuid?.() !== 0 && 'needs root (to give the checkout to another user)',
  }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'imprint-foreign-git-'));
    try {
      await writeFile(join(dir, 'a.txt'), 'hi\n');
      await writeFile(join(dir, 'imprint.yaml'), 'version: 1\nfiles: [{source: a.txt, target: /a.txt}]\n');
      const git = (...args: string[]) =>
        execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@e', '-C', dir, ...args], {
          stdio: 'ignore',
        });
      git('init', '-q');
      git('add', '.');
      git('commit', '-q', '-m', 'i');
      const build = () =>
        runImprint(['--cache-dir', join(work, 'cache'), 'build', dir, '-o', `oci:${join(dir, 'out')}`], {
          env: { SOURCE_DATE_EPOCH: undefined },
        });
      const own = assertOk(await build(), 'own checkout');
      assert.doesNotMatch(own.stderr, /could not read/);
      execFileSync('chown', ['-R', '12345:12345', dir]);
      const foreign = assertOk(await build(), 'foreign checkout');
      assert.match(
        foreign.stderr,
        /git checkout \(.*\) that git could not read .*safe\.directory.*set SOURCE_DATE_EPOCH/s,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('streams an archive output into a pipe or /dev/stdout instead of replacing it with a file', async () => {
    const fifo = join(work, 'pipe');
    execFileSync('mkfifo', [fifo]);
    const chunks: Buffer[] = [];
    const reading = (async () => {
      for await (const c of createReadStream(fifo)) chunks.push(c as Buffer);
    })();
    const cache = join(work, 'cache');
    assertOk(
      await runImprint(['--cache-dir', cache, 'build', spec, '-o', `docker-archive:${fifo}`]),
      'to a pipe',
    );
    await reading;
    const tar = Buffer.concat(chunks);
    assert.ok(tar.length > 1024 && tar.includes(Buffer.from('manifest.json')), `${tar.length} bytes`);
    assert.ok(statSync(fifo).isFIFO(), 'still a pipe');

    const out = assertOk(
      await runImprint(['--cache-dir', cache, 'build', spec, '-o', 'docker-archive:/dev/stdout']),
      'to stdout',
    );
    assert.ok(out.stdout.includes('manifest.json'), 'the archive is on stdout');
    assert.doesNotMatch(out.stdout, /wrote |SOURCE_DATE_EPOCH/, 'the report is not');
    assert.match(out.stderr, /wrote docker-archive:\/dev\/stdout/);
    const json = await runImprint([
      '--cache-dir',
      cache,
      'build',
      spec,
      '--json',
      '-o',
      'oci-archive:/dev/stdout',
    ]);
    assert.equal(json.code, 2, json.stderr);
    assert.match(json.stderr, /--json and an archive written to standard output/);
  });

  it('streams an archive to a stdout pipe whose reader is slow to start (podman load) instead of failing with EAGAIN', async () => {
    const dir = join(work, 'slow-reader');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'big.bin'), randomBytes(2 << 20));
    await writeFile(join(dir, 'imprint.yaml'), 'version: 1\nfiles: [{source: big.bin, target: /big.bin}]\n');
    const tar = join(work, 'slow-reader.tar');
    // The reader takes one byte, then nothing for a second: the pipe fills while imprint writes.
    const r = await runImprint(
      ['--cache-dir', join(work, 'cache'), 'build', dir, '-o', 'docker-archive:/dev/stdout'],
      {
        pipeTo: `{ dd bs=1 count=1 2>/dev/null; sleep 1; cat; } > '${tar}'`,
      },
    );
    assert.doesNotMatch(r.stderr, /error/, r.stderr);
    const manifest = /manifest (sha256:[0-9a-f]{64})/.exec(r.stderr)?.[1];
    assert.ok(manifest, r.stderr);
    const inspected = JSON.parse(
      assertOk(await runImprint(['inspect', `docker-archive:${tar}`, '--json']), 'inspect').stdout,
    ) as { images: Array<{ manifest: { digest: string } }> };
    assert.deepEqual(
      inspected.images.map((i) => i.manifest.digest),
      [manifest],
    );
  });

  it("a docker-archive without NAME:TAG is named localhost/<spec dir>, never a Docker Hub name (a spec dir 'python' would retag docker.io/library/python at docker load)", async () => {
    const dir = join(work, 'Python');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'a.txt'), 'hi\n');
    await writeFile(join(dir, 'imprint.yaml'), 'version: 1\nfiles: [{source: a.txt, target: /a.txt}]\n');
    const tar = join(work, 'python.tar');
    const cache = ['--cache-dir', join(work, 'cache')];
    assertOk(await runImprint([...cache, 'build', dir, '-o', `docker-archive:${tar}`]), 'build');
    const member = (name: string) =>
      JSON.parse(execFileSync('tar', ['-xOf', tar, name], { encoding: 'utf8' }));
    assert.deepEqual(member('manifest.json')[0].RepoTags, ['localhost/python:latest']);
    assert.deepEqual(Object.keys(member('repositories')), ['localhost/python']);
    assert.equal(
      member('index.json').manifests[0].annotations['io.containerd.image.name'],
      'localhost/python:latest',
    );
    // A name given is kept as written.
    assertOk(await runImprint([...cache, 'build', dir, '-o', `docker-archive:${tar}:python:3`]), 'named');
    assert.deepEqual(member('manifest.json')[0].RepoTags, ['python:3']);
  });

  it('the report says which platform a docker-archive of a multi-platform build holds', async () => {
    const dir = join(work, 'two-platforms');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'a.txt'), 'hi\n');
    await writeFile(
      join(dir, 'imprint.yaml'),
      'version: 1\nplatforms: [linux/amd64, linux/arm64]\nfiles: [{source: a.txt, target: /a.txt}]\n',
    );
    const cache = ['--cache-dir', join(work, 'cache')];
    const tar = join(work, 'two.tar');
    const layout = join(work, 'two-oci');
    const arm = assertOk(
      await runImprint([
        ...cache,
        'build',
        dir,
        '-o',
        `docker-archive:${tar}`,
        '-o',
        `oci:${layout}`,
        '--platform',
        'linux/arm64',
      ]),
      'build --platform linux/arm64',
    );
    assert.match(
      arm.stdout,
      new RegExp(
        `wrote docker-archive:${tar}(:\\S+)? \\(linux/arm64 only: a docker-archive holds one platform\\)`,
      ),
    );
    assert.match(arm.stdout, new RegExp(`wrote oci:${layout}(:\\S+)?\n`), 'the layout holds both');
    const host = assertOk(await runImprint([...cache, 'build', dir, '-o', `docker-archive:${tar}`]), 'build');
    assert.match(host.stdout, /\(linux\/amd64 only: a docker-archive holds one platform\)/);
    // One platform built: nothing to say.
    const one = assertOk(
      await runImprint([...cache, 'build', spec, '-o', `docker-archive:${tar}`]),
      'one platform',
    );
    assert.match(one.stdout, /wrote docker-archive:/);
    assert.doesNotMatch(one.stdout, / only: /);
  });

  it('bad arguments are usage errors (exit 2), found before anything is built or written', async () => {
    const none = await runImprint([]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /Usage: imprint/);
    const help = await runImprint(['help', 'nosuch']);
    assert.equal(help.code, 2);
    assert.match(help.stderr, /unknown command 'nosuch'/);
    const cache = ['--cache-dir', join(work, 'cache')];
    const layout = join(work, 'args-out');
    for (const args of [
      ['-o', 'foo:/x'],
      ['-o', `oci:${layout}`, '-t', 'Bad Tag'],
      ['-o', `oci:${layout}`, '--platform', 'bogus'],
      ['-o', `docker-archive:${join(work, 'p.tar')}`, '--platform', 'linux/s390x'],
      ['-o', `oci:${layout}`, '-o', `oci-archive:${join(work, 'two.tar')}`, '-t', 'a', '-t', 'b'],
    ]) {
      const r = await runImprint([...cache, 'build', spec, ...args]);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(existsSync(layout), false, `${args.join(' ')}: nothing written`);
    }
    // The hint names the reference that holds a tag: docker-archive:FILE:TAG would name an image TAG:latest.
    for (const [transport, form] of [
      ['docker-archive', 'docker-archive:FILE:NAME:TAG'],
      ['oci-archive', 'oci-archive:FILE:TAG'],
    ]) {
      const r = await runImprint([
        ...cache,
        'build',
        spec,
        '-o',
        `${transport}:${join(work, 't.tar')}`,
        '-t',
        'a',
        '-t',
        'b',
      ]);
      assert.equal(r.code, 2, r.stderr);
      assert.ok(r.stderr.includes(`(${form})`), r.stderr);
    }
    // An archive output naming a directory fails before the first output is written.
    await mkdir(join(work, 'a-dir'), { recursive: true });
    const two = await runImprint([
      ...cache,
      'build',
      spec,
      '-o',
      `oci:${layout}`,
      '-o',
      `docker-archive:${join(work, 'a-dir')}`,
    ]);
    assert.equal(two.code, 1, two.stderr);
    assert.match(two.stderr, /a-dir is a directory, not an archive file/);
    assert.equal(existsSync(layout), false);
  });

  it('copy: --all with --platform, and a bad --src-/--dest-tls-verify, are usage errors naming the flag as given', async () => {
    const out = join(work, 'copy-args');
    const both = await runImprint([
      'copy',
      '--all',
      '--platform',
      'linux/amd64',
      `oci:${join(work, 'out')}`,
      `oci:${out}`,
    ]);
    assert.equal(both.code, 2, both.stderr);
    assert.match(both.stderr, /--all copies every platform, and --platform only one/);
    for (const flag of ['--src-tls-verify', '--dest-tls-verify', '--tls-verify']) {
      const r = await runImprint(['copy', flag, 'yes', `oci:${join(work, 'out')}`, `oci:${out}`]);
      assert.equal(r.code, 2, r.stderr);
      assert.ok(r.stderr.includes(`error: ${flag}: expected true or false, found "yes"`), r.stderr);
    }
    assert.equal(existsSync(out), false);
  });

  it('build --offline of a spec without its lock names the missing lock and says how to get one', async () => {
    const dir = join(work, 'offline-spec');
    await mkdir(dir, { recursive: true });
    // Nothing listens on port 9 of 127.0.0.1; offline, nothing may try.
    await writeFile(
      join(dir, 'imprint.yaml'),
      'version: 1\nsources: [{url: "http://127.0.0.1:9/debian", suites: [bookworm]}]\npackages: [hello]\n',
    );
    const r = await runImprint(['--cache-dir', join(work, 'offline-cache'), 'build', dir, '--offline']);
    assert.equal(r.code, 1, r.stderr);
    assert.ok(r.stderr.includes(`${join(dir, 'imprint.lock')} does not exist`), r.stderr);
    assert.match(r.stderr, /hint: Run `imprint lock`/);
    assert.equal(existsSync(join(dir, 'imprint.lock')), false);
  });

  it("each command's --help lists --cache-dir, which each command accepts after its name", async () => {
    for (const command of ['build', 'lock', 'inspect', 'diff', 'verify', 'copy']) {
      const r = assertOk(await runImprint([command, '--help']), `${command} --help`);
      assert.match(r.stdout, /--cache-dir <dir>/, `${command} --help`);
    }
  });

  it("--help shows each option's default once, never an empty list's", async () => {
    for (const command of ['build', 'lock', 'inspect', 'diff', 'verify', 'copy']) {
      const r = assertOk(await runImprint([command, '--help']), `${command} --help`);
      assert.doesNotMatch(r.stdout, /\(default: \[\]\)/, `${command} --help`);
    }
  });

  it('a repeated -t writes every tag (as docker, podman and buildah do)', async () => {
    const layout = join(work, 'tags-out');
    assertOk(
      await runImprint([
        '--cache-dir',
        join(work, 'cache'),
        'build',
        spec,
        '-o',
        `oci:${layout}`,
        '-t',
        'a',
        '-t',
        'b',
      ]),
      'build -t a -t b',
    );
    const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as {
      manifests: Array<{ digest: string; annotations?: Record<string, string> }>;
    };
    const tagged = index.manifests.filter(
      (m) => m.annotations?.['org.opencontainers.image.ref.name'] !== undefined,
    );
    assert.deepEqual(tagged.map((m) => m.annotations?.['org.opencontainers.image.ref.name']).sort(), [
      'a',
      'b',
    ]);
    assert.equal(new Set(tagged.map((m) => m.digest)).size, 1, 'one image under both tags');
  });

  it('build --json: warnings go to stderr as without it, and into the document', async () => {
    const dir = join(work, 'warns');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'run.sh'), '#!/bin/sh\necho hi\n', { mode: 0o755 });
    await writeFile(
      join(dir, 'imprint.yaml'),
      'version: 1\nfiles: [{source: run.sh, target: /run.sh, mode: "0755"}]\nentrypoint: [/run.sh]\n',
    );
    const r = assertOk(
      await runImprint(['--cache-dir', join(work, 'cache'), 'build', dir, '--json', '--no-attest']),
      'build --json',
    );
    const doc = JSON.parse(r.stdout) as { warnings: string[] };
    assert.equal(doc.warnings.length, 1, r.stdout);
    assert.match(doc.warnings[0]!, /script for #!\/bin\/sh/);
    assert.ok(r.stderr.includes(`warning: ${doc.warnings[0]}`), r.stderr);
    // verify --json: the rebuild's warnings likewise
    const v = assertOk(
      await runImprint([
        '--cache-dir',
        join(work, 'cache'),
        'build',
        dir,
        '-o',
        `oci:${join(work, 'warns-out')}`,
      ]),
      'build',
    );
    assert.match(v.stderr, /warning: .*script for #!\/bin\/sh/);
    const verified = assertOk(
      await runImprint([
        ...['--cache-dir', join(work, 'cache'), 'verify', `oci:${join(work, 'warns-out')}:latest`],
        ...['--context', dir, '--json'],
      ]),
      'verify --json',
    );
    const summary = JSON.parse(verified.stdout) as { verified: boolean; warnings: string[] };
    assert.equal(summary.verified, true);
    assert.match(verified.stderr, /warning: .*script for #!\/bin\/sh/);
  });

  it('the report names each output with the tag it was written under, its own tag when it names one', async () => {
    const layout = join(work, 'report-tags');
    const r = assertOk(
      await runImprint([
        ...['--cache-dir', join(work, 'cache'), 'build', spec, '-o', `oci:${layout}`],
        ...['-o', `oci:${layout}-own:x`, '-o', `oci-archive:${layout}.tar`, '-t', 'z', '--json'],
      ]),
      'build -t z',
    );
    assert.deepEqual(JSON.parse(r.stdout).outputs, [
      `oci:${layout}:z`,
      `oci:${layout}-own:x`,
      `oci-archive:${layout}.tar:z`,
    ]);
    const text = assertOk(
      await runImprint([
        ...['--cache-dir', join(work, 'cache'), 'build', spec],
        ...['-o', `oci:${layout}-own:x`, '-t', 'a', '-t', 'b'],
      ]),
      'build -o oci:DIR:x -t a -t b',
    );
    assert.match(text.stdout, new RegExp(`^wrote oci:${layout}-own:x$`, 'm'));
    assert.doesNotMatch(text.stdout, /\(tag /);
  });

  it('an output that fails says which, and which outputs were written before it', async () => {
    const first = join(work, 'first-out');
    const r = await runImprint([
      '--cache-dir',
      join(work, 'cache'),
      'build',
      spec,
      '-o',
      `oci:${first}`,
      '-o',
      'oci:/proc/imprint-no/out',
    ]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /writing oci:\/proc\/imprint-no\/out: /);
    assert.match(
      r.stderr,
      new RegExp(`written before it: oci:${first}:latest \\(index sha256:[0-9a-f]{64}\\)`),
    );
  });

  it('names the file source (and its line) it cannot read, a file or a directory, with a hint', {
    skip: process.getuid?.() !== 0 && 'needs root (to run as nobody)',
  }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'imprint-noread-'));
    try {
      await chmod(dir, 0o755);
      await mkdir(join(dir, 'src'));
      await writeFile(join(dir, 'src', 'secret'), 'x');
      await chmod(join(dir, 'src', 'secret'), 0o600); // root's: nobody cannot read it
      await writeFile(join(dir, 'imprint.yaml'), 'version: 1\nfiles: [{source: src/, target: /s/}]\n');
      await chmod(join(dir, 'imprint.yaml'), 0o644);
      await mkdir(join(dir, 'src', 'private'), { mode: 0o700 });
      const run = () =>
        runImprint(['build', dir, '-o', `oci:${join(dir, 'out')}`], {
          wrapper: [
            'runuser',
            '-u',
            'nobody',
            '--',
            'env',
            `IMPRINT_CACHE_DIR=${join(tmpdir(), `imprint-nobody-${process.pid}`)}`,
          ],
          script: join(ROOT, 'bin', 'imprint'),
        });
      const listing = await run();
      assert.equal(listing.code, 1, listing.stderr);
      assert.match(
        listing.stderr,
        /imprint\.yaml:2:18: files\[0\]\.source: cannot read .*\/src\/private: EACCES/,
      );
      assert.match(listing.stderr, /hint: Make it readable/);
      await rm(join(dir, 'src', 'private'), { recursive: true });
      const r = await run();
      assert.equal(r.code, 1, r.stderr);
      assert.match(
        r.stderr,
        /imprint\.yaml:2:18: files\[0\]\.source: cannot read the file for \/s\/secret: EACCES/,
      );
      assert.match(r.stderr, /hint: Make it readable/);
    } finally {
      await rm(dir, { recursive: true, force: true });
      await rm(join(tmpdir(), `imprint-nobody-${process.pid}`), { recursive: true, force: true });
    }
  });

  it('attests an image holding a 16 MiB file of zeros (its gzip layer is no decompression bomb)', async () => {
    const dir = join(work, 'zeros');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'zeros.bin'), Buffer.alloc(16 * 1024 * 1024));
    await writeFile(
      join(dir, 'imprint.yaml'),
      'version: 1\nfiles: [{source: zeros.bin, target: /zeros.bin}]\n',
    );
    assertOk(
      await runImprint(['--cache-dir', join(work, 'cache'), 'build', dir, '-o', `oci:${join(dir, 'out')}`]),
      'build',
    );
  });

  it('refuses an empty --cache-dir instead of caching in the current directory', async () => {
    const r = await runImprint(
      ['--cache-dir', '', 'build', spec, '-o', `oci:${join(work, 'empty-cache-out')}`],
      {
        cwd: work,
      },
    );
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--cache-dir is empty/);
  });

  it('lock without a spec argument uses the current directory', async () => {
    const r = await runImprint(['--cache-dir', join(work, 'cache'), 'lock', '--check'], { cwd: spec });
    // A spec without packages or base has nothing to lock: whatever lock says, it read ./imprint.yaml.
    assert.doesNotMatch(r.stderr, /internal error|paths\[0\]/);
    assert.ok(r.code === 0 || r.code === 1, r.stderr);
  });

  it("a second tag in the layout keeps the first image's attestations; copy --all and verify stay with their tag", async () => {
    const other = join(work, 'other');
    await mkdir(other, { recursive: true });
    await writeFile(join(other, 'b.txt'), 'other\n');
    await writeFile(join(other, 'imprint.yaml'), 'version: 1\nfiles: [{source: b.txt, target: /b.txt}]\n');
    const out = join(work, 'out');
    const cache = ['--cache-dir', join(work, 'cache')];
    const referrersOf = async (ref: string) =>
      (
        JSON.parse(assertOk(await runImprint(['inspect', ref, '--json']), `inspect ${ref}`).stdout) as {
          referrers: unknown[];
        }
      ).referrers.length;
    assertOk(
      await runImprint([...cache, 'build', other, '-o', `oci:${out}:other`, '--no-attest']),
      'build other',
    );
    assert.equal(
      await referrersOf(`oci:${out}:latest`),
      3,
      'the first image keeps its provenance (on manifest and index) and SBOM',
    );
    assert.equal(await referrersOf(`oci:${out}:other`), 0);
    await writeFile(join(other, 'b.txt'), 'other, changed\n'); // another image, with attestations
    assertOk(await runImprint([...cache, 'build', other, '-o', `oci:${out}:other2`]), 'build other2');
    assert.equal(await referrersOf(`oci:${out}:latest`), 3);
    assert.equal(await referrersOf(`oci:${out}:other2`), 3);

    // copy --all of a tag takes the tagged image's referrers along
    const archive = join(work, 'copied.tar');
    assertOk(
      await runImprint(['copy', '--all', `oci:${out}:latest`, `oci-archive:${archive}`]),
      'copy --all',
    );
    assert.equal(await referrersOf(`oci-archive:${archive}`), 3);
    // A docker-archive holds the image only: copy lists what it wrote and names what stayed behind.
    const loadable = assertOk(
      await runImprint([
        'copy',
        '--all',
        `oci-archive:${archive}`,
        `docker-archive:${join(work, 'd.tar')}`,
        '--json',
      ]),
      'copy --all to a docker-archive',
    );
    const copied = JSON.parse(loadable.stdout) as { manifests: string[] };
    assert.equal(copied.manifests.length, 1, loadable.stdout);
    assert.match(
      loadable.stderr,
      /note: a docker-archive holds no referrers: its 3 referrers .* were not written/,
    );
    // Without --all they stay behind, and copy says so.
    const bare = assertOk(
      await runImprint(['copy', `oci:${out}:latest`, `oci-archive:${join(work, 'bare.tar')}`]),
      'copy',
    );
    assert.match(
      bare.stderr,
      /note: its 3 referrers \(provenance, SBOM, signatures\) are not copied; pass --all/,
    );
    assert.equal(await referrersOf(`oci-archive:${join(work, 'bare.tar')}`), 0);

    // verify of the tag without provenance does not rebuild another tag's image
    const r = await runImprint([...cache, 'verify', `oci:${out}:other`, '--context', other]);
    assert.equal(r.code, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /has no provenance attached/);
    assertOk(
      await runImprint([...cache, 'verify', `oci:${out}:other2`, '--context', other]),
      'verify other2',
    );
    // Untagged, the layout holds several images: copy and verify ask which one instead of guessing.
    for (const args of [
      ['copy', `oci:${out}`, `oci:${join(work, 'which')}`],
      ['verify', `oci:${out}`, '--context', other],
    ]) {
      const r = await runImprint([...cache, ...args]);
      assert.equal(r.code, 2, `${args[0]}: ${r.stderr}`);
      assert.match(r.stderr, /holds 3 tagged images \(.*latest.*\); (copy|verify) needs one/);
    }
    // A TMPDIR it cannot use is a clear error, not an internal one (the bundle runs: tsx itself needs TMPDIR).
    await writeFile(join(work, 'tmp-is-a-file'), 'x');
    const tmp = await runImprint([...cache, 'verify', `oci:${out}:other2`, '--context', other], {
      env: { TMPDIR: join(work, 'tmp-is-a-file') },
      script: join(ROOT, 'bin', 'imprint'),
    });
    assert.equal(tmp.code, 1, tmp.stderr);
    assert.match(tmp.stderr, /cannot make a workspace for the rebuild in .*tmp-is-a-file/);
    assert.doesNotMatch(tmp.stderr, /internal error/);
  });

  it('a --cache-dir that is a regular file fails up front, naming it', async () => {
    const file = join(work, 'not-a-dir');
    await writeFile(file, 'x');
    for (const cache of [file, join(file, 'sub')]) {
      const r = await runImprint(['--cache-dir', cache, 'build', spec, '-o', `oci:${join(work, 'out2')}`]);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /cache directory .* cannot be used: .*not a directory/);
      assert.match(r.stderr, /--cache-dir/);
    }
  });
});
