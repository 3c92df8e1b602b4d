import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { GirderError } from '../errors.ts';
import { DEFAULT_AUTOSCALING } from '../records/control.ts';
import { files, openControlPlane } from './fixtures/control-plane.ts';
import { isEnvironmentName } from './environments.ts';

async function plane(t: TestContext) {
  const p = await openControlPlane();
  t.after(() => p.store.close());
  const { model, deployment } = await p.pushes.record({ modelName: 'hello', ...files('a') });
  p.events.length = 0;
  return { ...p, model, production: deployment };
}

const status = (code: number) => (err: unknown) => err instanceof GirderError && err.status === code;

test('environment names are lowercase letters, digits and hyphens, at most 63', () => {
  assert.ok(isEnvironmentName('canary-2'));
  assert.ok(isEnvironmentName('a'.repeat(63)));
  for (const bad of ['', 'Canary', '-lead', 'a_b', 'a'.repeat(64)]) assert.ok(!isEnvironmentName(bad), bad);
});

test('an environment is created empty, with its autoscaling over the defaults, and kept in the store', async (t) => {
  const p = await plane(t);
  const env = await p.environments.create(p.model.id, 'canary', { min_replica: 1 });
  assert.equal(env.currentDeploymentId, null);
  assert.deepEqual(env.autoscaling, { ...DEFAULT_AUTOSCALING, min_replica: 1 });
  assert.deepEqual((await p.reloaded()).environment(p.model.id, 'canary'), env);
  assert.deepEqual(p.events, [], 'no deployment serves it yet');
});

test('an environment with an invalid or taken name is refused, and one of an unknown model is 404', async (t) => {
  const p = await plane(t);
  await assert.rejects(p.environments.create(p.model.id, 'Canary'), status(400));
  await assert.rejects(p.environments.create(p.model.id, 'production'), status(400));
  await assert.rejects(p.environments.create('nomodel', 'canary'), status(404));
  assert.deepEqual(
    p.registry.environmentsOf(p.model.id).map((e) => e.name),
    ['production'],
  );
});

test('promoting to a missing environment is 404 unless it may be created', async (t) => {
  const p = await plane(t);
  const second = await p.pushes.record({ modelName: 'hello', ...files('b') });
  await assert.rejects(p.environments.promote(p.model.id, second.deployment.id, 'canary'), status(404));
  const serving = await p.environments.promote(p.model.id, second.deployment.id, 'canary', { create: true });
  assert.equal(serving.id, second.deployment.id, 'a deployment that serves nothing is promoted as it is');
  assert.equal(p.registry.environment(p.model.id, 'canary')?.currentDeploymentId, second.deployment.id);
});

test('promotion moves an environment to the deployment and tells the one it left', async (t) => {
  const p = await plane(t);
  const second = await p.pushes.record({ modelName: 'hello', ...files('b') });
  p.events.length = 0;
  await p.environments.promote(p.model.id, second.deployment.id, 'production');
  assert.equal(p.registry.resolve(p.model.id, { kind: 'production' }).id, second.deployment.id);
  assert.equal(p.registry.environmentOf(p.production), undefined);
  assert.deepEqual(p.events, [
    `deployment-changed ${second.deployment.id}`,
    `deployment-changed ${p.production.id}`,
    `deployment-changed ${p.production.id}`, // the cleanup: scale to zero
  ]);
  assert.equal((await p.reloaded()).environment(p.model.id, 'production')?.currentDeploymentId, second.deployment.id);
});

test('promoting a deployment that serves another environment copies it, sharing the snapshot', async (t) => {
  const p = await plane(t);
  await p.deployments.updateAutoscaling(p.production.id, { min_replica: 1 });
  await p.environments.create(p.model.id, 'canary');
  const copy = await p.environments.promote(p.model.id, p.production.id, 'canary');
  assert.notEqual(copy.id, p.production.id);
  assert.equal(copy.name, 'deployment-2');
  assert.equal(copy.dir, p.production.dir);
  assert.deepEqual(copy.config, p.production.config);
  assert.deepEqual(copy.autoscaling, DEFAULT_AUTOSCALING, 'the copy starts from default autoscaling');
  assert.equal(p.registry.resolve(p.model.id, { kind: 'production' }).id, p.production.id, 'the source stays');
  assert.equal(p.registry.resolve(p.model.id, { kind: 'environment', name: 'canary' }).id, copy.id);
});

test('promoting a deployment to the environment it already serves keeps it', async (t) => {
  const p = await plane(t);
  const again = await p.environments.promote(p.model.id, p.production.id, 'production');
  assert.equal(again.id, p.production.id);
  assert.equal(p.registry.deploymentsOf(p.model.id).length, 1);
});

test('promoting the development deployment publishes a copy; development stays in place', async (t) => {
  const p = await plane(t);
  const dev = await p.pushes.record({ modelName: 'hello', ...files('d'), development: true });
  const published = await p.environments.promote(p.model.id, 'development', 'production');
  assert.notEqual(published.id, dev.deployment.id);
  assert.equal(published.isDevelopment, false);
  assert.equal(published.name, 'deployment-2');
  assert.equal(published.dir, '/snapshots/d');
  assert.equal(p.registry.developmentOf(p.model.id)?.id, dev.deployment.id);
  assert.equal(p.registry.resolve(p.model.id, { kind: 'production' }).id, published.id);
});

