import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AsyncRequestHead } from '../../records/async.ts';
import type { DeploymentRecord } from '../../records/control.ts';
import { asyncStatusView, cancelView, queueStatusView } from './views.ts';

const head = {
  id: 'a'.repeat(32),
  modelId: 'model123',
  deploymentId: 'dep1234',
  status: 'SUCCEEDED',
  webhookStatus: 'NO_WEBHOOK_PROVIDED',
  createdAt: Date.UTC(2025, 0, 2, 3, 4, 5, 6),
  statusAt: Date.UTC(2025, 0, 2, 3, 4, 7, 890),
  errors: [],
  keepOutput: true,
} as unknown as AsyncRequestHead;

test("an async status is Baseten's fields in Baseten's order, with ISO times", () => {
  assert.equal(
    JSON.stringify(asyncStatusView({ head })),
    JSON.stringify({
      request_id: head.id,
      model_id: 'model123',
      deployment_id: 'dep1234',
      status: 'SUCCEEDED',
      webhook_status: 'NO_WEBHOOK_PROVIDED',
      created_at: '2025-01-02T03:04:05.006Z',
      status_at: '2025-01-02T03:04:07.890Z',
      errors: [],
    }),
  );
});

test('an async status carries the output only when the queue gave one, null included', () => {
  assert.deepEqual(asyncStatusView({ head, output: { echo: 'kept' } }).output, { echo: 'kept' });
  assert.ok('output' in asyncStatusView({ head, output: null }));
  assert.ok(!('output' in asyncStatusView({ head })));
});

test('a cancel answer says what happened, naming the status that kept a request from being canceled', () => {
  assert.deepEqual(cancelView('r1', { canceled: true }), {
    request_id: 'r1',
    canceled: true,
    message: 'Request canceled.',
  });
  assert.deepEqual(cancelView('r1', { canceled: false, status: 'IN_PROGRESS' }), {
    request_id: 'r1',
    canceled: false,
    message: 'Request is IN_PROGRESS; only QUEUED requests can be canceled.',
  });
});

test('a queue status names the deployment and its counts', () => {
  const d = { id: 'dep1234', modelId: 'model123' } as DeploymentRecord;
  assert.equal(
    JSON.stringify(queueStatusView(d, { queued: 2, inProgress: 1 })),
    '{"model_id":"model123","deployment_id":"dep1234","num_queued_requests":2,"num_in_progress_requests":1}',
  );
});
