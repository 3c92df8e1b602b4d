import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RegistryEvent } from '../control/registry.ts';
import { DEFAULT_AUTOSCALING, type DeploymentRecord, type EnvironmentRecord } from '../records/control.ts';
import type { ModelConfig } from '../records/model-config.ts';
import { ServingPolicy } from './replica-count.ts';

/** A deployment record with today's defaults (min_replica 0, max_replica 1). */
function deployment(patch: Partial<DeploymentRecord> = {}): DeploymentRecord {
  return {
    id: 'dep1234',
    modelId: 'abcd1234',
    name: 'deployment-1',
    createdAt: '2025-01-01T00:00:00.000Z',
    isDevelopment: false,
    active: true,
    dir: '/nowhere',
    config: {} as ModelConfig,
    autoscaling: { ...DEFAULT_AUTOSCALING },
    labels: null,
    ...patch,
  };
}

/** A policy over a registry in which the deployments named in `serving` serve production. */
function policyServing(...serving: string[]): ServingPolicy {
  const production = { name: 'production' } as EnvironmentRecord;
  return new ServingPolicy({ environmentOf: (d) => (serving.includes(d.id) ? production : undefined) });
}

const changed = (d: DeploymentRecord): RegistryEvent => ({ type: 'deployment-changed', deployment: d });

test('a deployment that serves an environment runs one replica, even with min_replica 0', () => {
  assert.equal(policyServing('dep1234').desired(deployment()), 1);
});

test('a development deployment runs one replica without serving any environment', () => {
  assert.equal(policyServing().desired(deployment({ isDevelopment: true })), 1);
});

test('a deployment that serves nothing runs none until a wake, and a registry change ends the wake', () => {
  const policy = policyServing();
  const d = deployment();
  assert.equal(policy.desired(d), 0);
  policy.wake(d);
  assert.equal(policy.desired(d), 1);
  policy.changed(changed(d));
  assert.equal(policy.desired(d), 0);
});

test('an inactive deployment runs none, though it serves an environment, is development or was woken', () => {
  const policy = policyServing('dep1234');
  assert.equal(policy.desired(deployment({ active: false })), 0);
  assert.equal(policy.desired(deployment({ active: false, isDevelopment: true })), 0);
  const woken = deployment({ id: 'dep5678' });
  policy.wake(woken);
  assert.equal(policy.desired({ ...woken, active: false }), 0);
});

test('a wake of an inactive deployment is ignored', () => {
  const policy = policyServing();
  const d = deployment({ active: false });
  policy.wake(d);
  assert.equal(policy.desired({ ...d, active: true }), 0);
});

test('a serving deployment runs min_replica replicas, at most max_replica, and never fewer than one', () => {
  const policy = policyServing('dep1234');
  const count = (min_replica: number, max_replica: number) =>
    policy.desired(deployment({ autoscaling: { ...DEFAULT_AUTOSCALING, min_replica, max_replica } }));
  assert.equal(count(3, 5), 3);
  assert.equal(count(3, 2), 2);
  assert.equal(count(0, 4), 1);
  assert.equal(count(0, 0), 1);
});

test('once closed, every deployment runs none, whatever it serves', () => {
  const policy = policyServing('dep1234');
  const woken = deployment({ id: 'dep5678' });
  policy.wake(woken);
  policy.close();
  assert.equal(policy.desired(deployment()), 0);
  assert.equal(policy.desired(deployment({ isDevelopment: true })), 0);
  assert.equal(policy.desired(woken), 0);
});
