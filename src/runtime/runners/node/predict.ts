import type { IncomingMessage } from 'node:http';
import type { Model } from '../../../sdk/index.ts';
import { type Reply, RequestContext } from './context.ts';
import { requestScope } from './logging.ts';
import { sendRunnerError } from './runner-error.ts';
import type { Semaphore } from './semaphore.ts';

/** The loaded model and the slots bounding its concurrent predicts. */
export interface Served {
  model: Model;
  slots: Semaphore;
}

type Stream = AsyncIterable<unknown> | Iterable<unknown>;

/**
 * Answers `POST /v1/models/model:predict` as PROTOCOL.md specifies; never throws.
 * Everything the request runs, model code included, logs under its request id.
 *
 * @example
 *   if (path === '/v1/models/model:predict') servePredict(served, req, res);
 */
export function servePredict(served: Served, req: IncomingMessage, res: Reply): void {
  const ctx = RequestContext.attach(req, res);
  void requestScope.run(ctx.requestId, pipeline, served, req, res, ctx);
}

async function pipeline(served: Served, req: IncomingMessage, res: Reply, ctx: RequestContext): Promise<void> {
  let body: Buffer;
  try {
    body = await readBody(req);
  } catch {
    return; // the client went away mid-upload; there is no one to answer
  }
  let input: unknown = body;
  if (isJson(req.headers['content-type'])) {
    try {
      input = JSON.parse(body.toString());
    } catch (err) {
      return sendRunnerError(
        res,
        400,
        'client_error',
        `Invalid JSON payload: ${(err as Error).message}`,
        'Send a JSON body, or a binary content type (application/octet-stream) for raw bytes.',
      );
    }
  }

  const { model } = served;
  try {
    if (model.preprocess) input = await model.preprocess(input, ctx);
    let output: unknown;
    // Only predict is bounded, as in Truss: pre- and postprocess of other requests overlap it.
    await served.slots.acquire();
    try {
      if (ctx.aborted) return;
      output = await model.predict(input, ctx);
      if (isStream(output)) {
        if (model.postprocess) {
          stopStream(output);
          throw definitionError('predict streams, so the model cannot define postprocess; do that work in predict.');
        }
        if (shouldGather(req)) return send(res, 200, 'application/json', JSON.stringify(await gather(output)));
        return await pipeStream(res, output);
      }
    } finally {
      served.slots.release();
    }
    if (model.postprocess) output = await model.postprocess(output, ctx);
    if (output instanceof Uint8Array) send(res, 200, 'application/octet-stream', output);
    else send(res, 200, 'application/json', JSON.stringify(output) ?? 'null');
  } catch (err) {
    fail(res, ctx, err);
  }
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
}

/**
 * As in Truss, every body is JSON except binary ones (`application/octet-stream`, `image/*`,
 * `audio/*`, `video/*`): so `curl -d '{...}'`, which says form-urlencoded, still reaches the model as JSON.
 */
function isJson(contentType: string | undefined): boolean {
  if (!contentType) return true;
  const semicolon = contentType.indexOf(';');
  const mediaType = (semicolon === -1 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase();
  return !(mediaType === 'application/octet-stream' || /^(image|audio|video)\//.test(mediaType));
}

/**
 * Truss's quirk, kept for clients written against Baseten: a client asking for JSON gets a stream
 * joined into one JSON string, except the OpenAI SDK, which asks for JSON even when it streams.
 * (Girder forwards no User-Agent to replicas, so through the gateway only the Accept header decides.)
 */
function shouldGather(req: IncomingMessage): boolean {
  if (/openai/i.test(req.headers['user-agent'] ?? '')) return false;
  return req.headers.accept?.trim().toLowerCase() === 'application/json';
}

async function gather(stream: Stream): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of stream) {
    const piece = encodeChunk(chunk);
    parts.push(
      typeof piece === 'string' ? Buffer.from(piece) : Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength),
    );
  }
  return Buffer.concat(parts).toString('utf8');
}

