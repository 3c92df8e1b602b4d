import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, realpathSync, statSync } from 'node:fs';
import { chmod, writeFile } from 'node:fs/promises';
import { delimiter, dirname, join } from 'node:path';
import type { BuildLogWriter } from './build-log.ts';
import { BuildError, runTool, toolEnv } from './run-tool.ts';

/** A Python interpreter of this machine, as a virtualenv is made from it. */
export interface Interpreter {
  /** `sys.executable`: the real binary, past pyenv's or asdf's shims. */
  executable: string;
  /** `3.11.7` */
  version: string;
}

const PROBE = 'import json,sys;print(json.dumps([sys.executable,"%d.%d.%d"%sys.version_info[:3]]))';
const found = new Map<string, Promise<Interpreter | null>>();

/** Whether a user that is neither owner nor group may run `file`: every directory above it enterable. */
function othersMayRun(file: string): boolean {
  try {
    let p = realpathSync(file);
    if (!(statSync(p).mode & 0o001)) return false;
    while (p !== dirname(p)) {
      p = dirname(p);
      if (!(statSync(p).mode & 0o001)) return false;
    }
    return true;
  } catch {
    return false;
  }
}

/**
 * The first `name` on Girder's PATH that a replica can run: with `forOthers` (replicas run as
 * users of their own, unsandboxed), one they may reach, as their own PATH lookup would find it
 * (a pyenv under /root is skipped, as their exec skips it).
 */
function onPath(name: string, forOthers: boolean): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const file = join(dir, name);
    try {
      accessSync(file, constants.X_OK);
    } catch {
      continue;
    }
    if (!forOthers || othersMayRun(file)) return file;
  }
  return null;
}

/** Asks `name` (as a replica finds it) what it is; null when it is not there (or not a Python). Once per name and process. */
function probe(name: string, forOthers: boolean): Promise<Interpreter | null> {
  const key = `${name}\0${forOthers}`;
  let p = found.get(key);
  if (!p) {
    const command = onPath(name, forOthers);
    p = new Promise((resolve) => {
      if (!command) return resolve(null);
      execFile(command, ['-c', PROBE], { env: toolEnv(), timeout: 15_000 }, (err, stdout) => {
        if (err) return resolve(null);
        try {
          const [executable, version] = JSON.parse(stdout) as string[];
          resolve({ executable, version });
        } catch {
          resolve(null);
        }
      });
    });
    found.set(key, p);
  }
  return p;
}

/**
 * The interpreter a virtualenv is made with: the `python3` Girder runs (on its PATH), or, for
 * `python_version: py312`, that version: `python3` when it is 3.12, else `python3.12`. With
 * `forOthers`, only one the replicas' own users may run. A string says what is missing, for the
 * build's error.
 *
 * @example
 *   await interpreterFor(null);   // → { executable: '/usr/bin/python3.11', version: '3.11.7' }
 *   await interpreterFor('3.9');  // → 'python_version py39 needs Python 3.9: …' when it is not installed
 */
export async function interpreterFor(version: string | null, forOthers = false): Promise<Interpreter | string> {
  const python3 = await probe('python3', forOthers);
  if (version === null) return python3 ?? 'There is no python3 on the PATH of Girder (that replicas may run).';
  if (python3?.version.startsWith(`${version}.`)) return python3;
  const exact = await probe(`python${version}`, forOthers);
  if (exact?.version.startsWith(`${version}.`)) return exact;
  const have = python3 ? `python3 is ${python3.version}` : 'there is no python3 either';
  return (
    `python_version py${version.replace('.', '')} needs Python ${version}, and \`python${version}\` is not installed ` +
    `on this machine (${have}). Install Python ${version} on Girder's PATH, or change python_version.`
  );
}

/** Whether a model can run on `python3` as pushed: no requirements, no commands, its version (if any) python3's. */
export async function needsVenv(
  version: string | null,
  requirements: string[],
  commands: string[],
  forOthers = false,
): Promise<boolean> {
  if (requirements.length || commands.length) return true;
  const python3 = await probe('python3', forOthers);
  return !(version === null || python3?.version.startsWith(`${version}.`));
}

/**
 * The hash a virtualenv is cached by: the interpreter (binary and version), the requirement lines
 * and the build commands.
 *
 * @example
 *   pythonEnvHash(interp, ['six', 'attrs'], []); // → '9c1e…' (24 hex)
 */
export function pythonEnvHash(interp: Interpreter, requirements: string[], commands: string[]): string {
  return createHash('sha256')
    .update(JSON.stringify(['python', interp.executable, interp.version, requirements, commands]))
    .digest('hex')
    .slice(0, 24);
}

/**
 * Makes a virtualenv at `dir` (plain: no system site-packages, so it holds what the requirements
 * say and nothing of the host's), installs the requirements with the interpreter's own pip
 * (`pip --python`, so the venv needs no pip of its own and is made in a tenth of a second), and
 * runs the build commands with the venv first on PATH (`pip` there installs into it).
 *
 * @example
 *   await buildPythonEnv(log, interp, ['six'], [], '/data/envs/python/9c1e…');
 */
export async function buildPythonEnv(
  log: BuildLogWriter,
  interp: Interpreter,
  requirements: string[],
  commands: string[],
  dir: string,
  cwd: string,
): Promise<void> {
  const env = toolEnv();
  await runTool(log, interp.executable, ['-m', 'venv', '--without-pip', dir], { env });
  const python = join(dir, 'bin', 'python');
  // `pip` in the venv: the interpreter's pip, aimed at the venv (for build commands and the model).
  const pip = `#!/bin/sh\nexec '${interp.executable}' -m pip --python '${python}' "$@"\n`;
  for (const name of ['pip', 'pip3']) {
    await writeFile(join(dir, 'bin', name), pip);
    await chmod(join(dir, 'bin', name), 0o755);
  }
  if (requirements.length) {
    const file = join(dir, '.girder-requirements.txt');
    await writeFile(file, `${requirements.join('\n')}\n`);
    const args = ['-m', 'pip', '--python', python, 'install', '--no-input', '--progress-bar', 'off', '-r', file];
    await runTool(log, interp.executable, args, { env, shown: `pip install ${requirements.join(' ')}` }).catch(
      (err: BuildError) => {
        if (/No module named pip/.test(err.message))
          throw new BuildError(
            `${interp.executable} has no pip: install pip for it (python -m ensurepip).\n${err.message}`,
          );
        throw err;
      },
    );
  }
  const venvEnv = { ...env, VIRTUAL_ENV: dir, PATH: `${join(dir, 'bin')}:${env.PATH}` };
  for (const command of commands) await runTool(log, '/bin/sh', ['-c', command], { env: venvEnv, cwd, shown: command });
  await runTool(log, 'chmod', ['-R', 'a+rX', dir], {
    env,
    shown: 'chmod -R a+rX (replicas read it as their own users)',
  });
}
