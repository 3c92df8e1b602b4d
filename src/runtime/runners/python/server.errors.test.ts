// What the python runner answers when a request or an output is not what it can handle: bodies
// nested too deeply to decode, outputs nested too deeply to encode, and the runner's own errors
// (a body it cannot decode, an unknown route, a wrong method), told apart from the model's by the
// x-girder-runner-error header. Shared pieces: server.harness.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import path from 'node:path';
import { JSON_HEADERS, predict, startReady, startRunner, tempDir, type Runner } from './server.harness.ts';

// Deeper than any Python decodes: 3.11 stops near 1000 levels, 3.13 (whose C json counts its own limit) near 10000.
const DEPTH = 100_000;

function post(runner: Runner, body: string | Uint8Array, contentType: string): Promise<Response> {
  return fetch(`${runner.url}/v1/models/model:predict`, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body,
  });
}

/** The runner still answers a plain predict: the bad request did not take it down. */
async function assertStillServing(runner: Runner): Promise<void> {
  const response = await predict(runner, { still: 'serving' });
  assert.equal(response.status, 200);
  assert.deepEqual(await response.json(), { echo: { still: 'serving' } });
}

/** msgpack for `{"depth": n}`, written by hand (a fixmap, a fixstr, a uint32). */
function msgpackDepth(n: number): Buffer {
  const depth = Buffer.alloc(5);
  depth.writeUInt8(0xce);
  depth.writeUInt32BE(n, 1);
  return Buffer.concat([Buffer.from([0x81, 0xa5]), Buffer.from('depth'), depth]);
}

test('a JSON body nested too deeply is a 400 that says so, and the runner keeps serving', async () => {
  const runner = await startReady('nesting');
  const response = await post(runner, '['.repeat(DEPTH) + ']'.repeat(DEPTH), JSON_HEADERS['content-type']);
  assert.equal(response.status, 400);
  assert.equal(response.headers.get('x-baseten-error-code'), '700');
  const body = (await response.json()) as { error: string };
  assert.match(body.error, /^Invalid JSON payload: nesting too deep/);
  await assertStillServing(runner);
});

test('a msgpack body nested too deeply is a 400 that says so, and the runner keeps serving', async () => {
  const runner = await startReady('nesting');
  // 0x91 is a one-element array: DEPTH of them, then nil.
  const body = Buffer.concat([Buffer.alloc(DEPTH, 0x91), Buffer.from([0xc0])]);
  const response = await post(runner, body, 'application/octet-stream');
  assert.equal(response.status, 400);
  assert.match(((await response.json()) as { error: string }).error, /^Invalid msgpack payload: nesting too deep/);
  await assertStillServing(runner);
});

test("an output nested too deeply to encode is the model's 500 with the reason, and the runner keeps serving", async () => {
  const runner = await startReady('nesting');
  const response = await predict(runner, { depth: DEPTH });
  assert.equal(response.status, 500);
  assert.equal(response.headers.get('x-baseten-error-code'), '600');
  assert.match(
    ((await response.json()) as { error: string }).error,
    /^The model's output cannot be encoded as JSON: nesting too deep/,
  );
  await assertStillServing(runner);

  const packed = await post(runner, msgpackDepth(DEPTH), 'application/octet-stream');
  assert.equal(packed.status, 500);
  assert.match(
    ((await packed.json()) as { error: string }).error,
    /^The model's output cannot be encoded as msgpack: nesting too deep/,
  );
  await assertStillServing(runner);
});

/** Asserts a runner error: the status, `{error, error_code, detail}` and the header naming the code. */
async function assertRunnerError(response: Response, status: number, code: string, error: RegExp): Promise<void> {
  assert.equal(response.status, status);
  assert.equal(response.headers.get('x-girder-runner-error'), code);
  assert.equal(response.headers.get('content-type'), 'application/json');
  assert.equal(response.headers.get('server'), null);
  const body = (await response.json()) as Record<string, unknown>;
  assert.deepEqual(Object.keys(body).sort(), ['detail', 'error', 'error_code']);
  assert.equal(body.error_code, code);
  assert.match(String(body.error), error);
  assert.equal(typeof body.detail, 'string');
}

/** Sends `text` on a fresh connection and reads the answer until the runner closes it. */
async function rawExchange(runner: Runner, text: string): Promise<{ head: string; body: string }> {
  const socket = connect(Number(new URL(runner.url).port), '127.0.0.1');
  socket.end(text);
  let received = '';
  for await (const chunk of socket) received += chunk;
  const split = received.indexOf('\r\n\r\n');
  return { head: received.slice(0, split).toLowerCase(), body: received.slice(split + 4) };
}

