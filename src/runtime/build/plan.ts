import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { BuildError, toolEnv } from './run-tool.ts';
import { type Interpreter, interpreterFor, needsVenv, pythonEnvHash } from './python-env.ts';
import { nodeEnvHash } from './node-env.ts';
import { dataKey } from './external-data.ts';
import type { EnvCache } from './env-cache.ts';
import type { BuildSpec } from './spec.ts';

/** A spec with its cache keys: what to build, where it goes, and whether it is there already. */
export interface BuildPlan {
  spec: BuildSpec;
  python: { interp: Interpreter; hash: string; dir: string; ready: boolean } | { missing: string } | null;
  node: { hash: string; dir: string; ready: boolean } | null;
  data: { key: string; dir: string; ready: boolean }[];
}

/** Whether every part of the plan is cached: a push of it builds nothing. */
export function allReady(p: BuildPlan): boolean {
  if (p.python && !('ready' in p.python && p.python.ready)) return false;
  if (p.node && !p.node.ready) return false;
  return p.data.every((d) => d.ready);
}

/**
 * Resolves a spec against this machine and the cache: the interpreter and the hash of the
 * virtualenv, the hash of the node environment, the cache key of each external file, and which of
 * them are built already. Cheap when cached (an interpreter is asked once per process). With
 * `forOthers` (replicas run unsandboxed as users of their own), only interpreters they may run.
 *
 * @example
 *   const plan = await planBuild(dir, spec, envs);
 *   allReady(plan); // → true on a second push of the same requirements
 */
export async function planBuild(dir: string, spec: BuildSpec, envs: EnvCache, forOthers = false): Promise<BuildPlan> {
  let python: BuildPlan['python'] = null;
  const py = spec.python;
  if (py && (await needsVenv(py.version, py.requirements, spec.buildCommands, forOthers))) {
    const interp = await interpreterFor(py.version, forOthers);
    if (typeof interp === 'string') python = { missing: interp };
    else {
      const hash = pythonEnvHash(interp, py.requirements, spec.buildCommands);
      python = { interp, hash, dir: envs.dir('python', hash), ready: await envs.ready('python', hash) };
    }
  }
  let node: BuildPlan['node'] = null;
  if (spec.node) {
    const hash = await nodeEnvHash(dir, spec.node, spec.buildCommands);
    node = { hash, dir: envs.dir('node', hash), ready: await envs.ready('node', hash) };
  }
  const data = await Promise.all(
    spec.externalData.map(async (f) => {
      const key = dataKey(f.url);
      return { key, dir: envs.dir('data', key), ready: await envs.ready('data', key) };
    }),
  );
  return { spec, python, node, data };
}

/** `[project] dependencies` of a pyproject.toml, read by Girder's python3 (tomllib, Python 3.11+). */
export function readPyproject(text: string): Promise<string[]> {
  const code =
    'import json,sys,tomllib;d=tomllib.loads(sys.stdin.read());print(json.dumps(d.get("project",{}).get("dependencies",[])))';
  return new Promise((resolve, reject) => {
    const child = execFile('python3', ['-c', code], { env: toolEnv(), timeout: 15_000 }, (err, stdout, stderr) => {
      if (err) return reject(new BuildError(`pyproject.toml could not be read: ${stderr.trim() || err.message}`));
      try {
        const deps = JSON.parse(stdout) as unknown;
        if (!Array.isArray(deps) || deps.some((d) => typeof d !== 'string')) throw new Error('not a list of strings');
        resolve(deps as string[]);
      } catch (e) {
        reject(new BuildError(`pyproject.toml: [project] dependencies ${(e as Error).message}`));
      }
    });
    child.stdin?.end(text);
  });
}

/** The data dir of a snapshot, where external files go. */
export const dataDirOf = (snapshot: string, dataDir: string): string => join(snapshot, dataDir);
