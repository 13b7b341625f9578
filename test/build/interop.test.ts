import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cp, lstat, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { validateImage } from '../../src/oci/validate.js';
import { parseReference, readImageSet } from '../../src/transport/index.js';
import { assertOk, ROOT, runImprint } from '../helpers/cli.js';

const run = promisify(execFile);
const has = async (tool: string) =>
  run('sh', ['-c', `command -v ${tool}`]).then(
    () => true,
    () => false,
  );

const tools = { skopeo: await has('skopeo'), umoci: await has('umoci'), podman: await has('podman') };

describe('interop: what imprint build writes is read by skopeo, umoci and podman', () => {
  let work = '';
  let spec = '';
  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'imprint-interop-'));
    spec = join(work, 'hello');
    await cp(join(ROOT, 'examples/hello'), spec, { recursive: true });
    await rm(join(spec, 'out'), { recursive: true, force: true });
    // umoci cannot unpack a multi-platform tag, so this copy builds one platform; it also declares
    // what Dockerfile's EXPOSE, VOLUME and STOPSIGNAL would, for podman to read back.
    const text = (await readFile(join(spec, 'imprint.yaml'), 'utf8')).replace(
      /^platforms:.*$/m,
      'platforms: [linux/amd64]',
    );
    await writeFile(
      join(spec, 'imprint.yaml'),
      `${text}exposedPorts: [8080, 53/udp]\nvolumes: [/data]\nstopSignal: quit\n`,
    );
    const r = await runImprint(
      [
        '--cache-dir',
        join(work, 'cache'),
        'build',
        spec,
        '-o',
        `oci:${join(work, 'oci')}`,
        '-o',
        `oci-archive:${join(work, 'img.tar')}`,
        '-o',
        `docker-archive:${join(work, 'docker.tar')}:imprint-interop:test`,
        '--json',
      ],
      { env: { SOURCE_DATE_EPOCH: '1700000000' } },
    );
    assertOk(r, 'imprint build');
    for (const ref of [
      `oci:${join(work, 'oci')}`,
      `oci-archive:${join(work, 'img.tar')}`,
      `docker-archive:${join(work, 'docker.tar')}`,
    ]) {
      await validateImage(await readImageSet(parseReference(ref)));
    }
  });
  after(async () => {
    await rm(work, { recursive: true, force: true });
  });

  it("imprint inspect shows the config's ports, volumes and stop signal", async () => {
    const r = await runImprint(['inspect', `oci:${join(work, 'oci')}`]);
    assertOk(r, 'imprint inspect');
    assert.match(r.stdout, /^ {2}ports {7}53\/udp 8080\/tcp$/m);
    assert.match(r.stdout, /^ {2}volume {6}\/data$/m);
    assert.match(r.stdout, /^ {2}stop signal SIGQUIT$/m);
  });

  it('skopeo inspects every output and copies the layout', {
    skip: !tools.skopeo && 'skopeo is not installed',
  }, async () => {
    const a = JSON.parse((await run('skopeo', ['inspect', `oci:${join(work, 'oci')}:latest`])).stdout);
    const b = JSON.parse(
      (await run('skopeo', ['inspect', `oci-archive:${join(work, 'img.tar')}:latest`])).stdout,
    );
    const c = JSON.parse(
      (await run('skopeo', ['inspect', `docker-archive:${join(work, 'docker.tar')}`])).stdout,
    );
    assert.equal(a.Created, '2023-11-14T22:13:20Z');
    assert.deepEqual(a.Layers, b.Layers);
    assert.equal(a.Layers.length, 1);
    assert.equal(c.Architecture, 'amd64');
    assert.ok(a.Env.includes('GREETING=hello'));
    await run('skopeo', ['copy', `oci:${join(work, 'oci')}:latest`, `oci:${join(work, 'copy')}:latest`]);
    const copied = JSON.parse((await run('skopeo', ['inspect', `oci:${join(work, 'copy')}:latest`])).stdout);
    assert.deepEqual(copied.Layers, a.Layers);
  });

  it('umoci unpacks with the declared modes and owners', {
    skip: !tools.umoci && 'umoci is not installed',
  }, async () => {
    const bundle = join(work, 'bundle');
    const rootless = process.getuid?.() !== 0;
    await run('umoci', [
      'unpack',
      ...(rootless ? ['--rootless'] : []),
      '--image',
      `${join(work, 'oci')}:latest`,
      bundle,
    ]);
    const rootfs = join(bundle, 'rootfs');
    const hello = await lstat(join(rootfs, 'app/hello.sh'));
    assert.equal(hello.mode & 0o7777, 0o755);
    const motd = await lstat(join(rootfs, 'etc/motd'));
    assert.equal(motd.mode & 0o7777, 0o444);
    assert.equal((await lstat(join(rootfs, 'app/static/index.html'))).mode & 0o7777, 0o644);
    assert.equal(hello.mtimeMs, 1700000000 * 1000);
    if (!rootless) {
      assert.deepEqual([hello.uid, hello.gid], [1000, 1000]);
      assert.deepEqual([motd.uid, motd.gid], [0, 0]);
      const home = await lstat(join(rootfs, 'home/app'));
      assert.deepEqual([home.uid, home.gid], [1000, 1000]);
    }
    assert.match(
      await readFile(join(rootfs, 'etc/passwd'), 'utf8'),
      /^app:\*:1000:1000::\/home\/app:\/usr\/sbin\/nologin$/m,
    );
  });

  it('podman loads the docker-archive', { skip: !tools.podman && 'podman is not installed' }, async () => {
    const root = join(work, 'podman-root');
    const podman = [
      '--root',
      root,
      '--runroot',
      join(work, 'podman-run'),
      '--storage-driver',
      'vfs',
      '--cgroup-manager',
      'cgroupfs',
    ];
    const loaded = await run('podman', [...podman, 'load', '-i', join(work, 'docker.tar')]);
    assert.match(loaded.stdout + loaded.stderr, /imprint-interop:test/);
    const inspect = JSON.parse(
      (await run('podman', [...podman, 'image', 'inspect', 'imprint-interop:test'])).stdout,
    );
    assert.deepEqual(inspect[0].Config.Entrypoint, ['/app/hello.sh']);
    assert.equal(inspect[0].Config.User, 'app');
    assert.deepEqual(inspect[0].Config.ExposedPorts, { '53/udp': {}, '8080/tcp': {} });
    assert.deepEqual(inspect[0].Config.Volumes, { '/data': {} });
    assert.equal(inspect[0].Config.StopSignal, 'SIGQUIT');
    await run('podman', [...podman, 'rmi', '-a', '-f']).catch(() => {});
  });
});
