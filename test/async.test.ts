import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { call, fixture, modelCopy, startGirder, type PushAnswer, type Running } from './helpers.ts';
import { waitFor } from './wait.ts';
import { verifyBasetenWebhook, webhookReceiver } from './webhook-receiver.ts';

const girder: Running = await startGirder({ after }, { allowPrivateWebhooks: true, webhookRetryDelayMs: 100 });
// /fail always answers 500, /redirect 301, anything else 200.
const hooks = await webhookReceiver({ after }, (d) => (d.path === '/fail' ? 500 : d.path === '/redirect' ? 301 : 200));

/** A fresh copy of the behaviours model (predict_concurrency 1), deployed under its own name. */
const deployBehaviours = (name: string, patch: Record<string, unknown> = {}) =>
  girder.deploy(modelCopy({ after }, fixture('behaviours'), { model_name: name, ...patch }));

const submit = (m: PushAnswer, body: unknown, target = 'production') =>
  call(`${girder.url}/model-${m.model.id}/${target}/async_predict`, {
    headers: girder.auth,
    body: JSON.stringify(body),
  });
const status = (m: PushAnswer, id: string, headers = girder.auth) =>
  call(`${girder.url}/model-${m.model.id}/async_request/${id}`, { method: 'GET', headers });
const settled = async (m: PushAnswer, id: string, want?: string) => {
  let last: any;
  await waitFor(
    async () => {
      last = (await status(m, id)).json;
      return want
        ? last?.status === want
        : !['QUEUED', 'IN_PROGRESS'].includes(last?.status) && last?.webhook_status !== 'PENDING';
    },
    30_000,
    `request ${id} to settle${want ? ` as ${want}` : ''}`,
  );
  return last;
};
/** The order in which the model started requests, from the lines it logged. */
const startOrder = async (m: PushAnswer, labels: string[]) =>
  (await girder.g.logs.recent(m.deployment.id, 500)).map((l) => l.msg).filter((msg) => labels.includes(msg));

