import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { type TestContext, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../../../../test/wait.ts';
import { freePort } from '../../ports.ts';

const SERVER = fileURLToPath(new URL('./server.ts', import.meta.url));
const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const JSON_TYPE = { 'content-type': 'application/json' };

interface Line {
  stream: 'stdout' | 'stderr';
  raw: string;
  msg: string;
  level?: string;
  request_id?: string;
}

interface Runner {
  url: string;
  child: ChildProcess;
  lines: Line[];
  exited: Promise<number | null>;
  /** Resolves with the first line (already written or to come) that matches. */
  line(match: (line: Line) => boolean): Promise<Line>;
  predict(body: unknown, headers?: Record<string, string>, signal?: AbortSignal): Promise<Response>;
}

interface StartOptions {
  config?: Record<string, unknown>;
  env?: Record<string, string>;
  /** Wait for readiness (default), only liveness, or nothing. */
  wait?: 'ready' | 'live' | 'none';
}

/** Spawns the runner on a fixture as Girder would; the child is killed when the test ends. */
async function start(t: TestContext, fixture: string, options: StartOptions = {}): Promise<Runner> {
  const port = await freePort();
  const config = {
    model_name: fixture,
    model_module_dir: 'model',
    model_class_filename: 'model.ts',
    model_class_name: 'Model',
    data_dir: 'data',
    runtime: { predict_concurrency: 1 },
    ...options.config,
  };
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', SERVER], {
    env: {
      PATH: process.env.PATH,
      PORT: String(port),
      GIRDER_MODEL_DIR: join(FIXTURES, fixture),
      GIRDER_CONFIG: JSON.stringify(config),
      GIRDER_ENVIRONMENT: 'null',
      ...options.env,
    },
    stdio: ['pipe', 'pipe', 'pipe'], // stdin held open, as Girder does
  });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const exited = once(child, 'exit').then(([code]) => code as number | null);

  const lines: Line[] = [];
  const waiters: Array<{ match: (line: Line) => boolean; resolve: (line: Line) => void }> = [];
  for (const stream of ['stdout', 'stderr'] as const) {
    createInterface({ input: child[stream]! }).on('line', (raw) => {
      const line: Line = { stream, raw, msg: raw };
      if (raw.startsWith('{')) Object.assign(line, JSON.parse(raw));
      lines.push(line);
      for (const w of waiters.filter((w) => w.match(line))) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    });
  }

  const url = `http://127.0.0.1:${port}`;
  const runner: Runner = {
    url,
    child,
    lines,
    exited,
    line: (match) => {
      const seen = lines.find(match);
      return seen ? Promise.resolve(seen) : new Promise((resolve) => waiters.push({ match, resolve }));
    },
    predict: (body, headers = {}, signal) =>
      fetch(`${url}/v1/models/model:predict`, {
        method: 'POST',
        headers: { ...JSON_TYPE, ...headers },
        signal,
        body: body instanceof Uint8Array ? body : JSON.stringify(body),
      }),
  };
  if (options.wait !== 'none') await until(`${url}/`);
  if ((options.wait ?? 'ready') === 'ready') await until(`${url}/v1/models/model`);
  return runner;
}

/** Polls until the URL answers 200 (as long as a test may take: its own timeout stops it first). */
const until = (url: string): Promise<boolean> =>
  waitFor(async () => (await fetch(url).catch(() => null))?.status === 200, 15_000, `${url} to answer 200`);

async function errorOf(res: Response): Promise<string> {
  return ((await res.json()) as { error: string }).error;
}

async function readChunk(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<string> {
  const { value } = await reader.read();
  return new TextDecoder().decode(value);
}

test('readiness is 503 until a slow load() finishes, then 200', { timeout: 15_000 }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'girder-load-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const gate = join(dir, 'go');
  const runner = await start(t, 'slow-load', { env: { LOAD_GATE: gate }, wait: 'live' });

  const early = await fetch(`${runner.url}/v1/models/model`);
  assert.equal(early.status, 503);
  assert.deepEqual(await early.json(), { error: 'Model with name model is not ready.' });
  assert.equal((await runner.predict({})).status, 503);

  await writeFile(gate, '');
  await until(`${runner.url}/v1/models/model`);
  assert.deepEqual(await (await fetch(`${runner.url}/v1/models/model`)).json(), {});
  assert.equal(await (await fetch(`${runner.url}/`)).text(), 'true');
});

