import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { badRequest, GirderError } from '../errors.ts';
import { newRequestId } from '../ids.ts';
import { AbortReason, CLIENT_GONE } from '../runtime/abort.ts';
import type { App } from './app-context.ts';
import type { FastRequest } from './http1/fast-request.ts';
import type { FastResponse } from './http1/fast-response.ts';
import { FrontDoor } from './http1/front-door.ts';
import { SMALL_BODY } from './body.ts';
import { clientErrorHandler, closeAfterAnswer, isLingering, refuseConnect } from './refusals.ts';
import { failRequest, sendJson } from './respond.ts';
import { handleAsyncRequest } from './routes/async.ts';
import { handleInference, serveFastModelCall } from './routes/inference.ts';
import { handleManagement } from './routes/management.ts';
import { handleOpenAI, serveFastOpenAI } from './openai/route.ts';
import { SlowBodies } from './slow-bodies.ts';
import { parseRoute, type Route } from './target.ts';

const KEEP_ALIVE_TIMEOUT_MS = 65_000;

function dispatch(
  app: App,
  req: IncomingMessage,
  res: ServerResponse,
  route: Route,
  requestId: string,
): Promise<void> | void {
  switch (route.surface) {
    case 'inference':
      return handleInference(app, req, res, route, requestId);
    case 'management':
      return handleManagement(app, req, res, route.path, requestId);
    case 'root':
      return sendJson(res, 200, { name: 'girder', docs: 'README.md', models: '/api/v1/models' });
    case 'async_request':
      return handleAsyncRequest(app, req, res, route, requestId);
    case 'openai':
      return handleOpenAI(app, req, res, route, requestId);
    case 'metrics':
      throw new GirderError(
        'model_does_not_exist',
        `No route for ${req.url}.`,
        'This surface is not available in this Girder yet.',
      );
  }
}

/**
 * The fast path's share of the traffic: sync calls to a model (`predict`, `sync/…`) and `/v1` calls
 * with a small body. Anything else, a route that does not parse included, is declined and node:http
 * answers it.
 */
const FAST_ACTIONS: ReadonlySet<string> = new Set(['predict', 'sync', 'run_remote']);

function serveFast(app: App, req: FastRequest, res: FastResponse): boolean {
  let route: Route;
  try {
    route = parseRoute(req.headers.host, req.url, app.options.domain);
  } catch {
    return false;
  }
  if (route.surface === 'openai') {
    serveFastOpenAI(app, req, res, route, newRequestId());
    return true;
  }
  if (route.surface !== 'inference' || !FAST_ACTIONS.has(route.action)) return false;
  const requestId = newRequestId();
  try {
    serveFastModelCall(app, req, res, route, requestId);
  } catch (err) {
    failRequest(res, err, requestId);
  }
  return true;
}

/** The 408 of a body that stopped arriving (slow-bodies.ts). */
const bodyTimedOut = (ms: number): GirderError =>
  new GirderError(
    'client_error',
    'The request body stopped arriving.',
    `Send the body without pauses longer than ${ms / 1000} s (\`girder serve --body-timeout\`).`,
    { status: 408 },
  );

/**
 * The HTTP front door: every request gets a request id, is mapped to a surface by host and path,
 * and any failure leaves as an ErrorResponse carrying that id. Sync model calls take the fast path
 * (http1/); the rest is served by node:http.
 */
export function createGatewayServer(app: App): FrontDoor {
  const { headersTimeoutMs, bodyTimeoutMs } = app.options;
  const slowBodies = new SlowBodies(bodyTimeoutMs);
  const http = createServer(
    {
      keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
      headersTimeout: headersTimeoutMs,
      // The whole request's time, upload included: it would cut a long upload. Bodies are timed
      // by their silence instead (slow-bodies.ts).
      requestTimeout: 0,
      // How often node:http looks for expired heads (30 s by default, coarser than the timeout itself).
      connectionsCheckingInterval: Math.max(10, Math.min(1000, headersTimeoutMs / 4)),
      // Its own 400 has an empty body: the handler answers a missing Host with an ErrorResponse.
      requireHostHeader: false,
    },
    (req, res) => {
      // A request parsed from what a closing connection discards: it was never going to be answered.
      if (isLingering(req.socket)) return;
      const requestId = newRequestId();
      slowBodies.watch(req, () => {
        if (!res.headersSent) failRequest(res, bodyTimedOut(bodyTimeoutMs), requestId);
        // Then the request ends as if the client had left: a call reading its body is aborted, and
        // its slot freed. (The 408, small, is in the kernel by then.)
        req.destroy(new AbortReason(CLIENT_GONE));
      });
      try {
        if (req.headers.host === undefined && req.httpVersion === '1.1') {
          closeAfterAnswer(res);
          throw badRequest('The request has no Host header.', 'HTTP/1.1 requires a Host header (RFC 9112 §3.2).');
        }
        const done = dispatch(
          app,
          req,
          res,
          parseRoute(req.headers.host, req.url ?? '/', app.options.domain),
          requestId,
        );
        if (done) done.catch((err: unknown) => failRequest(res, err, requestId));
      } catch (err) {
        failRequest(res, err, requestId);
      }
    },
  );
  // node:http's own answers to these have empty bodies; Girder's are ErrorResponses.
  http.on('clientError', clientErrorHandler(headersTimeoutMs));
  http.on('connect', refuseConnect);
  http.on('checkExpectation', (req, res) => {
    closeAfterAnswer(res);
    const detail = 'Send the request without it.';
    const err = new GirderError('client_error', `Expect: ${req.headers.expect} is not supported.`, detail, {
      status: 417,
    });
    failRequest(res, err, newRequestId());
  });
  return new FrontDoor(http, (req, res) => serveFast(app, req, res), {
    keepAliveTimeoutMs: KEEP_ALIVE_TIMEOUT_MS,
    headersTimeoutMs,
    maxBody: Math.min(SMALL_BODY, app.options.maxBodyBytes),
  });
}
