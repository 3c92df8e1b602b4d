import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DEFAULT_AUTOSCALING, DEFAULT_PROMOTION, type DeploymentRecord } from '../records/control.ts';
import type { AsyncRequestRecord } from '../records/async.ts';
import type { ModelConfig } from '../records/model-config.ts';
import type { Store } from './store.ts';

const T0 = '2026-01-01T00:00:00.000Z';

/** A whole config, as the packaging layer would hand it over. */
function modelConfig(runtime: Partial<ModelConfig['runtime']> = {}): ModelConfig {
  return {
    model_name: 'm',
    description: null,
    model_metadata: {},
    environment_variables: {},
    secrets: {},
    runtime: {
      predict_concurrency: 1,
      streaming_read_timeout: 60,
      predict_timeout_seconds: null,
      health_checks: {
        startup_threshold_seconds: null,
        stop_traffic_threshold_seconds: null,
        restart_threshold_seconds: null,
        restart_check_delay_seconds: null,
      },
      ...runtime,
    },
    docker_server: null,
    model_module_dir: 'model',
    model_class_filename: null,
    model_class_name: 'Model',
    data_dir: 'data',
    resources: {},
    raw: { model_name: 'm' },
  };
}

function deployment(id: string, modelId: string, extra: Partial<DeploymentRecord> = {}): DeploymentRecord {
  return {
    id,
    modelId,
    name: `deployment-${id}`,
    createdAt: T0,
    isDevelopment: false,
    active: true,
    dir: `/tmp/${id}`,
    config: modelConfig(),
    autoscaling: DEFAULT_AUTOSCALING,
    labels: null,
    ...extra,
  };
}

function asyncRequest(id: string, extra: Partial<AsyncRequestRecord> = {}): AsyncRequestRecord {
  return {
    id,
    modelId: 'aaaaaaaa',
    deploymentId: 'd000001',
    priority: 1,
    seq: 1,
    webhookEndpoint: 'https://example.com/hook',
    maxTimeInQueueMs: 600_000,
    retry: { max_attempts: 3, initial_delay_ms: 1000, max_delay_ms: 5000 },
    keepOutput: false,
    status: 'QUEUED',
    webhookStatus: 'PENDING',
    attempts: 0,
    notBefore: 0,
    webhookAttempts: 0,
    createdAt: 1000,
    statusAt: 1000,
    errors: [],
    input: '{"x":1}',
    output: null,
    ...extra,
  };
}

/**
 * The behaviour every Store backend must show. A backend's test file calls this once with a
 * factory that returns a fresh, empty store.
 *
 * @example
 *   storeConformance('sqlite in memory', async () => SqliteStore.open(':memory:'));
 */
