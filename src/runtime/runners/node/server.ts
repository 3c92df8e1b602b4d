/**
 * The node runner: serves a TypeScript/JavaScript model directory as a replica (PROTOCOL.md).
 * Girder starts it with the protocol's environment:
 *
 * @example
 *   PORT=8080 GIRDER_MODEL_DIR=/snapshots/abc GIRDER_CONFIG='{"model_class_filename":"model.ts"}' \
 *     node --disable-warning=ExperimentalWarning src/runtime/runners/node/server.ts
 */
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { Reply } from './context.ts';
import { createModel } from './load-model.ts';
import { patchConsole } from './logging.ts';
import { OPENAI_METHODS, serveOpenAIMethod } from './openai.ts';
import { type Served, sendJson, servePredict } from './predict.ts';
import { sendNoRoute, sendRunnerError } from './runner-error.ts';
import { Semaphore } from './semaphore.ts';

const NOT_READY = JSON.stringify({ error: 'Model with name model is not ready.' });
/** In-flight requests get this long after SIGTERM; a stuck model must not hold up a deploy. */
const SHUTDOWN_GRACE_MS = 2_000;

// As in context.ts: node:http's CommonJS object, so that starting does not load Node's undici.
const { createServer } = process.getBuiltinModule('node:http');

/** Set once `load()` finished; until then readiness and predict answer 503. */
let served: Served | undefined;

const server = createServer<typeof IncomingMessage, typeof Reply>(
  // Longer than Node's 5 s so the gateway's pooled connections survive pauses between requests.
  { ServerResponse: Reply, keepAliveTimeout: 30_000 },
  route,
);

function route(req: IncomingMessage, res: Reply): void {
  const url = req.url ?? '/';
  const query = url.indexOf('?');
  const path = query === -1 ? url : url.slice(0, query);
  const openai = req.method === 'POST' ? OPENAI_METHODS.get(path) : undefined;
  if (openai) {
    if (served) serveOpenAIMethod(served, req, res, openai);
    else sendRunnerError(res, 503, 'model_not_ready', 'Model with name model is not ready.', 'Retry shortly.');
    return;
  }
  if (req.method === 'POST' && path === '/v1/models/model:predict') {
    if (served) servePredict(served, req, res);
    else
      sendRunnerError(
        res,
        503,
        'model_not_ready',
        'Model with name model is not ready.',
        'Retry shortly: the model is still loading.',
      );
  } else if (req.method === 'GET' && path === '/') {
    sendJson(res, 200, 'true');
  } else if (req.method === 'GET' && path === '/v1/models/model') {
    void readiness(res);
  } else {
    sendNoRoute(res, req.method ?? 'GET', path);
  }
}

async function readiness(res: Reply): Promise<void> {
  let ready = served !== undefined;
  if (served?.model.isHealthy) {
    try {
      ready = Boolean(await served.model.isHealthy());
    } catch (err) {
      console.error('isHealthy threw:', err);
      ready = false;
    }
  }
  sendJson(res, ready ? 200 : 503, ready ? '{}' : NOT_READY);
}

function shutdown(): void {
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), SHUTDOWN_GRACE_MS).unref();
}

function die(err: unknown): never {
  console.error(err);
  process.exit(1);
}

patchConsole();
process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);
// Girder holds our stdin open: its end means Girder is gone (even by SIGKILL), so we go too.
process.stdin.on('end', shutdown).on('error', shutdown).resume();

const port = Number(process.env.PORT);
if (!Number.isInteger(port) || port <= 0) die(`PORT must be a port number, got ${JSON.stringify(process.env.PORT)}.`);
try {
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  const { model, concurrency } = await createModel(process.env);
  await model.load?.();
  served = { model, slots: new Semaphore(concurrency) };
  console.log(`Model loaded; serving on 127.0.0.1:${port}.`);
} catch (err) {
  die(err);
}
