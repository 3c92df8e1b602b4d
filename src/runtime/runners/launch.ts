import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DockerServer } from '../../control/packaging/config.ts';

/** How to start one replica of a deployment and where its endpoints are. */
export interface LaunchSpec {
  runner: 'node' | 'python' | 'custom';
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
}

const NODE_SERVER = fileURLToPath(new URL('./node/server.ts', import.meta.url));
const PYTHON_SERVER = fileURLToPath(new URL('./python/server.py', import.meta.url));
const NODE_FILES = ['model.ts', 'model.mts', 'model.js', 'model.mjs'];

/** Model file names that the node runner loads; anything else goes to the python runner. */
const isNodeFile = (f: string): boolean => /\.(ts|mts|js|mjs)$/.test(f);

/**
 * Picks the runner for a deployment directory: `docker_server` means a custom server; otherwise
 * `model_class_filename` (or the first of model.py, model.ts, model.js… found in the module dir)
 * decides between the python and node runners. Returns an error message when no model is found.
 *
 * @example
 *   launchSpec('/data/deployments/abc1234', { model_module_dir: 'model', model_class_filename: null })
 *   // → { runner: 'python', command: 'python3', args: ['-u', '.../python/server.py'], ... }
 */
export function launchSpec(
  dir: string,
  config: {
    docker_server?: DockerServer | null;
    model_module_dir?: string;
    model_class_filename?: string | null;
  },
): LaunchSpec | string {
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
  const moduleDir = join(dir, config.model_module_dir ?? 'model');
  const file = config.model_class_filename ?? ['model.py', ...NODE_FILES].find((f) => existsSync(join(moduleDir, f)));
  if (!file || !existsSync(join(moduleDir, file))) {
    return `No model file found: expected ${config.model_module_dir ?? 'model'}/model.py (python), ${config.model_module_dir ?? 'model'}/model.ts or model.js (node), or docker_server in config.yaml.`;
  }
  const common = {
    cwd: dir,
    env: {},
    fixedPort: null,
    livenessPath: '/',
    readinessPath: '/v1/models/model',
    predictPath: '/v1/models/model:predict',
    modelClassFilename: file,
  };
  if (isNodeFile(file)) {
    return {
      runner: 'node',
      command: process.execPath,
      args: ['--disable-warning=ExperimentalWarning', NODE_SERVER],
      ...common,
    };
  }
  return { runner: 'python', command: 'python3', args: ['-u', PYTHON_SERVER], ...common };
}
