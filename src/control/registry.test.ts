import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { GirderError } from '../errors.ts';
import { files, openControlPlane } from './fixtures/control-plane.ts';

async function plane(t: TestContext) {
  const p = await openControlPlane();
  t.after(() => p.store.close());
  const first = await p.pushes.record({ modelName: 'hello', ...files('a') });
  const second = await p.pushes.record({ modelName: 'hello', ...files('b'), environment: 'canary' });
  const dev = await p.pushes.record({ modelName: 'hello', ...files('d'), development: true });
  p.events.length = 0;
  return { ...p, model: first.model, production: first.deployment, canary: second.deployment, dev: dev.deployment };
}

const error = (code: string, status: number) => (err: unknown) =>
  err instanceof GirderError && err.code === code && err.status === status;

test('resolve maps each kind of target to the deployment that serves it', async (t) => {
  const p = await plane(t);
  const id = p.model.id;
  assert.equal(p.registry.resolve(id, { kind: 'production' }).id, p.production.id);
  assert.equal(p.registry.resolve(id, { kind: 'environment', name: 'canary' }).id, p.canary.id);
  assert.equal(p.registry.resolve(id, { kind: 'development' }).id, p.dev.id);
  assert.equal(p.registry.resolve(id, { kind: 'deployment', id: p.canary.id }).id, p.canary.id);
});

test('resolve answers 404 for an unknown model, environment, or deployment, and for an empty environment', async (t) => {
  const p = await plane(t);
  const id = p.model.id;
  assert.throws(() => p.registry.resolve('nomodel', { kind: 'production' }), error('model_does_not_exist', 404));
  assert.throws(() => p.registry.resolve(id, { kind: 'environment', name: 'x' }), error('model_does_not_exist', 404));
  assert.throws(
    () => p.registry.resolve(id, { kind: 'deployment', id: 'nothere' }),
    error('model_does_not_exist', 404),
  );
  await p.environments.create(id, 'empty');
  assert.throws(() => p.registry.resolve(id, { kind: 'environment', name: 'empty' }), /has no deployment/);
});

test('a deactivated deployment resolves only when inactive ones are allowed', async (t) => {
  const p = await plane(t);
  await p.deployments.setActive(p.production.id, false);
  assert.throws(() => p.registry.resolve(p.model.id, { kind: 'production' }), error('model_unavailable', 404));
  assert.equal(p.registry.resolve(p.model.id, { kind: 'production' }, { allowInactive: true }).id, p.production.id);
});

test("deploymentOf takes the production and development aliases, and no other model's deployment", async (t) => {
  const p = await plane(t);
  const other = await p.pushes.record({ modelName: 'other', ...files('o') });
  assert.equal(p.registry.deploymentOf(p.model.id, 'production').id, p.production.id);
  assert.equal(p.registry.deploymentOf(p.model.id, 'development').id, p.dev.id);
  assert.throws(() => p.registry.deploymentOf(p.model.id, other.deployment.id), error('model_does_not_exist', 404));
});

test('the lookups list what a model has, and which environment each deployment serves', async (t) => {
  const p = await plane(t);
  assert.equal(p.registry.modelByName('hello')?.id, p.model.id);
  assert.equal(p.registry.deploymentsOf(p.model.id).length, 3);
  assert.deepEqual(
    p.registry
      .environmentsOf(p.model.id)
      .map((e) => e.name)
      .sort(),
    ['canary', 'production'],
  );
  assert.equal(p.registry.environmentOf(p.canary)?.name, 'canary');
  assert.equal(p.registry.environmentOf(p.dev), undefined);
});

test('a saved environment tells the deployment it now points at and the one it pointed at before', async (t) => {
  const p = await plane(t);
  const env = p.registry.environment(p.model.id, 'canary')!;
  p.registry.environmentSaved({ ...env, currentDeploymentId: p.production.id });
  assert.deepEqual(p.events, [`deployment-changed ${p.production.id}`, `deployment-changed ${p.canary.id}`]);
  assert.equal(env.currentDeploymentId, p.production.id, 'the record the runtime holds is updated in place');
});

test('a change reported for a record the registry never had is a writer bug, not a silent no-op', async (t) => {
  const p = await plane(t);
  assert.throws(() => p.registry.deploymentChanged('nothere', { active: false }), /no deployment nothere/);
  assert.throws(() => p.registry.deploymentRemoved('nothere'), /no deployment nothere/);
  assert.throws(() => p.registry.modelChanged('nomodel', { deploymentSeq: 1 }), /no model nomodel/);
  assert.deepEqual(p.events, []);
});
