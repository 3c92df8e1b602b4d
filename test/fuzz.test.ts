// The gateway under a few thousand generated requests (fuzz.harness.ts) over real sockets: no
// answer is an internal error, every error answer is an ErrorResponse, every request is answered
// and its connection closed as it asked, and the server serves normally afterwards.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { type Fuzzed, fuzzer } from './fuzz.harness.ts';
import { call, example, startGirder } from './helpers.ts';
import { type Answer, type Exchange, exchange, notAnErrorResponse, notAnOpenAIError } from './raw.ts';

const REQUESTS = 3000;
const CONNECTIONS = 8;
const SEED = 20_261_122;

// A small body limit, so that 413 is reached by the fuzz's larger bodies.
const girder = await startGirder({ after }, { maxBodyBytes: 150_000 });
const port = Number(new URL(girder.url).port);
const hello = await girder.deploy(example('hello-ts'));

/** Answers to HEAD have no body, whatever their Content-Length says: their heads alone. */
function heads(text: string): Answer[] {
  return text
    .split('\r\n\r\n')
    .filter((h) => h.startsWith('HTTP/'))
    .map((h) => {
      const [status, ...lines] = h.split('\r\n');
      const headers = Object.fromEntries(
        lines.map((l) => [l.split(':', 1)[0].toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]),
      );
      return { status: Number(status.split(' ')[1]), headers, body: '' };
    });
}

/** What is wrong with how the server answered `f`, or undefined. */
function problem(f: Fuzzed, x: Exchange): string | undefined {
  if (!x.closed) return `the connection was still open after 5 s: ${JSON.stringify(x.text.slice(0, 300))}`;
  // 1xx (100 Continue) precede the answer.
  const answers = (f.method === 'HEAD' ? heads(x.text) : x.answers).filter((a) => a.status >= 200);
  if (answers.length === 0) return `no answer: ${JSON.stringify(x.text.slice(0, 300))}`;
  for (const a of answers) {
    if (a.body.includes('"internal_baseten_error"')) return `internal error: ${a.body.slice(0, 300)}`;
    if (a.status < 400) continue;
    // A /sync/ call passes the model's own error answers through as the model wrote them.
    if (f.sync && a.headers['x-baseten-error-source'] === '04') continue;
    if (f.method === 'HEAD') {
      if (!a.headers['x-girder-error-reason']) return `HEAD ${a.status} without x-girder-error-reason`;
      continue;
    }
    // On /v1, Girder's own answers are OpenAI's error shape; a refusal before routing is an ErrorResponse.
    const wrong = f.openai ? notAnErrorResponse(a) && notAnOpenAIError(a) : notAnErrorResponse(a);
    if (wrong) return `${a.status} is not an ErrorResponse (${wrong})`;
  }
  return undefined;
}

test('malformed percent-encoding in a path is a 400 client_error that says the URL is malformed', async () => {
  for (const [method, path] of [
    ['POST', `/model-${hello.model.id}/environments/%E0/predict`],
    ['GET', '/api/v1/models/%E0'],
    ['DELETE', '/api/v1/secrets/%ZZ'],
  ]) {
    const r = await call(`${girder.url}${path}`, {
      method,
      headers: girder.auth,
      body: method === 'POST' ? '{}' : undefined,
    });
    assert.equal(r.status, 400, `${method} ${path}: ${r.text}`);
    assert.equal(r.json.error_code, 'client_error');
    assert.match(r.json.error, /^Malformed URL/);
    assert.ok(r.json.detail);
  }
});

test(`${REQUESTS} fuzzed requests: no internal error, every error an ErrorResponse, the server stays up`, {
  timeout: 120_000,
}, async () => {
  const next = fuzzer({ modelId: hello.model.id, deploymentId: hello.deployment.id, key: girder.key }, SEED);
  const failures: string[] = [];
  let sent = 0;
  const connection = async (): Promise<void> => {
    while (sent < REQUESTS) {
      sent++;
      const f = next();
      const wrong = problem(f, await exchange(port, f.bytes, 5_000));
      if (wrong) failures.push(`${f.summary}\n    ${wrong}`);
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, connection));
  assert.equal(failures.length, 0, `${failures.length} of ${REQUESTS} failed:\n${failures.slice(0, 15).join('\n')}`);

  const root = await call(`${girder.url}/`, { method: 'GET' });
  assert.equal(root.status, 200);
  const r = await call(`${girder.url}/model-${hello.model.id}/production/predict`, {
    headers: girder.auth,
    body: '{"name":"after the fuzz"}',
  });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, { greeting: 'Hello, after the fuzz!' });
});
