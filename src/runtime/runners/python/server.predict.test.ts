// One predict through the python runner: JSON, msgpack and binary bodies both ways, the pipeline
// (sync and async), errors, request-attributed logs, predict_concurrency. Shared pieces:
// server.harness.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { waitFor } from '../../../../test/wait.ts';
import { JSON_HEADERS, jsonLines, predict, startReady, tempDir, WAIT_MS } from './server.harness.ts';

test('JSON predict runs preprocess, predict and postprocess', async () => {
  const runner = await startReady('pipeline');
  const response = await predict(runner, { numbers: ['1', 2, '3'] });
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('content-type'), 'application/json');
  assert.deepEqual(await response.json(), { mean: 2, steps: ['preprocess', 'predict', 'postprocess'] });
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