test('a JSON predict runs preprocess → predict → postprocess', { timeout: 15_000 }, async (t) => {
  const runner = await start(t, 'pipeline');
  const res = await runner.predict({ x: 1 });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'application/json');
  assert.deepEqual(await res.json(), { result: 19 }); // ((1 + 1) * 10) - 1
});

test('non-JSON bodies reach the model as bytes, and bytes go back as octet-stream', { timeout: 15_000 }, async (t) => {
  const runner = await start(t, 'echo', { config: { model_class_name: 'Echo' } });
  const res = await runner.predict(new Uint8Array([1, 2, 3]), { 'content-type': 'application/octet-stream' });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'application/octet-stream');
  assert.deepEqual(new Uint8Array(await res.arrayBuffer()), new Uint8Array([3, 2, 1]));
});

test('a streamed chunk arrives before the model yields the next one', { timeout: 15_000 }, async (t) => {
  const runner = await start(t, 'stream');
  const res = await runner.predict({ mode: 'chunks', id: 's1' });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'text/plain; charset=utf-8');
  const reader = res.body!.getReader();
  // The model yields its second chunk only after the request below opens the gate.
  assert.equal(await readChunk(reader), 'first\n');
  const opener = runner.predict({ id: 'opener', open: 's1' });
  assert.equal(await readChunk(reader), '{"second":true}\n');
  assert.equal((await reader.read()).done, true);
  assert.equal((await opener).status, 200);
});

test('Accept: application/json joins a stream into one JSON string, as Truss does', { timeout: 15_000 }, async (t) => {
  const runner = await start(t, 'stream');
  const res = await runner.predict({ mode: 'short', id: 'g1' }, { accept: 'application/json' });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'application/json');
  assert.equal(await res.json(), 'ab{"c":1}\n');
});

test('the OpenAI SDK still gets a stream though it sends Accept: application/json', { timeout: 15_000 }, async (t) => {
  const runner = await start(t, 'stream');
  const res = await runner.predict(
    { mode: 'short', id: 'g2' },
    { accept: 'application/json', 'user-agent': 'AsyncOpenAI/Python 1.55.0' },
  );
  assert.equal(res.headers.get('transfer-encoding'), 'chunked');
  assert.equal(await res.text(), 'ab{"c":1}\n');
});

test('an exception in the model is a 500 with its message and the Baseten error headers', {
  timeout: 15_000,
}, async (t) => {
  const runner = await start(t, 'echo', { config: { model_class_name: 'Echo' } });
  const res = await runner.predict({ fail: 'boom' }, { 'x-baseten-request-id': 'req-fail' });
  assert.equal(res.status, 500);
  assert.equal(res.headers.get('x-baseten-error-source'), '04');
  assert.equal(res.headers.get('x-baseten-error-code'), '600');
  assert.deepEqual(await res.json(), { error: 'boom' });
  const logged = await runner.line((l) => l.request_id === 'req-fail');
  assert.equal(logged.stream, 'stderr');
  assert.match(logged.msg, /Error: boom\n\s+at /);
});

test('an HttpError chooses the status', { timeout: 15_000 }, async (t) => {
  const runner = await start(t, 'echo', { config: { model_class_name: 'Echo' } });
  const res = await runner.predict({ status: 422 });
  assert.equal(res.status, 422);
  assert.deepEqual(await res.json(), { error: 'refused with 422' });
});

test('invalid JSON is a 400', { timeout: 15_000 }, async (t) => {
  const runner = await start(t, 'echo', { config: { model_class_name: 'Echo' } });
  const res = await fetch(`${runner.url}/v1/models/model:predict`, {
    method: 'POST',
    headers: JSON_TYPE,
    body: '{bad',
  });
  assert.equal(res.status, 400);
  assert.match(await errorOf(res), /^Invalid JSON payload: /);
});

test('the request id reaches ctx and tags the log lines of the request', { timeout: 15_000 }, async (t) => {
  const runner = await start(t, 'echo', { config: { model_class_name: 'Echo' } });
  const res = await runner.predict(
    { log: 'hello from predict' },
    { 'x-baseten-request-id': 'req-42', 'x-test': 'yes' },
  );
  assert.deepEqual(await res.json(), { requestId: 'req-42', header: 'yes' });
  const logged = await runner.line((l) => l.msg === 'hello from predict');
  assert.deepEqual(JSON.parse(logged.raw), { level: 'info', msg: 'hello from predict', request_id: 'req-42' });
  assert.equal(logged.stream, 'stdout');
});

