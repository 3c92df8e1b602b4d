import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { ok, runCli } from '../src/cli/run-cli.ts';
import { fixture, modelCopy } from './helpers.ts';
import { clients, startScaling } from './scaling.harness.ts';
import { waitFor } from './wait.ts';

const { girder, api, predict, scale, status, replicas } = await startScaling({ after });

test('every change of the desired count is recorded, explained in numbers, and readable by API and CLI', async () => {
  const pushed = await girder.deploy(modelCopy({ after }, fixture('behaviours'), { model_name: 'explained' }));
  const id = pushed.model.id;
  await scale(id, { min_replica: 0, max_replica: 3, scale_down_delay: 20, target_utilization_percentage: 100 });
  const load = clients(3, () => predict(id, { sleep_ms: 100 }));
  await replicas(id, 3);
  await load.stop();
  await waitFor(async () => (await status(id)) === 'SCALED_TO_ZERO', 20_000, 'SCALED_TO_ZERO');
  // A long delay now (36 s here), so that the wake below holds while the test reads.
  await scale(id, { scale_down_delay: 3600 });
  assert.equal((await predict(id, {})).status, 200);

  const view = await api(`/models/${id}/deployments/${pushed.deployment.id}/scaling_events`);
  assert.equal(view.status, 200, view.text);
  const { events, cold_starts } = view.json;
  assert.equal(view.json.desired_replicas, 1, 'woken by the last request, held for scale_down_delay');
  assert.deepEqual(Object.keys(view.json.replicas).sort(), ['active', 'draining', 'starting', 'unready']);
  assert.equal(events[0].reason, 'promoted', 'its first replica: it serves production');
  for (let i = 1; i < events.length; i++) assert.equal(events[i].from, events[i - 1].to, 'no change goes unrecorded');
  for (const e of events) {
    assert.ok(Date.parse(e.at) > 0 && typeof e.message === 'string' && e.message.length > 10, JSON.stringify(e));
    assert.equal(e.numbers.window_seconds, 60);
    assert.ok([900, 20, 3600].includes(e.numbers.scale_down_delay_seconds), 'the settings of that moment');
  }
  const up = events.find(
    (e: { reason: string; to: number }) => (e.reason === 'load' || e.reason === 'burst') && e.to > 1,
  );
  assert.ok(up, JSON.stringify(events.map((e: { reason: string }) => e.reason)));
  assert.match(
    up.message,
    up.reason === 'load' ? /average load [\d.]+ over 60 s ÷ \(1 × 100 %\)/ : /burst: load [\d.]+ over/,
  );
  const reasons = events.map((e: { reason: string }) => e.reason);
  assert.ok(reasons.includes('scale_down') || reasons.includes('idle'), reasons.join(' '));
  assert.deepEqual(reasons.slice(-2), ['idle', 'wake']);
  assert.match(events.at(-2).message, /no load for scale_down_delay 20 s and min_replica 0: to zero/);

  assert.ok(cold_starts.length >= 4, 'the first replica, two more, and the wake');
  for (const c of cold_starts) {
    assert.equal(c.total_ms, c.process_ms + c.load_ms);
    assert.ok(c.process_ms > 0 && c.load_ms >= 0, JSON.stringify(c));
  }
  assert.equal(cold_starts.at(-1).from_zero, true, 'the wake started from zero');

  const cli = ok(await runCli(girder.url, girder.key, ['scaling', 'explained']));
  // The CLI starts slowly on a busy machine: by then the deployment may be at zero again.
  assert.match(cli.stdout, /replicas: desired \d, active \d, starting \d, draining \d/);
  assert.match(cli.stdout, /\d → \d\s+idle\s+no load for scale_down_delay 20 s/);
  assert.match(cli.stdout, /COLD START\s+REPLICA\s+FROM ZERO\s+PROCESS\s+LOAD\s+TOTAL/);
});
