import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AsyncRequestHead, AsyncRequestPatch, AsyncRequestRecord } from '../records/async.ts';
import type { LogBook } from '../runtime/logs.ts';
import type { Store } from '../store/store.ts';
import { webhookReceiver } from '../../test/webhook-receiver.ts';
import { Committer } from './committer.ts';
import { Completion } from './completion.ts';
import { WebhookSecrets } from './webhook-secrets.ts';
import { WebhookSender } from './webhooks.ts';

type TestContext = { after: (fn: () => Promise<void> | void) => void };

/** A Completion over an in-memory store, a real sender (no pause between attempts) and a notes list. */
async function setup(t: TestContext, respond: () => number, attempts = 2, onNote = (_s: AbortController) => {}) {
  const hooks = await webhookReceiver(t, respond);
  const records = new Map<string, AsyncRequestRecord>();
  const patches: AsyncRequestPatch[] = [];
  const store = {
    async writeAsyncRequests(_inserts: AsyncRequestRecord[], ps: AsyncRequestPatch[]) {
      for (const p of ps) {
        patches.push(p);
        Object.assign(records.get(p.id)!, p);
      }
    },
    async getAsyncRequest(id: string) {
      return records.get(id);
    },
    async listWebhookSecrets() {
      return [];
    },
  } as unknown as Store;
  const secrets = new WebhookSecrets(store);
  await secrets.load();
  const webhooks = new WebhookSender({ attempts, retryDelayMs: 0, timeoutMs: 5000, allowPrivate: true }, secrets);
  t.after(() => webhooks.close());
  const notes: string[] = [];
  const shutdown = new AbortController();
  const forgotten: string[] = [];
  const completion = new Completion({
    store,
    committer: new Committer(store),
    webhooks,
    logs: {
      note: (_d: string, _r: string, _l: string, msg: string) => {
        notes.push(msg);
        onNote(shutdown);
      },
    } as unknown as LogBook,
    closed: shutdown.signal,
    forget: (h) => forgotten.push(h.id),
  });
  const request = (id: string, { webhook = true, keepOutput = false } = {}) => {
    const h = {
      id,
      modelId: 'model123',
      deploymentId: 'dep1234',
      webhookEndpoint: webhook ? `${hooks.url}/hook` : null,
      keepOutput,
      status: 'IN_PROGRESS',
      webhookStatus: webhook ? 'PENDING' : 'NO_WEBHOOK_PROVIDED',
      webhookAttempts: 0,
      errors: [],
    } as unknown as AsyncRequestHead;
    records.set(id, { ...h, input: '{}', output: null });
    return h;
  };
  return { hooks, patches, notes, forgotten, completion, request };
}

test('a finished request is delivered with its output, then the webhook status is recorded and the output dropped', async (t) => {
  const s = await setup(t, () => 200);
  const h = s.request('r1');
  await s.completion.finish(h, 'SUCCEEDED', [], { answer: 42 });
  assert.deepEqual(s.hooks.for('r1')[0].body.data, { answer: 42 });
  assert.equal(s.patches[0].output, '{"answer":42}', 'the output waits on disk for the webhook');
  assert.deepEqual(s.patches[1], { id: 'r1', webhookStatus: 'SUCCEEDED', webhookAttempts: 1, output: null });
  assert.deepEqual(s.forgotten, ['r1']);
});

test('a kept output stays on disk after its delivery', async (t) => {
  const s = await setup(t, () => 200);
  await s.completion.finish(s.request('r1', { keepOutput: true }), 'SUCCEEDED', [], 'text');
  assert.ok(!('output' in s.patches[1]));
});

test('a success whose webhook keeps failing becomes WEBHOOK_FAILED, each failed attempt noted', async (t) => {
  const s = await setup(t, () => 500, 2);
  const h = s.request('r1');
  await s.completion.finish(h, 'SUCCEEDED', [], {});
  const last = s.patches.at(-1)!;
  assert.equal(last.webhookStatus, 'FAILED');
  assert.equal(last.status, 'WEBHOOK_FAILED');
  assert.equal(last.webhookAttempts, 2);
  assert.equal(h.status, 'WEBHOOK_FAILED');
  assert.deepEqual(
    s.notes.map((n) => /attempt (\d)\): HTTP 500$/.exec(n)?.[1]),
    ['1', '2'],
  );
});

test('a failed request whose webhook fails stays FAILED', async (t) => {
  const s = await setup(t, () => 500, 1);
  const h = s.request('r1');
  await s.completion.finish(h, 'FAILED', [{ code: 'MODEL_PREDICT_ERROR', message: 'HTTP 500: boom' }], null);
  assert.equal(s.patches.at(-1)!.status, undefined);
  assert.equal(h.status, 'FAILED');
});

test('a delivery interrupted by shutdown records nothing, so that the webhook stays PENDING for the next start', async (t) => {
  // The shutdown comes right after the first failed attempt, before the sender's next one.
  const s = await setup(
    t,
    () => 500,
    3,
    (shutdown) => shutdown.abort(),
  );
  const h = s.request('r1');
  await s.completion.finish(h, 'SUCCEEDED', [], {});
  assert.equal(s.hooks.for('r1').length, 1);
  assert.deepEqual(
    s.patches.map((p) => p.webhookStatus),
    ['PENDING'],
  );
  assert.deepEqual(s.forgotten, []);
});

test('a canceled request gets no webhook; its webhook status says CANCELED', async (t) => {
  const s = await setup(t, () => 200);
  const h = s.request('r1');
  await s.completion.finish(h, 'CANCELED', [], null);
  assert.equal(s.hooks.deliveries.length, 0);
  assert.deepEqual(s.patches, [
    { id: 'r1', status: 'CANCELED', errors: [], statusAt: h.statusAt, webhookStatus: 'CANCELED' },
  ]);
  assert.deepEqual(s.forgotten, ['r1']);
});

test('the write of a terminal state can be awaited while it is on its way to disk', async (t) => {
  const s = await setup(t, () => 200);
  const done = s.completion.finish(s.request('r1', { webhook: false }), 'SUCCEEDED', [], {});
  assert.ok(s.completion.writing('r1'));
  await done;
  assert.equal(s.completion.writing('r1'), undefined);
});