test('predict_concurrency=1 runs one predict at a time', { timeout: 15_000 }, async (t) => {
  const runner = await start(t, 'stream', { config: { runtime: { predict_concurrency: 1 } } });
  const first = runner.predict({ id: 'a', waitFor: 'b-arrived' });
  await runner.line((l) => l.msg === 'started a');
  // b's preprocess (outside the semaphore) lets a finish; b's predict may only start after that.
  const second = await runner.predict({ id: 'b', open: 'b-arrived' });
  assert.deepEqual(await second.json(), ['start a', 'end a', 'start b', 'end b']);
  assert.equal((await first).status, 200);
});

test('a client abort fires ctx.signal and stops pulling from the stream', { timeout: 15_000 }, async (t) => {
  const runner = await start(t, 'stream');
  const abort = new AbortController();
  const res = await runner.predict({ mode: 'ticks', id: 't1' }, {}, abort.signal);
  assert.equal(await readChunk(res.body!.getReader()), 'tick\n');
  abort.abort();
  await runner.line((l) => l.msg === 'aborted t1');
  await runner.line((l) => l.msg === 'closed t1'); // the generator's finally: the runner called return()
});

test('a stream is pulled only as fast as the client reads (backpressure)', { timeout: 15_000 }, async (t) => {
  const runner = await start(t, 'stream');
  const abort = new AbortController();
  const res = await runner.predict({ mode: 'flood', id: 'f1' }, {}, abort.signal);
  await res.body!.getReader().read();
  abort.abort();
  const closed = await runner.line((l) => l.msg.startsWith('closed f1 after '));
  // Without waiting for 'drain' the never-waiting generator would be drained whole (1024 MiB).
  assert.ok(Number(closed.msg.split(' ').at(-1)) < 64, closed.msg);
});

test('an exception after the stream started cuts the connection', { timeout: 15_000 }, async (t) => {
  const runner = await start(t, 'stream');
  const res = await runner.predict({ mode: 'broken', id: 'b1' });
  assert.equal(res.status, 200);
  const reader = res.body!.getReader();
  assert.equal(await readChunk(reader), 'partial\n');
  await assert.rejects(reader.read());
  await runner.line((l) => l.stream === 'stderr' && l.msg.includes('stream broke'));
});

test('a streaming predict with postprocess is a 412 ModelDefinitionError', { timeout: 15_000 }, async (t) => {
  const runner = await start(t, 'pipeline');
  const res = await runner.predict({ x: 1, stream: true });
  assert.equal(res.status, 412);
  assert.match(await errorOf(res), /^ModelDefinitionError: /);
});

test('secrets, environment, data dir and config reach the constructor', { timeout: 15_000 }, async (t) => {
  const secrets = await mkdtemp(join(tmpdir(), 'girder-secrets-'));
  t.after(() => rm(secrets, { recursive: true, force: true }));
  await writeFile(join(secrets, 'hf_token'), 'hf_abc');
  const runner = await start(t, 'echo', {
    config: { model_class_name: 'Echo' },
    env: { GIRDER_SECRETS_DIR: secrets, GIRDER_ENVIRONMENT: '{"name":"production"}' },
  });
  const res = await runner.predict({ init: true });
  assert.deepEqual(await res.json(), {
    modelName: 'echo',
    dataDir: join(FIXTURES, 'echo', 'data'),
    secrets: { hf_token: 'hf_abc' },
    environment: { name: 'production' },
  });
});

test('a throwing load() exits 1 with the stack on stderr', { timeout: 15_000 }, async (t) => {
  const runner = await start(t, 'bad-load', { wait: 'none' });
  assert.equal(await runner.exited, 1);
  assert.ok(runner.lines.some((l) => l.stream === 'stderr' && l.raw.includes('Error: weights missing')));
  assert.ok(runner.lines.some((l) => l.stream === 'stderr' && /^\s+at /.test(l.raw)));
});

test('SIGTERM exits 0', { timeout: 15_000 }, async (t) => {
  const runner = await start(t, 'echo', { config: { model_class_name: 'Echo' } });
  assert.equal((await runner.predict({ hi: 1 })).status, 200); // leaves an idle keep-alive connection
  runner.child.kill('SIGTERM');
  assert.equal(await runner.exited, 0);
});

test('the runner exits when its stdin closes, as when Girder dies', { timeout: 15_000 }, async (t) => {
  const runner = await start(t, 'echo', { config: { model_class_name: 'Echo' } });
  runner.child.stdin!.end();
  assert.equal(await runner.exited, 0);
});