test('a submit answers 201 with the request id, runs, and the signed webhook carries the raw output', async () => {
  const m = await deployBehaviours('async-basic');
  const secret = (await call(`${girder.url}/api/v1/webhook_secrets`, { headers: girder.auth })).json;
  const r = await submit(m, { model_input: { echo: 'hello' }, webhook_endpoint: `${hooks.url}/ok` });
  assert.equal(r.status, 201, r.text);
  const id = r.json.request_id;
  assert.match(id, /^[0-9a-f]{32}$/);
  assert.equal(r.headers['x-baseten-request-id'], id);
  const done = await settled(m, id);
  assert.deepEqual(Object.keys(done).sort(), [
    'created_at',
    'deployment_id',
    'errors',
    'model_id',
    'request_id',
    'status',
    'status_at',
    'webhook_status',
  ]);
  assert.equal(done.status, 'SUCCEEDED');
  assert.equal(done.webhook_status, 'SUCCEEDED');
  const [d] = hooks.for(id);
  assert.equal(d.headers['x-baseten-request-id'], id);
  assert.ok(
    verifyBasetenWebhook(d.raw, d.headers['x-baseten-signature'] as string, [secret.secret]),
    'signature verifies',
  );
  assert.equal(d.raw.toString(), JSON.stringify(d.body), 'compact JSON');
  assert.deepEqual(
    { ...d.body, time: undefined },
    {
      request_id: id,
      model_id: m.model.id,
      deployment_id: m.deployment.id,
      type: 'async_request_completed',
      time: undefined,
      data: { echo: 'hello', request_id: id },
      errors: [],
    },
  );
  assert.match(d.body.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
  await call(`${girder.url}/api/v1/webhook_secrets/${secret.id}`, { method: 'DELETE', headers: girder.auth });
});

test('a rotated secret keeps signing next to the new one, newest first; a deleted one stops at once', async () => {
  const m = await deployBehaviours('async-rotation');
  const old = (await call(`${girder.url}/api/v1/webhook_secrets`, { headers: girder.auth })).json;
  const listed = (await call(`${girder.url}/api/v1/webhook_secrets`, { method: 'GET', headers: girder.auth })).text;
  assert.ok(!listed.includes(old.secret), 'values are not listed');
  const rotated = (await call(`${girder.url}/api/v1/webhook_secrets/${old.id}/rotate`, { headers: girder.auth })).json;
  const id = (await submit(m, { model_input: {}, webhook_endpoint: `${hooks.url}/ok` })).json.request_id;
  await settled(m, id);
  const header = hooks.for(id)[0].headers['x-baseten-signature'] as string;
  const raw = hooks.for(id)[0].raw;
  const [first, second] = header.split(',');
  assert.ok(verifyBasetenWebhook(raw, first, [rotated.secret]) && verifyBasetenWebhook(raw, second, [old.secret]));
  await call(`${girder.url}/api/v1/webhook_secrets/${old.id}`, { method: 'DELETE', headers: girder.auth });
  const id2 = (await submit(m, { model_input: {}, webhook_endpoint: `${hooks.url}/ok` })).json.request_id;
  await settled(m, id2);
  const header2 = hooks.for(id2)[0].headers['x-baseten-signature'] as string;
  assert.equal(header2.split(',').length, 1);
  assert.ok(!verifyBasetenWebhook(hooks.for(id2)[0].raw, header2, [old.secret]));
  await call(`${girder.url}/api/v1/webhook_secrets/${rotated.id}`, { method: 'DELETE', headers: girder.auth });
});

test('requests run by priority, then arrival, when they compete for a slot', async () => {
  const m = await deployBehaviours('async-priority');
  await submit(m, { model_input: { log: 'blocker', sleep_ms: 400 } });
  await waitFor(async () => (await startOrder(m, ['blocker'])).length === 1, 10_000, 'the blocker to start');
  const labels = ['p2', 'p1-a', 'p0-a', 'p1-b', 'p0-b'];
  const ids = [];
  for (const label of labels) {
    ids.push((await submit(m, { model_input: { log: label }, priority: Number(label[1]) })).json.request_id);
  }
  for (const id of ids) await settled(m, id, 'SUCCEEDED');
  assert.deepEqual(await startOrder(m, labels), ['p0-a', 'p0-b', 'p1-a', 'p1-b', 'p2']);
});

test('a sync request takes the next free slot before queued async requests', async () => {
  const m = await deployBehaviours('async-sync-first');
  const ids = [];
  for (const label of ['a1', 'a2', 'a3'])
    ids.push((await submit(m, { model_input: { log: label, sleep_ms: 300 } })).json.request_id);
  await waitFor(async () => (await startOrder(m, ['a1'])).length === 1, 10_000, 'a1 to start');
  const sync = await call(`${girder.url}/model-${m.model.id}/production/predict`, {
    headers: girder.auth,
    body: JSON.stringify({ log: 'sync' }),
  });
  assert.equal(sync.status, 200);
  for (const id of ids) await settled(m, id, 'SUCCEEDED');
  assert.deepEqual(await startOrder(m, ['a1', 'a2', 'a3', 'sync']), ['a1', 'sync', 'a2', 'a3']);
});

test('async_queue_status counts queued and in-progress requests', async () => {
  const m = await deployBehaviours('async-queue-status');
  const ids = [];
  for (let i = 0; i < 3; i++) ids.push((await submit(m, { model_input: { sleep_ms: 500 } })).json.request_id);
  await waitFor(
    async () =>
      (
        await call(`${girder.url}/model-${m.model.id}/production/async_queue_status`, {
          method: 'GET',
          headers: girder.auth,
        })
      ).json.num_in_progress_requests === 1,
    10_000,
    'one in progress',
  );
  const q = await call(`${girder.url}/model-${m.model.id}/production/async_queue_status`, {
    method: 'GET',
    headers: girder.auth,
  });
  assert.deepEqual(q.json, {
    model_id: m.model.id,
    deployment_id: m.deployment.id,
    num_queued_requests: 2,
    num_in_progress_requests: 1,
  });
  for (const id of ids) await settled(m, id);
});

test('a QUEUED request can be canceled; an IN_PROGRESS one cannot; unknown ids are 404', async () => {
  const m = await deployBehaviours('async-cancel');
  const running = (await submit(m, { model_input: { sleep_ms: 500 }, webhook_endpoint: `${hooks.url}/ok` })).json
    .request_id;
  const queued = (await submit(m, { model_input: {}, webhook_endpoint: `${hooks.url}/ok` })).json.request_id;
  await waitFor(async () => (await status(m, running)).json.status === 'IN_PROGRESS', 10_000, 'the first to run');
  const del = (id: string) =>
    call(`${girder.url}/model-${m.model.id}/async_request/${id}`, { method: 'DELETE', headers: girder.auth });
  assert.deepEqual((await del(queued)).json, { request_id: queued, canceled: true, message: 'Request canceled.' });
  const busy = (await del(running)).json;
  assert.equal(busy.canceled, false);
  assert.match(busy.message, /IN_PROGRESS/);
  const c = await settled(m, queued);
  assert.equal(c.status, 'CANCELED');
  assert.equal(c.webhook_status, 'CANCELED');
  await settled(m, running, 'SUCCEEDED');
  assert.equal(hooks.for(queued).length, 0, 'no webhook for a canceled request');
  assert.equal((await del('f'.repeat(32))).status, 404);
  assert.equal((await status(m, 'f'.repeat(32))).status, 404);
});

test('500s are retried with doubling delays up to max_attempts, then FAILED with MODEL_PREDICT_ERROR', async () => {
  const m = await deployBehaviours('async-retries');
  const id = (
    await submit(m, {
      model_input: { log: 'attempt', raise: 'always broken' },
      webhook_endpoint: `${hooks.url}/ok`,
      inference_retry_config: { max_attempts: 3, initial_delay_ms: 200, max_delay_ms: 300 },
    })
  ).json.request_id;
  const done = await settled(m, id);
  assert.equal(done.status, 'FAILED');
  assert.deepEqual(
    done.errors.map((e: { code: string }) => e.code),
    ['MODEL_PREDICT_ERROR'],
  );
  assert.match(done.errors[0].message, /always broken/);
  const attempts = (await girder.g.logs.recent(m.deployment.id, 500))
    .filter((l) => l.msg === 'attempt' && l.request_id === id)
    .map((l) => Date.parse(l.ts));
  assert.equal(attempts.length, 3);
  assert.ok(attempts[1] - attempts[0] >= 200, 'the first retry waited initial_delay_ms');
  assert.ok(attempts[2] - attempts[1] >= 300, 'the second waited min(2 × initial, max_delay_ms)');
  const [d] = hooks.for(id);
  assert.equal(d.body.data, null);
  assert.equal(d.body.errors[0].code, 'MODEL_PREDICT_ERROR');
});

test('4xx answers are not retried: 422 is MODEL_INVALID_INPUT, 404 MODEL_DOES_NOT_EXIST', async () => {
  const m = await deployBehaviours('async-4xx');
  for (const [st, code] of [
    [422, 'MODEL_INVALID_INPUT'],
    [404, 'MODEL_DOES_NOT_EXIST'],
  ] as const) {
    const id = (
      await submit(m, {
        model_input: { log: `once-${st}`, raise: 'nope', status: st },
        inference_retry_config: { initial_delay_ms: 0 },
      })
    ).json.request_id;
    const done = await settled(m, id);
    assert.equal(done.status, 'FAILED');
    assert.equal(done.errors[0].code, code);
    assert.equal((await startOrder(m, [`once-${st}`])).length, 1, 'one attempt only');
  }
});

test('a replica crash is MODEL_UNAVAILABLE and retried on the restarted replica', async () => {
  const m = await deployBehaviours('async-crash');
  const id = (
    await submit(m, { model_input: { crash: true }, inference_retry_config: { max_attempts: 2, initial_delay_ms: 0 } })
  ).json.request_id;
  const done = await settled(m, id);
  assert.equal(done.status, 'FAILED');
  assert.equal(done.errors[0].code, 'MODEL_UNAVAILABLE');
  const after2 = (await submit(m, { model_input: { echo: 'alive' } })).json.request_id;
  assert.equal((await settled(m, after2)).status, 'SUCCEEDED');
});

test('a webhook failing with 5xx is retried, then the request is WEBHOOK_FAILED; redirects are not followed', async () => {
  const m = await deployBehaviours('async-webhook-fail');
  const id = (await submit(m, { model_input: {}, webhook_endpoint: `${hooks.url}/fail` })).json.request_id;
  const done = await settled(m, id);
  assert.equal(done.status, 'WEBHOOK_FAILED');
  assert.equal(done.webhook_status, 'FAILED');
  assert.equal(hooks.for(id).length, 2, 'two attempts');
  const notes = (await girder.g.logs.recent(m.deployment.id, 200)).filter((l) =>
    l.msg.includes(`webhook for async request ${id}`),
  );
  assert.deepEqual(
    notes.map((l) => /HTTP 500/.test(l.msg)),
    [true, true],
    'each failed delivery is in the logs, with its reason',
  );
  const moved = (await submit(m, { model_input: {}, webhook_endpoint: `${hooks.url}/redirect` })).json.request_id;
  assert.equal((await settled(m, moved)).status, 'WEBHOOK_FAILED');
  assert.equal(hooks.for(moved).length, 1, 'a 301 is a failure, not retried, not followed');
  assert.equal(hooks.deliveries.filter((d) => d.path === '/elsewhere').length, 0);
});

test('keep_output makes the output readable from the status', async () => {
  const m = await deployBehaviours('async-keep');
  const id = (await submit(m, { model_input: { echo: 'kept' }, keep_output: true })).json.request_id;
  const done = await settled(m, id);
  assert.deepEqual(done.output, { echo: 'kept', request_id: id });
  const plain = (await submit(m, { model_input: { echo: 'not kept' } })).json.request_id;
  assert.equal((await settled(m, plain)).output, undefined);
});

test('a request not started within max_time_in_queue_seconds becomes EXPIRED and its webhook says so', async () => {
  const m = await girder.push(
    modelCopy({ after }, fixture('behaviours'), {
      model_name: 'async-expiry',
      environment_variables: { LOAD_MS: '60000' },
    }),
  );
  const id = (await submit(m, { model_input: {}, max_time_in_queue_seconds: 10, webhook_endpoint: `${hooks.url}/ok` }))
    .json.request_id;
  assert.equal((await status(m, id)).json.status, 'QUEUED', 'accepted while no replica is ready');
  const done = await settled(m, id);
  assert.equal(done.status, 'EXPIRED');
  assert.equal(done.errors[0].code, 'MODEL_NOT_READY');
  assert.equal(hooks.for(id)[0].body.errors[0].code, 'MODEL_NOT_READY');
});

test('bad wrappers are 400 naming the field, oversized bodies 413', async () => {
  const m = await deployBehaviours('async-validation');
  const bad = await submit(m, { model_input: {}, priority: 7 });
  assert.equal(bad.status, 400);
  assert.equal(bad.json.error_code, 'client_error');
  assert.match(bad.json.error, /priority/);
  assert.match((await submit(m, { priority: 1 })).json.error, /model_input/);
  const big = await submit(m, { model_input: { x: 'y'.repeat(300 * 1024) } });
  assert.equal(big.status, 413);
  assert.equal(big.json.error_code, 'payload_too_large');
  const ftp = await submit(m, { model_input: {}, webhook_endpoint: 'ftp://example.com/x' });
  assert.equal(ftp.status, 400);
});

test('a key reads and cancels only requests of models it may call', async () => {
  const m = await deployBehaviours('async-scoped');
  const other = await deployBehaviours('async-scoped-other');
  const key = (
    await call(`${girder.url}/api/v1/api_keys`, {
      headers: girder.auth,
      body: JSON.stringify({ type: 'WORKSPACE_INVOKE', model_ids: [other.model.id] }),
    })
  ).json.api_key;
  const scoped = { authorization: `Api-Key ${key}` };
  const id = (await submit(m, { model_input: {} })).json.request_id;
  assert.equal((await status(m, id, scoped)).status, 403);
  assert.equal(
    (await call(`${girder.url}/model-${other.model.id}/async_request/${id}`, { method: 'GET', headers: scoped }))
      .status,
    404,
    'not through another model',
  );
  await settled(m, id);
});

test('more outstanding requests than the limit get 429 rate_limited; webhooks to private hosts are refused by default', async () => {
  const strict = await startGirder({ after }, { asyncMaxOutstanding: 2 });
  const m = await strict.deploy(modelCopy({ after }, fixture('behaviours'), { model_name: 'async-limited' }));
  const url = `${strict.url}/model-${m.model.id}/production/async_predict`;
  const body = JSON.stringify({ model_input: { sleep_ms: 300 } });
  assert.equal((await call(url, { headers: strict.auth, body })).status, 201);
  assert.equal((await call(url, { headers: strict.auth, body })).status, 201);
  const limited = await call(url, { headers: strict.auth, body });
  assert.equal(limited.status, 429);
  assert.equal(limited.headers['retry-after'], '1', 'every 429 says when to retry');
  assert.equal(limited.json.error_code, 'rate_limited');
  const priv = await call(url, {
    headers: strict.auth,
    body: JSON.stringify({ model_input: {}, webhook_endpoint: 'http://127.0.0.1:9/hook' }),
  });
  assert.equal(priv.status, 400);
  assert.match(priv.json.error, /private/);
});

test('a model call over the async timeout is MODEL_PREDICT_TIMEOUT, and a finished status is gone after the retention period', async () => {
  const quick = await startGirder({ after }, { asyncPredictTimeoutSeconds: 1, asyncRetentionSeconds: 2 });
  const m = await quick.deploy(modelCopy({ after }, fixture('behaviours'), { model_name: 'async-timeout' }));
  const r = await call(`${quick.url}/model-${m.model.id}/production/async_predict`, {
    headers: quick.auth,
    body: JSON.stringify({ model_input: { sleep_ms: 5000 }, inference_retry_config: { max_attempts: 1 } }),
  });
  const url = `${quick.url}/model-${m.model.id}/async_request/${r.json.request_id}`;
  let done: any;
  await waitFor(
    async () => (done = (await call(url, { method: 'GET', headers: quick.auth })).json).status === 'FAILED',
    15_000,
    'FAILED',
  );
  assert.equal(done.errors[0].code, 'MODEL_PREDICT_TIMEOUT');
  await waitFor(
    async () => (await call(url, { method: 'GET', headers: quick.auth })).status === 404,
    15_000,
    'the status to expire',
  );
});
