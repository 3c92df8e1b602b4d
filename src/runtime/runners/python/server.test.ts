// The python runner as Girder uses it: `python3 -u server.py` as a child process on a free port,
// driven over real HTTP. Fixture models live in ./fixtures/<name>/.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { waitFor } from '../../../../test/wait.ts';
import { freePort } from '../../ports.ts';

const SERVER_PY = path.join(import.meta.dirname, 'server.py');
const FIXTURES = path.join(import.meta.dirname, 'fixtures');
const JSON_HEADERS = { 'content-type': 'application/json' };
// GIRDER_TEST_PYTHON=/path/to/python3.9 runs the suite on another interpreter (Girder supports >= 3.9).
const PYTHON = process.env.GIRDER_TEST_PYTHON ?? 'python3';
/** How long a test waits for the runner; the deadline only keeps a broken runner from hanging the suite. */
const WAIT_MS = 15_000;

interface Runner {
  url: string;
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

interface StartOptions {
  config?: Record<string, unknown>;
  secrets?: Record<string, string>;
  env?: Record<string, string>;
  environment?: unknown;
}

const children: ChildProcess[] = [];
const tempDirs: string[] = [];

after(async () => {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
  for (const dir of tempDirs) await rm(dir, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'girder-pyrunner-'));
  tempDirs.push(dir);
  return dir;
}

/** Spawn server.py on a fixture the way Girder does: env per PROTOCOL.md, config already defaulted. */
async function spawnRunner(fixture: string, options: StartOptions = {}): Promise<Runner> {
  const port = await freePort();
  const secretsDir = await tempDir();
  for (const [name, value] of Object.entries(options.secrets ?? {})) {
    await writeFile(path.join(secretsDir, name), value);
  }
  const { runtime, ...rest } = options.config ?? {};
  const config = {
    model_name: fixture,
    model_module_dir: 'model',
    model_class_filename: 'model.py',
    model_class_name: 'Model',
    data_dir: 'data',
    environment_variables: {},
    secrets: {},
    ...rest,
    runtime: { predict_concurrency: 1, ...(runtime as object | undefined) },
  };
  const child = spawn(PYTHON, ['-u', SERVER_PY], {
    env: {
      PATH: process.env.PATH,
      PYTHONDONTWRITEBYTECODE: '1',
      PORT: String(port),
      GIRDER_MODEL_DIR: path.join(FIXTURES, fixture),
      GIRDER_CONFIG: JSON.stringify(config),
      GIRDER_SECRETS_DIR: secretsDir,
      GIRDER_ENVIRONMENT: JSON.stringify(options.environment ?? null),
      BT_MODEL_ID: 'abcd1234',
      BT_MODEL_DEPLOYMENT_ID: 'dep1234',
      ...(config.environment_variables as Record<string, string>),
      ...options.env,
    },
    stdio: ['pipe', 'pipe', 'pipe'], // stdin held open, as Girder does
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return { url: `http://127.0.0.1:${port}`, child, stdout: () => stdout, stderr: () => stderr, exited };
}

async function startRunner(fixture: string, options: StartOptions = {}): Promise<Runner> {
  const runner = await spawnRunner(fixture, options);
  const { child } = runner;
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`runner exited early (${child.exitCode}):\n${runner.stderr()}`);
      return (await get(runner, '/'))?.status === 200;
    },
    WAIT_MS,
    'the runner to listen',
  );
  return runner;
}

async function startReady(fixture: string, options: StartOptions = {}): Promise<Runner> {
  const runner = await startRunner(fixture, options);
  await waitFor(async () => (await get(runner, '/v1/models/model'))?.status === 200, WAIT_MS, 'the model to be ready');
  return runner;
}

async function get(runner: Runner, urlPath: string): Promise<Response | undefined> {
  try {
    return await fetch(runner.url + urlPath);
  } catch {
    return undefined; // not listening yet
  }
}

