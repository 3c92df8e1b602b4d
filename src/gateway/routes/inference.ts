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
import { handleChainAction } from './chain-actions.ts';

/** Inference actions on a model or chain target, as node:http serves them (the fast path takes only serveModelCall). */
export function handleInference(
  app: App,
  req: IncomingMessage,
  res: ServerResponse,
  route: InferenceRoute,
  requestId: string,
): Promise<void> | void {
  if (route.action === 'predict' || route.action === 'sync' || route.action === 'run_remote') {
    serveModelCall(app, req, res, route, requestId);
    return;
  }
  if (route.kind === 'chain') return handleChainAction(app, req, res, route, requestId);
  if (route.action === 'async_run_remote')
    throw badRequest(
      `async_run_remote is for chains, and ${route.id} is a model.`,
      'Call async_predict on a model: POST /model-{id}/{production|development|environments/{name}|deployment/{id}}/async_predict.',
    );
  const chain = app.registry.models.get(route.id)?.chainId;
  if (chain !== undefined && route.action === 'async_predict')
    throw badRequest(
      `Model ${route.id} is a chainlet of chain ${chain}: call the chain.`,
      `POST /chain-${chain}/production/async_run_remote.`,
    );
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
  const call = callKind(app, route);
  const { deployment, headers } = admit(app, req, route, requestId);
  if (route.action !== 'sync' && req.method !== 'POST')
    throw badRequest(
      `${route.action} takes POST, not ${req.method}.`,
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
        headers: call === 'chain' ? withChainRequestId(req.rawHeaders, requestId) : req.rawHeaders,
        body: b,
        requestId,
        res,
        responseHeaders: headers,
        deadline,
        bodyTimeoutMs: runtime.streaming_read_timeout * 1000,
        // a hop answers the chains wire form to the calling chainlet, as it is
        wrapErrors: call !== 'hop' && route.action !== 'sync',
        onEnd,
      }),
    onEnd,
  );
}

/**
 * Which call a sync route is: a model's predict or sync, a chain's run_remote (its entrypoint, errors
 * as ErrorResponses), or a hop between chainlets (run_remote on a chainlet's internal model, errors in
 * the chains wire form). The wrong action for the target is a 400 naming the right one.
 */
function callKind(app: App, route: InferenceRoute): 'model' | 'chain' | 'hop' {
  if (route.kind === 'chain') {
    if (route.action === 'run_remote') return 'chain';
    throw badRequest(
      `${route.action} is for models, and ${route.id} is a chain.`,
      'Call run_remote on a chain: POST /chain-{id}/{production|development|environments/{name}|deployment/{id}}/run_remote.',
    );
  }
  const chainlet = app.registry.models.get(route.id)?.chainId;
  if (chainlet !== undefined) {
    if (route.action === 'run_remote') return 'hop';
    throw badRequest(
      `Model ${route.id} is a chainlet of chain ${chainlet}: call the chain.`,
      `POST /chain-${chainlet}/production/run_remote.`,
    );
  }
  if (route.action === 'run_remote')
    throw badRequest(`run_remote is for chains, and ${route.id} is a model.`, 'Call predict on a model.');
  return 'model';
}

/** The request's headers, with its id as the chain's request id unless the caller sent one. */
function withChainRequestId(raw: string[], requestId: string): string[] {
  for (let i = 0; i < raw.length; i += 2) if (raw[i].toLowerCase() === 'x-baseten-chain-request-id') return raw;
  return [...raw, 'x-baseten-chain-request-id', requestId];
}