export function storeConformance(name: string, makeStore: () => Promise<Store>): void {
  describe(`Store conformance: ${name}`, () => {
    const withStore = (fn: (s: Store) => Promise<void>) => async () => {
      const store = await makeStore();
      try {
        await fn(store);
      } finally {
        await store.close();
      }
    };

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
      'async requests round-trip, inserted as a batch',
      withStore(async (s) => {
        const a = asyncRequest('a'.repeat(32));
        const b = asyncRequest('b'.repeat(32), {
          seq: 2,
          webhookEndpoint: null,
          webhookStatus: 'NO_WEBHOOK_PROVIDED',
          keepOutput: true,
        });
        await s.writeAsyncRequests([a, b], []);
        assert.deepEqual(await s.getAsyncRequest(a.id), a);
        assert.deepEqual(await s.getAsyncRequest(b.id), b);
        assert.equal(await s.getAsyncRequest('c'.repeat(32)), undefined);
      }),
    );

    test(
      'a batch with a duplicate id inserts nothing',
      withStore(async (s) => {
        await s.writeAsyncRequests([asyncRequest('a'.repeat(32))], []);
        await assert.rejects(s.writeAsyncRequests([asyncRequest('b'.repeat(32)), asyncRequest('a'.repeat(32))], []));
        assert.equal(await s.getAsyncRequest('b'.repeat(32)), undefined);
      }),
    );

    test(
      'a batch may insert a request and patch it',
      withStore(async (s) => {
        const a = asyncRequest('a'.repeat(32));
        await s.writeAsyncRequests([a], [{ id: a.id, status: 'IN_PROGRESS', attempts: 1 }]);
        assert.equal((await s.getAsyncRequest(a.id))!.status, 'IN_PROGRESS');
      }),
    );

    test(
      'async request patches apply by field',
      withStore(async (s) => {
        const a = asyncRequest('a'.repeat(32));
        await s.writeAsyncRequests([a], []);
        const errors = [{ code: 'MODEL_PREDICT_ERROR' as const, message: 'boom' }];
        await s.writeAsyncRequests(
          [],
          [{ id: a.id, status: 'FAILED', attempts: 3, statusAt: 2000, errors, output: null, webhookAttempts: 1 }],
        );
        assert.deepEqual(await s.getAsyncRequest(a.id), {
          ...a,
          status: 'FAILED',
          attempts: 3,
          statusAt: 2000,
          errors,
          webhookAttempts: 1,
        });
      }),
    );

    test(
      'unfinished requests are the active ones and those with a pending webhook, in arrival order, without input',
      withStore(async (s) => {
        await s.writeAsyncRequests(
          [
            asyncRequest('c'.repeat(32), { seq: 3, status: 'IN_PROGRESS' }),
            asyncRequest('a'.repeat(32), { seq: 1 }),
            asyncRequest('b'.repeat(32), { seq: 2, status: 'SUCCEEDED', webhookStatus: 'PENDING' }),
            asyncRequest('d'.repeat(32), { seq: 4, status: 'SUCCEEDED', webhookStatus: 'SUCCEEDED' }),
          ],
          [],
        );
        const unfinished = await s.listUnfinishedAsyncRequests();
        assert.deepEqual(
          unfinished.map((r) => r.id[0]),
          ['a', 'b', 'c'],
        );
        assert.equal((unfinished[0] as Partial<AsyncRequestRecord>).input, undefined);
      }),
    );

    test(
      'finished requests are deleted once older than the cut-off; unfinished ones never',
      withStore(async (s) => {
        await s.writeAsyncRequests(
          [
            asyncRequest('a'.repeat(32), { status: 'SUCCEEDED', webhookStatus: 'SUCCEEDED', statusAt: 100 }),
            asyncRequest('b'.repeat(32), { status: 'SUCCEEDED', webhookStatus: 'SUCCEEDED', statusAt: 5000 }),
            asyncRequest('c'.repeat(32), { status: 'QUEUED', statusAt: 100 }),
            asyncRequest('d'.repeat(32), { status: 'FAILED', webhookStatus: 'PENDING', statusAt: 100 }),
          ],
          [],
        );
        assert.equal(await s.deleteFinishedAsyncRequests(1000), 1);
        assert.equal(await s.getAsyncRequest('a'.repeat(32)), undefined);
        assert.ok(await s.getAsyncRequest('c'.repeat(32)));
        assert.ok(await s.getAsyncRequest('d'.repeat(32)));
      }),
    );

    test(
      'webhook secrets: newest first, expiry set on rotation, deleted by id',
      withStore(async (s) => {
        await s.insertWebhookSecret({ id: 'w1', secret: 'whsec_old', createdAt: T0, expiresAt: null });
        await s.insertWebhookSecret({
          id: 'w2',
          secret: 'whsec_new',
          createdAt: '2026-02-01T00:00:00.000Z',
          expiresAt: null,
        });
        assert.deepEqual(
          (await s.listWebhookSecrets()).map((w) => w.id),
          ['w2', 'w1'],
        );
        assert.equal(await s.setWebhookSecretExpiry('w1', '2026-02-02T00:00:00.000Z'), true);
        assert.equal((await s.listWebhookSecrets())[1].expiresAt, '2026-02-02T00:00:00.000Z');
        assert.equal(await s.deleteWebhookSecret('w1'), true);
        assert.equal(await s.deleteWebhookSecret('w1'), false);
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
  });
}
