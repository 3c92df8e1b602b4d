import type { IncomingMessage } from 'node:http';
import type { Model } from '../../../sdk/index.ts';
import { type Reply, RequestContext } from './context.ts';
import { requestScope } from './logging.ts';
import { type Served, sendJson } from './predict.ts';
import { sendRunnerError } from './runner-error.ts';

/**
 * A model's OpenAI-compatible methods, as the Truss server has them: `POST /v1/chat/completions`
 * calls `chatCompletions(body, ctx)` and `POST /v1/completions` `completions(body, ctx)`, with the
 * parsed body and no pre- or postprocess, bounded by predict_concurrency like predict.
 */
export const OPENAI_METHODS: ReadonlyMap<string, 'chatCompletions' | 'completions'> = new Map([
  ['/v1/chat/completions', 'chatCompletions'],
  ['/v1/completions', 'completions'],
]);

type Method = 'chatCompletions' | 'completions';
const OPENAI_PATHS: Record<Method, string> = {
  chatCompletions: 'POST /v1/chat/completions',
  completions: 'POST /v1/completions',
};
type Stream = AsyncIterable<unknown> | Iterable<unknown>;

/**
 * Answers `POST /v1/chat/completions` or `/v1/completions` with the model's method; never throws.
 * A returned object is the JSON answer; an async iterable (or a non-array iterable) streams as SSE:
 * a string or bytes chunk is written as the model wrote it, an object as one `data:` event, and a
 * stream of objects ends with `data: [DONE]`.
 *
 * @example
 *   const method = OPENAI_METHODS.get(path);
 *   if (method && req.method === 'POST') serveOpenAIMethod(served, req, res, method);
 */
export function serveOpenAIMethod(served: Served, req: IncomingMessage, res: Reply, method: Method): void {
  const ctx = RequestContext.attach(req, res);
  void requestScope.run(ctx.requestId, run, served, req, res, ctx, method);
}

async function run(served: Served, req: IncomingMessage, res: Reply, ctx: RequestContext, method: Method) {
  const chunks: Buffer[] = [];
  try {
    for await (const c of req) chunks.push(c as Buffer);
  } catch {
    return; // the client left mid-upload
  }
  const fn = (served.model as Model & Partial<Record<Method, (input: unknown, c: RequestContext) => unknown>>)[method];
  // No model code runs for these two: they are the runner's own errors (PROTOCOL.md).
  if (typeof fn !== 'function') {
    const detail = `Define ${method}(body, ctx) on the model class to serve ${OPENAI_PATHS[method]}.`;
    return sendRunnerError(res, 404, 'model_does_not_exist', `The model has no ${method} method.`, detail);
  }
  let input: unknown;
  try {
    input = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (err) {
    const message = `Invalid JSON payload: ${(err as Error).message}`;
    return sendRunnerError(res, 400, 'client_error', message, 'Send the request body as JSON.');
  }
  await served.slots.acquire();
  try {
    if (ctx.aborted) return;
    const output = await fn.call(served.model, input, ctx);
    if (isStream(output)) await sse(res, output);
    else sendJson(res, 200, JSON.stringify(output) ?? 'null');
  } catch (err) {
    if (ctx.aborted && (err as Error | null)?.name === 'AbortError') return;
    console.error(err);
    if (res.headersSent) res.destroy();
    else sendJson(res, statusOf(err), JSON.stringify({ error: (err as Error)?.message ?? String(err) }));
  } finally {
    served.slots.release();
  }
}

function isStream(value: unknown): value is Stream {
  if (typeof value !== 'object' || value === null) return false;
  if (Symbol.asyncIterator in value) return true;
  return Symbol.iterator in value && !Array.isArray(value) && !(value instanceof Uint8Array);
}

async function sse(res: Reply, stream: Stream): Promise<void> {
  res.statusCode = 200;
  if (!res.hasHeader('content-type')) res.setHeader('content-type', 'text/event-stream');
  res.setHeader('cache-control', 'no-cache');
  let framed = false;
  for await (const chunk of stream) {
    if (res.destroyed) break; // the client left: leaving the loop calls the iterator's return()
    const text =
      typeof chunk === 'string' || chunk instanceof Uint8Array ? chunk : `data: ${JSON.stringify(chunk)}\n\n`;
    framed ||= text !== chunk;
    if (!res.write(text)) await new Promise((r) => res.once('drain', r).once('close', r));
  }
  if (!res.destroyed) res.end(framed ? 'data: [DONE]\n\n' : undefined);
}

function statusOf(err: unknown): number {
  const { status, statusCode } = (err ?? {}) as { status?: unknown; statusCode?: unknown };
  for (const s of [status, statusCode])
    if (Number.isInteger(s) && (s as number) >= 400 && (s as number) <= 599) return s as number;
  return 500;
}
