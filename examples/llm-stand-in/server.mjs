// A stand-in for vLLM: an OpenAI-compatible server that answers deterministically (no model at all).
// POST /v1/chat/completions (streaming, tool calls, response_format), /v1/completions, /v1/embeddings,
// GET /v1/models. Run it alone with `node server.mjs --port 9000 [--served-model-name NAME]`.
// Test hooks: `stand_in` in a body ({words, delay_ms, hold, cut, error}), GET /stand-in/stats, POST /stand-in/release/NAME.
import { createServer } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { content, embedding, promptTokens, replyWords, toolCalls } from './answers.mjs';

const arg = (name) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined);
const port = Number(arg('--port') ?? process.env.PORT ?? 8000);
/** As vLLM's --served-model-name: when set, any other `model` is a 404. */
const servedName = arg('--served-model-name');

const stats = { requests: 0, aborted: 0, open: 0, last: null };
/** Streams waiting at a `stand_in.hold` name, and names released before anyone waited. */
const holds = new Map();
const released = new Set();
let seq = 0;

function send(res, status, body, headers = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** An error as vLLM writes it. */
const fail = (res, status, message, param = null) =>
  send(res, status, {
    error: { message, type: status === 404 ? 'NotFoundError' : 'BadRequestError', param, code: status },
  });

function hold(name) {
  if (released.delete(name)) return Promise.resolve();
  return new Promise((resolve) => holds.set(name, [...(holds.get(name) ?? []), resolve]));
}

/**
 * Writes SSE events one by one: the role chunk and the first token at once (the time to first token
 * is then the servers' alone), the next ones `stand_in.delay_ms` apart. After the role chunk,
 * `stand_in.hold` waits for a release and `stand_in.cut` drops the connection (a server dying mid-stream).
 */
async function stream(res, events, opts) {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', ...replicaHeader });
  stats.open++;
  let gone = false;
  res.on('close', () => {
    stats.open--;
    if (!res.writableFinished) {
      gone = true;
      stats.aborted++;
    }
  });
  for (const [i, event] of events.entries()) {
    if (gone) return;
    if (i === 1 && opts?.cut === true) return void setTimeout(() => res.socket?.destroy(), 50);
    if (i === 1 && typeof opts?.hold === 'string') await hold(opts.hold);
    else if (i > 1 && opts?.delay_ms > 0) await sleep(opts.delay_ms);
    if (!gone && !res.write(`data: ${JSON.stringify(event)}\n\n`)) await new Promise((r) => res.once('drain', r));
  }
  if (!gone) res.end('data: [DONE]\n\n');
}

const replicaHeader = { 'x-stand-in-replica': String(process.pid) };
const pieces = (text) => text.match(/\s*\S+/g) ?? [''];

function chat(res, body) {
  if (!Array.isArray(body.messages) || body.messages.length === 0)
    return fail(res, 400, 'messages must be a non-empty list', 'messages');
  const n = ++seq;
  const base = { id: `chatcmpl-stand-in-${n}`, created: Math.floor(Date.now() / 1000), model: body.model };
  const calls = toolCalls(body, n);
  const { words, finish } = replyWords(body);
  const text = calls ? null : content(body, words.join(' '));
  const completion = calls ? calls.reduce((k, c) => k + pieces(c.function.arguments).length, 0) : words.length;
  const prompt = promptTokens(body);
  const usage = { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
  const finishReason = calls ? 'tool_calls' : finish;
  if (!body.stream) {
    const message = { role: 'assistant', content: text, ...(calls && { tool_calls: calls }) };
    return send(
      res,
      200,
      {
        ...base,
        object: 'chat.completion',
        choices: [{ index: 0, message, logprobs: null, finish_reason: finishReason }],
        usage,
      },
      replicaHeader,
    );
  }
  const withUsage = body.stream_options?.include_usage === true;
  const chunk = (delta, finish_reason = null) => ({
    ...base,
    object: 'chat.completion.chunk',
    choices: [{ index: 0, delta, logprobs: null, finish_reason }],
    ...(withUsage && { usage: null }),
  });
  const events = [chunk({ role: 'assistant', content: '' })];
  if (calls) {
    for (const [index, c] of calls.entries()) {
      events.push(
        chunk({
          tool_calls: [{ index, id: c.id, type: 'function', function: { name: c.function.name, arguments: '' } }],
        }),
      );
      for (const p of pieces(c.function.arguments))
        events.push(chunk({ tool_calls: [{ index, function: { arguments: p } }] }));
    }
  } else {
    for (const p of pieces(text)) events.push(chunk({ content: p }));
  }
  events.push(chunk({}, finishReason));
  if (withUsage) events.push({ ...base, object: 'chat.completion.chunk', choices: [], usage });
  return stream(res, events, body.stand_in);
}

function completions(res, body) {
  const n = ++seq;
  const base = { id: `cmpl-stand-in-${n}`, created: Math.floor(Date.now() / 1000), model: body.model };
  const { words, finish } = replyWords(body);
  const prompt = promptTokens(body);
  const usage = { prompt_tokens: prompt, completion_tokens: words.length, total_tokens: prompt + words.length };
  const choice = (text, finish_reason) => ({ index: 0, text, logprobs: null, finish_reason });
  if (!body.stream)
    return send(
      res,
      200,
      { ...base, object: 'text_completion', choices: [choice(words.join(' '), finish)], usage },
      replicaHeader,
    );
  const events = pieces(words.join(' ')).map((p) => ({
    ...base,
    object: 'text_completion',
    choices: [choice(p, null)],
  }));
  events.push({ ...base, object: 'text_completion', choices: [choice('', finish)] });
  if (body.stream_options?.include_usage === true)
    events.push({ ...base, object: 'text_completion', choices: [], usage });
  return stream(res, events, body.stand_in);
}

function embeddings(res, body) {
  const inputs = Array.isArray(body.input) ? body.input : [body.input ?? ''];
  const data = inputs.map((text, index) => ({
    object: 'embedding',
    index,
    embedding: embedding(String(text), body.dimensions),
  }));
  const tokens = inputs.reduce((k, t) => k + String(t).split(/\s+/).filter(Boolean).length, 0);
  send(
    res,
    200,
    { object: 'list', data, model: body.model, usage: { prompt_tokens: tokens, total_tokens: tokens } },
    replicaHeader,
  );
}

/** Girder's predict: a chat completion when the body is a chat request, the body back otherwise. */
const predict = (res, body) =>
  Array.isArray(body?.messages) ? chat(res, body) : send(res, 200, { echo: body }, replicaHeader);

const ROUTES = {
  '/v1/chat/completions': chat,
  '/v1/completions': completions,
  '/v1/embeddings': embeddings,
  '/predict': predict,
};

async function handle(req, res) {
  const path = req.url.split('?')[0];
  if (path === '/health') return res.end('ok');
  if (path === '/stand-in/stats') return send(res, 200, stats);
  if (path.startsWith('/stand-in/release/')) {
    const name = decodeURIComponent(path.slice('/stand-in/release/'.length));
    const waiting = holds.get(name) ?? [];
    holds.delete(name);
    if (!waiting.length) released.add(name);
    for (const go of waiting) go();
    return send(res, 200, { released: waiting.length });
  }
  if (path === '/v1/models' && req.method === 'GET')
    return send(res, 200, {
      object: 'list',
      data: [{ id: servedName ?? 'llm-stand-in', object: 'model', owned_by: 'stand-in' }],
    });
  const route = ROUTES[path];
  if (!route || req.method !== 'POST') return fail(res, 404, `no route ${req.method} ${path}`);
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const raw = Buffer.concat(chunks).toString('utf8');
  stats.requests++;
  stats.last = { path, headers: req.headers, body: raw };
  let body;
  try {
    body = JSON.parse(raw);
  } catch {
    return fail(res, 400, 'the body is not JSON');
  }
  if (!body || typeof body !== 'object' || Array.isArray(body)) return fail(res, 400, 'the body is not a JSON object');
  const forced = body.stand_in?.error;
  if (forced) return fail(res, forced.status ?? 400, forced.message ?? 'forced error');
  if (servedName !== undefined && path !== '/predict' && body.model !== servedName)
    return fail(res, 404, `The model \`${body.model}\` does not exist.`, 'model');
  return route(res, body);
}

const server = createServer((req, res) =>
  handle(req, res).catch((err) => {
    if (!res.headersSent) fail(res, 500, String(err?.message ?? err));
    else res.destroy();
  }),
);
server.keepAliveTimeout = 65_000;
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
