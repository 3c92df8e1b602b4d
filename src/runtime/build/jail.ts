/**
 * Build tools run the model author's code: a package's setup.py, npm's install scripts, the
 * `build_commands`. So they run where replicas do, in the replicas' sandbox and as the snapshot's
 * user (when Girder is root): the data dir hidden but for the snapshot (read-only) and the
 * environment being built (writable), Girder's database and keys out of reach. The network stays,
 * for the package indexes; so do the host's pip and npm configuration and the local indexes it names.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { RUNNER_PATHS } from '../protocol.ts';
import { runningAsRoot } from '../replica-users.ts';
import type { Sandbox, SpawnPlan } from '../sandbox.ts';

/** One build's way to run its tools: `plan` wraps a command; `close` gives the output back to Girder. */
export interface Jail {
  plan(command: string, args: string[], opts: { env: Record<string, string>; cwd?: string }): Promise<SpawnPlan>;
  close(): Promise<void>;
}

/**
 * A jail for one build of `snapshot` writing only `writable`.
 *
 * @example
 *   const jail = await openJail(sandbox, dataDir, deploymentId, snapshotDir, '/data/envs/python/9c1e…');
 *   await runTool(log, 'python3', ['-m', 'venv', dir], { env, jail });
 *   await jail.close();
 */
export async function openJail(
  sandbox: Sandbox,
  dataDir: string,
  buildId: string,
  snapshot: string,
  writable: string,
): Promise<Jail> {
  const id = `build-${buildId}-${process.pid}-${Date.now().toString(36)}`;
  const runDir = join(dataDir, 'run', id);
  // the sandbox gives a replica its run folder and secrets; a build has none to give
  await mkdir(join(runDir, 'secrets'), { recursive: true, mode: 0o700 });
  const host = await toolHost();
  return {
    plan: (command, args, { env, cwd }) => {
      const spec = {
        runner: 'custom' as const,
        command,
        args,
        cwd: snapshot,
        env: {},
        fixedPort: null,
        ...RUNNER_PATHS,
        modelClassFilename: null,
      };
      // npm's cache in the build's own HOME: the one `npm run` names in npm_config_cache is Girder's user's
      const own = { ...host.env, npm_config_cache: join(runDir, 'home', '.npm') };
      const launch = { deploymentId: id, spec, env: { ...env, ...own }, writable: [writable] };
      return sandbox.plan({ ...launch, workDir: cwd ?? writable, readOnly: host.readOnly });
    },
    close: async () => {
      await rm(runDir, { recursive: true, force: true });
      // built as the snapshot's user: Girder's again, so that no replica user can change it later
      if (runningAsRoot() && existsSync(writable)) await chownBack(writable);
    },
  };
}

function chownBack(dir: string): Promise<void> {
  return new Promise((resolve, reject) =>
    execFile('chown', ['-R', `${process.getuid?.()}:${process.getgid?.()}`, dir], (err) =>
      err ? reject(err) : resolve(),
    ),
  );
}

/** What the tools need of the host beyond the replicas' view, and how they find it. */
interface ToolHost {
  readOnly: string[];
  env: Record<string, string>;
}

let found: Promise<ToolHost> | undefined;

/**
 * Girder's user's pip and npm configuration files (read-only: a build's HOME is its own), and the
 * local package indexes and wheel folders they or the PIP_* variables name (a `…/simple` index with
 * its parent, where its files are). Looked up once per process.
 *
 * @example
 *   await toolHost(); // → { readOnly: ['/root/.config/pip/pip.conf', '/opt/pypi', '/opt/wheels'], env: { PIP_CONFIG_FILE: … } }
 */
export function toolHost(): Promise<ToolHost> {
  found ??= (async () => {
    const home = process.env.HOME ?? '/';
    const pip = [join(home, '.config/pip/pip.conf'), join(home, '.pip/pip.conf')].find((f) => existsSync(f));
    const npmrc = join(home, '.npmrc');
    const env: Record<string, string> = {};
    const readOnly: string[] = [];
    if (pip) {
      env.PIP_CONFIG_FILE = pip;
      readOnly.push(pip);
    }
    if (existsSync(npmrc)) {
      env.npm_config_userconfig = npmrc;
      readOnly.push(npmrc);
    }
    const texts = [
      ...Object.entries(process.env)
        .filter(([k]) => k.startsWith('PIP_'))
        .map(([, v]) => v ?? ''),
    ];
    for (const f of [pip, '/etc/pip.conf', '/etc/xdg/pip/pip.conf'])
      if (f) texts.push(await readFile(f, 'utf8').catch(() => ''));
    for (const text of texts)
      for (const m of text.matchAll(/(?:file:\/\/)?(\/[^\s'",]+)/g)) {
        const path = m[1].replace(/\/+$/, '');
        if (existsSync(path)) readOnly.push(path.endsWith('/simple') ? dirname(path) : path);
      }
    return { readOnly, env };
  })();
  return found;
}