test('promoting a deactivated deployment activates it', async (t) => {
  const p = await plane(t);
  const second = await p.pushes.record({ modelName: 'hello', ...files('b') });
  await p.deployments.setActive(second.deployment.id, false);
  const serving = await p.environments.promote(p.model.id, second.deployment.id, 'production');
  assert.equal(serving.active, true);
  assert.equal(p.registry.resolve(p.model.id, { kind: 'production' }).id, second.deployment.id);
  assert.equal((await p.reloaded()).deployments.get(second.deployment.id)?.active, true);
});

test('a promotion the store refuses leaves the environment where it was, and emits nothing', async (t) => {
  const p = await plane(t);
  const second = await p.pushes.record({ modelName: 'hello', ...files('b') });
  p.events.length = 0;
  await p.store.close();
  await assert.rejects(p.environments.promote(p.model.id, second.deployment.id, 'production'));
  assert.equal(p.registry.resolve(p.model.id, { kind: 'production' }).id, p.production.id);
  assert.deepEqual(p.events, []);
});

test("a promoted deployment takes the environment's autoscaling settings", async (t) => {
  const p = await plane(t);
  await p.environments.create(p.model.id, 'staging', { min_replica: 1, max_replica: 3, scale_down_delay: 60 });
  const second = await p.pushes.record({ modelName: 'hello', ...files('b') });
  await p.deployments.updateAutoscaling(second.deployment.id, { concurrency_target: 5 });
  const serving = await p.environments.promote(p.model.id, second.deployment.id, 'staging');
  assert.deepEqual(serving.autoscaling, {
    ...DEFAULT_AUTOSCALING,
    min_replica: 1,
    max_replica: 3,
    scale_down_delay: 60,
  });
  assert.deepEqual((await p.reloaded()).deployments.get(serving.id)?.autoscaling, serving.autoscaling);
});

test('an environment update sets its settings and its deployment follows the autoscaling fields', async (t) => {
  const p = await plane(t);
  const r = await p.environments.update(p.model.id, 'production', {
    autoscaling: { max_replica: 4, scale_down_delay: 30 },
    promotion: { promotion_cleanup_strategy: 'KEEP' },
  });
  assert.equal(r.changed, true);
  const env = p.registry.environment(p.model.id, 'production')!;
  assert.equal(env.autoscaling.max_replica, 4);
  assert.equal(env.promotion.promotion_cleanup_strategy, 'KEEP');
  assert.equal(p.production.autoscaling.max_replica, 4, 'the deployment serving it follows');
  assert.equal(p.production.autoscaling.scale_down_delay, 30);
  const reloaded = await p.reloaded();
  assert.deepEqual(reloaded.environment(p.model.id, 'production'), env);
  assert.deepEqual(reloaded.deployments.get(p.production.id)?.autoscaling, p.production.autoscaling);
  const again = await p.environments.update(p.model.id, 'production', { autoscaling: { max_replica: 4 } });
  assert.equal(again.changed, false);
});

test('an environment update with min above max is refused before anything is written', async (t) => {
  const p = await plane(t);
  await p.deployments.updateAutoscaling(p.production.id, { max_replica: 2 });
  p.events.length = 0;
  // The environment has max 1 and the deployment max 2: min 2 holds on the deployment only.
  await assert.rejects(
    p.environments.update(p.model.id, 'production', { autoscaling: { min_replica: 2 } }),
    status(400),
  );
  assert.equal(p.registry.environment(p.model.id, 'production')?.autoscaling.min_replica, 0);
  assert.equal(p.production.autoscaling.min_replica, 0);
  assert.deepEqual(p.events, []);
  await assert.rejects(p.environments.update(p.model.id, 'nowhere', {}), status(404));
});

test("promotion cleans up the deployment it replaces by the environment's strategy", async (t) => {
  const p = await plane(t);
  const hints: string[] = [];
  p.registry.on('change', (e) => e.scaleToZero && hints.push(e.deployment.id));
  await p.deployments.updateAutoscaling(p.production.id, { min_replica: 1 });
  const push = async (snapshot: string) =>
    (await p.pushes.record({ modelName: 'hello', ...files(snapshot) })).deployment;

  // SCALE_TO_ZERO, the default: min_replica 0, and the runtime is told to go to zero now.
  const second = await push('b');
  await p.environments.promote(p.model.id, second.id, 'production');
  assert.equal(p.production.autoscaling.min_replica, 0);
  assert.equal(p.production.active, true);
  assert.deepEqual(hints, [p.production.id]);

  // KEEP: the replaced deployment stays as it was.
  await p.environments.update(p.model.id, 'production', { promotion: { promotion_cleanup_strategy: 'KEEP' } });
  const third = await push('c');
  await p.environments.promote(p.model.id, third.id, 'production');
  assert.equal(second.active, true);
  assert.deepEqual(hints, [p.production.id]);

  // DEACTIVATE: the replaced deployment is deactivated.
  await p.environments.update(p.model.id, 'production', { promotion: { promotion_cleanup_strategy: 'DEACTIVATE' } });
  const fourth = await push('d');
  await p.environments.promote(p.model.id, fourth.id, 'production');
  assert.equal(third.active, false);
  assert.equal((await p.reloaded()).deployments.get(third.id)?.active, false);

  // scale_down_previous_deployment: false keeps it, whatever the environment says.
  const fifth = await push('e');
  await p.environments.promote(p.model.id, fifth.id, 'production', { keepPrevious: true });
  assert.equal(fourth.active, true);
  assert.deepEqual(hints, [p.production.id]);
});
