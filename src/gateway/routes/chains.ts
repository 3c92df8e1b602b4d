/**
 * The management routes of chains under `/api/v1/chains` (Baseten's shapes): chains, their
 * deployments, activation, a chainlet's logs. Environments are chains-environments.ts's; the push is
 * chain-push.ts's. Part of the `/api/v1` table. A chain is named by its id, as a model is.
 */
import { removeUnusedSnapshot } from '../../control/packaging/push.ts';
import { notFound } from '../../errors.ts';
import type { ChainDeploymentRecord } from '../../records/chains.ts';
import type { App } from '../app-context.ts';
import { CHAIN_ENVIRONMENT_ROUTES } from './chains-environments.ts';
import { chainDeploymentView, chainView } from './chains-views.ts';
import { followLogs } from './logs.ts';
import type { Route } from './management.ts';

const flag = (q: URLSearchParams, name: string): boolean => q.get(name) === 'true' || q.get(name) === '1';

/**
 * Once chain deployments are deleted: waits until every chainlet deployment's logs and run folder are
 * gone (its replicas stopped), then removes each snapshot nothing uses any more, so that a DELETE
 * answers with nothing of them left.
 */
async function removeFiles(app: App, removed: ChainDeploymentRecord[]): Promise<void> {
  await Promise.all(removed.flatMap((d) => d.chainlets.map((c) => app.supervisor.leftovers.removed(c.deploymentId))));
  for (const dir of new Set(removed.map((d) => d.dir))) await removeUnusedSnapshot(app.registry, dir);
}

/**
 * The chainlet of a chain deployment that a logs URL names: by its id (the chainlet's deployment id,
 * `ChainletV1.id`) or by its name; 404 listing both otherwise.
 *
 * @example
 *   chainletOf(d, 'SayHello').deploymentId; // the same as chainletOf(d, thatId)
 */
function chainletOf(d: ChainDeploymentRecord, ref: string) {
  const c = d.chainlets.find((x) => x.deploymentId === ref) ?? d.chainlets.find((x) => x.name === ref);
  if (c) return c;
  throw notFound(
    `Chain deployment ${d.id} has no chainlet "${ref}".`,
    `Its chainlets: ${d.chainlets.map((x) => `${x.name} (${x.deploymentId})`).join(', ')}.`,
  );
}

export const CHAIN_ROUTES: Route[] = [
  [
    'GET',
    /^\/chains$/,
    ({ app }) => ({ chains: [...app.chainRegistry.chains.values()].map((c) => chainView(app, c)) }),
  ],
  ['GET', /^\/chains\/([^/]+)$/, ({ app, params }) => chainView(app, app.chainRegistry.chain(params[0]))],
  [
    'DELETE',
    /^\/chains\/([^/]+)$/,
    async ({ app, params }) => {
      await removeFiles(app, await app.chains.deleteChain(params[0]));
      return { id: params[0], deleted: true };
    },
  ],
  [
    'GET',
    /^\/chains\/([^/]+)\/deployments$/,
    ({ app, params }) => {
      app.chainRegistry.chain(params[0]);
      return { deployments: app.chainRegistry.deploymentsOf(params[0]).map((d) => chainDeploymentView(app, d)) };
    },
  ],
  [
    'GET',
    /^\/chains\/([^/]+)\/deployments\/([^/]+)$/,
    ({ app, params }) => chainDeploymentView(app, app.chainRegistry.deploymentOf(params[0], params[1])),
  ],
  [
    'DELETE',
    /^\/chains\/([^/]+)\/deployments\/([^/]+)$/,
    async ({ app, params }) => {
      const d = await app.chains.deleteDeployment(params[0], params[1]);
      await removeFiles(app, [d]);
      return { id: d.id, deleted: true, chain_id: d.chainId };
    },
  ],
  [
    'POST',
    /^\/chains\/([^/]+)\/deployments\/([^/]+)\/(activate|deactivate)$/,
    async ({ app, params }) => {
      const d = app.chainRegistry.deploymentOf(params[0], params[1]);
      const changed = await app.chains.setActive(d.id, params[2] === 'activate');
      // Activating chainlets that stopped trying to start (DEPLOY_FAILED) tries them again.
      for (const c of changed.active ? changed.chainlets : []) {
        const record = app.registry.deployments.get(c.deploymentId);
        if (record) app.supervisor.retry(record);
      }
      return { success: true };
    },
  ],
  [
    'GET',
    /^\/chains\/([^/]+)\/deployments\/([^/]+)\/chainlets\/([^/]+)\/logs$/,
    async ({ app, res, params, query }) => {
      const d = app.chainRegistry.deploymentOf(params[0], params[1]);
      const chainlet = chainletOf(d, params[2]);
      await followLogs(app, res, chainlet.deploymentId, Number(query.get('limit') ?? 200), flag(query, 'follow'));
      return undefined;
    },
  ],
  ...CHAIN_ENVIRONMENT_ROUTES,
];
