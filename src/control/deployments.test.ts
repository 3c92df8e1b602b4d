import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { GirderError } from '../errors.ts';
import { files, openControlPlane } from './fixtures/control-plane.ts';

async function plane(t: TestContext) {
  const p = await openControlPlane();
  t.after(() => p.store.close());
  const { model, deployment } = await p.pushes.record({ modelName: 'hello', ...files('a') });
  p.events.length = 0;
  return { ...p, model, production: deployment };
}

const status = (code: number) => (err: unknown) => err instanceof GirderError && err.status === code;

test('modelNamed returns the known model, and creates one only for a new name', async (t) => {
  const p = await plane(t);
  assert.equal(await p.deployments.modelNamed('hello'), p.model);
  const other = await p.deployments.modelNamed('other');
  assert.notEqual(other.id, p.model.id);
  assert.equal(other.deploymentSeq, 0);
  assert.deepEqual((await p.reloaded()).modelByName('other'), other);
  assert.deepEqual(p.events, [], 'a model without deployments runs nothing');
});

test('deployment-N numbers are never reused after a delete', async (t) => {
  const p = await plane(t);
  const second = await p.deployments.publish(p.model, files('b'));
  await p.deployments.delete(p.model.id, second.id);
  const third = await p.deployments.publish(p.model, files('c'));
  assert.equal(third.name, 'deployment-3');
});

test('deactivating stops a deployment once; setting the state it has emits nothing', async (t) => {
  const p = await plane(t);
  const d = await p.deployments.setActive(p.production.id, false);
  assert.equal(d.active, false);
  await p.deployments.setActive(p.production.id, false);
  assert.deepEqual(p.events, [`deployment-changed ${p.production.id}`]);
  assert.equal((await p.reloaded()).deployments.get(p.production.id)?.active, false);
  assert.throws(
    () => p.registry.resolve(p.model.id, { kind: 'production' }),
    (err) => err instanceof GirderError && err.code === 'model_unavailable',
  );
  await assert.rejects(p.deployments.setActive('nothere', true), status(404));
});

test('a change the store refuses is not applied in memory, and emits nothing', async (t) => {
  const p = await plane(t);
  await p.store.close();
  await assert.rejects(p.deployments.setActive(p.production.id, false));
  await assert.rejects(p.deployments.updateAutoscaling(p.production.id, { min_replica: 1 }));
  assert.equal(p.production.active, true);
  assert.equal(p.production.autoscaling.min_replica, 0);
  assert.deepEqual(p.events, []);
});

test('an autoscaling update changes only the fields it names, in memory and in the store', async (t) => {
  const p = await plane(t);
  const before = { ...p.production.autoscaling };
  const { deployment, changed } = await p.deployments.updateAutoscaling(p.production.id, {
    min_replica: 1,
    target_in_flight_tokens: 4000,
  });
  assert.equal(changed, true);
  assert.deepEqual(deployment.autoscaling, { ...before, min_replica: 1, target_in_flight_tokens: 4000 });
  assert.deepEqual((await p.reloaded()).deployments.get(p.production.id)?.autoscaling, deployment.autoscaling);
  assert.deepEqual(p.events, [`deployment-changed ${p.production.id}`]);
});

test('an autoscaling update to the values already set is unchanged, and writes nothing', async (t) => {
  const p = await plane(t);
  const r = await p.deployments.updateAutoscaling(p.production.id, { min_replica: 0, max_replica: 1 });
  assert.equal(r.changed, false);
  assert.deepEqual(p.events, []);
});

test('an autoscaling update with min_replica above max_replica is refused and changes nothing', async (t) => {
  const p = await plane(t);
  await assert.rejects(p.deployments.updateAutoscaling(p.production.id, { min_replica: 3 }), status(400));
  assert.equal(p.production.autoscaling.min_replica, 0);
  assert.equal((await p.reloaded()).deployments.get(p.production.id)?.autoscaling.min_replica, 0);
  assert.deepEqual(p.events, []);
});

test("a deployment that serves an environment, or is the model's only one, is not deleted", async (t) => {
  const p = await plane(t);
  await assert.rejects(p.deployments.delete(p.model.id, p.production.id), status(400));
  const dev = await p.deployments.putDevelopment(p.model, files('d'));
  await p.environments.promote(p.model.id, 'development', 'production');
  // Production moved to a copy of development: the first deployment serves nothing, and is not the only one.
  const gone = await p.deployments.delete(p.model.id, p.production.id);
  assert.equal(gone.id, p.production.id);
  assert.equal(p.registry.deployments.has(p.production.id), false);
  assert.equal((await p.reloaded()).deployments.has(p.production.id), false);
  assert.equal(p.events.at(-1), `deployment-removed ${p.production.id}`);
  await assert.rejects(p.deployments.delete(p.model.id, p.production.id), status(404));
  assert.ok(p.registry.deployments.has(dev.deployment.id));
});

test('deleting a model removes its deployments and environments, telling the runtime of each deployment', async (t) => {
  const p = await plane(t);
  const second = await p.pushes.record({ modelName: 'hello', ...files('b'), environment: 'canary' });
  const kept = await p.pushes.record({ modelName: 'kept', ...files('k') });
  p.events.length = 0;
  const removed = await p.deployments.deleteModel(p.model.id);
  assert.deepEqual(removed.map((d) => d.id).sort(), [p.production.id, second.deployment.id].sort());
  assert.deepEqual(p.events.sort(), removed.map((d) => `deployment-removed ${d.id}`).sort());
  assert.equal(p.registry.models.has(p.model.id), false);
  assert.deepEqual(p.registry.environmentsOf(p.model.id), []);
  const fresh = await p.reloaded();
  assert.deepEqual([...fresh.models.keys()], [kept.model.id]);
  assert.deepEqual(fresh.environmentsOf(p.model.id), []);
  await assert.rejects(p.deployments.deleteModel(p.model.id), status(404));
});