function predict(runner: Runner, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${runner.url}/v1/models/model:predict`, {
    method: 'POST',
    headers: { ...JSON_HEADERS, ...headers },
    body: JSON.stringify(body),
  });
}

/** Read from a streamed body until `text` has arrived; returns everything read so far. */
async function readUntil(reader: ReadableStreamDefaultReader<Uint8Array>, text: string, sofar = ''): Promise<string> {
  const decoder = new TextDecoder();
  while (!sofar.includes(text)) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`stream ended before ${JSON.stringify(text)}; got ${JSON.stringify(sofar)}`);
    sofar += decoder.decode(value, { stream: true });
  }
  return sofar;
}

function jsonLines(output: string): Record<string, unknown>[] {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

test('readiness is 503 while load() runs, then 200 {}', async () => {
  const dir = await tempDir();
  const gate = path.join(dir, 'gate');
  const runner = await startRunner('slow-load', { env: { FIXTURE_GATE: gate, FIXTURE_SICK: path.join(dir, 'sick') } });

  const before = await fetch(`${runner.url}/v1/models/model`);
  assert.equal(before.status, 503);
  assert.deepEqual(await before.json(), { error: 'Model with name model is not ready.' });
  assert.equal((await fetch(`${runner.url}/v1/models/model/loaded`)).status, 503);
  const live = await fetch(`${runner.url}/`);
  assert.equal(live.status, 200);
  assert.equal(await live.json(), true);
  const early = await predict(runner, {});
  assert.equal(early.status, 503);
  await early.body?.cancel();

  await writeFile(gate, '');
  const ready = await waitFor(
    async () => {
      const response = await fetch(`${runner.url}/v1/models/model`);
      if (response.status === 200) return response;
      await response.body?.cancel();
      return undefined;
    },
    WAIT_MS,
    'readiness',
  );
  assert.deepEqual(await ready.json(), {});
  const loaded = await fetch(`${runner.url}/v1/models/model/loaded`);
  assert.equal(loaded.status, 200);
  assert.deepEqual(await loaded.json(), {});
});

test('readiness follows is_healthy() once loaded', async () => {
  const dir = await tempDir();
  const gate = path.join(dir, 'gate');
  const sick = path.join(dir, 'sick');
  await writeFile(gate, '');
  const runner = await startReady('slow-load', { env: { FIXTURE_GATE: gate, FIXTURE_SICK: sick } });

  await writeFile(sick, '');
  const unhealthy = await fetch(`${runner.url}/v1/models/model`);
  assert.equal(unhealthy.status, 503);
  assert.deepEqual(await unhealthy.json(), { error: 'Model with name model is not ready.' });
  await waitFor(() => runner.stderr().includes('Health check failed.'), WAIT_MS, 'the health check failure log');

  await rm(sick);
  assert.equal((await fetch(`${runner.url}/v1/models/model`)).status, 200);
});

test('JSON predict runs preprocess, predict and postprocess', async () => {
  const runner = await startReady('pipeline');
  const response = await predict(runner, { numbers: ['1', 2, '3'] });
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('content-type'), 'application/json');
  assert.deepEqual(await response.json(), { mean: 2, steps: ['preprocess', 'predict', 'postprocess'] });
});

test('a Truss model taking **kwargs gets config, data_dir, secrets and environment', async () => {
  const runner = await startReady('truss-kwargs', {
    config: {
      model_metadata: { owner: 'fixtures' },
      environment_variables: { GREETING_STYLE: 'warm' },
      secrets: { api_token: null, not_set_anywhere: null },
    },
    secrets: { api_token: 's3cr3t' },
    environment: { name: 'production' },
  });
  const response = await predict(runner, {});
  assert.equal(response.status, 200);
  assert.deepEqual(await response.json(), {
    kwargs: ['config', 'data_dir', 'environment', 'secrets'],
    model_name: 'truss-kwargs',
    owner: 'fixtures',
    data_dir_is_path: true,
    greeting: 'hello from data_dir',
    api_token: 's3cr3t',
    get_missing: 'default',
    missing_secret_error: "Secret 'not_set_anywhere' is not set. Set it with `girder secrets set not_set_anywhere`.",
    environment: { name: 'production' },
    env_var: 'warm',
  });
});

test('Model.__init__ gets only the keyword arguments it declares', async () => {
  const runner = await startReady('explicit-init');
  const response = await predict(runner, {});
  assert.equal(response.status, 200);
  assert.deepEqual(await response.json(), { model_name: 'explicit-init' });
});

/** msgpack's short forms, enough to write the bodies below by hand: a fixmap, a fixstr. */
const fixmap = (n: number) => Buffer.from([0x80 | n]);
const fixstr = (s: string) => Buffer.concat([Buffer.from([0xa0 | Buffer.byteLength(s)]), Buffer.from(s)]);

test('an octet-stream body is msgpack both ways, as in Truss', async () => {
  const runner = await startReady('msgpack-echo');
  const response = await fetch(`${runner.url}/v1/models/model:predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream' },
    body: Buffer.concat([fixmap(1), fixstr('a'), Buffer.from([0x01])]), // {"a": 1}
  });
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('content-type'), 'application/octet-stream');
  const expected = Buffer.concat([
    fixmap(2),
    fixstr('echo'),
    fixmap(1),
    fixstr('a'),
    Buffer.from([0x01]),
    fixstr('type'),
    fixstr('dict'),
  ]);
  assert.deepEqual(Buffer.from(await response.arrayBuffer()), expected);
});

