import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, test } from 'node:test';
import { Readable } from 'node:stream';
import { request } from 'undici';
import { call, fixture, modelCopy, startGirder, type Running } from './helpers.ts';
import { waitFor } from './wait.ts';

// A small body limit makes 413 cheap to reach; everything else keeps the defaults.
const girder: Running = await startGirder({ after }, { maxBodyBytes: 1000 });
const model = await girder.deploy(fixture('behaviours'));
const url = `${girder.url}/model-${model.model.id}/production/predict`;

/** Asserts an ErrorResponse with this status, code and a detail, and the request id header. */
function assertError(r: Awaited<ReturnType<typeof call>>, status: number, code: string, reason = code): void {
  assert.equal(r.status, status, r.text);
  assert.equal(r.json?.error_code, code, r.text);
  assert.ok(typeof r.json.detail === 'string' && r.json.detail.length > 0, `every error says what to do: ${r.text}`);
  assert.equal(r.headers['x-girder-error-reason'], reason, 'the internal reason travels in a header');
  assert.equal(typeof r.json.error, 'string');
  assert.ok(r.json.error.length > 0);
  assert.match(String(r.headers['x-baseten-request-id']), /^[0-9a-f]{32}$/);
}

test('a missing key is 401 unauthorized', async () => {
  assertError(await call(url, { body: '{}' }), 401, 'unauthorized');
});

test('an unknown key is 401 unauthorized', async () => {
  assertError(
    await call(url, { headers: { authorization: 'Api-Key abcdefgh.nope' }, body: '{}' }),
    401,
    'unauthorized',
  );
});

test('an unknown Authorization scheme is 401 unauthorized', async () => {
  assertError(await call(url, { headers: { authorization: `Basic ${girder.key}` }, body: '{}' }), 401, 'unauthorized');
});

test('a key scoped to other models gets 403 on this one, and can call its own', async () => {
  const other = await girder.deploy(modelCopy({ after }, fixture('behaviours'), { model_name: 'scoped-other' }));
  const created = await call(`${girder.url}/api/v1/api_keys`, {
    headers: girder.auth,
    body: JSON.stringify({ type: 'WORKSPACE_INVOKE', model_ids: [other.model.id] }),
  });
  const scoped = { authorization: `Api-Key ${created.json.api_key}` };
  assertError(await call(url, { headers: scoped, body: '{}' }), 403, 'unauthorized', 'forbidden');
  const own = await call(`${girder.url}/model-${other.model.id}/production/predict`, {
    headers: scoped,
    body: '{"echo":"mine"}',
  });
  assert.equal(own.status, 200);
  assertError(
    await call(`${girder.url}/api/v1/models`, { method: 'GET', headers: scoped }),
    403,
    'unauthorized',
    'forbidden',
  );
});

test('an unknown model is 404 model_does_not_exist', async () => {
  assertError(
    await call(`${girder.url}/model-zzzzzzzz/production/predict`, { headers: girder.auth, body: '{}' }),
    404,
    'model_does_not_exist',
  );
});

test('an unknown environment or deployment is 404 model_does_not_exist', async () => {
  assertError(
    await call(`${girder.url}/model-${model.model.id}/environments/nope/predict`, { headers: girder.auth, body: '{}' }),
    404,
    'model_does_not_exist',
  );
  assertError(
    await call(`${girder.url}/model-${model.model.id}/deployment/zzzzzzz/predict`, {
      headers: girder.auth,
      body: '{}',
    }),
    404,
    'model_does_not_exist',
  );
  assertError(
    await call(`${girder.url}/model-${model.model.id}/development/predict`, { headers: girder.auth, body: '{}' }),
    404,
    'model_does_not_exist',
  );
});

test('a malformed route is 404 and a wrong method is 400', async () => {
  assertError(
    await call(`${girder.url}/model-${model.model.id}/production/explode`, { headers: girder.auth, body: '{}' }),
    404,
    'model_does_not_exist',
  );
  assertError(await call(url, { method: 'GET', headers: girder.auth }), 400, 'client_error');
});

