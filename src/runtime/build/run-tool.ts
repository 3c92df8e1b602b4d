import { spawn } from 'node:child_process';
import { dirname } from 'node:path';
import { createInterface } from 'node:readline';
import { INHERITED_ENV } from '../replica-env.ts';
import type { BuildLogWriter } from './build-log.ts';
import type { Jail } from './jail.ts';

/** A build step that failed: its message is the tool's own last lines. */
export class BuildError extends Error {}

/** Girder's variables that configure the build tools (the machine's package indexes, proxies, certificates). */
const TOOL_ENV = /^(PIP_|UV_|NPM_CONFIG_|npm_config_|PYTHON|HTTPS?_PROXY$|NO_PROXY$|https?_proxy$|no_proxy$|PYENV)/;

/**
 * The environment of a build tool: what replicas inherit, plus the variables that configure pip
 * and npm (a machine's own index and proxy settings), never Girder's keys; Girder's Node first on
 * PATH so that `npm` runs on it.
 *
 * @example
 *   toolEnv({ PATH: '/usr/bin', PIP_INDEX_URL: 'file:///opt/pypi/simple', GIRDER_API_KEY: 'k' })
 *   // → { PATH: '<node bin>:/usr/bin', PIP_INDEX_URL: 'file:///opt/pypi/simple' }
 */
export function toolEnv(parent: NodeJS.ProcessEnv = process.env, extra: Record<string, string> = {}) {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(parent))
    if (v !== undefined && (INHERITED_ENV.includes(k) || TOOL_ENV.test(k))) env[k] = v;
  env.PATH = `${dirname(process.execPath)}:${env.PATH ?? '/usr/bin:/bin'}`;
  return { ...env, ...extra };
}

/**
 * Runs one build tool, its output streamed line by line into the build log. Resolves when it exits
 * 0; rejects with a `BuildError` holding what it printed last otherwise (pip's and npm's errors are
 * at the end of their output).
 *
 * @example
 *   await runTool(log, 'python3', ['-m', 'venv', dir], { env: toolEnv() });
 */
export async function runTool(
  log: BuildLogWriter,
  command: string,
  args: string[],
  opts: { env: Record<string, string>; cwd?: string; shown?: string; jail?: Jail },
): Promise<void> {
  log.write('girder', `$ ${opts.shown ?? [command, ...args].join(' ')}`);
  log.tail = [];
  const plan = opts.jail ? await opts.jail.plan(command, args, opts) : { command, args, cwd: opts.cwd, env: opts.env };
  return new Promise((resolve, reject) => {
    const child = spawn(plan.command, plan.args, {
      env: plan.env,
      cwd: plan.cwd,
      uid: 'uid' in plan ? plan.uid : undefined,
      gid: 'gid' in plan ? plan.gid : undefined,
      stdio: ['ignore', 'pipe', 'pipe'],
      // a group of its own: stopping a build must reach pip's and npm's children too, and, in the
      // sandbox, everything under bwrap, which a kill of bwrap alone would leave running
      detached: true,
    });
    const stop = () => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    };
    if (log.signal?.aborted) stop();
    log.signal?.addEventListener('abort', stop, { once: true });
    child.on('close', () => log.signal?.removeEventListener('abort', stop));
    createInterface({ input: child.stdout }).on('line', (l) => log.write('stdout', l));
    createInterface({ input: child.stderr }).on('line', (l) => log.write('stderr', l));
    child.on('error', (err) =>
      reject(
        new BuildError(
          log.signal?.aborted ? 'Girder stopped during the build.' : `could not run ${command}: ${err.message}`,
        ),
      ),
    );
    child.on('close', (code, signal) => {
      if (code === 0) return resolve();
      if (log.signal?.aborted) return reject(new BuildError('Girder stopped during the build.'));
      const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      const printed = log.tail.filter((l) => l.trim()).slice(-15);
      // pip and npm say what went wrong on their error lines: those alone, when there are some.
      const errors = printed.filter((l) => /^(ERROR|error|npm (ERR!|error))\b/.test(l));
      const said = errors.length ? errors : printed;
      reject(new BuildError([`${opts.shown ?? command} ${how}${said.length ? ':' : '.'}`, ...said].join('\n')));
    });
  });
}
