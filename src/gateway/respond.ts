import type { ServerResponse } from 'node:http';
import { toGirderError } from '../errors.ts';
import { AbortReason } from '../runtime/abort.ts';
import type { Reply } from '../runtime/reply.ts';
import { declaresBody } from './body.ts';
import { closeAfterAnswer } from './refusals.ts';

/**
 * A node:http request whose body has not all arrived. Its answer closes the connection: waiting
 * for a body nobody will read (a refused upload, one that trickles) would hold the connection.
 */
function bodyStillComing(res: Reply): res is ServerResponse {
  const req = (res as Partial<ServerResponse>).req;
  return req !== undefined && !req.complete && declaresBody(req.headers);
}

/** Sends a JSON body with the given status (and extra headers). */
export function sendJson(res: Reply, status: number, body: unknown, headers?: Record<string, string>): void {
  if (bodyStillComing(res)) closeAfterAnswer(res);
  const text = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * Sends any thrown value as an ErrorResponse, or, when the response already started (a stream
 * failing midway), ends the connection: as on Baseten, a stream that fails just stops.
 */
export function sendError(res: Reply, err: unknown, headers?: Record<string, string>): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const e = toGirderError(err);
  const retry = e.retryAfterSeconds === undefined ? undefined : { 'retry-after': String(e.retryAfterSeconds) };
  sendJson(res, e.status, e.toJSON(), { ...headers, 'x-girder-error-reason': e.reason, ...retry });
}

/** How a request that failed ends: an ErrorResponse carrying its id, or nothing if the client left. */
export function failRequest(res: Reply, err: unknown, requestId: string): void {
  if (err instanceof AbortReason) res.destroy();
  else sendError(res, err, { 'x-baseten-request-id': requestId });
}
