/**
 * `girder push chain.ts`, on the server: the chain file's folder becomes one immutable snapshot, its
 * graph is described in a sandboxed child, and one chain deployment is recorded. It is atomic: every
 * chainlet deployment is started, and only when all are ready does an environment move; a chainlet
 * that cannot become ready fails the push with its name and output, and takes the new chain
 * deployment (and a chain the push created) back, so nothing that served before changes. That holds
 * for a development push too (`girder push --watch`): the last development chain deployment serves
 * until the new one is ready, and is removed only then.
 */
import { existsSync } from 'node:fs';
import { basename, join, normalize } from 'node:path';
import type { Readable } from 'node:stream';
import type { ChainEnvironments } from '../control/chain-environments.ts';
import type { ChainRegistry } from '../control/chain-registry.ts';
import type { Chains } from '../control/chains.ts';
import { chainBuildConfig } from '../control/chain-config.ts';
import { isEnvironmentName } from '../control/environments.ts';
import { newSnapshotDir, unpackTo } from '../control/packaging/bundle.ts';
import { removeUnusedSnapshot } from '../control/packaging/push.ts';
import { badRequest, GirderError } from '../errors.ts';
import type { ChainDeploymentRecord, ChainRecord } from '../records/chains.ts';
import { describeChain } from './chain-describe.ts';
import type { Builder } from './build/builder.ts';
import type { Sandbox } from './sandbox.ts';
import type { Supervisor } from './supervisor.ts';

/** What a chain push needs of Girder (a `Girder` has all of it). */
export interface ChainPushPlane {
  chainRegistry: ChainRegistry;
  chains: Chains;
  chainEnvironments: ChainEnvironments;
  supervisor: Supervisor;
  sandbox: Sandbox;
  builder: Builder;
}

export interface ChainPushOptions {
  /** The chain file, relative to the uploaded folder. */
  file: string;
  /** The chain's name; the entrypoint's name by default (as Truss Chains). */
  name?: string;
  promote?: boolean;
  environment?: string;
  development?: boolean;
  /** How long every chainlet may take to become ready; 10 minutes by default. */
  readyTimeoutMs?: number;
}

export interface ChainPushResult {
  chain: ChainRecord;
  deployment: ChainDeploymentRecord;
  /** The environment it now serves, or null (a development or unpromoted chain deployment). */
  environment: string | null;
}

/**
 * Receives an uploaded chain folder and deploys it (see the module).
 *
 * @example
 *   const { chain, deployment } = await receiveChainPush(girder, dataDir, req, { file: 'chain.ts' }, maxBytes);
 */
export async function receiveChainPush(
  plane: ChainPushPlane,
  dataDir: string,
  input: Readable,
  opts: ChainPushOptions,
  maxBytes: number,
): Promise<ChainPushResult> {
  const file = chainFile(opts.file);
  if (opts.environment !== undefined && !isEnvironmentName(opts.environment))
    throw badRequest(`Invalid environment name "${opts.environment}".`, 'Use lowercase letters, digits and hyphens.');
  const dir = await newSnapshotDir(dataDir);
  let recorded: { deployment: ChainDeploymentRecord; created: boolean } | undefined;
  try {
    await unpackTo(input, dir, maxBytes);
    if (!existsSync(join(dir, file)))
      throw badRequest(`The upload has no ${file}.`, 'Push the folder that holds the chain file.');
    // its package.json installed first, as for a model: importing the file to describe it needs them
    const build = await plane.builder.buildNow(`chain-${basename(dir)}`, dir, chainBuildConfig(file));
    const graph = await describeChain(plane.sandbox, dataDir, dir, file, build);
    const chainName = opts.name ?? graph.entrypoint;
    const { chain, created, deployment, previous } = await plane.chains.createDeployment({
      chainName,
      dir,
      graph,
      development: opts.development,
      keepPrevious: true,
      build,
    });
    recorded = { deployment, created };
    await allReady(plane, deployment, opts.readyTimeoutMs ?? 600_000);
    if (previous) {
      // the new development chain deployment is ready: only now does the last one stop serving
      await plane.chains.discard(previous);
      await removeUnusedSnapshot(plane.chainRegistry.registry, previous.dir);
    }
    let environment: string | null = null;
    let serving = deployment;
    if (!opts.development) {
      const production = plane.chainRegistry.environment(chain.id, 'production');
      environment = opts.environment ?? (opts.promote || !production?.currentDeploymentId ? 'production' : null);
      if (environment)
        serving = await plane.chainEnvironments.promote(chain.id, deployment.id, environment, { create: true });
    }
    return { chain, deployment: serving, environment };
  } catch (err) {
    if (recorded) await plane.chains.discard(recorded.deployment, { chainToo: recorded.created });
    await removeUnusedSnapshot(plane.chainRegistry.registry, dir);
    throw err;
  }
}

/** A relative path to a .ts/.mts/.js/.mjs file inside the upload, or a 400. */
function chainFile(file: string): string {
  const norm = normalize(file);
  if (!file || norm.startsWith('..') || norm.startsWith('/') || !/\.(ts|mts|js|mjs)$/.test(norm))
    throw badRequest(
      `Invalid chain file "${file}".`,
      'Name a .ts or .js file inside the pushed folder, e.g. chain.ts.',
    );
  return norm;
}

/**
 * Starts every chainlet deployment and waits until each has a ready replica; the first one that
 * cannot start fails it all, naming the chainlet and what its replica printed.
 */
async function allReady(plane: ChainPushPlane, d: ChainDeploymentRecord, timeoutMs: number): Promise<void> {
  const { registry } = plane.chainRegistry;
  const deployments = d.chainlets.map((c) => ({ name: c.name, record: registry.deployments.get(c.deploymentId)! }));
  for (const { record } of deployments) plane.supervisor.wake(record);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let waiting = 0;
    for (const { name, record } of deployments) {
      const failed = plane.supervisor.lastFailedStart(record.id);
      if (failed) {
        const output = failed.output.slice(-20).join('\n');
        throw new GirderError(
          'client_error',
          `Chainlet \`${name}\` failed to start: its replica exited (${failed.exitInfo}) before it was ready.`,
          output ? `It printed:\n${output}` : 'It printed nothing.',
          { reason: 'replica_cannot_start' },
        );
      }
      if (plane.supervisor.status(record).status !== 'ACTIVE') waiting++;
    }
    if (waiting === 0) return;
    if (Date.now() > deadline)
      throw new GirderError(
        'timeout',
        `${waiting} chainlet(s) of the chain were not ready within ${timeoutMs / 1000} s.`,
      );
    await new Promise((r) => setTimeout(r, 100));
  }
}
