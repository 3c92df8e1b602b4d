import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AsyncRequestRecord } from '../records/async.ts';
import { asyncRequest, T0, withStore as withStoreOf } from './conformance-records.ts';
import type { Store } from './store.ts';

/** Async requests (batched durable writes, patches, resume list, retention) and webhook secrets. */
export function asyncRecordsConformance(makeStore: () => Promise<Store>): void {
  const withStore = withStoreOf(makeStore);

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
    'a chain’s async request keeps its chain and chain deployment, in the record and the resume list',
    withStore(async (s) => {
      const c = asyncRequest('c'.repeat(32), { chainId: 'chain123', chainDeploymentId: 'cdep123' });
      await s.writeAsyncRequests([c, asyncRequest('m'.repeat(32), { seq: 2 })], []);
      assert.deepEqual(await s.getAsyncRequest(c.id), c);
      const [chain, model] = await s.listUnfinishedAsyncRequests();
      assert.equal(chain.chainId, 'chain123');
      assert.equal(chain.chainDeploymentId, 'cdep123');
      assert.equal(model.chainId, undefined, 'a model’s request has no chain');
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
}
