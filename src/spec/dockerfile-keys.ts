// Top-level keys a Dockerfile user writes for instructions the spec has no field for (EXPOSE,
// VOLUME, STOPSIGNAL, ...): the nearest valid key would mislead ("expose: did you mean epoch?").

/** What to do instead of each Dockerfile instruction the spec lacks, by its lowercase spellings. */
const INSTEAD: ReadonlyArray<readonly [readonly string[], string]> = [
  [
    ['expose', 'exposedports', 'exposed_ports', 'ports'],
    "imprint writes no exposed ports (EXPOSE only documents them): publish ports when the container runs (-p); a base image's are kept",
  ],
  [
    ['volume', 'volumes'],
    "imprint declares no volumes (VOLUME): mount them when the container runs (-v); a base image's are kept",
  ],
  [
    ['stopsignal', 'stop_signal', 'stop-signal'],
    "imprint sets no stop signal (STOPSIGNAL): give it when the container runs (--stop-signal); a base image's is kept",
  ],
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
