// Every error answer is an ErrorResponse with a detail: node:http's own refusals, written raw to
// the socket, and the errors a runner answers itself (PROTOCOL.md, "Errors of the runner itself"),
// which are not the model's application_error.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { call, fixture, startGirder } from './helpers.ts';
import { type Answer, exchange, notAnErrorResponse } from './raw.ts';

const girder = await startGirder({ after });
const port = Number(new URL(girder.url).port);
const ts = await girder.deploy(fixture('behaviours'));
const marked = await girder.deploy(fixture('marked-errors'));
const tsBase = `${girder.url}/model-${ts.model.id}/production`;
const markedBase = `${girder.url}/model-${marked.model.id}/production`;

/** The one answer of a connection the server refuses and then closes. */
async function refusal(bytes: string): Promise<Answer> {
  const x = await exchange(port, bytes);
  assert.ok(x.closed, `the server closes the connection: ${JSON.stringify(x.text)}`);
  assert.equal(x.answers.length, 1, x.text);
  const [a] = x.answers;
  assert.equal(notAnErrorResponse(a), undefined, x.text);
  assert.equal(a.headers.connection, 'close');
  assert.match(a.headers['x-baseten-request-id'], /^[0-9a-f]{32}$/);
  return a;
}

const codeOf = (a: Answer): string => JSON.parse(a.body).error_code;

test('a request node:http cannot parse is a 400 ErrorResponse, then the connection closes', async () => {
  const a = await refusal('GET / HTTP/1.1\r\nHost: x\r\nBad Header: y\r\n\r\n');
  assert.equal(a.status, 400);
  assert.equal(codeOf(a), 'client_error');
  const b = await refusal(
    `POST ${new URL(tsBase).pathname}/predict HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n`,
  );
  assert.equal(b.status, 400);
});

test('a head over 16 KiB is a 431 ErrorResponse', async () => {
  const a = await refusal(`GET / HTTP/1.1\r\nHost: x\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`);
  assert.equal(a.status, 431);
  assert.equal(codeOf(a), 'client_error');
});

test('an HTTP/1.1 request without Host is a 400 ErrorResponse', async () => {
  const a = await refusal('GET /api/v1/models HTTP/1.1\r\n\r\n');
  assert.equal(a.status, 400);
  assert.match(JSON.parse(a.body).error, /Host/);
});

test('an Expect other than 100-continue is a 417 ErrorResponse; CONNECT is a 405', async () => {
  const a = await refusal('POST /api/v1/secrets HTTP/1.1\r\nHost: x\r\nExpect: teapot\r\nContent-Length: 2\r\n\r\n');
  assert.equal(a.status, 417);
  const b = await refusal('CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n');
  assert.equal(b.status, 405);
});

test('the server still serves after its refusals', async () => {
  const r = await call(`${tsBase}/predict`, { headers: girder.auth, body: '{"echo":"still here"}' });
  assert.equal(r.status, 200, r.text);
});

/** An ErrorResponse of Girder's, with a detail, and no trace of the runner's own header. */
function assertGirderError(r: Awaited<ReturnType<typeof call>>, status: number, code: string): void {
  assert.equal(r.status, status, r.text);
  assert.equal(r.json?.error_code, code, r.text);
  assert.ok(r.json.detail, r.text);
  assert.equal(r.headers['x-girder-runner-error'], undefined, 'the runner header stays inside Girder');
  assert.match(String(r.headers['x-baseten-request-id']), /^[0-9a-f]{32}$/);
}

test("malformed JSON to a TS model is 400 client_error, not the model's application_error", async () => {
  const r = await call(`${tsBase}/predict`, {
    headers: { ...girder.auth, 'content-type': 'application/json' },
    body: '{"broken',
  });
  assertGirderError(r, 400, 'client_error');
  assert.match(r.json.error, /^Invalid JSON payload: /);
});

test('an unknown /sync/ route is 404 model_does_not_exist, a wrong method 405 client_error', async () => {
  const r = await call(`${tsBase}/sync/nope`, { method: 'GET', headers: girder.auth });
  assertGirderError(r, 404, 'model_does_not_exist');
  assert.match(r.json.error, /GET \/nope/);
  const m = await call(`${tsBase}/sync/v1/models/model:predict`, { method: 'GET', headers: girder.auth });
  assertGirderError(m, 405, 'client_error');
});

test("the model's own error on /sync/ passes through unchanged", async () => {
  const r = await call(`${tsBase}/sync/v1/models/model:predict`, {
    headers: girder.auth,
    body: JSON.stringify({ raise: 'refused by the model', status: 422 }),
  });
  assert.equal(r.status, 422);
  assert.deepEqual(r.json, { error: 'refused by the model' });
  assert.equal(r.headers['x-baseten-error-source'], '04');
});

test("a runner's marked error keeps its code, message, detail and status, on predict and /sync/", async () => {
  const p = await call(`${markedBase}/predict`, { headers: girder.auth, body: '{"status":422,"mark":"client_error"}' });
  assertGirderError(p, 422, 'client_error');
  assert.deepEqual(p.json, {
    error: 'marked client_error',
    error_code: 'client_error',
    detail: 'detail of client_error',
  });
  const s = await call(`${markedBase}/sync/any?status=503&mark=model_not_ready`, {
    method: 'GET',
    headers: girder.auth,
  });
  assertGirderError(s, 503, 'model_not_ready');
});

test("a mark outside the contract leaves the answer the model's", async () => {
  const p = await call(`${markedBase}/predict`, { headers: girder.auth, body: '{"status":401,"mark":"unauthorized"}' });
  assert.equal(p.status, 401);
  assert.equal(p.json.error_code, 'application_error');
  const s = await call(`${markedBase}/sync/any?status=401&mark=unauthorized`, { method: 'GET', headers: girder.auth });
  assert.equal(s.status, 401);
  assert.deepEqual(s.json, {
    error: 'marked unauthorized',
    error_code: 'unauthorized',
    detail: 'detail of unauthorized',
  });
  assert.equal(s.headers['x-girder-runner-error'], undefined, 'the header is never passed on');
});

test('unknown management routes are 404 and bad bodies 400, each with a detail', async () => {
  for (const [path, body, status, code] of [
    ['/api/v1/nothing', undefined, 404, 'model_does_not_exist'],
    ['/api/v1/api_keys', '{"type":"NOPE"}', 400, 'client_error'],
    ['/api/v1/api_keys', '{bad json', 400, 'client_error'],
    ['/api/v1/models', '{}', 400, 'client_error'],
  ] as const) {
    const r = await call(`${girder.url}${path}`, { method: body ? 'POST' : 'GET', headers: girder.auth, body });
    assertGirderError(r, status, code);
    assert.equal(r.headers['x-girder-error-reason'], code);
  }
});
