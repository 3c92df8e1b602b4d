import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type AutoscalingSettings, DEFAULT_AUTOSCALING, type DeploymentRecord } from '../../records/control.ts';
import { decide, replicasFor, ScaleState } from './scale-rule.ts';
import { scaleSettings } from './scale-settings.ts';

const TICK = 1000;

/** The settings of a deployment with these autoscaling fields, at real time (scale 1), ticking every second. */
function settings(a: Partial<AutoscalingSettings>, development = false) {
  const d = { isDevelopment: development, autoscaling: { ...DEFAULT_AUTOSCALING, ...a } } as DeploymentRecord;
  return scaleSettings(d, 1, TICK);
}

/** The slot counter the samples carry: requests started so far. */
let served = 0;

/** Feeds one sample a second from `from` (ms) for `seconds`, returning every change. */
function run(st: ScaleState, s: ReturnType<typeof settings>, from: number, seconds: number, load: number) {
  const changes = [];
  for (let i = 0; i < seconds; i++) {
    served += load > 0 ? 1 : 0;
    const c = decide(st, s, from + i * TICK, { load, ready: st.count, starting: 0, served });
    if (c) changes.push({ t: (from + i * TICK) / 1000, ...c });
  }
  return changes;
}

test("Baseten's example: 25 in flight at target 10 and 70 % needs 4 replicas", () => {
  assert.equal(replicasFor(25, (10 * 70) / 100), 4);
  assert.equal(replicasFor(1.4, 0.7), 2, 'an exact multiple is not rounded up by float error');
  const st = new ScaleState();
  st.count = 4;
  const s = settings({ max_replica: 8, concurrency_target: 10 });
  assert.equal(decide(st, s, 0, { load: 25, ready: 4, starting: 0, served: 25 }), undefined, 'four carry it');
  const up = decide(st, s, 1000, { load: 40, ready: 4, starting: 0, served: 40 });
  assert.equal(up?.reason, 'load');
  assert.equal(up?.to, 5, 'the average of 25 and 40 over the window is 32.5 → 5');
  assert.match(up!.message, /average load 32.5 over 60 s ÷ \(10 × 70 %\) → 5/);
});

test('a burst above twice what the ready replicas carry scales on the short window, capped at max_replica', () => {
  const st = new ScaleState();
  st.count = 1;
  const s = settings({ max_replica: 4 });
  // A minute of quiet, then 20 concurrent requests: the 60 s average barely moves, the 6 s one does.
  run(st, s, 0, 60, 0.5);
  const [c] = run(st, s, 60_000, 1, 20);
  assert.equal(c.reason, 'burst');
  assert.equal(c.to, 4);
  assert.match(c.message, /capped at max_replica 4/);
  assert.equal(c.numbers.in_burst, true);
});

test('nothing is removed during a burst, and a burst ends a whole window after the last one', () => {
  const st = new ScaleState();
  st.count = 1;
  const s = settings({ max_replica: 10, scale_down_delay: 0, autoscaling_window: 10 });
  run(st, s, 0, 1, 8);
  assert.equal(st.count, 10);
  const quiet = run(st, s, 1000, 9, 0.1);
  assert.deepEqual(quiet, [], 'still in burst mode: no step down');
  const after = run(st, s, 10_000, 3, 0.1);
  assert.ok(after.length >= 1, 'out of burst mode, it steps down');
  assert.equal(after[0].reason, 'scale_down');
  assert.equal(after[0].t, 10, 'the first step comes a whole window after the burst');
});

test('scale down waits scale_down_delay, removes at most max_scale_down_rate per step, and waits again', () => {
  const st = new ScaleState();
  st.count = 8;
  const s = settings({ min_replica: 1, max_replica: 8, scale_down_delay: 30, max_scale_down_rate: 50 });
  const steps = run(st, s, 0, 200, 0).map((c) => ({ t: c.t, from: c.from, to: c.to, reason: c.reason }));
  assert.deepEqual(steps, [
    { t: 30, from: 8, to: 4, reason: 'scale_down' },
    { t: 60, from: 4, to: 2, reason: 'scale_down' },
    { t: 90, from: 2, to: 1, reason: 'scale_down' },
  ]);
  const st2 = new ScaleState();
  st2.count = 3;
  const slow = settings({ min_replica: 1, max_replica: 3, scale_down_delay: 10, max_scale_down_rate: 20 });
  const one = run(st2, slow, 0, 25, 0).map((c) => `${c.from}→${c.to}`);
  assert.deepEqual(one, ['3→2', '2→1'], 'at least one replica per step, even when 20 % of 3 is 0.6');
});

test('with min_replica 0 it goes to zero after scale_down_delay without load, and any request holds it up', () => {
  const st = new ScaleState();
  st.count = 1;
  const s = settings({ scale_down_delay: 60 });
  run(st, s, 0, 5, 1);
  // Short requests between samples: the load sampled is 0, but the slot counter moved.
  for (let i = 5; i < 100; i++) {
    if (i % 10 === 0) served++;
    assert.equal(decide(st, s, i * TICK, { load: 0, ready: 1, starting: 0, served }), undefined, `t=${i}`);
  }
  const changes = run(st, s, 100_000, 100, 0);
  assert.equal(changes.length, 1);
  assert.equal(changes[0].reason, 'idle');
  assert.equal(changes[0].to, 0);
  assert.equal(changes[0].t, 90 + 60, 'sixty seconds after the last request');
  assert.match(changes[0].message, /no load for scale_down_delay 60 s and min_replica 0: to zero/);
});

test('a lowered max_replica applies at once; a raised min_replica too', () => {
  const st = new ScaleState();
  st.count = 4;
  const c = decide(st, settings({ max_replica: 2 }), 0);
  assert.deepEqual([c?.from, c?.to, c?.reason], [4, 2, 'max_replica']);
  const up = decide(st, settings({ min_replica: 3, max_replica: 3 }), 1000);
  assert.deepEqual([up?.from, up?.to, up?.reason], [2, 3, 'min_replica']);
});

test('a development deployment runs at most one replica, whatever its settings', () => {
  const st = new ScaleState();
  const s = settings({ min_replica: 3, max_replica: 5 }, true);
  assert.equal(s.max, 1);
  assert.equal(s.min, 1);
  run(st, s, 0, 3, 20);
  assert.equal(st.count, 1);
});

test('the time scale shrinks every duration of the settings', () => {
  const d = { isDevelopment: false, autoscaling: { ...DEFAULT_AUTOSCALING } } as DeploymentRecord;
  const s = scaleSettings(d, 0.01, 20);
  assert.equal(s.windowMs, 600);
  assert.equal(s.delayMs, 9000);
  assert.equal(s.burstWindowMs, 60);
  assert.equal(scaleSettings(d, 0.001, 20).burstWindowMs, 20, 'never shorter than a tick');
});

test('zero comes scale_down_delay after the last request, even when the window still averages some load', () => {
  const st = new ScaleState();
  st.count = 1;
  const s = settings({ autoscaling_window: 600, scale_down_delay: 30 });
  run(st, s, 0, 10, 1);
  const changes = run(st, s, 10_000, 60, 0);
  assert.deepEqual(
    changes.map((c) => [c.t, c.reason, c.to]),
    [[39, 'idle', 0]],
    'thirty seconds after the last load (at 9 s), not a 600 s window later',
  );
  assert.ok(changes[0].numbers.average_load > 0);
});
