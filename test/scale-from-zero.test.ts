import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { request } from 'undici';
import { fixture, modelCopy } from './helpers.ts';
import { startScaling } from './scaling.harness.ts';
import { waitFor } from './wait.ts';

const { girder, api, predict, scale, status, replicas } = await startScaling({ after });
const copy = (src: string, name: string, patch: Record<string, unknown> = {}) =>
  modelCopy({ after }, fixture(src), { model_name: name, ...patch });
const toZero = async (id: string) => {
  await scale(id, { min_replica: 0, scale_down_delay: 10 });
  await waitFor(async () => (await status(id)) === 'SCALED_TO_ZERO', 20_000, 'SCALED_TO_ZERO');
};
/** How many requests wait for a slot of the deployment now. */
const waiting = (deploymentId: string) => girder.g.supervisor.load(deploymentId).parked;

test('requests waiting at zero are served in arrival order once a replica is ready', async () => {
  // A slow load (5 s) keeps them all waiting while they are sent one by one.
  const pushed = await girder.deploy(copy('behaviours', 'in-order', { environment_variables: { LOAD_MS: '5000' } }));
  await toZero(pushed.model.id);
  const done: number[] = [];
  const calls: Promise<unknown>[] = [];
  for (let i = 0; i < 6; i++) {
    calls.push(
      predict(pushed.model.id, { echo: i, sleep_ms: 20 }).then((r) => r.status === 200 && done.push(r.json.echo)),
    );
    // Each one waits before the next is sent, so that arrival order is known.
    await waitFor(() => waiting(pushed.deployment.id) === i + 1, 10_000, `request ${i} waiting`);
  }
  await Promise.all(calls);
  assert.deepEqual(done, [0, 1, 2, 3, 4, 5], 'one slot (predict_concurrency 1): answers in arrival order');
});

test('a burst at zero goes to the new replica only as its predict_concurrency slots allow', async () => {
  const pushed = await girder.deploy(copy('counter-server', 'no-storm'));
  await toZero(pushed.model.id);
  const burst = await Promise.all(Array.from({ length: 12 }, () => predict(pushed.model.id, { sleep_ms: 30 })));
  assert.deepEqual(new Set(burst.map((r) => r.status)), new Set([200]));
  assert.equal(Math.max(...burst.map((r) => r.json.max_active)), 2, 'never more than its 2 slots at once');
});

test('model_not_ready when no replica is ready before the deadline', async () => {
  const slow = copy('behaviours', 'slow-load', {
    environment_variables: { LOAD_MS: '4000' },
    runtime: { predict_timeout_seconds: 1 },
  });
  const pushed = await girder.push(slow);
  const r = await predict(pushed.model.id, {});
  assert.equal(r.status, 503, r.text);
  assert.equal(r.json.error_code, 'model_not_ready');
});

test('a replica removed by a scale-down finishes its streams before it stops', async () => {
  const pushed = await girder.deploy(copy('behaviours', 'drain-streams'));
  const id = pushed.model.id;
  await scale(id, { min_replica: 2, max_replica: 2 });
  await replicas(id, 2);
  const stream = async () => {
    const res = await request(`${girder.url}/model-${id}/production/predict`, {
      method: 'POST',
      headers: girder.auth,
      body: JSON.stringify({ stream: 100 }),
    });
    return { status: res.statusCode, text: await res.body.text() };
  };
  const streams = [stream(), stream()];
  await waitFor(() => girder.g.supervisor.load(pushed.deployment.id).inflight === 2, 10_000, 'two streams');
  // A lowered max_replica applies at once: one replica, with a stream in flight, drains.
  await scale(id, { min_replica: 0, max_replica: 1 });
  await waitFor(
    () => girder.g.supervisor.replicas(pushed.deployment.id).some((r) => r.state === 'stopping'),
    10_000,
    'a replica draining',
  );
  for (const r of await Promise.all(streams)) {
    assert.equal(r.status, 200);
    assert.equal(r.text.split('\n').filter(Boolean).length, 100, 'every chunk arrived');
  }
  await waitFor(() => girder.g.supervisor.replicas(pushed.deployment.id).length === 1, 10_000, 'one replica left');
});

