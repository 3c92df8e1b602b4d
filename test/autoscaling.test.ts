import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { call, fixture, modelCopy } from './helpers.ts';
import { clients, startScaling } from './scaling.harness.ts';
import { waitFor } from './wait.ts';

const { girder, predict, scale, status, replicas } = await startScaling({ after });
const behaviours = (name: string, patch: Record<string, unknown> = {}) =>
  modelCopy({ after }, fixture('behaviours'), { model_name: name, ...patch });

/** What the autoscaler says of a deployment: its events and cold starts, oldest first. */
const report = (d: string) => girder.g.autoscaler.report(girder.g.registry.deployments.get(d)!);
const eventsOf = (d: string) => report(d).events;

test('1 → N under concurrent load, then down step by step at the configured rate, no request failing', async () => {
  const pushed = await girder.deploy(behaviours('scale-out'));
  const id = pushed.model.id;
  // 30 s delay = 300 ms here; utilization 100 %: N concurrent requests want N replicas.
  await scale(id, { min_replica: 1, max_replica: 4, scale_down_delay: 30, target_utilization_percentage: 100 });
  const call = () => predict(id, { sleep_ms: 100 });
  const many = clients(3, call);
  const one = clients(1, call);
  await replicas(id, 4);
  await many.stop();
  // One client keeps going while replicas are removed under it.
  await replicas(id, 1);
  const statuses = [...(await one.stop()), ...many.statuses];
  assert.ok(statuses.length > 10);
  assert.deepEqual(new Set(statuses), new Set([200]), 'every request succeeded, up and down');

  const downs = eventsOf(pushed.deployment.id).filter((e) => e.to < e.from);
  assert.ok(downs.length >= 2, JSON.stringify(downs));
  for (const e of downs) {
    assert.equal(e.reason, 'scale_down');
    assert.ok(e.from - e.to <= Math.max(1, Math.floor(e.from * 0.5)), `at most 50 % per step: ${e.from} → ${e.to}`);
    assert.ok(e.numbers.below_for_seconds! >= 30, `after the delay: ${e.message}`);
  }
  for (let i = 1; i < downs.length; i++) {
    const gap = Date.parse(downs[i].at) - Date.parse(downs[i - 1].at);
    assert.ok(gap >= 300, `scale_down_delay again between steps (${gap} ms)`);
  }
});

test('with min_replica 0 it scales to zero without load, and a request wakes it and is served', async () => {
  const pushed = await girder.deploy(behaviours('to-zero'));
  const id = pushed.model.id;
  await scale(id, { min_replica: 0, scale_down_delay: 20 });
  await waitFor(async () => (await status(id)) === 'SCALED_TO_ZERO', 20_000, 'SCALED_TO_ZERO');
  const live = girder.g.supervisor.replicas(pushed.deployment.id).filter((r) => r.state !== 'stopping');
  assert.deepEqual(live, [], 'none runs but those finishing');
  const r = await predict(id, { echo: 'awake' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.echo, 'awake');
  await waitFor(async () => (await status(id)) === 'SCALED_TO_ZERO', 20_000, 'back to zero');
  const reasons = eventsOf(pushed.deployment.id).map((e) => `${e.reason} ${e.from}→${e.to}`);
  assert.deepEqual(reasons.slice(-3), ['idle 1→0', 'wake 0→1', 'idle 1→0']);
  const wake = eventsOf(pushed.deployment.id).at(-2)!;
  assert.match(wake.message, /a request arrived at zero replicas/);
});

test('POST /wake answers 202 {} at once, starts one replica, and holds it for scale_down_delay', async () => {
  const pushed = await girder.deploy(behaviours('woken'));
  const id = pushed.model.id;
  await scale(id, { min_replica: 0, scale_down_delay: 20 });
  await waitFor(async () => (await status(id)) === 'SCALED_TO_ZERO', 20_000, 'SCALED_TO_ZERO');
  const started = report(pushed.deployment.id).cold_starts.length;
  const woken = await call(`${girder.url}/model-${id}/production/wake`, { headers: girder.auth });
  assert.equal(woken.status, 202, woken.text);
  assert.deepEqual(woken.json, {});
  // Its replica became ready (ACTIVE, for 200 ms here: too short to poll for on a busy machine).
  await waitFor(() => report(pushed.deployment.id).cold_starts.length === started + 1, 20_000, 'a replica ready');
  await waitFor(async () => (await status(id)) === 'SCALED_TO_ZERO', 20_000, 'back to zero');
  const [wake, idle] = eventsOf(pushed.deployment.id).slice(-2);
  assert.equal(wake.reason, 'wake');
  assert.match(wake.message, /POST \/wake/);
  assert.equal(idle.reason, 'idle');
  assert.ok(idle.numbers.below_for_seconds! >= 20, 'the wake held it up for scale_down_delay');
  // The regional form (`model-{id}-{env}` host, here as the first path segment) wakes it the same way.
  const regional = await call(`${girder.url}/model-${id}-production/wake`, { headers: girder.auth });
  assert.equal(regional.status, 202, regional.text);
  assert.equal(eventsOf(pushed.deployment.id).at(-1)?.reason, 'wake');
});

test('queued async requests wake a deployment at zero and scale it out to max_replica', async () => {
  const pushed = await girder.deploy(behaviours('async-out'));
  const id = pushed.model.id;
  await scale(id, { min_replica: 0, max_replica: 3, scale_down_delay: 20, target_utilization_percentage: 100 });
  await waitFor(async () => (await status(id)) === 'SCALED_TO_ZERO', 20_000, 'SCALED_TO_ZERO');
  const submit = () =>
    call(`${girder.url}/model-${id}/production/async_predict`, {
      headers: girder.auth,
      body: JSON.stringify({ model_input: { sleep_ms: 200 } }),
    });
  const started = report(pushed.deployment.id).cold_starts.length;
  const ids = (await Promise.all(Array.from({ length: 30 }, submit))).map((r) => r.json.request_id as string);
  const statusOf = async (rid: string) =>
    (await call(`${girder.url}/model-${id}/async_request/${rid}`, { method: 'GET', headers: girder.auth })).json.status;
  await waitFor(
    async () => (await Promise.all(ids.map(statusOf))).every((st) => st === 'SUCCEEDED'),
    30_000,
    'every async request to succeed',
  );
  const up = eventsOf(pushed.deployment.id).find((e) => e.to === 3);
  assert.ok(up, 'the backlog scaled it to max_replica');
  assert.ok(report(pushed.deployment.id).cold_starts.length >= started + 3, 'three replicas started and served');
});
