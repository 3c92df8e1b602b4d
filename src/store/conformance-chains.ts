import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ChainDeploymentRecord } from '../records/chains.ts';
import { DEFAULT_AUTOSCALING, DEFAULT_PROMOTION, type ModelRecord } from '../records/control.ts';
import { deployment, T0, withStore as withStoreOf } from './conformance-records.ts';
import type { Store } from './store.ts';

const chain = { id: 'cccccccc', name: 'hello-chain', createdAt: T0, deploymentSeq: 0 };
const chainlet = (id: string, name: string): ModelRecord => ({
  id,
  name: `chain:cccccccc:${name}`,
  createdAt: T0,
  deploymentSeq: 0,
  chainId: 'cccccccc',
  chainletName: name,
});

function chainDeployment(
  id: string,
  refs: [name: string, modelId: string, deploymentId: string][],
): ChainDeploymentRecord {
  return {
    id,
    chainId: 'cccccccc',
    name: 'deployment-1',
    createdAt: T0,
    isDevelopment: false,
    active: true,
    dir: `/tmp/${id}`,
    graph: { file: 'chain.ts', entrypoint: refs[0][0], chainlets: [] },
    chainlets: refs.map(([name, modelId, deploymentId]) => ({ name, modelId, deploymentId })),
    invokeKey: `key${id}.secret`,
  };
}

const chainKey = (prefix: string, chainDeploymentId: string) => ({
  prefix,
  hash: 'a'.repeat(64),
  name: null,
  type: 'WORKSPACE_INVOKE' as const,
  modelIds: ['mmmmmmm1', 'mmmmmmm2'],
  createdAt: T0,
  chainDeploymentId,
});

/** Writes a chain with two chainlets (HelloAll on mmmmmmm1, SayHello on mmmmmmm2) in chain deployment cd00001. */
async function seed(s: Store) {
  await s.insertChain(chain);
  const write = {
    models: [chainlet('mmmmmmm1', 'HelloAll'), chainlet('mmmmmmm2', 'SayHello')],
    deployments: [deployment('d000001', 'mmmmmmm1'), deployment('d000002', 'mmmmmmm2')],
    chainDeployment: chainDeployment('cd00001', [
      ['HelloAll', 'mmmmmmm1', 'd000001'],
      ['SayHello', 'mmmmmmm2', 'd000002'],
    ]),
    key: chainKey('keycd001', 'cd00001'),
  };
  await s.insertChainDeployment(write);
  return write;
}

const env = (modelId: string, name: string, currentDeploymentId: string | null) => ({
  modelId,
  name,
  createdAt: T0,
  currentDeploymentId,
  autoscaling: DEFAULT_AUTOSCALING,
  promotion: DEFAULT_PROMOTION,
});

