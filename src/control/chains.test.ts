import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { GirderError } from '../errors.ts';
import type { ChainGraphRecord, ChainletNode } from '../records/chains.ts';
import { ChainletSettingsSchema, RpcOptionsSchema } from '../sdk/chains/settings.ts';
import { files, openControlPlane } from './fixtures/control-plane.ts';

const node = (name: string, extra: Partial<ChainletNode> = {}): ChainletNode => ({
  name,
  entrypoint: false,
  deps: [],
  settings: ChainletSettingsSchema.parse({}),
  ...extra,
});

/** The Hello chain's graph: HelloAll calls SayHello. */
const hello = (extra: Partial<ChainletNode> = {}): ChainGraphRecord => ({
  file: 'chain.ts',
  entrypoint: 'HelloAll',
  chainlets: [
    node('HelloAll', {
      entrypoint: true,
      deps: [{ key: 'sayHello', kind: 'chainlet', chainlet: 'SayHello', options: RpcOptionsSchema.parse({}) }],
    }),
    node('SayHello', extra),
  ],
});

async function plane(t: TestContext) {
  const p = await openControlPlane();
  t.after(() => p.store.close());
  return p;
}

const error = (code: string, status: number) => (err: unknown) =>
  err instanceof GirderError && err.code === code && err.status === status;

test('a chain deployment is one deployment per chainlet, on hidden chainlet models, with a chain-scoped key', async (t) => {
  const p = await plane(t);
  const { chain, created, deployment } = await p.chains.createDeployment({
    chainName: 'hello',
    dir: '/s/1',
    graph: hello(),
  });
  assert.equal(created, true);
  assert.match(chain.id, /^[a-z0-9]{8}$/);
  assert.match(deployment.id, /^[a-z0-9]{7}$/);
  assert.equal(deployment.name, 'deployment-1');
  assert.deepEqual(
    deployment.chainlets.map((c) => c.name),
    ['HelloAll', 'SayHello'],
  );
  for (const ref of deployment.chainlets) {
    const model = p.registry.model(ref.modelId);
    assert.equal(model.chainId, chain.id);
    assert.equal(model.chainletName, ref.name);
    const d = p.registry.deployments.get(ref.deploymentId)!;
    assert.equal(d.config.model_class_filename, 'chain.ts');
    assert.equal(d.config.model_class_name, ref.name);
    assert.equal(d.dir, '/s/1');
    assert.equal(p.chainRegistry.chainletOf(d.id)?.chainlet.name, ref.name);
  }
  const key = p.keys.verify(deployment.invokeKey!);
  assert.equal(key?.chainDeploymentId, deployment.id);
  assert.deepEqual(new Set(key?.modelIds), new Set(deployment.chainlets.map((c) => c.modelId)));
  assert.deepEqual(p.keys.list(), [], 'chain keys are not listed with users’ keys');
});

test('promotion points the chain and every chainlet at the chain deployment, at once', async (t) => {
  const p = await plane(t);
  const first = await p.chains.createDeployment({ chainName: 'hello', dir: '/s/1', graph: hello() });
  const id = first.chain.id;
  assert.throws(
    () => p.chainRegistry.resolveEntrypoint(id, { kind: 'production' }),
    error('model_does_not_exist', 404),
  );
  await p.chainEnvironments.promote(id, first.deployment.id, 'production', { create: true });
  const entry = first.deployment.chainlets[0];
  assert.equal(p.chainRegistry.resolveEntrypoint(id, { kind: 'production' }).id, entry.deploymentId);
  assert.equal(
    p.chainRegistry.resolveEntrypoint(id, { kind: 'deployment', id: first.deployment.id }).id,
    entry.deploymentId,
  );

  const second = await p.chains.createDeployment({ chainName: 'hello', dir: '/s/2', graph: hello() });
  assert.equal(second.created, false);
  assert.equal(second.deployment.name, 'deployment-2');
  assert.deepEqual(
    second.deployment.chainlets.map((c) => c.modelId),
    first.deployment.chainlets.map((c) => c.modelId),
    'a chainlet keeps its model across deployments',
  );
  await p.chainEnvironments.promote(id, second.deployment.id, 'production');
  for (const ref of second.deployment.chainlets) {
    assert.equal(p.registry.resolve(ref.modelId, { kind: 'production' }).id, ref.deploymentId);
  }
  for (const ref of first.deployment.chainlets) {
    assert.equal(
      p.registry.deployments.get(ref.deploymentId)?.autoscaling.min_replica,
      0,
      'the previous one is scaled to zero',
    );
  }
  const fresh = await p.reloadedChains();
  assert.equal(fresh.resolveEntrypoint(id, { kind: 'production' }).id, second.deployment.chainlets[0].deploymentId);
  assert.equal(fresh.chainletOf(second.deployment.chainlets[1].deploymentId)?.node.name, 'SayHello');
});

