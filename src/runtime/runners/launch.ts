import { fileURLToPath } from 'node:url';
import { detectModel, type RunnerKind } from '../../control/packaging/detect.ts';
import type { DeploymentBuild } from '../../records/control.ts';
import type { ModelConfig } from '../../records/model-config.ts';
import { RUNNER_PATHS } from '../protocol.ts';

/** How to start one replica of a deployment and where its endpoints are. */
export interface LaunchSpec {
  runner: RunnerKind;
  command: string;
  args: string[];
  cwd: string;
  /** Extra environment on top of the replica protocol's. */
  env: Record<string, string>;
  /** Fixed port (a custom server that ignores $PORT), or null: Girder picks one. */
  fixedPort: number | null;
  livenessPath: string;
  readinessPath: string;
  predictPath: string;
  /** The model file the runner loads (node and python). */
  modelClassFilename: string | null;
  /** Put first on the replica's PATH: the `bin` of its virtualenv. */
  binDir?: string;
  /** Built environments (under the data dir) the replica's sandbox shows read-only. */
  envDirs?: string[];
}

/**
 * What a deployment's built environments add to its launch: the virtualenv's python as the
 * interpreter and its `bin` first on PATH (custom servers' `python` too), and the node environment
 * whose node_modules the node runner resolves packages from (`GIRDER_NODE_MODULES`).
 */
function withEnvs(spec: LaunchSpec, build: DeploymentBuild | null | undefined): LaunchSpec {
  const envs = build?.status === 'BUILT' ? build.envs : {};
  const out: LaunchSpec = { ...spec, env: { ...spec.env }, envDirs: [] };
  if (envs.python) {
    out.binDir = `${envs.python}/bin`;
    out.env.VIRTUAL_ENV = envs.python;
    out.envDirs!.push(envs.python);
    if (spec.runner === 'python') out.command = `${envs.python}/bin/python`;
  }
  if (envs.node) {
    out.env.GIRDER_NODE_MODULES = `${envs.node}/node_modules`;
    out.envDirs!.push(envs.node);
  }
  return out;
}

const NODE_SERVER = fileURLToPath(new URL('./node/server.ts', import.meta.url));
const PYTHON_SERVER = fileURLToPath(new URL('./python/server.py', import.meta.url));

/**
 * The command and endpoints of a deployment's replicas: a custom server's own command and paths,
 * or one of Girder's runners (which one, `detectModel` says). Returns an error message when the
 * directory holds no model.
 *
 * @example
 *   launchSpec('/data/snapshots/ab12cd', config)
 *   // → { runner: 'python', command: 'python3', args: ['-u', '.../python/server.py'], ... }
 */
export function launchSpec(
  dir: string,
  config: Pick<ModelConfig, 'docker_server' | 'model_module_dir' | 'model_class_filename'>,
  build?: DeploymentBuild | null,
): LaunchSpec | string {
  const spec = baseSpec(dir, config);
  return typeof spec === 'string' ? spec : withEnvs(spec, build);
}

function baseSpec(
  dir: string,
  config: Pick<ModelConfig, 'docker_server' | 'model_module_dir' | 'model_class_filename'>,
): LaunchSpec | string {
  const entry = detectModel(dir, config);
  if (typeof entry === 'string') return entry;
  const docker = config.docker_server;
  if (docker) {
    const usesPort = /\$\{?PORT\b/.test(docker.start_command);
    return {
      runner: 'custom',
      command: '/bin/sh',
      args: ['-c', docker.start_command],
      cwd: dir,
      env: {},
      fixedPort: usesPort ? null : docker.server_port,
      livenessPath: docker.liveness_endpoint,
      readinessPath: docker.readiness_endpoint,
      predictPath: docker.predict_endpoint,
      modelClassFilename: null,
    };
  }
  const common = { cwd: dir, env: {}, fixedPort: null, ...RUNNER_PATHS, modelClassFilename: entry.modelClassFilename };
  if (entry.runner === 'node') {
    return {
      runner: 'node',
      command: process.execPath,
      args: ['--disable-warning=ExperimentalWarning', NODE_SERVER],
      ...common,
    };
  }
  return { runner: 'python', command: 'python3', args: ['-u', PYTHON_SERVER], ...common };
}