test('a body over the limit is 413 payload_too_large, with or without a content-length', async () => {
  const big = JSON.stringify({ echo: 'x'.repeat(2000) });
  const declared = await call(url, { headers: girder.auth, body: big });
  assertError(declared, 413, 'payload_too_large');
  assert.match(declared.json.error, /payload size of \d+ bytes exceeds maximum size of 1000 bytes/);
  const res = await fetch(url, {
    method: 'POST',
    headers: girder.auth,
    duplex: 'half',
    body: new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode(big));
        c.close();
      },
    }),
  } as RequestInit);
  assert.equal(res.status, 413);
  assert.equal(((await res.json()) as { error_code: string }).error_code, 'payload_too_large');
});

test("a model that raises gives 500 application_error with the model's message", async () => {
  const r = await call(url, { headers: girder.auth, body: JSON.stringify({ raise: 'the input is cursed' }) });
  assertError(r, 500, 'application_error', 'model_error');
  assert.equal(r.json.error, 'the input is cursed');
  assert.doesNotMatch(r.text, /at .*model\.ts/, 'no traceback in the response');
  const logs = await girder.g.logs.recent(model.deployment.id, 100);
  assert.ok(
    logs.some((l) => l.msg.includes('the input is cursed') && l.stream === 'stderr'),
    'the traceback is in the logs',
  );
});

test("a model error keeps the model's own status", async () => {
  const r = await call(url, { headers: girder.auth, body: JSON.stringify({ raise: 'text is required', status: 422 }) });
  assertError(r, 422, 'application_error', 'model_error');
  assert.equal(r.json.error, 'text is required');
});

test('a deactivated deployment is 404 model_unavailable, and works again once activated', async () => {
  const own = await girder.deploy(modelCopy({ after }, fixture('behaviours'), { model_name: 'deactivated' }));
  const base = `${girder.url}/api/v1/models/${own.model.id}/deployments/${own.deployment.id}`;
  const target = `${girder.url}/model-${own.model.id}/production/predict`;
  assert.equal((await call(`${base}/deactivate`, { headers: girder.auth })).status, 200);
  const r = await call(target, { headers: girder.auth, body: '{}' });
  assertError(r, 404, 'model_unavailable', 'deployment_deactivated');
  assert.match(r.json.detail, new RegExp(`girder activate ${own.model.id} ${own.deployment.name}`));
  assert.equal((await call(`${base}/activate`, { headers: girder.auth })).status, 200);
  assert.equal((await call(target, { headers: girder.auth, body: '{}' })).status, 200);
});

test('a replica that dies mid-request gives 502 model_unavailable, and is restarted', async () => {
  const own = await girder.deploy(modelCopy({ after }, fixture('behaviours'), { model_name: 'crashy' }));
  const target = `${girder.url}/model-${own.model.id}/production/predict`;
  const before = girder.g.supervisor.replicas(own.deployment.id)[0].pid;
  const r = await call(target, { headers: girder.auth, body: JSON.stringify({ crash: true }) });
  assertError(r, 502, 'model_unavailable', 'replica_lost');
  const after2 = await call(target, { headers: girder.auth, body: JSON.stringify({ pid: true }) });
  assert.equal(after2.status, 200, after2.text);
  assert.notEqual(after2.json.pid, before, 'a new replica process serves');
});

test('a replica that cannot start fails waiting requests with 503 model_unavailable', async () => {
  const pushed = await girder.push(fixture('load-fails'));
  const r = await call(`${girder.url}/model-${pushed.model.id}/production/predict`, {
    headers: girder.auth,
    body: '{}',
  });
  assertError(r, 503, 'model_unavailable', 'replica_cannot_start');
  assert.match(r.json.detail, /girder logs/);
  await waitFor(
    () =>
      girder.g.supervisor.status(girder.g.registry.deployments.get(pushed.deployment.id)!).status === 'DEPLOY_FAILED',
    10_000,
    'DEPLOY_FAILED',
  );
});

test('a request waiting for a replica when Girder shuts down gets 503 model_unavailable', async () => {
  const own = await startGirder({ after });
  const dir = modelCopy({ after }, fixture('behaviours'), {
    model_name: 'closing',
    environment_variables: { LOAD_MS: '10000' },
  });
  await own.push(dir);
  // A second deployment serves no environment: it has no replica until a request starts one, so a
  // replica starting says that the request has arrived and waits for it.
  const idle = await own.push(dir);
  const target = `${own.url}/model-${idle.model.id}/deployment/${idle.deployment.id}/predict`;
  const parked = call(target, { headers: own.auth, body: '{}' });
  await waitFor(
    () => own.g.supervisor.replicas(idle.deployment.id).length > 0,
    10_000,
    'the request to start a replica',
  );
  const closed = own.g.close();
  assertError(await parked, 503, 'model_unavailable', 'shutting_down');
  await closed;
});

