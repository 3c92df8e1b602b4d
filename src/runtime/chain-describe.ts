/**
 * Finding a pushed chain's graph means importing its code: that happens in a child process (the node
 * runner's describe mode), in the replicas' sandbox, under a timeout, never in Girder's own process.
 */
import { spawn } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { badRequest } from '../errors.ts';
import { newDeploymentId } from '../ids.ts';
import type { ChainGraphRecord } from '../records/chains.ts';
import type { DeploymentBuild } from '../records/control.ts';
import { ChainletSettingsSchema } from '../sdk/chains/settings.ts';
import { INHERITED_ENV } from './replica-env.ts';
import { RUNNER_PATHS } from './protocol.ts';
import type { Sandbox } from './sandbox.ts';

const DESCRIBE = fileURLToPath(new URL('./runners/node/describe.ts', import.meta.url));
const MARK = 'GIRDER_CHAIN_GRAPH ';

/**
 * The graph of the chain in `file` (relative to the snapshot `dir`): its entrypoint and every chainlet
 * it reaches, with their settings and dependencies. A file that fails to import, exports no or several
 * entrypoints, or takes longer than `timeoutMs`, is a 400 with what the child printed.
 *
 * @example
 *   const graph = await describeChain(sandbox, dataDir, snapshotDir, 'chain.ts', build);
 */
export async function describeChain(
  sandbox: Sandbox,
  dataDir: string,
  dir: string,
  file: string,
  build: DeploymentBuild | null = null,
  timeoutMs = 30_000,
): Promise<ChainGraphRecord> {
  const id = `describe-${newDeploymentId()}`;
  const env: Record<string, string> = {};
  for (const k of INHERITED_ENV) if (process.env[k] !== undefined) env[k] = process.env[k]!;
  env.GIRDER_CHAIN_FILE = join(dir, file);
  // the packages of the folder's package.json, built before (`runtime/build/`): the file imports them
  const nodeEnv = build?.status === 'BUILT' ? build.envs.node : undefined;
  if (nodeEnv) env.GIRDER_NODE_MODULES = `${nodeEnv}/node_modules`;
  const spec = {
    runner: 'node' as const,
    command: process.execPath,
    args: ['--disable-warning=ExperimentalWarning', DESCRIBE],
    cwd: dir,
    env: {},
    fixedPort: null,
    ...RUNNER_PATHS,
    modelClassFilename: file,
    envDirs: nodeEnv ? [nodeEnv] : [],
  };
  try {
    // the sandbox gives a replica its run folder and secrets; the describe step has none to give
    await mkdir(join(dataDir, 'run', id, 'secrets'), { recursive: true, mode: 0o700 });
    const plan = await sandbox.plan({ deploymentId: id, spec, env });
    const { code, stdout, stderr, timedOut } = await run(plan, timeoutMs);
    if (timedOut)
      throw badRequest(
        `Describing ${file} took longer than ${timeoutMs / 1000} s.`,
        'Importing a chain file must not do slow work: do it in load().',
      );
    const line = stdout.split('\n').find((l) => l.startsWith(MARK));
    if (code !== 0 || !line)
      throw badRequest(
        `${file} is not a chain Girder can deploy: ${stderr.trim().split('\n').slice(-8).join('\n') || `exit code ${code}`}`,
        'Export the chainlets from the file and mark one with `entrypoint: true`.',
      );
    const parsed = JSON.parse(line.slice(MARK.length)) as Omit<ChainGraphRecord, 'file'>;
    for (const c of parsed.chainlets) c.settings = ChainletSettingsSchema.parse(c.settings);
    return { file, ...parsed };
  } finally {
    await rm(join(dataDir, 'run', id), { recursive: true, force: true });
  }
}

function run(
  plan: Awaited<ReturnType<Sandbox['plan']>>,
  timeoutMs: number,
): Promise<{ code: number | null; stdout: string; stderr: string; timedOut: boolean }> {
  return new Promise((resolve) => {
    const child = spawn(plan.command, plan.args, {
      cwd: plan.cwd,
      env: plan.env,
      uid: plan.uid,
      gid: plan.gid,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (b: Buffer) => {
      if (stdout.length < 1 << 20) stdout += b;
    });
    child.stderr.on('data', (b: Buffer) => {
      if (stderr.length < 1 << 16) stderr += b;
    });
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* gone already */
      }
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ code: -1, stdout, stderr: `${stderr}${err.message}`, timedOut });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, timedOut });
    });
  });
}