test('a chainlet’s settings seed its environment; per-chainlet autoscaling then changes that chainlet only', async (t) => {
  const p = await plane(t);
  const settings = ChainletSettingsSchema.parse({ autoscaling: { minReplica: 1, maxReplica: 3 } });
  const { chain, deployment } = await p.chains.createDeployment({
    chainName: 'hello',
    dir: '/s/1',
    graph: hello({ settings }),
  });
  await p.chainEnvironments.promote(chain.id, deployment.id, 'production', { create: true });
  const say = deployment.chainlets[1];
  assert.equal(p.registry.deployments.get(say.deploymentId)?.autoscaling.max_replica, 3);
  assert.equal(
    await p.chainEnvironments.updateChainletAutoscaling(chain.id, 'production', { SayHello: { max_replica: 5 } }),
    true,
  );
  assert.equal(p.registry.environment(say.modelId, 'production')?.autoscaling.max_replica, 5);
  assert.equal(p.registry.deployments.get(say.deploymentId)?.autoscaling.max_replica, 5);
  assert.equal(p.registry.deployments.get(deployment.chainlets[0].deploymentId)?.autoscaling.max_replica, 1);
  await assert.rejects(
    p.chainEnvironments.updateChainletAutoscaling(chain.id, 'production', { Nope: { max_replica: 2 } }),
    error('client_error', 400),
  );
});

test('deactivating stops every chainlet and revokes the key; deleting refuses a serving chain deployment', async (t) => {
  const p = await plane(t);
  const first = await p.chains.createDeployment({ chainName: 'hello', dir: '/s/1', graph: hello() });
  const id = first.chain.id;
  await p.chainEnvironments.promote(id, first.deployment.id, 'production', { create: true });
  const second = await p.chains.createDeployment({ chainName: 'hello', dir: '/s/2', graph: hello() });
  const key = second.deployment.invokeKey!;
  await p.chains.setActive(second.deployment.id, false);
  assert.equal(p.keys.verify(key), undefined);
  assert.throws(
    () => p.chainRegistry.resolve(id, { kind: 'deployment', id: second.deployment.id }),
    error('model_unavailable', 404),
  );
  for (const ref of second.deployment.chainlets)
    assert.equal(p.registry.deployments.get(ref.deploymentId)?.active, false);
  await p.chains.setActive(second.deployment.id, true);
  assert.ok(p.keys.verify(p.chainRegistry.deployments.get(second.deployment.id)!.invokeKey!), 'a new key once active');

  await assert.rejects(p.chains.deleteDeployment(id, 'production'), error('client_error', 400));
  await p.chains.deleteDeployment(id, second.deployment.id);
  assert.equal(p.registry.deployments.has(second.deployment.chainlets[0].deploymentId), false);
  assert.equal(p.chainRegistry.deploymentsOf(id).length, 1);

  await p.chains.deleteChain(id);
  assert.equal(p.chainRegistry.chains.size, 0);
  assert.equal(p.registry.models.size, 0);
  assert.equal(p.registry.deployments.size, 0);
  assert.equal((await p.reloadedChains()).chains.size, 0);
});

test('a development chain deployment is replaced by the next; promoting it copies it', async (t) => {
  const p = await plane(t);
  const a = await p.chains.createDeployment({ chainName: 'hello', dir: '/s/1', graph: hello(), development: true });
  const b = await p.chains.createDeployment({ chainName: 'hello', dir: '/s/2', graph: hello(), development: true });
  const id = a.chain.id;
  assert.equal(p.chainRegistry.deployments.has(a.deployment.id), false);
  assert.equal(p.chainRegistry.resolve(id, { kind: 'development' }).id, b.deployment.id);
  assert.equal(p.registry.deployments.get(b.deployment.chainlets[0].deploymentId)?.autoscaling.max_replica, 1);
  const serving = await p.chainEnvironments.promote(id, 'development', 'production', { create: true });
  assert.notEqual(serving.id, b.deployment.id);
  assert.equal(serving.name, 'deployment-1');
  assert.equal(serving.dir, '/s/2');
  assert.equal(p.chainRegistry.resolve(id, { kind: 'development' }).id, b.deployment.id, 'development stays');
});

test('a model dependency must exist, and the chain key may call it', async (t) => {
  const p = await plane(t);
  const options = RpcOptionsSchema.parse({});
  const dep = {
    key: 'clf',
    kind: 'model' as const,
    options,
    model: { key: 'clf', name: 'clf', id: null, environment: 'production', deploymentId: null },
  };
  const graph: ChainGraphRecord = {
    file: 'chain.ts',
    entrypoint: 'Main',
    chainlets: [node('Main', { entrypoint: true, deps: [dep] })],
  };
  await assert.rejects(p.chains.createDeployment({ chainName: 'c', dir: '/s/1', graph }), /depends on model `clf`/);
  assert.equal(p.chainRegistry.chains.size, 0, 'nothing is written');
  const { model } = await p.pushes.record({ modelName: 'clf', ...files('m') });
  const { deployment } = await p.chains.createDeployment({ chainName: 'c', dir: '/s/1', graph });
  assert.ok(p.keys.verify(deployment.invokeKey!)?.modelIds?.includes(model.id));
});