test('each promotion cleanup strategy, as the runtime applies it', async () => {
  const dir = copy('behaviours', 'cleanups');
  const first = await girder.deploy(dir);
  const id = first.model.id;
  const env = `/models/${id}/environments/production`;
  const promote = async (strategy: string) => {
    await api(env, 'PATCH', { promotion_settings: { promotion_cleanup_strategy: strategy } });
    const next = await girder.push(dir, { promote: 'true' });
    await waitFor(async () => (await status(id, next.deployment.id)) === 'ACTIVE', 20_000, 'the new one ACTIVE');
    return next.deployment.id;
  };
  const second = await promote('SCALE_TO_ZERO');
  assert.equal(await status(id, first.deployment.id), 'SCALED_TO_ZERO', 'scaled to zero at once');
  assert.equal(
    (await api(`/models/${id}/deployments/${first.deployment.id}`)).json.autoscaling_settings.min_replica,
    0,
  );
  const third = await promote('KEEP');
  assert.equal(await status(id, second), 'ACTIVE', 'kept running');
  await promote('DEACTIVATE');
  await waitFor(async () => (await status(id, third)) === 'INACTIVE', 10_000, 'the replaced one INACTIVE');
  assert.equal((await predict(id, {}, `deployment/${third}`)).status, 404);
  assert.equal((await predict(id, {}, `deployment/${first.deployment.id}`)).status, 200, 'woken by its id');
});

test('status follows the replicas: SCALED_TO_ZERO → WAKING_UP → LOADING_MODEL → ACTIVE, the count true each time', async () => {
  // Its process takes a second before it runs the runner (WAKING_UP), and its model 1.5 s to load (LOADING_MODEL).
  const slowBoot = 'await(new(Promise)((r)=>setTimeout(r,1000)))'; // NODE_OPTIONS splits on spaces
  const environment_variables = { LOAD_MS: '1500', NODE_OPTIONS: `--import=data:text/javascript,${slowBoot}` };
  const pushed = await girder.deploy(copy('behaviours', 'statuses', { environment_variables }));
  const id = pushed.model.id;
  await toZero(id);
  const seen: string[] = [];
  const answer = predict(id, {});
  for (;;) {
    const { status: st, active_replica_count: n } = (await api(`/models/${id}/deployments/production`)).json;
    assert.equal(n > 0, st === 'ACTIVE', `${st} with ${n} active replicas`);
    if (seen.at(-1) !== st) seen.push(st);
    if (st === 'ACTIVE') break;
  }
  assert.equal((await answer).status, 200);
  const order = ['SCALED_TO_ZERO', 'WAKING_UP', 'LOADING_MODEL', 'ACTIVE'];
  assert.deepEqual(
    seen,
    order.filter((s) => seen.includes(s)),
    `in order: ${seen.join(' → ')}`,
  );
  assert.ok(seen.includes('WAKING_UP') && seen.includes('LOADING_MODEL'), seen.join(' → '));
});

test('beyond the bound on waiting requests, 429 rate_limited with a Retry-After of the last cold start', async (t) => {
  const bounded = await startScaling(t, { maxWaitingRequests: 3 });
  const dir = copy('behaviours', 'bounded', { environment_variables: { LOAD_MS: '3000' } });
  const pushed = await bounded.girder.deploy(dir);
  const id = pushed.model.id;
  await bounded.scale(id, { min_replica: 0, scale_down_delay: 10 });
  await waitFor(async () => (await bounded.status(id)) === 'SCALED_TO_ZERO', 20_000, 'SCALED_TO_ZERO');
  const waitingOnes = Array.from({ length: 3 }, () => bounded.predict(id, { echo: 'waited' }));
  await waitFor(() => bounded.girder.g.supervisor.load(pushed.deployment.id).parked === 3, 10_000, 'three waiting');
  const refused = await bounded.predict(id, {});
  assert.equal(refused.status, 429, refused.text);
  assert.equal(refused.json.error_code, 'rate_limited');
  assert.equal(refused.headers['x-girder-error-reason'], 'too_many_waiting');
  assert.ok(Number(refused.headers['retry-after']) >= 3, `Retry-After ${refused.headers['retry-after']}: the 3 s load`);
  for (const r of await Promise.all(waitingOnes)) assert.equal(r.status, 200, 'the ones waiting are served');
  const busy = await bounded.predict(id, {});
  assert.equal(busy.status, 200);
});