function isStream(value: unknown): value is Stream {
  if (typeof value !== 'object' || value === null) return false;
  if (Symbol.asyncIterator in value) return true;
  return Symbol.iterator in value && !Array.isArray(value) && !(value instanceof Uint8Array);
}

/** Lets a generator that will never be read run its `finally` blocks. */
function stopStream(stream: Stream): void {
  const { return: stop } = stream as { return?: () => unknown };
  if (typeof stop === 'function') Promise.resolve(stop.call(stream)).catch(() => {});
}

function definitionError(detail: string): Error {
  return Object.assign(new Error(`ModelDefinitionError: ${detail}`), { status: 412 });
}

/**
 * Writes each chunk as soon as the model yields it. Headers go out with the first chunk, so the
 * model may still call `ctx.setHeader` before yielding. Throws what the model throws.
 */
async function pipeStream(res: Reply, stream: Stream): Promise<void> {
  res.statusCode = 200;
  if (!res.hasHeader('content-type')) res.setHeader('content-type', 'application/octet-stream');
  for await (const chunk of stream) {
    if (res.destroyed) break; // the client left: breaking out calls the iterator's return()
    if (!res.write(encodeChunk(chunk))) await drained(res);
  }
  if (!res.destroyed) res.end();
}

function encodeChunk(chunk: unknown): string | Uint8Array {
  if (typeof chunk === 'string' || chunk instanceof Uint8Array) return chunk;
  return `${JSON.stringify(chunk) ?? 'null'}\n`;
}

/** Resolves once the socket takes more data, or the response closed (then nothing drains). */
function drained(res: Reply): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/** Maps a model exception to its error response (PROTOCOL.md, Predict); the stack goes to stderr. */
function fail(res: Reply, ctx: RequestContext, err: unknown): void {
  // A model that stops because ctx.signal fired did what it was asked; that is no error.
  if (ctx.aborted && (err as Error | null)?.name === 'AbortError') return;
  if ((err as { wireBody?: unknown } | null)?.wireBody === undefined) console.error(err);
  else console.error(`chainlet failed: ${(err as { wireBody: string }).wireBody}`);
  if (res.headersSent) {
    // Mid-stream: cut the connection so the client sees a truncated response, but only after the
    // chunks already yielded left (writes are corked until the next tick).
    setImmediate(destroy, res);
    return;
  }
  res.setHeader('x-baseten-error-source', '04');
  res.setHeader('x-baseten-error-code', '600');
  res.setHeader('content-type', 'application/json');
  // a chainlet's failure carries its answer in the chains wire form (chainlet.ts)
  const wire = (err as { wireBody?: unknown } | null)?.wireBody;
  send(
    res,
    errorStatus(err),
    'application/json',
    typeof wire === 'string' ? wire : JSON.stringify({ error: errorMessage(err) }),
  );
}

function destroy(res: Reply): void {
  res.destroy();
}

function errorStatus(err: unknown): number {
  if (typeof err !== 'object' || err === null) return 500;
  const { status, statusCode } = err as { status?: unknown; statusCode?: unknown };
  if (isErrorStatus(status)) return status;
  return isErrorStatus(statusCode) ? statusCode : 500;
}

function isErrorStatus(value: unknown): value is number {
  return Number.isInteger(value) && (value as number) >= 400 && (value as number) <= 599;
}

function errorMessage(err: unknown): string {
  const message = (err as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : String(err);
}

/** Sends a JSON body that is already a string, e.g. `sendJson(res, 200, 'true')`. */
export function sendJson(res: Reply, status: number, body: string): void {
  send(res, status, 'application/json', body);
}

/** A content type the model set with `ctx.setHeader` wins over `type`. */
function send(res: Reply, status: number, type: string, body: string | Uint8Array): void {
  if (res.destroyed) return;
  res.statusCode = status;
  if (!res.hasHeader('content-type')) res.setHeader('content-type', type);
  res.setHeader('content-length', typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength);
  res.end(body);
}