test('invalid JSON or msgpack is a runner error: 400 client_error', async () => {
  const runner = await startReady('nesting');
  await assertRunnerError(await post(runner, '{"a": [1,', 'application/json'), 400, 'client_error', /^Invalid JSON/);
  const msgpack = await post(runner, new Uint8Array([0xc1]), 'application/octet-stream');
  await assertRunnerError(msgpack, 400, 'client_error', /^Invalid msgpack payload: 0xc1/);
  const deep = await post(runner, '['.repeat(DEPTH), 'application/json');
  await assertRunnerError(deep, 400, 'client_error', /nesting too deep/);
});

test('a body whose framing is broken, or a request line http.server cannot read, is a 400 client_error', async () => {
  const runner = await startReady('nesting');
  const chunked = await rawExchange(
    runner,
    'POST /v1/models/model:predict HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
  );
  assert.match(chunked.head, /^http\/1\.1 400 /);
  assert.match(chunked.head, /\r\nx-girder-runner-error: client_error\r\n/);
  assert.match(JSON.parse(chunked.body).error, /^Bad request body: /);
  const garbled = await rawExchange(runner, 'GET / two-targets HTTP/1.1\r\n\r\n');
  assert.match(garbled.head, /^http\/1\.1 400 /);
  assert.match(garbled.head, /\r\nx-girder-runner-error: client_error\r\n/);
  assert.doesNotMatch(garbled.head, /\r\nserver:/);
  assert.equal(JSON.parse(garbled.body).error_code, 'client_error');
});

test('a path the runner does not serve is a 404 model_does_not_exist, whatever the method', async () => {
  const runner = await startReady('nesting');
  await assertRunnerError(await fetch(`${runner.url}/nope`), 404, 'model_does_not_exist', /no route \/nope/);
  const post = await fetch(`${runner.url}/v1/other`, { method: 'POST', headers: JSON_HEADERS, body: '{}' });
  await assertRunnerError(post, 404, 'model_does_not_exist', /no route \/v1\/other/);
  const put = await fetch(`${runner.url}/nope`, { method: 'PUT', body: 'x' });
  await assertRunnerError(put, 404, 'model_does_not_exist', /no route/);
});

test('a path the runner serves, with another method, is a 405 client_error with Allow', async () => {
  const runner = await startReady('nesting');
  for (const [method, urlPath, allow] of [
    ['PUT', '/', 'GET'],
    ['POST', '/v1/models/model', 'GET'],
    ['GET', '/v1/models/model:predict', 'POST'],
    ['DELETE', '/v1/models/model:predict', 'POST'],
  ]) {
    const response = await fetch(runner.url + urlPath, { method });
    assert.equal(response.headers.get('allow'), allow, `${method} ${urlPath}`);
    await assertRunnerError(response, 405, 'client_error', new RegExp(`does not take ${method}`));
  }
  // A HEAD answer has no body, so the connection stays usable for the next request.
  const head = await fetch(`${runner.url}/`, { method: 'HEAD' });
  assert.equal(head.status, 405);
  assert.equal(head.headers.get('x-girder-runner-error'), 'client_error');
  assert.equal((await fetch(`${runner.url}/`)).status, 200);
});

test('predict before load() finished is a 503 model_not_ready', async () => {
  const dir = await tempDir();
  const env = { FIXTURE_GATE: path.join(dir, 'gate'), FIXTURE_SICK: path.join(dir, 'sick') };
  const runner = await startRunner('slow-load', { env });
  await assertRunnerError(await predict(runner, {}), 503, 'model_not_ready', /not ready/);
});

test("the model's own errors are unchanged and carry no runner header; no answer names the server", async () => {
  const runner = await startReady('errors');
  const failed = await predict(runner, {});
  assert.equal(failed.status, 500);
  assert.equal(failed.headers.get('x-girder-runner-error'), null);
  assert.deepEqual(await failed.json(), { error: 'boom: the model failed' });
  const refused = await predict(runner, { kind: 'unprocessable' });
  assert.equal(refused.status, 422);
  assert.equal(refused.headers.get('x-girder-runner-error'), null);
  assert.deepEqual(await refused.json(), { error: 'field `text` is required' });
  for (const response of [
    failed,
    refused,
    await fetch(`${runner.url}/`),
    await fetch(`${runner.url}/v1/models/model`),
  ]) {
    assert.equal(response.headers.get('server'), null);
  }
});
