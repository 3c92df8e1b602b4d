import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RegistryEvent } from '../../control/registry.ts';
import { DEFAULT_AUTOSCALING, type DeploymentRecord, type EnvironmentRecord } from '../../records/control.ts';
import { NO_LOAD } from '../deployment-runtime.ts';
import type { Replica } from '../replica.ts';
import type { DeploymentLoad } from '../replica-count.ts';
import { Autoscaler } from './autoscaler.ts';

/** A deployment serving production, with these autoscaling fields. */
function deployment(autoscaling = {}): DeploymentRecord {
  return {
    id: 'q1w2e3r',
    modelId: 'abcd1234',
    name: 'deployment-1',
    createdAt: '',
    isDevelopment: false,
    active: true,
    dir: '/snapshots/a',
    config: {} as DeploymentRecord['config'],
    autoscaling: { ...DEFAULT_AUTOSCALING, ...autoscaling },
    labels: null,
  };
}

/** An autoscaler over one deployment, its load set by the test, ticking only when told. */
function scaler(d: DeploymentRecord, backlog = 0) {
  const load: DeploymentLoad = { ...NO_LOAD };
  const reconciled: string[] = [];
  const env = { name: 'production' } as EnvironmentRecord;
  const autoscaler = new Autoscaler({
    registry: { deployments: new Map([[d.id, d]]), environmentOf: () => env },
    backlog: () => backlog,
    tickMs: 3_600_000,
  });
  autoscaler.attach({ load: () => load, reconcile: (id) => reconciled.push(id) });
  const changed = (e: Partial<RegistryEvent> = {}) =>
    autoscaler.changed({ type: 'deployment-changed', deployment: d, ...e });
  const reasons = () => autoscaler.report(d).events.map((e) => `${e.reason} ${e.from}→${e.to}`);
  return { autoscaler, load, reconciled, changed, reasons, close: () => autoscaler.close() };
}

test('a deployment serving an environment starts with one replica held, and a wake of one at zero sets one', (t) => {
  const d = deployment();
  const s = scaler(d);
  t.after(s.close);
  assert.equal(s.autoscaler.desired(d), 1);
  s.changed({ scaleToZero: true });
  assert.equal(s.autoscaler.desired(d), 0);
  s.autoscaler.wake(d, 'request');
  assert.equal(s.autoscaler.desired(d), 1);
  assert.deepEqual(s.reasons(), ['deployed 0→1', 'promotion_cleanup 1→0', 'wake 0→1']);
  assert.equal(s.autoscaler.desired({ ...d, active: false }), 0, 'an inactive deployment runs nothing');
});

test('requests served before a cleanup do not wake the deployment again at the next tick', (t) => {
  const d = deployment();
  const s = scaler(d);
  t.after(s.close);
  s.autoscaler.desired(d);
  s.load.served = 7; // served since the last tick
  s.changed({ scaleToZero: true });
  s.autoscaler.tick();
  assert.equal(s.autoscaler.desired(d), 0);
  assert.deepEqual(s.reconciled, [], 'nothing to reconcile');
});

test('the async backlog counts as load and scales out; the reconcile is asked for', (t) => {
  const d = deployment({ max_replica: 5 });
  const s = scaler(d, 6);
  t.after(s.close);
  s.autoscaler.desired(d);
  Object.assign(s.load, { inflight: 1, parked: 1, parkedAsync: 1, replicas: 1, ready: 1 });
  s.autoscaler.tick();
  // 1 in flight + 6 waiting (the dispatch loop's one parked wait is the backlog's first): 7 / 0.7 → 10, capped at 5.
  assert.equal(s.autoscaler.desired(d), 5);
  assert.deepEqual(s.reconciled, [d.id]);
  assert.equal(s.autoscaler.report(d).load_now, 7);
});

test('a lowered max_replica and a raised min_replica apply at the registry change', (t) => {
  const d = deployment({ max_replica: 5 });
  const s = scaler(d);
  t.after(s.close);
  s.autoscaler.desired(d);
  d.autoscaling = { ...d.autoscaling, min_replica: 4 };
  s.changed();
  assert.equal(s.autoscaler.desired(d), 4);
  d.autoscaling = { ...d.autoscaling, min_replica: 0, max_replica: 2 };
  s.changed();
  assert.equal(s.autoscaler.desired(d), 2);
  assert.deepEqual(s.reasons().slice(1), ['min_replica 1→4', 'max_replica 4→2']);
});

test("a replica's cold start is recorded once, with its phases", (t) => {
  const d = deployment();
  const s = scaler(d);
  t.after(s.close);
  const replica = { id: 'r1', times: { created: 1000, spawned: 1002, up: 1100, ready: 1400 } } as Replica;
  s.load.ready = 1;
  s.autoscaler.replicaReady(d.id, replica);
  s.autoscaler.replicaReady(d.id, replica);
  const { cold_starts } = s.autoscaler.report(d);
  assert.equal(cold_starts.length, 1);
  assert.deepEqual(
    { ...cold_starts[0], at: undefined },
    { at: undefined, replica_id: 'r1', from_zero: true, process_ms: 100, load_ms: 300, total_ms: 400 },
  );
});
