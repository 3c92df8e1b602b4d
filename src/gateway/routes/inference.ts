import type { IncomingMessage, ServerResponse } from 'node:http';
import { GirderError, badRequest, notFound } from '../../errors.ts';
import type { DeploymentRecord } from '../../records/control.ts';
import type { Replica } from '../../runtime/replica.ts';
import type { App } from '../app-context.ts';
import type { InboundRequest, Reply } from '../exchange.ts';
import type { FastRequest } from '../http1/fast-request.ts';
import { authenticate, requireInvoke } from '../auth.ts';
import { AbortReason, CLIENT_GONE, TIMEOUT } from '../abort.ts';
import { payloadTooLarge, proxy } from '../proxy.ts';
import { failRequest, sendJson } from '../respond.ts';
import { handleAsyncSubmit, handleQueueStatus } from './async.ts';
import type { Route } from '../target.ts';

type InferenceRoute = Extract<Route, { surface: 'inference' }>;

/** The key, its scope and the deployment the target names: every inference action starts here. */
function admit(
  app: App,
  req: InboundRequest,
  route: InferenceRoute,
  requestId: string,
): { deployment: DeploymentRecord; headers: Record<string, string> } {
  const key = authenticate(req, app.keys);
  requireInvoke(key, route.id);
  if (route.kind === 'chain')
    throw notFound(`Chain ${route.id} was not found.`, 'Chains are not supported by this Girder yet.');
  const deployment = app.registry.resolve(route.id, route.target);
  const headers = {
    'x-baseten-request-id': requestId,
    'x-baseten-model-id': deployment.modelId,
    'x-baseten-model-version-id': deployment.id,
  };
  return { deployment, headers };
}

/** Inference actions on a model target, as node:http serves them (the fast path takes only callModel). */
export function handleInference(
  app: App,
  req: IncomingMessage,
  res: ServerResponse,
  route: InferenceRoute,
  requestId: string,
): Promise<void> | void {
  if (route.action === 'predict' || route.action === 'sync') return callModel(app, req, res, route, requestId);
  const { deployment, headers } = admit(app, req, route, requestId);
  switch (route.action) {
    case 'wake':
      if (req.method !== 'POST') throw badRequest('wake takes POST.');
      app.supervisor.wake(deployment);
      sendJson(res, 202, {}, headers);
      return;
    case 'async_predict':
      return handleAsyncSubmit(app, req, res, deployment, requestId);
    case 'async_queue_status':
      return handleQueueStatus(app, req, res, deployment, requestId);
    case 'run_remote':
    case 'async_run_remote':
      throw badRequest(
        `${route.action} is for chains; call ${route.action === 'run_remote' ? 'predict' : 'async_predict'} on a model.`,
      );
  }
}

/**
 * A sync call to a model, `predict` or `sync/{route…}`. The path of a request:
 * key → scope → target → slot on a replica (parking while none is free) → streaming proxy.
 * Not async on purpose: a request that finds a free slot costs no promise at all.
 */
export function callModel(
  app: App,
  req: IncomingMessage | FastRequest,
  res: Reply,
  route: InferenceRoute,
  requestId: string,
): Promise<void> | void {
  const { deployment, headers } = admit(app, req, route, requestId);
  if (route.action === 'predict' && req.method !== 'POST') throw badRequest(`predict takes POST, not ${req.method}.`);

  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > app.options.maxBodyBytes) {
    res.setHeader('connection', 'close');
    throw payloadTooLarge(Number(declared), app.options.maxBodyBytes);
  }

  const config = deployment.config;
  const deadline = Date.now() + (config.runtime?.predict_timeout_seconds ?? app.options.predictTimeoutSeconds) * 1000;
  const logsHint = () => `Replica output: \`girder logs ${deployment.modelId} --deployment ${deployment.id}\`.`;
  const start = (replica: Replica): void =>
    proxy({
      req,
      res,
      replica,
      requestId,
      deadline,
      logsHint,
      method: req.method ?? 'POST',
      path: route.action === 'sync' ? route.rest : replica.opts.spec.predictPath,
      responseHeaders: headers,
      bodyTimeoutMs: (config.runtime?.streaming_read_timeout ?? 60) * 1000,
      maxBodyBytes: app.options.maxBodyBytes,
      wrapErrors: route.action === 'predict',
      onEnd: (err) => {
        app.supervisor.release(deployment.id, replica);
        if (err !== undefined) failRequest(res, err, requestId);
      },
    });
  const replica = app.supervisor.tryAcquire(deployment, 'sync');
  if (replica) return start(replica);
  return park(app, res, deployment, deadline, logsHint).then(start);
}

/**
 * Waits for a slot (every replica busy, or none ready yet) until the request's deadline, which
 * gives 503 model_not_ready, or until the client leaves. Only parked requests pay for a signal.
 */
async function park(
  app: App,
  res: Reply,
  deployment: DeploymentRecord,
  deadline: number,
  logsHint: () => string,
): Promise<Replica> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(new AbortReason(TIMEOUT)), deadline - Date.now());
  const onClose = () => ac.abort(new AbortReason(CLIENT_GONE));
  res.once('close', onClose);
  try {
    return await app.supervisor.acquire(deployment, 'sync', ac.signal);
  } catch (err) {
    if (err instanceof AbortReason && err.why === TIMEOUT) {
      throw new GirderError(
        'model_not_ready',
        `No replica of deployment ${deployment.id} became ready before the request's deadline.`,
        logsHint(),
      );
    }
    throw err;
  } finally {
    clearTimeout(timer);
    res.off('close', onClose);
  }
}
