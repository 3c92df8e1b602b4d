import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { call, example, fixture, startGirder, type PushAnswer, type Running } from './helpers.ts';
import { waitFor } from './wait.ts';

const DOMAIN = 'girder.test';
// One Girder for the file, started at the top level so that `after` closes it when the file ends.
const girder: Running = await startGirder({ after }, { domain: DOMAIN });
const model: PushAnswer = await girder.deploy(fixture('behaviours'));
const custom: PushAnswer = await girder.deploy(example('custom-echo'));

const predict = (path: string, body: unknown = { echo: 'hi' }, headers: Record<string, string> = {}) =>
  call(girder.url + path, {
    headers: { ...girder.auth, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });

test('production predict on the path-prefix form of a plain host', async () => {
  const r = await predict(`/model-${model.model.id}/production/predict`);
  assert.equal(r.status, 200);
  assert.equal(r.json.echo, 'hi');
});

test('the model-{id}.{domain} host form routes by path', async () => {
  const r = await predict('/production/predict', { echo: 'host' }, { host: `model-${model.model.id}.${DOMAIN}:1234` });
  assert.equal(r.status, 200);
  assert.equal(r.json.echo, 'host');
});

test('Bearer keys work as well as Api-Key', async () => {
  const r = await call(`${girder.url}/model-${model.model.id}/production/predict`, {
    headers: { authorization: `Bearer ${girder.key}` },
    body: '{"echo":1}',
  });
  assert.equal(r.status, 200);
  assert.equal(r.json.echo, 1);
});

test('responses carry the request id, model id and deployment id', async () => {
  const r = await predict(`/model-${model.model.id}/production/predict`);
  assert.match(String(r.headers['x-baseten-request-id']), /^[0-9a-f]{32}$/);
  assert.equal(r.headers['x-baseten-model-id'], model.model.id);
  assert.equal(r.headers['x-baseten-model-version-id'], model.deployment.id);
  assert.equal(r.json.request_id, r.headers['x-baseten-request-id'], 'the model saw the same request id');
});

test('a replica gets only the forwarded headers, never the API key', async () => {
  const r = await predict(
    `/model-${model.model.id}/production/predict`,
    { headers: true },
    {
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      'x-baseten-custom': 'yes',
      cookie: 'a=b',
      'x-other': 'no',
    },
  );
  assert.equal(r.status, 200);
  assert.equal(r.json.authorization, undefined);
  assert.equal(r.json.cookie, undefined);
  assert.equal(r.json['x-other'], undefined);
  assert.equal(r.json['x-baseten-custom'], 'yes');
  assert.equal(r.json.traceparent, '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
  assert.equal(r.json['x-baseten-request-id'], r.headers['x-baseten-request-id']);
});

test('deployment/{id} targets a deployment by id', async () => {
  const r = await predict(`/model-${model.model.id}/deployment/${model.deployment.id}/predict`);
  assert.equal(r.status, 200);
  assert.equal(r.headers['x-baseten-model-version-id'], model.deployment.id);
});

test('environments/{name}, the regional host and the regional path prefix reach the same deployment', async () => {
  const staged = await girder.deploy(fixture('behaviours'), { environment: 'staging' });
  const id = staged.model.id;
  for (const [path, host] of [
    [`/model-${id}/environments/staging/predict`, undefined],
    ['/predict', `model-${id}-staging.${DOMAIN}`],
    [`/model-${id}-staging/predict`, undefined],
  ] as const) {
    const r = await predict(path, { echo: 'env' }, host ? { host } : {});
    assert.equal(r.status, 200, `${host ?? ''}${path}: ${r.text}`);
    assert.equal(r.headers['x-baseten-model-version-id'], staged.deployment.id);
  }
});

test('a regional host refuses path-based routes with 400 client_error', async () => {
  const r = await predict('/production/predict', {}, { host: `model-${model.model.id}-staging.${DOMAIN}` });
  assert.equal(r.status, 400);
  assert.equal(r.json.error_code, 'client_error');
  assert.match(r.json.detail, /bare path/);
});

test('the development target serves the development deployment', async () => {
  const dev = await girder.deploy(fixture('behaviours'), { development: 'true' });
  const r = await predict(`/model-${dev.model.id}/development/predict`);
  assert.equal(r.status, 200);
  assert.equal(r.headers['x-baseten-model-version-id'], dev.deployment.id);
});

test('binary bodies pass through as bytes both ways', async () => {
  const bytes = Buffer.from([0, 1, 2, 250, 255]);
  const r = await call(`${girder.url}/model-${model.model.id}/production/predict`, {
    headers: { ...girder.auth, 'content-type': 'application/octet-stream' },
    body: bytes,
  });
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'application/octet-stream');
  assert.deepEqual(r.raw, bytes);
});

test('a streaming model reaches the client chunk by chunk', async () => {
  const res = await fetch(`${girder.url}/model-${model.model.id}/production/predict`, {
    method: 'POST',
    headers: girder.auth,
    body: JSON.stringify({ stream: 4 }),
  });
  assert.equal(res.status, 200);
  const reader = res.body!.getReader();
  const first = new TextDecoder().decode((await reader.read()).value);
  assert.equal(first, 'chunk 0\n', 'the first chunk arrives alone, before the model yields the next');
  let rest = '';
  for (let r = await reader.read(); !r.done; r = await reader.read()) rest += new TextDecoder().decode(r.value);
  assert.equal(rest, 'chunk 1\nchunk 2\nchunk 3\n');
});

test('Accept: application/json gets the answer of a streaming model as one JSON string, as on Baseten', async () => {
  const r = await predict(`/model-${model.model.id}/production/predict`, { stream: 3 }, { accept: 'application/json' });
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'application/json');
  assert.equal(r.json, 'chunk 0\nchunk 1\nchunk 2\n');
});

