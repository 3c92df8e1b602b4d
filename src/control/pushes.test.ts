import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { GirderError } from '../errors.ts';
import { files, openControlPlane } from './fixtures/control-plane.ts';

async function plane(t: TestContext) {
  const p = await openControlPlane();
  t.after(() => p.store.close());
  return p;
}

test("a model's first push creates the model and sends deployment-1 to production", async (t) => {
  const p = await plane(t);
  const { model, deployment, replacedDir } = await p.pushes.record({ modelName: 'hello', ...files('a') });
  assert.equal(model.name, 'hello');
  assert.equal(deployment.name, 'deployment-1');
  assert.equal(replacedDir, null);
  assert.equal(p.registry.resolve(model.id, { kind: 'production' }).id, deployment.id);
  assert.deepEqual(p.events, [`deployment-added ${deployment.id}`, `deployment-changed ${deployment.id}`]);
});

test('a later push is deployment-N and stays out of production; promote sends it there', async (t) => {
  const p = await plane(t);
  const first = await p.pushes.record({ modelName: 'hello', ...files('a') });
  const second = await p.pushes.record({ modelName: 'hello', ...files('b') });
  assert.equal(second.model.id, first.model.id);
  assert.equal(second.deployment.name, 'deployment-2');
  assert.equal(p.registry.environmentOf(second.deployment), undefined);
  assert.equal(p.registry.resolve(first.model.id, { kind: 'production' }).id, first.deployment.id);

  p.events.length = 0;
  const third = await p.pushes.record({ modelName: 'hello', ...files('c'), promote: true });
  assert.equal(third.deployment.name, 'deployment-3');
  assert.equal(p.registry.resolve(first.model.id, { kind: 'production' }).id, third.deployment.id);
  assert.deepEqual(
    p.events,
    [
      `deployment-added ${third.deployment.id}`,
      `deployment-changed ${third.deployment.id}`,
      `deployment-changed ${first.deployment.id}`,
      `deployment-changed ${first.deployment.id}`,
    ],
    'the deployment production left is told, then cleaned up (scaled to zero)',
  );
});

test('a push with an environment deploys into it, creating it, and leaves production alone', async (t) => {
  const p = await plane(t);
  const { model, deployment } = await p.pushes.record({ modelName: 'hello', ...files('a'), environment: 'staging' });
  assert.equal(p.registry.resolve(model.id, { kind: 'environment', name: 'staging' }).id, deployment.id);
  assert.equal(p.registry.environment(model.id, 'production'), undefined, 'even a first push skips production');
});

test('a push naming an invalid environment is refused before anything is recorded', async (t) => {
  const p = await plane(t);
  await assert.rejects(
    p.pushes.record({ modelName: 'hello', ...files('a'), environment: 'Not Valid' }),
    (err) => err instanceof GirderError && err.status === 400 && /Invalid environment name/.test(err.message),
  );
  assert.equal(p.registry.modelByName('hello'), undefined);
  assert.deepEqual(await p.store.listModels(), []);
  assert.deepEqual(p.events, []);
});

test('a development push creates the development deployment, and the next replaces it in place', async (t) => {
  const p = await plane(t);
  const first = await p.pushes.record({ modelName: 'hello', ...files('a'), development: true });
  assert.equal(first.deployment.name, 'development');
  assert.equal(first.deployment.isDevelopment, true);
  assert.equal(first.deployment.autoscaling.max_replica, 1);
  assert.equal(p.registry.environment(first.model.id, 'production'), undefined, 'development is no environment');

  const second = await p.pushes.record({
    modelName: 'hello',
    ...files('b', 'model_name: m\nenvironment_variables:\n  FLAVOUR: second\n'),
    development: true,
  });
  assert.equal(second.deployment.id, first.deployment.id);
  assert.equal(second.replacedDir, '/snapshots/a', 'the old snapshot is the caller’s to delete');
  assert.equal(second.deployment.config.environment_variables.FLAVOUR, 'second');
  assert.deepEqual(p.events.at(-1), `deployment-replaced ${first.deployment.id}`);
  const stored = (await p.reloaded()).developmentOf(first.model.id);
  assert.equal(stored?.dir, '/snapshots/b');

  const same = await p.pushes.record({ modelName: 'hello', ...files('b'), development: true });
  assert.equal(same.replacedDir, null, 'a push into the same snapshot frees nothing');
});

test('a development push reactivates a deactivated development deployment', async (t) => {
  const p = await plane(t);
  const first = await p.pushes.record({ modelName: 'hello', ...files('a'), development: true });
  await p.deployments.setActive(first.deployment.id, false);
  const second = await p.pushes.record({ modelName: 'hello', ...files('b'), development: true });
  assert.equal(second.deployment.active, true);
  assert.equal((await p.reloaded()).deployments.get(first.deployment.id)?.active, true);
});

test('what pushes record survives a reload from the store', async (t) => {
  const p = await plane(t);
  const first = await p.pushes.record({ modelName: 'hello', ...files('a') });
  const second = await p.pushes.record({ modelName: 'hello', ...files('b'), environment: 'canary' });
  await p.pushes.record({ modelName: 'hello', ...files('c'), development: true });
  const fresh = await p.reloaded();
  // The store lists in its own order (creation time, then id): compare as sets.
  const byId = <T extends { id: string }>(list: T[]) => list.toSorted((x, y) => x.id.localeCompare(y.id));
  const byName = <T extends { name: string }>(list: T[]) => list.toSorted((x, y) => x.name.localeCompare(y.name));
  assert.deepEqual(fresh.model(first.model.id), p.registry.model(first.model.id));
  assert.deepEqual(byId(fresh.deploymentsOf(first.model.id)), byId(p.registry.deploymentsOf(first.model.id)));
  assert.deepEqual(byName(fresh.environmentsOf(first.model.id)), byName(p.registry.environmentsOf(first.model.id)));
  assert.equal(fresh.model(first.model.id).deploymentSeq, 2);
  assert.equal(fresh.resolve(first.model.id, { kind: 'environment', name: 'canary' }).id, second.deployment.id);
});
