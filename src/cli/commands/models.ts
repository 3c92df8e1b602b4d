import type { Command } from 'commander';
import {
  type Client,
  type CommonOpts,
  ApiError,
  common,
  connect,
  resolveDeployment,
  resolveModel,
  run,
} from '../client.ts';
import { printJson, printTable, shortTime } from '../format.ts';
import { promoteChain, setChainActive } from './chains.ts';
import { resolveTarget } from './chains-resolve.ts';
import type { DeploymentView } from './wait.ts';

interface ModelView {
  id: string;
  name: string;
  deployments_count: number;
  production_deployment_id: string | null;
  development_deployment_id: string | null;
}

interface EnvironmentView {
  name: string;
  created_at: string;
  current_deployment: DeploymentView | null;
}

/** Creates the environment unless it exists: promoting to a new one should just work. */
async function ensureEnvironment(client: Client, modelId: string, name: string): Promise<void> {
  try {
    await client.api('GET', `/models/${modelId}/environments/${encodeURIComponent(name)}`);
  } catch (err) {
    if (!(err instanceof ApiError && err.status === 404)) throw err;
    await client.api('POST', `/models/${modelId}/environments`, { name });
  }
}

export function registerModels(program: Command): void {
  common(program.command('models').description('list models')).action(
    run(async (opts: CommonOpts, cmd: Command) => {
      const { models } = await connect(cmd).api<{ models: ModelView[] }>('GET', '/models');
      if (opts.json) return printJson({ models });
      printTable(
        models,
        {
          ID: (m) => m.id,
          NAME: (m) => m.name,
          PRODUCTION: (m) => m.production_deployment_id,
          DEVELOPMENT: (m) => m.development_deployment_id,
          DEPLOYMENTS: (m) => m.deployments_count,
        },
        'No models yet: push one with `girder push DIR`.',
      );
    }),
  );

  common(
    program.command('deployments').description("list a model's deployments").argument('<model>', 'model id or name'),
  ).action(
    run(async (model: string, opts: CommonOpts, cmd: Command) => {
      const client = connect(cmd);
      const id = await resolveModel(client, model);
      const { deployments } = await client.api<{ deployments: DeploymentView[] }>('GET', `/models/${id}/deployments`);
      if (opts.json) return printJson({ deployments });
      printTable(deployments, {
        ID: (d) => d.id,
        NAME: (d) => d.name,
        ENVIRONMENT: (d) => d.environment ?? (d.is_development ? '(development)' : null),
        STATUS: (d) => d.status,
        REPLICAS: (d) => d.active_replica_count,
        CREATED: (d) => shortTime(d.created_at),
      });
    }),
  );

  common(
    program.command('environments').description("list a model's environments").argument('<model>', 'model id or name'),
  ).action(
    run(async (model: string, opts: CommonOpts, cmd: Command) => {
      const client = connect(cmd);
      const id = await resolveModel(client, model);
      const { environments } = await client.api<{ environments: EnvironmentView[] }>(
        'GET',
        `/models/${id}/environments`,
      );
      if (opts.json) return printJson({ environments });
      printTable(environments, {
        NAME: (e) => e.name,
        DEPLOYMENT: (e) => e.current_deployment?.id,
        'DEPLOYMENT NAME': (e) => e.current_deployment?.name,
        STATUS: (e) => e.current_deployment?.status,
        CREATED: (e) => shortTime(e.created_at),
      });
    }),
  );

  common(
    program
      .command('promote')
      .description("make a deployment (or a chain's) serve production (or another environment)")
      .argument('<model-or-chain>', 'model or chain, by id or name')
      .argument('<deployment>', 'deployment id or name')
      .option('--environment <name>', 'environment to promote to (created if needed)', 'production'),
  ).action(
    run(async (model: string, deployment: string, opts: CommonOpts & { environment: string }, cmd: Command) => {
      const client = connect(cmd);
      const target = await resolveTarget(client, model);
      if (target.kind === 'chain') return promoteChain(client, target.id, deployment, opts.environment, opts);
      const id = target.id;
      const dep = await resolveDeployment(client, id, deployment);
      let promoted: DeploymentView;
      if (opts.environment === 'production') {
        promoted = await client.api('POST', `/models/${id}/deployments/${encodeURIComponent(dep)}/promote`);
      } else {
        await ensureEnvironment(client, id, opts.environment);
        promoted = await client.api(
          'POST',
          `/models/${id}/environments/${encodeURIComponent(opts.environment)}/promote`,
          { deployment_id: dep },
        );
      }
      if (opts.json) return printJson(promoted);
      // A development deployment (or one serving elsewhere) is promoted as a copy with a new id.
      const copy =
        promoted.id !== dep ? ` as a new deployment ${promoted.id} (${promoted.name})` : ` (${promoted.name})`;
      console.log(`Promoted ${dep}${copy} to ${opts.environment}.`);
    }),
  );

  for (const action of ['activate', 'deactivate'] as const) {
    common(
      program
        .command(action)
        .description(
          action === 'activate'
            ? 'let a deactivated deployment serve again'
            : 'stop a deployment and refuse its requests',
        )
        .argument('<model-or-chain>', 'model or chain, by id or name')
        .argument('<deployment>', 'deployment id or name'),
    ).action(
      run(async (model: string, deployment: string, opts: CommonOpts, cmd: Command) => {
        const client = connect(cmd);
        const target = await resolveTarget(client, model);
        if (target.kind === 'chain') return setChainActive(client, target.id, deployment, action, opts);
        const id = target.id;
        const dep = await resolveDeployment(client, id, deployment);
        const answer = await client.api('POST', `/models/${id}/deployments/${encodeURIComponent(dep)}/${action}`);
        if (opts.json) return printJson(answer);
        console.log(`${action === 'activate' ? 'Activated' : 'Deactivated'} deployment ${dep}.`);
      }),
    );
  }
}
