import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Girder } from '../src/girder.ts';
import { tempDir } from './temp-dir.ts';
import { waitFor } from './wait.ts';

/**
 * pip reads this machine's own configuration; when a local index holds the packages the tests use,
 * it goes first and no retry waits on an index that cannot be reached (PyPI, offline).
 */
export function preferLocalIndex(): void {
  if (existsSync('/opt/pypi/simple/six')) {
    process.env.PIP_INDEX_URL ??= 'file:///opt/pypi/simple';
    process.env.PIP_RETRIES ??= '0';
  }
}

/** A model directory made of `files` (path → content) in a fresh temporary directory. */
export function modelDir(t: { after: (fn: () => void) => void }, files: Record<string, string>): string {
  const dir = join(tempDir(t, 'girder-build-model-'), 'model-dir');
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

/** A Truss model whose predict returns `expr` (Python, with `model_input` in scope), after `imports`. */
export function trussModel(config: string, imports: string, expr: string): Record<string, string> {
  return {
    'config.yaml': config,
    'model/model.py': [
      imports,
      'class Model:',
      '    def __init__(self, **kwargs):',
      '        self._data_dir = kwargs.get("data_dir")',
      '    def predict(self, model_input):',
      `        return ${expr}`,
      '',
    ].join('\n'),
  };
}

/** Waits until a deployment's build is over, and returns its status then. */
export async function builtStatus(g: Girder, deploymentId: string, timeoutMs = 120_000): Promise<string> {
  await waitFor(
    () => {
      const d = g.registry.deployments.get(deploymentId);
      return !!d && d.build?.status !== 'BUILDING';
    },
    timeoutMs,
    `the build of ${deploymentId} to end`,
  );
  return g.registry.deployments.get(deploymentId)!.build?.status ?? 'NONE';
}
