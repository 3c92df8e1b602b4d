import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_AUTOSCALING, DEFAULT_PROMOTION } from '../records/control.ts';
import { deployment, modelConfig, T0, withStore as withStoreOf } from './conformance-records.ts';
import type { Store } from './store.ts';

/** Models, deployments, environments, API keys and secrets. */
export function controlRecordsConformance(makeStore: () => Promise<Store>): void {
  const withStore = withStoreOf(makeStore);

  test(
    'a new store is empty',
    withStore(async (s) => {
      assert.deepEqual(await s.listModels(), []);
      assert.deepEqual(await s.listDeployments(), []);
      assert.deepEqual(await s.listEnvironments(), []);
      assert.deepEqual(await s.listApiKeys(), []);
      assert.deepEqual(await s.listSecrets(), []);
    }),
  );

  test(
    'models round-trip and names are unique',
    withStore(async (s) => {
      await s.insertModel({ id: 'aaaaaaaa', name: 'one', createdAt: T0, deploymentSeq: 0 });
      assert.deepEqual(await s.listModels(), [{ id: 'aaaaaaaa', name: 'one', createdAt: T0, deploymentSeq: 0 }]);
      await assert.rejects(s.insertModel({ id: 'bbbbbbbb', name: 'one', createdAt: T0, deploymentSeq: 0 }));
    }),
  );

  test(
    'deployment numbers only go up, even after deletes',
    withStore(async (s) => {
      await s.insertModel({ id: 'aaaaaaaa', name: 'one', createdAt: T0, deploymentSeq: 0 });
      assert.equal(await s.nextDeploymentSeq('aaaaaaaa'), 1);
      assert.equal(await s.nextDeploymentSeq('aaaaaaaa'), 2);
      assert.equal((await s.listModels())[0].deploymentSeq, 2);
      await assert.rejects(s.nextDeploymentSeq('zzzzzzzz'));
    }),
  );

  test(
    'deployments round-trip with their JSON fields and patch by field',
    withStore(async (s) => {
      await s.insertModel({ id: 'aaaaaaaa', name: 'one', createdAt: T0, deploymentSeq: 0 });
      const d = deployment('d000001', 'aaaaaaaa', {
        labels: { team: 'x' },
        config: modelConfig({ predict_concurrency: 4 }),
      });
      await s.insertDeployment(d);
      assert.deepEqual(await s.listDeployments(), [d]);
      await s.updateDeployment('d000001', { active: false, dir: '/tmp/other', labels: null });
      assert.deepEqual(await s.listDeployments(), [{ ...d, active: false, dir: '/tmp/other', labels: null }]);
    }),
  );

  test(
    'a deployment keeps its build and a patch replaces it',
    withStore(async (s) => {
      await s.insertModel({ id: 'aaaaaaaa', name: 'one', createdAt: T0, deploymentSeq: 0 });
      const build = {
        status: 'BUILDING' as const,
        envs: {},
        runs: 0,
        error: null,
        startedAt: T0,
        finishedAt: null,
        onBuilt: { promote: true },
      };
      await s.insertDeployment(deployment('d000001', 'aaaaaaaa', { build }));
      assert.deepEqual((await s.listDeployments())[0].build, build);
      const built = {
        ...build,
        status: 'BUILT' as const,
        envs: { python: '/d/envs/python/ab' },
        runs: 1,
        onBuilt: null,
      };
      await s.updateDeployment('d000001', { build: built });
      assert.deepEqual((await s.listDeployments())[0].build, built);
    }),
  );

  test(
    'deleting a model deletes its deployments and environments',
    withStore(async (s) => {
      await s.insertModel({ id: 'aaaaaaaa', name: 'one', createdAt: T0, deploymentSeq: 0 });
      await s.insertModel({ id: 'bbbbbbbb', name: 'two', createdAt: T0, deploymentSeq: 0 });
      await s.insertDeployment(deployment('d000001', 'aaaaaaaa'));
      await s.insertDeployment(deployment('d000002', 'bbbbbbbb'));
      await s.putEnvironment({
        modelId: 'aaaaaaaa',
        name: 'production',
        createdAt: T0,
        currentDeploymentId: 'd000001',
        autoscaling: DEFAULT_AUTOSCALING,
        promotion: DEFAULT_PROMOTION,
      });
      await s.deleteModel('aaaaaaaa');
      assert.deepEqual(
        (await s.listDeployments()).map((d) => d.id),
        ['d000002'],
      );
      assert.deepEqual(await s.listEnvironments(), []);
    }),
  );

  test(
    'environments are keyed by model and name, and put replaces',
    withStore(async (s) => {
      await s.insertModel({ id: 'aaaaaaaa', name: 'one', createdAt: T0, deploymentSeq: 0 });
      const env = {
        modelId: 'aaaaaaaa',
        name: 'staging',
        createdAt: T0,
        currentDeploymentId: null,
        autoscaling: DEFAULT_AUTOSCALING,
        promotion: DEFAULT_PROMOTION,
      };
      await s.putEnvironment(env);
      await s.putEnvironment({ ...env, currentDeploymentId: 'd000001' });
      assert.deepEqual(await s.listEnvironments(), [{ ...env, currentDeploymentId: 'd000001' }]);
      await s.deleteModel('aaaaaaaa');
      assert.deepEqual(await s.listEnvironments(), [], 'a model takes its environments with it');
    }),
  );

  test(
    'api keys are stored by prefix and deleted once',
    withStore(async (s) => {
      const key = {
        prefix: 'abcd1234',
        hash: 'f'.repeat(64),
        name: 'ci',
        type: 'WORKSPACE_INVOKE' as const,
        modelIds: ['aaaaaaaa'],
        createdAt: T0,
      };
      await s.insertApiKey(key);
      assert.deepEqual(await s.listApiKeys(), [key]);
      await assert.rejects(s.insertApiKey(key));
      assert.equal(await s.deleteApiKey('abcd1234'), true);
      assert.equal(await s.deleteApiKey('abcd1234'), false);
    }),
  );

  test(
    'api keys keep their /v1 limits; a patch sets, clears or keeps each',
    withStore(async (s) => {
      const key = { prefix: 'lim12345', hash: 'e'.repeat(64), name: null, type: 'WORKSPACE_INVOKE' as const };
      await s.insertApiKey({ ...key, modelIds: null, createdAt: T0, rpm: 60 });
      assert.equal(await s.setApiKeyLimits('lim12345', { tpm: 1000 }), true);
      assert.deepEqual(await s.listApiKeys(), [{ ...key, modelIds: null, createdAt: T0, rpm: 60, tpm: 1000 }]);
      await s.setApiKeyLimits('lim12345', { rpm: null });
      assert.deepEqual(await s.listApiKeys(), [{ ...key, modelIds: null, createdAt: T0, tpm: 1000 }]);
      assert.equal(await s.setApiKeyLimits('nope0000', { rpm: 1 }), false);
    }),
  );

  test(
    'secrets upsert by name and keep their creation time',
    withStore(async (s) => {
      const first = await s.putSecret('hf_token', 'v1', T0);
      assert.deepEqual(first, { name: 'hf_token', value: 'v1', createdAt: T0, updatedAt: T0 });
      const later = '2026-02-01T00:00:00.000Z';
      assert.deepEqual(await s.putSecret('hf_token', 'v2', later), {
        name: 'hf_token',
        value: 'v2',
        createdAt: T0,
        updatedAt: later,
      });
      assert.equal(await s.deleteSecret('hf_token'), true);
      assert.equal(await s.deleteSecret('hf_token'), false);
    }),
  );
}