test('an octet-stream body that is not msgpack is 400 and says why', async () => {
  const runner = await startReady('msgpack-echo');
  const response = await fetch(`${runner.url}/v1/models/model:predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream' },
    body: new Uint8Array([0xc1]),
  });
  assert.equal(response.status, 400);
  assert.match(
    ((await response.json()) as { error: string }).error,
    /Invalid msgpack payload: 0xc1 is not a msgpack type byte/,
  );
});

test('a binary media body reaches the model as bytes, and bytes come back as octet-stream', async () => {
  const runner = await startReady('bytes-echo');
  const response = await fetch(`${runner.url}/v1/models/model:predict`, {
    method: 'POST',
    headers: { 'content-type': 'image/png' },
    body: new Uint8Array([0x00, 0xff, 0x41]),
  });
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('content-type'), 'application/octet-stream');
  const body = new Uint8Array(await response.arrayBuffer());
  assert.deepEqual([...body], [...Buffer.from('reversed:'), 0x41, 0xff, 0x00]);
});

test('Accept: application/json joins a stream into one JSON string, as Truss does', async () => {
  const runner = await startReady('streaming');
  const response = await predict(runner, { mode: 'short' }, { accept: 'application/json' });
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('content-type'), 'application/json');
  assert.equal(await response.json(), 'abc');
});

test('the OpenAI SDK still gets a stream though it sends Accept: application/json', async () => {
  const runner = await startReady('streaming');
  const response = await predict(
    runner,
    { mode: 'short' },
    { accept: 'application/json', 'user-agent': 'OpenAI/Python 1.55.0' },
  );
  assert.equal(response.headers.get('transfer-encoding'), 'chunked');
  assert.equal(await response.text(), 'abc');
});

test('a generator streams chunk by chunk', async () => {
  const runner = await startReady('streaming');
  const gate = path.join(await tempDir(), 'gate');
  const response = await predict(runner, { mode: 'gated', gate });
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('content-type'), 'application/octet-stream');
  assert.equal(response.headers.get('transfer-encoding'), 'chunked');
  const reader = response.body!.getReader();

  // The generator cannot produce chunk 2 before the gate exists, and the gate is only created
  // after chunk 1 arrived: chunk 1 was flushed on its own.
  const first = await readUntil(reader, '\n');
  assert.equal(first, 'chunk-1\n');
  await writeFile(gate, '');
  let rest = '';
  const decoder = new TextDecoder();
  for (let part = await reader.read(); !part.done; part = await reader.read()) {
    rest += decoder.decode(part.value, { stream: true });
  }
  assert.equal(rest, 'chunk-2\n{"done":true}\n');
});

test('a client that goes away closes the generator', async () => {
  const runner = await startReady('streaming');
  const marker = path.join(await tempDir(), 'closed');
  const abort = new AbortController();
  const response = await fetch(`${runner.url}/v1/models/model:predict`, {
    method: 'POST',
    headers: JSON_HEADERS,
    body: JSON.stringify({ mode: 'endless', closed_marker: marker }),
    signal: abort.signal,
  });
  await readUntil(response.body!.getReader(), 'first\n');
  abort.abort();
  await waitFor(() => existsSync(marker), WAIT_MS, 'the generator to be closed');
  assert.equal(await readFile(marker, 'utf8'), 'closed');
  // The replica keeps serving.
  const next = await predict(runner, { mode: 'gated', gate: marker });
  assert.equal(await next.text(), 'chunk-1\nchunk-2\n{"done":true}\n');
});

test('a streaming predict with postprocess is a 412 ModelDefinitionError', async () => {
  const runner = await startReady('stream-with-postprocess');
  const response = await predict(runner, {});
  assert.equal(response.status, 412);
  const body = (await response.json()) as { error: string };
  assert.match(body.error, /^ModelDefinitionError: If the predict function returns a generator/);
});

test('async def preprocess and predict run, with the request object', async () => {
  const runner = await startReady('async-model');
  const response = await predict(runner, { name: 'ada' }, { 'x-baseten-request-id': 'req-async' });
  assert.equal(response.status, 200);
  assert.deepEqual(await response.json(), {
    greeting: 'hello ada',
    calls: 1,
    request_id: 'req-async',
    disconnected: false,
  });
});

test('an async generator streams', async () => {
  const runner = await startReady('async-model');
  const response = await predict(runner, { name: 'stream' });
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('transfer-encoding'), 'chunked');
  assert.equal(await response.text(), '3\n2\n1\n');
});

test('an exception is a 500 with its message and Baseten error headers; the traceback goes to stderr', async () => {
  const runner = await startReady('errors');
  const response = await predict(runner, {}, { 'x-baseten-request-id': 'req-boom' });
  assert.equal(response.status, 500);
  assert.equal(response.headers.get('x-baseten-error-source'), '04');
  assert.equal(response.headers.get('x-baseten-error-code'), '600');
  const text = await response.text();
  assert.deepEqual(JSON.parse(text), { error: 'boom: the model failed' });
  assert.doesNotMatch(text, /Traceback/);
  await waitFor(() => runner.stderr().includes('ValueError: boom: the model failed'), WAIT_MS, 'the traceback');
  const [record] = jsonLines(runner.stderr()).filter((line) => line.request_id === 'req-boom');
  assert.equal(record.level, 'error');
  assert.match(String(record.msg), /Traceback \(most recent call last\)[\s\S]*in predict/);
});

test('an exception with status_code=422 is a 422 carrying its detail', async () => {
  const runner = await startReady('errors');
  const response = await predict(runner, { kind: 'unprocessable' });
  assert.equal(response.status, 422);
  assert.equal(response.headers.get('x-baseten-error-source'), '04');
  assert.deepEqual(await response.json(), { error: 'field `text` is required' });
});

test('invalid JSON is a 400', async () => {
  const runner = await startReady('pipeline');
  const response = await fetch(`${runner.url}/v1/models/model:predict`, {
    method: 'POST',
    headers: JSON_HEADERS,
    body: '{"numbers": [1,',
  });
  assert.equal(response.status, 400);
  const body = (await response.json()) as { error: string };
  assert.match(body.error, /^Invalid JSON payload: /);
});

test('output written while serving a request is a JSON line carrying x-baseten-request-id', async () => {
  const runner = await startReady('request-logs');
  const response = await predict(runner, {}, { 'x-baseten-request-id': 'req-1234abcd' });
  assert.equal(response.status, 200);
  await response.body?.cancel();

  const expectLine = (stream: () => string, level: string, msg: string) =>
    waitFor(
      () =>
        jsonLines(stream()).find(
          (line) => line.msg === msg && line.request_id === 'req-1234abcd' && line.level === level,
        ),
      WAIT_MS,
      `the log line ${msg}`,
    );
  await expectLine(runner.stdout, 'info', 'hello from predict');
  await expectLine(runner.stdout, 'info', 'one line in two writes');
  await expectLine(runner.stderr, 'warning', 'to stderr');
  await expectLine(runner.stdout, 'warning', 'via logging');
  // Outside a request, output stays plain.
  assert.ok(runner.stdout().split('\n').includes('printed during load'));
});

test('predict_concurrency=1 runs one predict at a time', async () => {
  const runner = await startReady('serial', { config: { runtime: { predict_concurrency: 1 } } });
  const dir = await tempDir();
  const log = path.join(dir, 'log');
  const gate = path.join(dir, 'gate');
  const steps = async () => (existsSync(log) ? (await readFile(log, 'utf8')).trim().split('\n') : []);

  const first = predict(runner, { name: 'A', log, gate });
  await waitFor(async () => (await steps()).includes('start A'), WAIT_MS, 'A to be in predict');
  const second = predict(runner, { name: 'B', log });
  // B is past preprocess, so only the predict slot can hold it back.
  await waitFor(async () => (await steps()).includes('pre B'), WAIT_MS, 'B to finish preprocess');
  await writeFile(gate, '');
  assert.deepEqual(await (await first).json(), { name: 'A' });
  assert.deepEqual(await (await second).json(), { name: 'B' });

  const order = (await steps()).filter((step) => !step.startsWith('pre'));
  assert.deepEqual(order, ['start A', 'end A', 'start B', 'end B']);
});

test('a load() that raises exits the process with status 1', async () => {
  const runner = await spawnRunner('load-fails');
  const { code } = await runner.exited;
  assert.equal(code, 1);
  assert.match(runner.stderr(), /Traceback[\s\S]*RuntimeError: weights are missing/);
});

test('SIGTERM exits promptly with status 0', async () => {
  const runner = await startReady('pipeline');
  runner.child.kill('SIGTERM');
  assert.deepEqual(await runner.exited, { code: 0, signal: null });
});

test('the runner exits when its stdin closes, as when Girder dies', async () => {
  const runner = await startReady('pipeline');
  runner.child.stdin!.end();
  assert.deepEqual(await runner.exited, { code: 0, signal: null });
});
