/**
 * The chain commands: `girder chains` (list, `rm`), `girder chain-deployments CHAIN`, `girder
 * chain-environments CHAIN`, and what `promote`, `activate` and `deactivate` do when they name a chain.
 */
import type { Command } from 'commander';
import { ApiError, type Client, type CommonOpts, common, connect, run } from '../client.ts';
import { printJson, printTable, shortTime } from '../format.ts';
import { resolveChain, resolveChainDeployment } from './chains-resolve.ts';

interface ChainView {
  id: string;
  name: string;
  deployments_count: number;
  production_deployment_id: string | null;
  development_deployment_id: string | null;
}

export interface ChainDeploymentView {
  id: string;
  name: string;
  created_at: string;
  environment: string | null;
  is_development: boolean;
  status: string;
  chainlets: { id: string; name: string; status: string; active_replica_count: number }[];
}

interface ChainEnvironmentView {
  name: string;
  created_at: string;
  current_deployment: ChainDeploymentView | null;
}

/** Makes a chain deployment serve an environment, creating the environment when it has none. */
export async function promoteChain(
  client: Client,
  chainId: string,
  deployment: string,
  environment: string,
  opts: CommonOpts,
): Promise<void> {
  const dep = await resolveChainDeployment(client, chainId, deployment);
  const env = `/chains/${chainId}/environments/${encodeURIComponent(environment)}`;
  try {
    await client.api('GET', env);
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 404)) throw err;
    await client.api('POST', `/chains/${chainId}/environments`, { name: environment });
  }
  const promoted = await client.api<ChainDeploymentView>('POST', `${env}/promote`, { deployment_id: dep });
  if (opts.json) return printJson(promoted);
  // A development chain deployment (or one serving elsewhere) is promoted as a copy with a new id.
  const copy = promoted.id !== dep ? ` as a new deployment ${promoted.id} (${promoted.name})` : ` (${promoted.name})`;
  console.log(`Promoted chain deployment ${dep}${copy} to ${environment}: every chainlet moved.`);
}

/** Activates or deactivates a chain deployment with all its chainlets. */
export async function setChainActive(
  client: Client,
  chainId: string,
  deployment: string,
  action: 'activate' | 'deactivate',
  opts: CommonOpts,
): Promise<void> {
  const dep = await resolveChainDeployment(client, chainId, deployment);
  const answer = await client.api('POST', `/chains/${chainId}/deployments/${encodeURIComponent(dep)}/${action}`);
  if (opts.json) return printJson(answer);
  console.log(`${action === 'activate' ? 'Activated' : 'Deactivated'} chain deployment ${dep} and its chainlets.`);
}

const chainletsCell = (d: ChainDeploymentView) => d.chainlets.map((c) => `${c.name}:${c.status}`).join(' ');

export function registerChains(program: Command): void {
  const chains = program.command('chains').description('list and delete chains (`girder chains rm --help`)');
  common(chains.command('list', { isDefault: true }).description('list chains')).action(
    run(async (opts: CommonOpts, cmd: Command) => {
      const answer = await connect(cmd).api<{ chains: ChainView[] }>('GET', '/chains');
      if (opts.json) return printJson(answer);
      printTable(
        answer.chains,
        {
          ID: (c) => c.id,
          NAME: (c) => c.name,
          PRODUCTION: (c) => c.production_deployment_id,
          DEVELOPMENT: (c) => c.development_deployment_id,
          DEPLOYMENTS: (c) => c.deployments_count,
        },
        'No chains yet: push one with `girder push chain.ts`.',
      );
    }),
  );

  common(
    chains
      .command('rm')
      .description('delete a chain with everything it has, or only one of its deployments')
      .argument('<chain>', 'chain id or name')
      .argument('[deployment]', 'only this chain deployment (id or name); it may serve no environment'),
  ).action(
    run(async (chain: string, deployment: string | undefined, opts: CommonOpts, cmd: Command) => {
      const client = connect(cmd);
      const c = await resolveChain(client, chain);
      if (deployment === undefined) {
        const answer = await client.api('DELETE', `/chains/${c.id}`);
        if (opts.json) return printJson(answer);
        return console.log(`Deleted chain ${c.id} (${c.name}): its chainlets stopped, its files removed.`);
      }
      const dep = await resolveChainDeployment(client, c.id, deployment);
      const answer = await client.api('DELETE', `/chains/${c.id}/deployments/${encodeURIComponent(dep)}`);
      if (opts.json) return printJson(answer);
      console.log(`Deleted chain deployment ${answer.id} of chain ${c.name}.`);
    }),
  );

  common(
    program
      .command('chain-deployments')
      .description("list a chain's deployments and their chainlets")
      .argument('<chain>', 'chain id or name'),
  ).action(
    run(async (chain: string, opts: CommonOpts, cmd: Command) => {
      const client = connect(cmd);
      const { id } = await resolveChain(client, chain);
      const answer = await client.api<{ deployments: ChainDeploymentView[] }>('GET', `/chains/${id}/deployments`);
      if (opts.json) return printJson(answer);
      printTable(answer.deployments, {
        ID: (d) => d.id,
        NAME: (d) => d.name,
        ENVIRONMENT: (d) => d.environment ?? (d.is_development ? '(development)' : null),
        STATUS: (d) => d.status,
        CREATED: (d) => shortTime(d.created_at),
        CHAINLETS: chainletsCell,
      });
    }),
  );

  common(
    program
      .command('chain-environments')
      .description("list a chain's environments")
      .argument('<chain>', 'chain id or name'),
  ).action(
    run(async (chain: string, opts: CommonOpts, cmd: Command) => {
      const client = connect(cmd);
      const { id } = await resolveChain(client, chain);
      const answer = await client.api<{ environments: ChainEnvironmentView[] }>('GET', `/chains/${id}/environments`);
      if (opts.json) return printJson(answer);
      printTable(answer.environments, {
        NAME: (e) => e.name,
        DEPLOYMENT: (e) => e.current_deployment?.id,
        'DEPLOYMENT NAME': (e) => e.current_deployment?.name,
        STATUS: (e) => e.current_deployment?.status,
        CREATED: (e) => shortTime(e.created_at),
      });
    }),
  );
}
