import type { ContainerConfig } from '../oci/types.js';
import type { Spec } from '../spec/index.js';
import { DEFAULT_PATH, envList } from './image.js';

/**
 * The image's runtime config: the spec's fields over the base image's (when there is one). Env merges
 * by name (the spec wins), labels merge by key; `user`, `workdir`, `entrypoint` and `cmd` replace the
 * base's. As in a Dockerfile, setting `entrypoint` without `cmd` clears the base's Cmd. Ports, volumes
 * and the stop signal are the base's. PATH defaults to the usual one when neither sets it. Pure.
 */
export function containerConfig(spec: Spec, base: ContainerConfig | undefined): ContainerConfig {
  const env: Record<string, string> = {};
  for (const entry of base?.Env ?? []) {
    const eq = entry.indexOf('=');
    if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  Object.assign(env, spec.env);
  if (env.PATH === undefined) env.PATH = DEFAULT_PATH;
  const cmd = spec.cmd ?? (spec.entrypoint !== undefined ? undefined : base?.Cmd);
  const labels = { ...base?.Labels, ...spec.labels };
  return {
    User: spec.user ?? base?.User,
    Env: envList(env),
    Entrypoint: spec.entrypoint ?? base?.Entrypoint,
    Cmd: cmd,
    WorkingDir: spec.workdir ?? base?.WorkingDir,
    Labels: labels,
    ExposedPorts: base?.ExposedPorts,
    Volumes: base?.Volumes,
    StopSignal: base?.StopSignal,
  };
}
