// A Dockerfile's ENV expands $NAME (PATH=/app/bin:$PATH); the spec's env is written as is, so a value
// naming a variable is warned about, naming the spec field, instead of reaching the container as "$PATH".
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { droppedBaseNotes, envReferenceNotes } from '../../src/build/config-check.js';
import { parseSpecText } from '../../src/spec/load.js';

const FILE = '/s/imprint.yaml';
const notes = (yaml: string) =>
  envReferenceNotes({ file: FILE, ...parseSpecText(`version: 1\n${yaml}`, FILE) });

describe('envReferenceNotes', () => {
  it('names each value that refers to a variable, with its line, and the default PATH for $PATH', () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: YAML text with a shell-style reference
    const found = notes('env:\n  PATH: "/app/bin:$PATH"\n  CONF: "${HOME}/.app:${HOME:-/root}"\n');
    assert.equal(found.length, 2);
    assert.match(found[1]!, /env\.PATH/, 'in key order: CONF first');
    assert.match(
      found[0]!,
      /^\/s\/imprint\.yaml:4:\d+: env\.CONF: "\$\{HOME\}\/\.app:\$\{HOME:-\/root\}" names \$HOME, which the container gets as written: imprint expands no variables/,
    );
    const [p] = notes('env:\n  PATH: "/app/bin:$PATH"\n');
    assert.match(p!, /env\.PATH: .* names \$PATH, .*the default PATH is \/usr\/local\/sbin:/);
  });

  it('leaves values without a reference, an escaped \\$ and a lone $ alone', () => {
    assert.deepEqual(notes('env:\n  A: plain\n  B: "\\\\$HOME"\n  C: "cost: 5$"\n  D: "$1"\n'), []);
    assert.deepEqual(notes('user: root\n'), []);
  });
});

describe('droppedBaseNotes', () => {
  it("names a base's Docker-only config fields, which the OCI config leaves out", () => {
    const base = { Env: ['A=1'], Healthcheck: { Test: ['CMD', 'true'] }, OnBuild: ['RUN x'] };
    const [note] = droppedBaseNotes(base as never);
    assert.match(
      note!,
      /Healthcheck \(HEALTHCHECK\), OnBuild \(ONBUILD\), which the image's OCI config does not carry/,
    );
    assert.deepEqual(droppedBaseNotes({ Env: ['A=1'], OnBuild: [], Shell: null } as never), []);
    assert.deepEqual(droppedBaseNotes(undefined), []);
  });
});
