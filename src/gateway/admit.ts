import type { ChainDeploymentRecord } from '../records/chains.ts';
import type { DeploymentRecord } from '../records/control.ts';
import type { App } from './app-context.ts';
import { authenticate, requireInvoke } from './auth.ts';
import type { InboundRequest } from './exchange.ts';
import type { Route } from './target.ts';

export type InferenceRoute = Extract<Route, { surface: 'inference' }>;

/** Baseten's response headers of a call to a deployment: the request id, the model and its version. */
export function basetenHeaders(requestId: string, d: DeploymentRecord): Record<string, string> {
  return { 'x-baseten-request-id': requestId, 'x-baseten-model-id': d.modelId, 'x-baseten-model-version-id': d.id };
}

/**
 * The key, its scope and the deployment the target names: every inference action starts here,
 * before anything of the body is read. Throws 401/403/404 as GirderErrors.
 *
 * @example
 *   const { deployment, headers } = admit(app, req, route, requestId);
 */
export function admit(
  app: App,
  req: InboundRequest,
  route: InferenceRoute,
  requestId: string,
): { deployment: DeploymentRecord; headers: Record<string, string> } {
  const key = authenticate(req, app.keys);
  requireInvoke(key, route.id);
  // a chain's target is served by its entrypoint chainlet's deployment (chain-registry.ts)
  const deployment =
    route.kind === 'chain'
      ? app.chainRegistry.resolveEntrypoint(route.id, route.target)
      : app.registry.resolve(route.id, route.target);
  return { deployment, headers: basetenHeaders(requestId, deployment) };
}

/**
 * `admit` for a chain's actions that need the chain deployment too (async_run_remote, its queue
 * status, wake): the key, its scope, the chain deployment the target names, and its entrypoint
 * chainlet's deployment, which runs the request.
 *
 * @example
 *   const { chainDeployment, deployment } = admitChain(app, req, route, requestId);
 */
export function admitChain(
  app: App,
  req: InboundRequest,
  route: InferenceRoute,
  requestId: string,
): { chainDeployment: ChainDeploymentRecord; deployment: DeploymentRecord; headers: Record<string, string> } {
  const key = authenticate(req, app.keys);
  requireInvoke(key, route.id);
  const chainDeployment = app.chainRegistry.resolve(route.id, route.target);
  const deployment = app.chainRegistry.entrypointOf(chainDeployment);
  return { chainDeployment, deployment, headers: basetenHeaders(requestId, deployment) };
}
