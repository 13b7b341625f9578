// Top-level keys a Dockerfile user writes for instructions the spec names otherwise (EXPOSE is
// exposedPorts) or has no field for (HEALTHCHECK, RUN, ...): the nearest valid key would mislead
// ("expose: did you mean epoch?").

/** What to write instead of each Dockerfile instruction, by its lowercase spellings. */
const INSTEAD: ReadonlyArray<readonly [readonly string[], string]> = [
  [
    ['expose', 'exposedports', 'exposed_ports', 'exposed-ports', 'ports'],
    'EXPOSE is exposedPorts: [8080, 53/udp]',
  ],
  [['volume', 'volumes'], 'VOLUME is volumes: [/data]'],
  [['stopsignal', 'stop_signal', 'stop-signal'], 'STOPSIGNAL is stopSignal: SIGQUIT'],
  [
    ['healthcheck', 'health'],
    "an OCI image config has no health check (HEALTHCHECK is Docker's): give it when the container runs (--health-cmd) or as the orchestrator's probe",
  ],
  [['shell'], 'entrypoint and cmd are exec-form lists, run without a shell (no SHELL)'],
  [
    ['run'],
    'imprint runs no commands in the image (no RUN): list packages, and files for what a command would write',
  ],
  [['from'], 'the image to build on is base: (e.g. base: debian:bookworm)'],
  [['copy', 'add'], 'files are copied with files: (source, target)'],
  [['arg', 'args', 'buildargs'], 'a spec has no build arguments (ARG): write the values out'],
  [['onbuild'], 'imprint has no ONBUILD triggers'],
  [['maintainer'], 'set the label org.opencontainers.image.authors under labels'],
];

/** What to write instead of a top-level key naming a Dockerfile instruction the spec lacks, if it is one. */
export function dockerfileKeyHint(key: string): string | undefined {
  const lower = key.toLowerCase();
  return INSTEAD.find(([names]) => names.includes(lower))?.[1];
}
