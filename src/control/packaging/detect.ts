import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { ModelConfig } from '../../records/model-config.ts';

/** Which runner serves a model directory. */
export type RunnerKind = 'node' | 'python' | 'custom';

export interface ModelEntry {
  runner: RunnerKind;
  /** The model file the runner loads, relative to `model_module_dir` (null for a custom server). */
  modelClassFilename: string | null;
}

const NODE_FILES = ['model.ts', 'model.mts', 'model.js', 'model.mjs'];

/** Model file names that the node runner loads; anything else goes to the python runner. */
const isNodeFile = (f: string): boolean => /\.(ts|mts|js|mjs)$/.test(f);

/**
 * What a model directory holds: `docker_server` means a custom server; otherwise
 * `model_class_filename` (or the first of model.py, model.ts, model.js… found in the module dir)
 * decides between the python and node runners. Returns an error message when no model is found,
 * so that a push is refused before anything is deployed.
 *
 * @example
 *   detectModel('/data/snapshots/ab12cd', { docker_server: null, model_module_dir: 'model', model_class_filename: null })
 *   // → { runner: 'python', modelClassFilename: 'model.py' }
 */
export function detectModel(
  dir: string,
  config: Pick<ModelConfig, 'docker_server' | 'model_module_dir' | 'model_class_filename'>,
): ModelEntry | string {
  if (config.docker_server) return { runner: 'custom', modelClassFilename: null };
  const moduleDir = join(dir, config.model_module_dir);
  const file = config.model_class_filename ?? ['model.py', ...NODE_FILES].find((f) => existsSync(join(moduleDir, f)));
  if (!file || !existsSync(join(moduleDir, file))) {
    const m = config.model_module_dir;
    return `No model file found: expected ${m}/model.py (python), ${m}/model.ts or model.js (node), or docker_server in config.yaml.`;
  }
  return { runner: isNodeFile(file) ? 'node' : 'python', modelClassFilename: file };
}