/** Chains, chain deployments, chain environments and the chainlet records they write with them. */
export function chainRecordsConformance(makeStore: () => Promise<Store>): void {
  const withStore = withStoreOf(makeStore);

  test(
    'chains round-trip, their names are unique and their deployment numbers only go up',
    withStore(async (s) => {
      assert.deepEqual(await s.listChains(), []);
      await s.insertChain(chain);
      assert.deepEqual(await s.listChains(), [chain]);
      await assert.rejects(s.insertChain({ ...chain, id: 'dddddddd' }));
      assert.equal(await s.nextChainDeploymentSeq('cccccccc'), 1);
      assert.equal(await s.nextChainDeploymentSeq('cccccccc'), 2);
      await assert.rejects(s.nextChainDeploymentSeq('zzzzzzzz'));
    }),
  );

  test(
    'a chain deployment is written with its chainlet models, deployments and key',
    withStore(async (s) => {
      const write = await seed(s);
      assert.deepEqual(await s.listChainDeployments(), [write.chainDeployment]);
      assert.deepEqual(await s.listModels(), write.models, 'chainlet models keep chainId and chainletName');
      assert.deepEqual(await s.listDeployments(), write.deployments);
      assert.deepEqual(await s.listApiKeys(), [write.key]);
    }),
  );

  test(
    'a chain deployment that cannot be written whole writes nothing',
    withStore(async (s) => {
      await seed(s);
      const clash = {
        models: [chainlet('mmmmmmm3', 'Third')],
        deployments: [deployment('d000003', 'mmmmmmm3'), deployment('d000001', 'mmmmmmm1')], // d000001 exists
        chainDeployment: chainDeployment('cd00002', [['Third', 'mmmmmmm3', 'd000003']]),
        key: chainKey('keycd002', 'cd00002'),
      };
      await assert.rejects(s.insertChainDeployment(clash));
      assert.deepEqual(
        (await s.listChainDeployments()).map((d) => d.id),
        ['cd00001'],
      );
      assert.equal((await s.listModels()).length, 2);
      assert.equal((await s.listDeployments()).length, 2);
      assert.equal((await s.listApiKeys()).length, 1);
    }),
  );

  test(
    'a chain environment is put with its chainlets’ environments and deployment patches, or not at all',
    withStore(async (s) => {
      await seed(s);
      const chainEnv = {
        chainId: 'cccccccc',
        name: 'production',
        createdAt: T0,
        currentDeploymentId: 'cd00001',
        promotion: DEFAULT_PROMOTION,
      };
      const envs = [env('mmmmmmm1', 'production', 'd000001'), env('mmmmmmm2', 'production', 'd000002')];
      await s.putChainEnvironment(chainEnv, {
        environments: envs,
        deployments: [{ id: 'd000002', patch: { active: false } }],
      });
      assert.deepEqual(await s.listChainEnvironments(), [chainEnv]);
      assert.deepEqual(await s.listEnvironments(), envs);
      assert.equal((await s.listDeployments()).find((d) => d.id === 'd000002')?.active, false);

      const moved = { ...chainEnv, currentDeploymentId: 'cd99999' };
      const bad = [env('mmmmmmm1', 'production', 'd000009'), env('nomodel0', 'production', 'd000009')];
      await assert.rejects(s.putChainEnvironment(moved, { environments: bad, deployments: [] }), 'no such model');
      assert.deepEqual(await s.listChainEnvironments(), [chainEnv], 'the chain environment did not move');
      assert.deepEqual(await s.listEnvironments(), envs, 'nor did any chainlet’s');
    }),
  );

  test(
    'a chain deployment is updated with its chainlet deployments, and its key revoked with it',
    withStore(async (s) => {
      const write = await seed(s);
      await s.updateChainDeployment({
        id: 'cd00001',
        patch: { active: false, invokeKey: null },
        deployments: [
          { id: 'd000001', patch: { active: false } },
          { id: 'd000002', patch: { active: false } },
        ],
        deleteKeys: ['keycd001'],
      });
      assert.deepEqual(await s.listChainDeployments(), [{ ...write.chainDeployment, active: false, invokeKey: null }]);
      assert.deepEqual(
        (await s.listDeployments()).map((d) => d.active),
        [false, false],
      );
      assert.deepEqual(await s.listApiKeys(), []);
    }),
  );

  test(
    'deleting a chain deployment deletes its chainlet deployments and its key, not its chainlet models',
    withStore(async (s) => {
      await seed(s);
      await s.deleteChainDeployment('cd00001');
      assert.deepEqual(await s.listChainDeployments(), []);
      assert.deepEqual(await s.listDeployments(), []);
      assert.deepEqual(await s.listApiKeys(), []);
      assert.equal((await s.listModels()).length, 2);
    }),
  );

  test(
    'deleting a chain deletes everything it wrote, and nothing else',
    withStore(async (s) => {
      await s.insertModel({ id: 'plainmdl', name: 'plain', createdAt: T0, deploymentSeq: 0 });
      await s.insertDeployment(deployment('p000001', 'plainmdl'));
      await seed(s);
      await s.putChainEnvironment(
        {
          chainId: 'cccccccc',
          name: 'production',
          createdAt: T0,
          currentDeploymentId: 'cd00001',
          promotion: DEFAULT_PROMOTION,
        },
        { environments: [env('mmmmmmm1', 'production', 'd000001')], deployments: [] },
      );
      await s.deleteChain('cccccccc');
      assert.deepEqual(await s.listChains(), []);
      assert.deepEqual(await s.listChainDeployments(), []);
      assert.deepEqual(await s.listChainEnvironments(), []);
      assert.deepEqual(
        (await s.listModels()).map((m) => m.id),
        ['plainmdl'],
      );
      assert.deepEqual(
        (await s.listDeployments()).map((d) => d.id),
        ['p000001'],
      );
      assert.deepEqual(await s.listEnvironments(), []);
      assert.deepEqual(await s.listApiKeys(), []);
    }),
  );
}
