import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Readable } from 'node:stream';
import { badRequest } from '../../errors.ts';
import { invoke } from '../../runtime/invoke.ts';
import type { Reply } from '../../runtime/reply.ts';
import { admit, type InferenceRoute } from '../admit.ts';
import type { App } from '../app-context.ts';
import { payloadTooLarge, proxiedBody } from '../body.ts';
import type { InboundRequest } from '../exchange.ts';
import type { FastRequest } from '../http1/fast-request.ts';
import { failRequest, sendJson } from '../respond.ts';
import { handleAsyncSubmit, handleQueueStatus } from './async.ts';

/** Inference actions on a model target, as node:http serves them (the fast path takes only serveModelCall). */
export function handleInference(
  app: App,
  req: IncomingMessage,
  res: ServerResponse,
  route: InferenceRoute,
  requestId: string,
): Promise<void> | void {
  if (route.action === 'predict' || route.action === 'sync') {
    serveModelCall(app, req, res, route, requestId);
    return;
  }
  const { deployment, headers } = admit(app, req, route, requestId);
  switch (route.action) {
    case 'wake':
      if (req.method !== 'POST') throw badRequest(`wake takes POST, not ${req.method}.`, 'Send POST {target}/wake.');
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
        `${route.action} is for chains, and ${route.id} is a model.`,
        `Call ${route.action === 'run_remote' ? 'predict' : 'async_predict'} on a model.`,
      );
  }
}

type BodySource = (send: (body: Buffer | Readable | null) => void, fail: (err: unknown) => void) => void;

/**
 * A sync call to a model, `predict` or `sync/{route…}`, as node:http serves it: key → scope →
 * target, then the body (none, read whole, or streamed), then `invoke` (a slot on a replica,
 * parking while none is free, and the streaming call).
 */
export function serveModelCall(
  app: App,
  req: IncomingMessage,
  res: Reply,
  route: InferenceRoute,
  requestId: string,
): void {
  modelCall(app, req, res, route, requestId, (send, fail) => proxiedBody(req, app.options.maxBodyBytes, send, fail));
}

/** The same call on the fast path, whose request arrives with its whole body read. */
export function serveFastModelCall(
  app: App,
  req: FastRequest,
  res: Reply,
  route: InferenceRoute,
  requestId: string,
): void {
  modelCall(app, req, res, route, requestId, (send) => send(req.body.length === 0 ? null : req.body));
}

/** Not async on purpose: a request that finds a free slot costs no promise at all. */
function modelCall(
  app: App,
  req: InboundRequest,
  res: Reply,
  route: InferenceRoute,
  requestId: string,
  body: BodySource,
): void {
  const { deployment, headers } = admit(app, req, route, requestId);
  if (route.action === 'predict' && req.method !== 'POST')
    throw badRequest(
      `predict takes POST, not ${req.method}.`,
      'Send POST; other methods reach the model through sync/{route}.',
    );
  const max = app.options.maxBodyBytes;
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > max) {
    res.setHeader('connection', 'close');
    throw payloadTooLarge(Number(declared), max);
  }
  const { runtime } = deployment.config;
  const deadline = Date.now() + (runtime.predict_timeout_seconds ?? app.options.predictTimeoutSeconds) * 1000;
  const onEnd = (err?: unknown): void => {
    if (err !== undefined) failRequest(res, err, requestId);
  };
  body(
    (b) =>
      invoke(app.supervisor, {
        deployment,
        cls: 'sync',
        method: req.method ?? 'POST',
        path: route.action === 'sync' ? route.rest : null,
        headers: req.rawHeaders,
        body: b,
        requestId,
        res,
        responseHeaders: headers,
        deadline,
        bodyTimeoutMs: runtime.streaming_read_timeout * 1000,
        wrapErrors: route.action === 'predict',
        onEnd,
      }),
    onEnd,
  );
}
