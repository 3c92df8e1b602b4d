/**
 * A chain's actions other than `run_remote`: `async_run_remote`, `async_queue_status` and `wake`, on
 * every chain target and the regional form. They name the chain deployment the target resolves to;
 * the entrypoint chainlet's deployment runs async requests, and a wake reaches every chainlet.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { badRequest } from '../../errors.ts';
import { admitChain, type InferenceRoute } from '../admit.ts';
import type { App } from '../app-context.ts';
import { sendJson } from '../respond.ts';
import { handleAsyncSubmit } from './async.ts';
import { chainQueueStatusView } from './views.ts';

/**
 * Serves a chain target's non-streaming actions (run_remote takes the call path of inference.ts).
 * `predict`-family actions on a chain are 400s naming the chain's.
 *
 * @example
 *   handleChainAction(app, req, res, route, requestId); // route.action === 'async_run_remote'
 */
export function handleChainAction(
  app: App,
  req: IncomingMessage,
  res: ServerResponse,
  route: InferenceRoute,
  requestId: string,
): Promise<void> | void {
  if (route.action === 'async_predict')
    throw badRequest(
      `async_predict is for models, and ${route.id} is a chain.`,
      'Call async_run_remote on a chain: POST /chain-{id}/{production|development|environments/{name}|deployment/{id}}/async_run_remote.',
    );
  const method = route.action === 'async_queue_status' ? 'GET' : 'POST';
  const { chainDeployment, deployment, headers } = admitChain(app, req, route, requestId);
  if (req.method !== method)
    throw badRequest(`${route.action} takes ${method}, not ${req.method}.`, `Send ${method} {target}/${route.action}.`);
  switch (route.action) {
    case 'async_run_remote':
      return handleAsyncSubmit(app, req, res, deployment, requestId, {
        chainId: chainDeployment.chainId,
        chainDeploymentId: chainDeployment.id,
      });
    case 'async_queue_status': {
      const counts = app.queue.queueStatus(deployment.id);
      sendJson(res, 200, chainQueueStatusView(chainDeployment, counts), { 'x-baseten-request-id': requestId });
      return;
    }
    case 'wake':
      // Every chainlet, not only the entrypoint: the first call would otherwise wait for each hop's cold start.
      for (const c of chainDeployment.chainlets) {
        const d = app.registry.deployments.get(c.deploymentId);
        if (d) app.supervisor.wake(d);
      }
      sendJson(res, 202, {}, headers);
      return;
  }
  throw badRequest(`${route.action} is for models, and ${route.id} is a chain.`, 'Call run_remote on a chain.');
}
