import type { IncomingMessage } from 'node:http';
import { type Readable, Transform } from 'node:stream';
import { badRequest, GirderError } from '../errors.ts';
import { AbortReason, CLIENT_GONE } from '../runtime/abort.ts';

/**
 * Request bodies, read one way on every surface: a declared length over the limit is refused before
 * a byte is read, an undeclared one as soon as it passes the limit, both with 413 payload_too_large.
 */

/** Bodies up to this size are read whole before a call to a replica (and on the fast path, see http1/). */
export const SMALL_BODY = 64 * 1024;

export function payloadTooLarge(size: number, max: number, detail?: string): GirderError {
  return new GirderError(
    'payload_too_large',
    `payload size of ${size} bytes exceeds maximum size of ${max} bytes`,
    detail ?? 'Send a smaller body, or raise the limit with `girder serve --max-body-bytes`.',
  );
}

/**
 * Whether a request has a body at all: a Content-Length other than 0, or a Transfer-Encoding.
 *
 * @example
 *   declaresBody({ 'content-length': '0' }) // false
 */
export function declaresBody(headers: IncomingMessage['headers']): boolean {
  const length = headers['content-length'];
  return length === undefined ? headers['transfer-encoding'] !== undefined : length !== '0';
}

/** The declared Content-Length, NaN when there is none (chunked), 0 for no body at all. */
function declaredLength(req: IncomingMessage): number {
  const len = req.headers['content-length'];
  if (len !== undefined) return Number(len);
  return req.headers['transfer-encoding'] !== undefined ? Number.NaN : 0;
}

/** 413 now when the declared length is over `max`: nothing of the body is read. */
export function refuseDeclaredOver(req: { headers: IncomingMessage['headers'] }, max: number): void {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > max) throw payloadTooLarge(Number(declared), max);
}

/**
 * Reads a whole body of at most `max` bytes, then calls `then` with it, or `fail` once (413, the
 * client leaving, a socket error). Callbacks, not a promise: a proxied call reads its small body this way.
 *
 * @example
 *   readWhole(req, 65_536, (body) => send(body), (err) => failRequest(res, err, requestId));
 */
export function readWhole(
  req: IncomingMessage,
  max: number,
  then: (body: Buffer) => void,
  fail: (err: unknown) => void,
): void {
  let failed = false;
  const onFail = (err: unknown): void => {
    if (!failed) fail(err);
    failed = true;
  };
  const declared = declaredLength(req);
  if (declared > max) {
    onFail(payloadTooLarge(declared, max));
    return;
  }
  let first: Buffer | undefined;
  let rest: Buffer[] | undefined;
  let size = 0;
  req.on('data', (c: Buffer) => {
    if (failed) return; // the rest of a refused body is read and dropped, so the connection can go on
    size += c.length;
    if (size > max) {
      onFail(payloadTooLarge(size, max));
      return;
    }
    if (!first) first = c;
    else (rest ??= [first]).push(c);
  });
  // Each of these fires at most once: `on` spares the wrapper `once` would allocate.
  req.on('end', () => {
    if (!failed) then(rest ? Buffer.concat(rest) : (first ?? Buffer.alloc(0)));
  });
  req.on('error', onFail);
  // Does nothing if the body was complete: 'end' came first.
  req.on('close', () => {
    if (!req.complete) onFail(new AbortReason(CLIENT_GONE));
  });
}

/** `readWhole` as a promise, for handlers that are async anyway (async submits, the management API). */
export function readAll(req: IncomingMessage, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => readWhole(req, max, resolve, reject));
}

/**
 * A whole body parsed as JSON; an empty body is `{}`. 413 over `max`, 400 for malformed JSON.
 *
 * @example
 *   const input = await readJson(req, 1024 * 1024);
 */
export async function readJson(req: IncomingMessage, max: number): Promise<unknown> {
  const body = await readAll(req, max);
  if (!body.length) return {};
  try {
    return JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw badRequest(
      `Malformed JSON body: ${(err as Error).message}.`,
      'Send a JSON object, as README.md shows for this route.',
    );
  }
}

/** Passes a body through, failing it with 413 once more than `max` bytes went by. */
function limited(req: IncomingMessage, max: number): Transform {
  let seen = 0;
  const t = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      seen += chunk.length;
      if (seen > max) cb(payloadTooLarge(seen, max));
      else cb(null, chunk);
    },
  });
  req.on('error', (err) => t.destroy(err));
  // The call reading `t` may have ended already (the client left, or stalled): an error nobody
  // listens to any more must not become an uncaught exception.
  t.on('error', () => {});
  return req.pipe(t);
}

/**
 * The body to send on to a replica, as `then` receives it: none, a small one read whole (so that its
 * head and body leave in one write), or a stream (counted against `max` when its length is not declared).
 *
 * @example
 *   proxiedBody(req, app.options.maxBodyBytes, (body) => invoke(supervisor, { ...inv, body }), onFail);
 */
export function proxiedBody(
  req: IncomingMessage,
  max: number,
  then: (body: Buffer | Readable | null) => void,
  fail: (err: unknown) => void,
): void {
  const length = declaredLength(req);
  if (length === 0) then(null);
  else if (length <= SMALL_BODY) readWhole(req, max, then, fail);
  else if (length > max) fail(payloadTooLarge(length, max));
  else then(Number.isNaN(length) ? limited(req, max) : req);
}