test('a request whose deadline passes before any replica is ready is 503 model_not_ready', async () => {
  const dir = modelCopy({ after }, fixture('behaviours'), {
    model_name: 'slow-load',
    environment_variables: { LOAD_MS: '5000' },
    runtime: { predict_timeout_seconds: 1 },
  });
  const pushed = await girder.push(dir);
  assertError(
    await call(`${girder.url}/model-${pushed.model.id}/production/predict`, { headers: girder.auth, body: '{}' }),
    503,
    'model_not_ready',
  );
});

test('a model slower than the predict timeout gives 504 timeout', async () => {
  const own = await girder.deploy(
    modelCopy({ after }, fixture('behaviours'), { model_name: 'slow', runtime: { predict_timeout_seconds: 1 } }),
  );
  const r = await call(`${girder.url}/model-${own.model.id}/production/predict`, {
    headers: girder.auth,
    body: JSON.stringify({ sleep_ms: 5000 }),
  });
  assertError(r, 504, 'timeout');
});

test('a stream that outlasts the predict timeout is cut at the deadline', async () => {
  const own = await girder.deploy(
    modelCopy({ after }, fixture('behaviours'), { model_name: 'slow-stream', runtime: { predict_timeout_seconds: 1 } }),
  );
  // 100 chunks 30 ms apart would take 3 s.
  const res = await request(`${girder.url}/model-${own.model.id}/production/predict`, {
    method: 'POST',
    headers: girder.auth,
    body: JSON.stringify({ stream: 100 }),
  });
  assert.equal(res.statusCode, 200);
  let text = '';
  await assert.rejects(async () => {
    for await (const c of res.body) text += c;
  });
  const chunks = text.split('\n').filter(Boolean).length;
  assert.ok(chunks > 0 && chunks < 100, `got ${chunks} chunks`);
});

test('an upload still streaming at the deadline gives 504 timeout', async () => {
  const own = await girder.deploy(
    modelCopy({ after }, fixture('behaviours'), { model_name: 'slow-upload', runtime: { predict_timeout_seconds: 1 } }),
  );
  const target = new URL(`${girder.url}/model-${own.model.id}/production/predict`);
  const r = await new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = httpRequest(
      target,
      { method: 'POST', headers: { ...girder.auth, 'content-type': 'application/json' } },
      (res) => {
        let body = '';
        res
          .on('data', (c) => (body += c))
          .on('end', () => resolve({ status: res.statusCode!, body }))
          .on('error', reject);
      },
    );
    req.on('error', reject);
    // Chunked, and never finished: the body is still coming when the deadline passes.
    req.write('{"echo": ');
    after(() => req.destroy());
  });
  assert.equal(r.status, 504, r.body);
  assert.equal(JSON.parse(r.body).error_code, 'timeout');
});

test('an oversized management body is 413 payload_too_large, declared or not', async () => {
  const big = JSON.stringify({ name: 'big', value: 'x'.repeat(1024 * 1024) });
  assertError(
    await call(`${girder.url}/api/v1/secrets`, { headers: girder.auth, body: big }),
    413,
    'payload_too_large',
  );
  // Chunked, so that the limit is found while reading, not from Content-Length.
  const chunked = await request(`${girder.url}/api/v1/secrets`, {
    method: 'POST',
    headers: girder.auth,
    body: Readable.from([Buffer.from(big.slice(0, 600_000)), Buffer.from(big.slice(600_000))]),
  });
  assert.equal(chunked.statusCode, 413);
  assert.equal(((await chunked.body.json()) as { error_code: string }).error_code, 'payload_too_large');
  const list = await call(`${girder.url}/api/v1/secrets`, { method: 'GET', headers: girder.auth });
  assert.ok(!list.text.includes('"big"'), 'nothing of the refused body was stored');
});
