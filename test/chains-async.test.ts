/**
 * A chain's async requests, queue status and wake over real sockets and processes: async_run_remote to
 * SUCCEEDED with a signed webhook carrying `chain_id`, on every target and the regional forms; status
 * and cancel on chain hosts; the entrypoint's input errors in the status; the wrong action's 400s; a
 * wake that reaches every chainlet. One Girder for the whole file.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { pushChain } from './chains.harness.ts';
import { call, example, fixture, type Running, startGirder } from './helpers.ts';
import { waitFor } from './wait.ts';
import { verifyBasetenWebhook, webhookReceiver } from './webhook-receiver.ts';

const FIXTURES = fixture('chains');
const r: Running = await startGirder({ after }, { allowPrivateWebhooks: true, webhookRetryDelayMs: 100 });
const hooks = await webhookReceiver({ after });
const h = await pushChain(r.url, r.key, example('hello-chain'), { file: 'chain.ts', name: 'hello' });
assert.equal(h.status, 200, JSON.stringify(h.json));
const hello = { id: h.json.chain.id as string, deployment: h.json.deployment.id as string };
const s = await pushChain(r.url, r.key, FIXTURES, { file: 'sleepy.ts' });
assert.equal(s.status, 200, JSON.stringify(s.json));
const sleepy = {
  id: s.json.chain.id as string,
  deployment: s.json.deployment.id as string,
  entrypointModel: s.json.deployment.chainlets.find((c: { name: string }) => c.name === 'Sleepy').model_id as string,
};

const NAMES = { names: ['Marius', 'Sid', 'Bola'] };
const GREETING = 'Hello, Marius!\nHello, Sid!\nHello, Bola!';

const submit = (url: string, body: unknown, host?: string) =>
  call(`${r.url}${url}`, { headers: { ...r.auth, ...(host && { host }) }, body: JSON.stringify(body) });
const statusOf = (chainId: string, id: string, host?: string) =>
  host
    ? call(`${r.url}/async_request/${id}`, { method: 'GET', headers: { ...r.auth, host } })
    : call(`${r.url}/chain-${chainId}/async_request/${id}`, { method: 'GET', headers: r.auth });
const settled = async (chainId: string, id: string) => {
  let last: any;
  await waitFor(
    async () => {
      last = (await statusOf(chainId, id)).json;
      return !['QUEUED', 'IN_PROGRESS'].includes(last?.status) && last?.webhook_status !== 'PENDING';
    },
    30_000,
    `request ${id} to settle`,
  );
  return last;
};

test('async_run_remote runs the entrypoint to SUCCEEDED; the signed webhook and the status carry chain_id', async () => {
  const secret = (await call(`${r.url}/api/v1/webhook_secrets`, { headers: r.auth })).json;
  const sub = await submit(`/chain-${hello.id}/production/async_run_remote`, {
    model_input: NAMES,
    webhook_endpoint: `${hooks.url}/chain`,
    priority: 1,
  });
  assert.equal(sub.status, 201, sub.text);
  const id = sub.json.request_id;
  assert.match(id, /^[0-9a-f]{32}$/);
  assert.equal(sub.headers['x-baseten-request-id'], id);
  const done = await settled(hello.id, id);
  assert.deepEqual(Object.keys(done).sort(), [
    'chain_id',
    'created_at',
    'deployment_id',
    'errors',
    'request_id',
    'status',
    'status_at',
    'webhook_status',
  ]);
  assert.equal(done.status, 'SUCCEEDED');
  assert.equal(done.chain_id, hello.id);
  assert.equal(done.deployment_id, hello.deployment, 'the chain deployment, not a chainlet’s');
  const [hook] = hooks.for(id);
  assert.ok(verifyBasetenWebhook(hook.raw, hook.headers['x-baseten-signature'] as string, [secret.secret]));
  assert.deepEqual(Object.keys(hook.body), [
    'request_id',
    'chain_id',
    'deployment_id',
    'type',
    'time',
    'data',
    'errors',
  ]);
  assert.equal(hook.body.chain_id, hello.id);
  assert.equal(hook.body.deployment_id, hello.deployment);
  assert.equal(hook.body.data, GREETING);
  assert.deepEqual(hook.body.errors, []);
});

test('async_run_remote answers on every target and the regional forms', async () => {
  const forms: [string, string | undefined][] = [
    [`/chain-${hello.id}/development/async_run_remote`, undefined], // no development: 404 below
    [`/chain-${hello.id}/environments/production/async_run_remote`, undefined],
    [`/chain-${hello.id}/deployment/${hello.deployment}/async_run_remote`, undefined],
    [`/chain-${hello.id}-production/async_run_remote`, undefined],
    ['/production/async_run_remote', `chain-${hello.id}.localhost`],
    ['/async_run_remote', `chain-${hello.id}-production.localhost`],
  ];
  const ids: string[] = [];
  for (const [path, host] of forms) {
    const res = await submit(path, { model_input: NAMES, keep_output: true }, host);
    if (path.includes('/development/')) {
      assert.equal(res.status, 404, res.text);
      assert.match(res.json.error, /no development deployment/);
      continue;
    }
    assert.equal(res.status, 201, `${host ?? ''}${path}: ${res.text}`);
    ids.push(res.json.request_id);
  }
  for (const id of ids) {
    const done = await settled(hello.id, id);
    assert.equal(done.status, 'SUCCEEDED');
    assert.equal(done.output, GREETING, 'keep_output works for chains too');
    const regional = await statusOf(hello.id, id, `chain-${hello.id}-production.localhost`);
    assert.equal(regional.json.status, 'SUCCEEDED', 'the status on a regional chain host');
  }
});

test('the entrypoint rejecting its input fails the request at once with a clear error', async () => {
  const sub = await submit(`/chain-${hello.id}/production/async_run_remote`, {
    model_input: { names: [1] },
    webhook_endpoint: `${hooks.url}/bad-input`,
  });
  assert.equal(sub.status, 201, sub.text);
  const done = await settled(hello.id, sub.json.request_id);
  assert.equal(done.status, 'FAILED');
  assert.equal(done.errors.length, 1);
  assert.equal(done.errors[0].code, 'MODEL_INVALID_INPUT');
  assert.match(
    done.errors[0].message,
    /^HTTP 400: invalid input: `names\.0`: Invalid input: expected string, received number$/,
  );
  const [hook] = hooks.for(sub.json.request_id);
  assert.equal(hook.body.data, null);
  assert.deepEqual(hook.body.errors, done.errors);
  const inner = await submit(`/chain-${hello.id}/production/async_run_remote`, {
    model_input: { names: [''] },
    inference_retry_config: { max_attempts: 1 },
  });
  const failed = await settled(hello.id, inner.json.request_id);
  assert.equal(failed.errors[0].code, 'MODEL_PREDICT_ERROR');
  assert.match(failed.errors[0].message, /HelloAll: ChainletError[\s\S]*SayHello: InputValidationError/);
});

test('a bad wrapper is a 400 naming the field, as for async_predict', async () => {
  const res = await submit(`/chain-${hello.id}/production/async_run_remote`, { model_input: NAMES, priority: 7 });
  assert.equal(res.status, 400);
  assert.equal(res.json.error_code, 'client_error');
  assert.match(res.json.error, /priority must be at most 2/);
  const none = await submit(`/chain-${hello.id}/production/async_run_remote`, NAMES);
  assert.equal(none.status, 400);
  assert.match(none.json.error, /model_input/);
});

test('async_predict on a chain and async_run_remote on a model are 400s naming the right action', async () => {
  const onChain = await submit(`/chain-${hello.id}/production/async_predict`, { model_input: NAMES });
  assert.equal(onChain.status, 400);
  assert.equal(onChain.json.error_code, 'client_error');
  assert.match(onChain.json.detail, /async_run_remote/);
  const model = await r.push(example('hello-ts'));
  const onModel = await submit(`/model-${model.model.id}/production/async_run_remote`, { model_input: {} });
  assert.equal(onModel.status, 400);
  assert.equal(onModel.json.error_code, 'client_error');
  assert.match(onModel.json.error, /is a model/);
  assert.match(onModel.json.detail, /async_predict/);
  const chainlet = await submit(`/model-${sleepy.entrypointModel}/production/async_predict`, { model_input: {} });
  assert.equal(chainlet.status, 400);
  assert.match(chainlet.json.detail, new RegExp(`/chain-${sleepy.id}/production/async_run_remote`));
});

test('queue status counts the chain’s requests; cancel and status work on a chain host, and only there', async () => {
  const long = await submit(`/chain-${sleepy.id}/production/async_run_remote`, {
    model_input: { text: 'first', sleepMs: 3000 },
  });
  const queued = await Promise.all(
    ['second', 'third'].map((text) =>
      submit(`/chain-${sleepy.id}/production/async_run_remote`, { model_input: { text } }),
    ),
  );
  const counts = async (path: string, host?: string) =>
    (await call(`${r.url}${path}`, { method: 'GET', headers: { ...r.auth, ...(host && { host }) } })).json;
  await waitFor(
    async () => (await counts(`/chain-${sleepy.id}/production/async_queue_status`)).num_in_progress_requests === 1,
    20_000,
    'the first request to run',
  );
  const want = { chain_id: sleepy.id, deployment_id: sleepy.deployment, num_queued_requests: 2 };
  for (const [path, host] of [
    [`/chain-${sleepy.id}/production/async_queue_status`],
    [`/chain-${sleepy.id}-production/async_queue_status`],
    ['/async_queue_status', `chain-${sleepy.id}-production.localhost`],
  ]) {
    assert.deepEqual(await counts(path, host), { ...want, num_in_progress_requests: 1 }, `${host ?? ''}${path}`);
  }
  const host = `chain-${sleepy.id}.localhost`;
  const [a, b] = queued.map((q) => q.json.request_id);
  const asModel = await call(`${r.url}/model-${sleepy.entrypointModel}/async_request/${a}`, {
    method: 'DELETE',
    headers: r.auth,
  });
  assert.equal(asModel.status, 404, 'a chain’s request is not its entrypoint model’s');
  const asOtherChain = await call(`${r.url}/chain-${hello.id}/async_request/${a}`, { method: 'GET', headers: r.auth });
  assert.equal(asOtherChain.status, 404);
  const cancel = await call(`${r.url}/async_request/${a}`, { method: 'DELETE', headers: { ...r.auth, host } });
  assert.equal(cancel.status, 200, cancel.text);
  assert.deepEqual(cancel.json, { request_id: a, canceled: true, message: 'Request canceled.' });
  const running = await call(`${r.url}/async_request/${long.json.request_id}`, {
    method: 'DELETE',
    headers: { ...r.auth, host },
  });
  assert.equal(running.json.canceled, false);
  assert.match(running.json.message, /IN_PROGRESS/);
  assert.equal((await statusOf(sleepy.id, a, host)).json.status, 'CANCELED');
  const last = await settled(sleepy.id, b);
  assert.equal(last.status, 'SUCCEEDED');
  assert.equal((await settled(sleepy.id, long.json.request_id)).status, 'SUCCEEDED');
});

test('wake on a chain (every target form) wakes every chainlet, not only the entrypoint', async () => {
  const p = await pushChain(r.url, r.key, FIXTURES, { file: 'scale-to-zero.ts' });
  assert.equal(p.status, 200, JSON.stringify(p.json));
  const chainId = p.json.chain.id;
  const deployments = p.json.deployment.chainlets.map((c: { id: string }) => r.g.registry.deployments.get(c.id)!);
  assert.equal(deployments.length, 3);
  const all = (status: string) => deployments.every((d: any) => r.g.supervisor.status(d).status === status);
  for (const [path, host] of [
    [`/chain-${chainId}/production/wake`],
    ['/wake', `chain-${chainId}-production.localhost`],
  ]) {
    await waitFor(() => all('SCALED_TO_ZERO'), 30_000, 'every chainlet to scale to zero');
    const woke = await call(`${r.url}${path}`, { headers: { ...r.auth, ...(host && { host }) } });
    assert.equal(woke.status, 202, woke.text);
    assert.deepEqual(woke.json, {});
    await waitFor(() => all('ACTIVE'), 30_000, `every chainlet ACTIVE after ${host ?? ''}${path}`);
  }
  const get = await call(`${r.url}/chain-${chainId}/production/wake`, { method: 'GET', headers: r.auth });
  assert.equal(get.status, 400);
  assert.match(get.json.error, /wake takes POST/);
});
