import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DeploymentRecord } from '../../records/control.ts';
import { badRequest } from '../../errors.ts';
import type { ChainOfRequest } from '../../queue/owner.ts';
import { parseWrapper } from '../../queue/wrapper.ts';
import type { App } from '../app-context.ts';
import { authenticate, requireInvoke } from '../auth.ts';
import { basetenHeaders } from '../admit.ts';
import { readAll } from '../body.ts';
import { sendJson } from '../respond.ts';
import type { Route } from '../target.ts';
import { asyncStatusView, cancelView, queueStatusView } from './views.ts';

/**
 * `POST /{target}/async_predict` (or a chain's `async_run_remote`, with `chain` set and `deployment` its
 * entrypoint chainlet's): validates the wrapper, commits the request durably, and only then answers
 * `201 {"request_id"}`. The async request id is also this call's X-Baseten-Request-Id.
 */
export async function handleAsyncSubmit(
  app: App,
  req: IncomingMessage,
  res: ServerResponse,
  deployment: DeploymentRecord,
  requestId: string,
  chain?: ChainOfRequest,
): Promise<void> {
  const action = chain ? 'async_run_remote' : 'async_predict';
  if (req.method !== 'POST')
    throw badRequest(`${action} takes POST, not ${req.method}.`, `Send POST {target}/${action}.`);
  const wrapper = parseWrapper((await readAll(req, app.options.asyncMaxBodyBytes)).toString('utf8'));
  await app.queue.submit(deployment, wrapper, requestId, chain);
  sendJson(res, 201, { request_id: requestId }, basetenHeaders(requestId, deployment));
}

/** `GET /{target}/async_queue_status`. */
export function handleQueueStatus(
  app: App,
  req: IncomingMessage,
  res: ServerResponse,
  deployment: DeploymentRecord,
  requestId: string,
): void {
  if (req.method !== 'GET')
    throw badRequest(`async_queue_status takes GET, not ${req.method}.`, 'Send GET {target}/async_queue_status.');
  sendJson(res, 200, queueStatusView(deployment, app.queue.queueStatus(deployment.id)), {
    'x-baseten-request-id': requestId,
  });
}

/** `GET` (status) and `DELETE` (cancel) `/async_request/{id}` on a model or chain, for keys that may call it. */
export async function handleAsyncRequest(
  app: App,
  req: IncomingMessage,
  res: ServerResponse,
  route: Extract<Route, { surface: 'async_request' }>,
  requestId: string,
): Promise<void> {
  const key = authenticate(req, app.keys);
  requireInvoke(key, route.id);
  const headers = { 'x-baseten-request-id': requestId };
  const id = route.requestId;
  const owner = { kind: route.kind, id: route.id };
  if (req.method === 'GET') return sendJson(res, 200, asyncStatusView(await app.queue.status(id, owner)), headers);
  if (req.method === 'DELETE') return sendJson(res, 200, cancelView(id, await app.queue.cancel(id, owner)), headers);
  throw badRequest(
    `/async_request/{id} takes GET or DELETE, not ${req.method}.`,
    'GET reads the status of the request, DELETE cancels it.',
  );
}
