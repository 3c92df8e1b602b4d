import type { IncomingMessage } from 'node:http';
import type { ApiKeyRecord } from '../../records/control.ts';
import { AbortReason } from '../../runtime/abort.ts';
import type { Reply } from '../../runtime/reply.ts';
import type { App } from '../app-context.ts';
import { authenticate } from '../auth.ts';
import { payloadTooLarge, readWhole } from '../body.ts';
import type { InboundRequest } from '../exchange.ts';
import type { FastRequest } from '../http1/fast-request.ts';
import type { Route } from '../target.ts';
import { callModel } from './call.ts';
import { Clock } from './clock.ts';
import { sendOpenAIError, V1Error } from './errors.ts';
import { modelList, modelView } from './models.ts';

export type OpenAIRoute = Extract<Route, { surface: 'openai' }>;

/** How a handler gets the body: read from node:http, or already read on the fast path. */
type BodySource = (then: (body: Buffer) => void, fail: (err: unknown) => void) => void;

/**
 * The OpenAI-compatible API: `GET /v1/models` (and `/v1/models/{name}`), and every `POST /v1/…` with
 * a `model` field, routed by that name to the model's production deployment, on the same path of
 * the replica. Every failure answers in OpenAI's shape. Not async: a call that finds a free slot
 * costs no promise (README, "OpenAI-compatible API"; ARCHITECTURE.md, "The path of a /v1 request").
 *
 * @example
 *   case 'openai': return handleOpenAI(app, req, res, route, requestId);
 */
export function handleOpenAI(app: App, req: IncomingMessage, res: Reply, route: OpenAIRoute, requestId: string): void {
  serve(app, req, res, route, requestId, (then, fail) => readWhole(req, app.options.maxBodyBytes, then, fail));
}

/**
 * The same on the fast path (http1/), whose request arrives with its whole body (at most 64 KiB) read.
 *
 * @example
 *   if (route.surface === 'openai') serveFastOpenAI(app, req, res, route, requestId);
 */
export function serveFastOpenAI(app: App, req: FastRequest, res: Reply, route: OpenAIRoute, requestId: string): void {
  serve(app, req, res, route, requestId, (then) => then(req.body));
}

function serve(app: App, req: InboundRequest, res: Reply, route: OpenAIRoute, requestId: string, body: BodySource) {
  const clock = new Clock();
  const headers = { 'x-request-id': requestId, 'x-baseten-request-id': requestId };
  try {
    const { path } = route;
    const key = authenticate(req, app.keys);
    if (req.method === 'GET' && path === '/v1/models') {
      sendJson(res, 200, modelList(app, key), timed(headers, clock));
    } else if (req.method === 'GET' && path.startsWith('/v1/models/')) {
      const view = modelView(app, key, decodeSegment(path.slice('/v1/models/'.length)));
      sendJson(res, 200, view, timed(headers, clock));
    } else if (req.method === 'POST' && path.startsWith('/v1/')) {
      proxy(app, req, res, key, requestId, headers, clock, body);
    } else {
      throw new V1Error('model_does_not_exist', `Unknown request URL: ${req.method} ${path}.`, {
        detail: 'Girder serves GET /v1/models and POST /v1/… with a `model` field.',
      });
    }
  } catch (err) {
    sendOpenAIError(res, err, timed(headers, clock));
  }
}

/** Every `/v1` answer says how long Girder worked on it, Girder's own refusals too. */
const timed = (headers: Record<string, string>, clock: Clock): Record<string, string> => ({
  ...headers,
  'x-girder-overhead-ms': clock.header(),
});

/** A percent-encoded name; a malformed escape is the client's error (400), not a URIError (500). */
function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new V1Error('client_error', `Malformed URL: "${segment.slice(0, 100)}" is not valid percent-encoding.`);
  }
}

function sendJson(res: Reply, status: number, body: unknown, headers: Record<string, string>): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function proxy(
  app: App,
  req: InboundRequest,
  res: Reply,
  key: ApiKeyRecord,
  requestId: string,
  headers: Record<string, string>,
  clock: Clock,
  body: BodySource,
): void {
  const max = app.options.maxBodyBytes;
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > max) {
    res.setHeader('connection', 'close');
    throw payloadTooLarge(Number(declared), max);
  }
  clock.stop();
  body(
    (b) => {
      clock.start();
      try {
        callModel(app, req, res, key, requestId, headers, b, clock);
      } catch (err) {
        sendOpenAIError(res, err, timed(headers, clock));
      }
    },
    (err) => {
      clock.start();
      if (err instanceof AbortReason) res.destroy();
      else sendOpenAIError(res, err, timed(headers, clock));
    },
  );
}