test('sync/{route} passes any method and path through to a custom server, SSE included', async () => {
  const base = `${girder.url}/model-${custom.model.id}/production/sync`;
  const sse = await call(`${base}/stream?n=2`, { method: 'GET', headers: girder.auth });
  assert.equal(sse.status, 200);
  assert.equal(sse.headers['content-type'], 'text/event-stream');
  assert.equal(sse.text, 'data: {"i":0}\n\ndata: {"i":1}\n\ndata: [DONE]\n\n');
  const missing = await call(`${base}/nothing`, { method: 'DELETE', headers: girder.auth });
  assert.equal(missing.status, 404, "the server's own answer, unchanged");
  assert.deepEqual(missing.json, { error: 'no route DELETE /nothing' });
});

test('predict on a custom server goes to its predict_endpoint', async () => {
  const r = await predict(`/model-${custom.model.id}/production/predict`, { hello: 'custom' });
  assert.equal(r.status, 200);
  assert.deepEqual(r.json, { hello: 'custom' });
});

test('a Truss Python model answers predict', async () => {
  const py = await girder.deploy(example('hello-python'));
  const r = await predict(`/model-${py.model.id}/production/predict`, { text: 'the cat and the hat' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.words, 5);
  assert.equal(r.json.unique_words, 4);
});

test('a client that disconnects aborts the call to the replica', async () => {
  const ac = new AbortController();
  const pending = fetch(`${girder.url}/model-${model.model.id}/production/predict`, {
    method: 'POST',
    headers: girder.auth,
    body: JSON.stringify({ sleep_ms: 60_000 }),
    signal: ac.signal,
  }).catch(() => undefined);
  const replica = girder.g.supervisor.replicas(model.deployment.id)[0];
  await waitFor(() => replica.inflight === 1, 10_000, 'the request to reach the replica');
  ac.abort();
  await pending;
  await waitFor(
    async () => (await girder.g.logs.recent(model.deployment.id, 50)).some((l) => l.msg.startsWith('aborted ')),
    10_000,
    'the model to see the abort',
  );
  await waitFor(() => replica.inflight === 0, 10_000, 'the slot to be released');
});

test('wake answers 202 with an empty object', async () => {
  const r = await call(`${girder.url}/model-${model.model.id}/production/wake`, { headers: girder.auth });
  assert.equal(r.status, 202);
  assert.deepEqual(r.json, {});
});

test('large bodies stream through both ways, with or without a declared length', async () => {
  const big = Buffer.alloc(2 * 1024 * 1024, 7);
  const url = `${girder.url}/model-${custom.model.id}/production/predict`;
  const declared = await call(url, {
    headers: { ...girder.auth, 'content-type': 'application/octet-stream' },
    body: big,
  });
  assert.equal(declared.status, 200);
  assert.ok(declared.raw.equals(big), 'the 2 MiB body came back unchanged');
  const chunks = [Buffer.alloc(100_000, 1), Buffer.alloc(100_000, 2), Buffer.alloc(100_000, 3)];
  const res = await fetch(url, {
    method: 'POST',
    headers: { ...girder.auth, 'content-type': 'application/octet-stream' },
    duplex: 'half',
    body: new ReadableStream({
      start(c) {
        for (const b of chunks) c.enqueue(b);
        c.close();
      },
    }),
  } as RequestInit);
  assert.equal(res.status, 200);
  assert.ok(Buffer.from(await res.arrayBuffer()).equals(Buffer.concat(chunks)), 'the chunked body came back unchanged');
});
