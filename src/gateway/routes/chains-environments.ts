/**
 * The routes of chain environments under `/api/v1/chains/{id}/environments` (Baseten's shapes):
 * create, read, promotion settings, promotion, and per-chainlet autoscaling. Part of the chain routes.
 */
import { notFound } from '../../errors.ts';
import type { App } from '../app-context.ts';
import {
  byChainlet,
  ChainEnvCreate,
  ChainEnvPatch,
  ChainEnvPromote,
  ChainletAutoscalingUpdates,
} from './chains-bodies.ts';
import { chainDeploymentView, chainEnvironmentView } from './chains-views.ts';
import type { Route } from './management.ts';
import { defined, parse } from './validation.ts';

/** The chain environment a URL names, or 404 saying how to list them. */
function environment(app: App, chainId: string, name: string) {
  app.chainRegistry.chain(chainId);
  const env = app.chainRegistry.environment(chainId, name);
  if (!env)
    throw notFound(
      `Chain ${chainId} has no environment "${name}".`,
      `List its environments with GET /api/v1/chains/${chainId}/environments (or \`girder chain-environments CHAIN\`).`,
    );
  return env;
}

export const CHAIN_ENVIRONMENT_ROUTES: Route[] = [
  [
    'GET',
    /^\/chains\/([^/]+)\/environments$/,
    ({ app, params }) => {
      app.chainRegistry.chain(params[0]);
      const envs = app.chainRegistry.environmentsOf(params[0]);
      return { environments: envs.map((e) => chainEnvironmentView(app, e)) };
    },
  ],
  [
    'POST',
    /^\/chains\/([^/]+)\/environments$/,
    async ({ app, params, body }) => {
      app.chainRegistry.chain(params[0]);
      const input = parse(ChainEnvCreate, await body());
      const env = await app.chainEnvironments.create(params[0], input.name, {
        promotion: defined(input.promotion_settings ?? {}),
        chainlets: byChainlet(input.chainlet_settings ?? [], 'chainlet_settings'),
      });
      return chainEnvironmentView(app, env);
    },
  ],
  [
    'GET',
    /^\/chains\/([^/]+)\/environments\/([^/]+)$/,
    ({ app, params }) => chainEnvironmentView(app, environment(app, params[0], params[1])),
  ],
  [
    'PATCH',
    /^\/chains\/([^/]+)\/environments\/([^/]+)$/,
    async ({ app, params, body }) => {
      environment(app, params[0], params[1]);
      const input = parse(ChainEnvPatch, await body());
      await app.chainEnvironments.update(params[0], params[1], defined(input.promotion_settings ?? {}));
      return { ok: true };
    },
  ],
  [
    'POST',
    /^\/chains\/([^/]+)\/environments\/([^/]+)\/promote$/,
    async ({ app, params, body }) => {
      environment(app, params[0], params[1]);
      const input = parse(ChainEnvPromote, await body());
      const keepPrevious = input.scale_down_previous_deployment === false;
      const promoted = await app.chainEnvironments.promote(params[0], input.deployment_id, params[1], { keepPrevious });
      return chainDeploymentView(app, promoted);
    },
  ],
  [
    'PATCH',
    /^\/chains\/([^/]+)\/environments\/([^/]+)\/chainlet_settings\/autoscaling_settings$/,
    async ({ app, params, body }) => {
      environment(app, params[0], params[1]);
      const input = parse(ChainletAutoscalingUpdates, await body());
      const changed = await app.chainEnvironments.updateChainletAutoscaling(
        params[0],
        params[1],
        byChainlet(input.updates, 'updates'),
      );
      const what = `The chainlets' autoscaling settings in environment "${params[1]}"`;
      return changed
        ? { status: 'ACCEPTED', message: `${what} updated; their replicas follow at once.` }
        : { status: 'UNCHANGED', message: `${what} already have these values.` };
    },
  ],
];
