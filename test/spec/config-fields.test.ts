// exposedPorts, volumes and stopSignal: Dockerfile's EXPOSE, VOLUME and STOPSIGNAL, checked when the
// spec is read and merged with a base image's config as a Dockerfile's instructions would be.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { containerConfig } from '../../src/build/container.js';
import { isImprintError } from '../../src/errors.js';
import { expandPort, normalizeSignal } from '../../src/spec/config-fields.js';
import { parseSpec, type SpecIssue } from '../../src/spec/index.js';

const FILE = '/specs/imprint.yaml';

function issuesOf(text: string): SpecIssue[] {
  try {
    parseSpec(text, FILE);
  } catch (err) {
    assert.ok(isImprintError(err, 'SPEC_INVALID'), String(err));
    return err.details.issues as SpecIssue[];
  }
  return assert.fail('expected SPEC_INVALID');
}

describe('spec: exposedPorts, volumes, stopSignal', () => {
  it('reads ports as Docker records them: one entry a port, tcp by default, sorted, no duplicates', () => {
    const spec = parseSpec(
      'version: 1\nexposedPorts: [8443, "53/UDP", 80/tcp, "8000-8002", 8080/tcp, 8080]\nvolumes: [/var/lib/app/, /data, /data]\nstopSignal: term\n',
      FILE,
    );
    assert.deepEqual(spec.exposedPorts, [
      '53/udp',
      '80/tcp',
      '8000/tcp',
      '8001/tcp',
      '8002/tcp',
      '8080/tcp',
      '8443/tcp',
    ]);
    assert.deepEqual(spec.volumes, ['/data', '/var/lib/app']);
    assert.equal(spec.stopSignal, 'SIGTERM');
    const plain = parseSpec('version: 1\n', FILE);
    assert.equal(plain.exposedPorts, undefined);
    assert.equal(plain.volumes, undefined);
    assert.equal(plain.stopSignal, undefined);
  });

  it('refuses bad ports, paths and signals, naming the entry and its line', () => {
    const issues = issuesOf(
      'version: 1\nexposedPorts:\n  - 8080\n  - 70000\n  - 80/http\n  - "9000-8000"\n  - "1-2000"\n  - port\nvolumes: [data]\nstopSignal: SIGFOO\n',
    );
    const byPath = new Map(issues.map((i) => [i.path, i]));
    assert.match(byPath.get('exposedPorts[1]')?.message ?? '', /port 70000 is outside 1-65535/);
    assert.equal(byPath.get('exposedPorts[1]')?.line, 4);
    assert.match(byPath.get('exposedPorts[2]')?.message ?? '', /unknown protocol http/);
    assert.match(byPath.get('exposedPorts[3]')?.message ?? '', /ends before it starts/);
    assert.match(byPath.get('exposedPorts[4]')?.message ?? '', /more than 1024 ports/);
    assert.match(byPath.get('exposedPorts[5]')?.message ?? '', /expected a port/);
    assert.ok(byPath.has('volumes[0]'), JSON.stringify(issues));
    assert.match(byPath.get('stopSignal')?.message ?? '', /unknown signal "SIGFOO"/);
    assert.equal(byPath.get('stopSignal')?.line, 10);
  });

  it('spells signals as runtimes read them', () => {
    assert.equal(normalizeSignal('SIGQUIT'), 'SIGQUIT');
    assert.equal(normalizeSignal('winch'), 'SIGWINCH');
    assert.equal(normalizeSignal('SIGRTMIN+3'), 'SIGRTMIN+3');
    assert.equal(normalizeSignal('RTMAX-2'), 'SIGRTMAX-2');
    assert.equal(normalizeSignal('15'), '15');
    for (const bad of ['0', '65', 'SIGRTMIN+31', 'KILLALL', '', 'SIG'])
      assert.equal(normalizeSignal(bad), undefined, bad);
    assert.deepEqual(expandPort(65535), { ok: true, ports: ['65535/tcp'] });
    assert.equal(expandPort('0').ok, false);
  });

  it("adds ports and volumes to the base image's, and replaces its stop signal", () => {
    const base = {
      ExposedPorts: { '80/tcp': {} },
      Volumes: { '/base': {} },
      StopSignal: 'SIGQUIT',
    } as const;
    const spec = parseSpec('version: 1\nexposedPorts: [443]\nvolumes: [/data]\nstopSignal: SIGINT\n', FILE);
    const config = containerConfig(spec, base);
    assert.deepEqual(config.ExposedPorts, { '80/tcp': {}, '443/tcp': {} });
    assert.deepEqual(config.Volumes, { '/base': {}, '/data': {} });
    assert.equal(config.StopSignal, 'SIGINT');
    const kept = containerConfig(parseSpec('version: 1\n', FILE), base);
    assert.deepEqual(kept.ExposedPorts, base.ExposedPorts);
    assert.deepEqual(kept.Volumes, base.Volumes);
    assert.equal(kept.StopSignal, 'SIGQUIT');
    const none = containerConfig(parseSpec('version: 1\n', FILE), undefined);
    assert.equal(none.ExposedPorts, undefined);
    assert.equal(none.StopSignal, undefined);
  });
});
