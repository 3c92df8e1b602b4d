// The node runner: readiness, a predict's bodies, errors and logs, the constructor's arguments, and
// how the process ends. Shared pieces: server.harness.ts.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../../../../test/temp-dir.ts';
import { FIXTURES, JSON_TYPE, start, until } from './server.harness.ts';

test('readiness is 503 until a slow load() finishes, then 200', { timeout: 15_000 }, async (t) => {
  const dir = tempDir(t, 'girder-load-');
  const gate = join(dir, 'go');
  const runner = await start(t, 'slow-load', { env: { LOAD_GATE: gate }, wait: 'live' });

  const early = await fetch(`${runner.url}/v1/models/model`);
  assert.equal(early.status, 503);
  assert.deepEqual(await early.json(), { error: 'Model with name model is not ready.' });
  const notYet = await runner.predict({});
  assert.equal(notYet.status, 503);
  assert.equal(notYet.headers.get('x-girder-runner-error'), 'model_not_ready');

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

/** Asserts a runner error as PROTOCOL.md marks it: the header, and an ErrorResponse with the same code. */
async function assertRunnerError(res: Response, status: number, code: string): Promise<{ error: string }> {
  assert.equal(res.status, status);
  assert.equal(res.headers.get('x-girder-runner-error'), code);
  const body = (await res.json()) as { error: string; error_code: string; detail: string };
  assert.equal(body.error_code, code);
  assert.ok(body.error && body.detail, JSON.stringify(body));
  return body;
}

test('invalid JSON is a 400 client_error of the runner', { timeout: 15_000 }, async (t) => {
  const runner = await start(t, 'echo', { config: { model_class_name: 'Echo' } });
  const res = await fetch(`${runner.url}/v1/models/model:predict`, {
    method: 'POST',
    headers: JSON_TYPE,
    body: '{bad',
  });
  assert.match((await assertRunnerError(res, 400, 'client_error')).error, /^Invalid JSON payload: /);
});

test("an unknown path is a 404 and a wrong method a 405, both the runner's", { timeout: 15_000 }, async (t) => {
  const runner = await start(t, 'echo', { config: { model_class_name: 'Echo' } });
  await assertRunnerError(await fetch(`${runner.url}/nope`), 404, 'model_does_not_exist');
  const wrong = await fetch(`${runner.url}/v1/models/model:predict`);
  assert.equal(wrong.headers.get('allow'), 'POST');
  await assertRunnerError(wrong, 405, 'client_error');
  const model = await runner.predict({ fail: 'boom' });
  assert.equal(model.headers.get('x-girder-runner-error'), null, "the model's own error is not marked");
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

test('secrets, environment, data dir and config reach the constructor', { timeout: 15_000 }, async (t) => {
  const secrets = tempDir(t, 'girder-secrets-');
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
