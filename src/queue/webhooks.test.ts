import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import type { Store } from '../store/store.ts';
import { verifyBasetenWebhook, webhookReceiver } from '../../test/webhook-receiver.ts';
import { WebhookSecrets } from './webhook-secrets.ts';
import { type WebhookOptions, type WebhookPayload, WebhookSender } from './webhooks.ts';

const payload: WebhookPayload = {
  request_id: 'a'.repeat(32),
  model_id: 'model123',
  deployment_id: 'dep1234',
  data: { echo: 'hi' },
  errors: [],
};

/** A sender to loopback receivers, with no pause between attempts and the given secrets. */
async function sender(
  t: { after: (fn: () => Promise<void>) => void },
  opts: Partial<WebhookOptions> = {},
  secrets: string[] = [],
) {
  const store = {
    listWebhookSecrets: async () =>
      secrets.map((secret, i) => ({ id: `s${i}`, secret, createdAt: new Date().toISOString(), expiresAt: null })),
  } as unknown as Store;
  const ws = new WebhookSecrets(store);
  await ws.load();
  const s = new WebhookSender({ attempts: 3, retryDelayMs: 0, timeoutMs: 5000, allowPrivate: true, ...opts }, ws);
  t.after(() => s.close());
  return s;
}

test('a 5xx is retried up to the attempts, each failure reported, and the delivery reports failed', async (t) => {
  const hooks = await webhookReceiver(t, () => 503);
  const s = await sender(t, { attempts: 3 });
  const failures: [number, string][] = [];
  const r = await s.deliver(`${hooks.url}/hook`, payload, { onFailedAttempt: (n, why) => failures.push([n, why]) });
  assert.deepEqual(r, { outcome: 'failed', attempts: 3, detail: 'HTTP 503' });
  assert.equal(hooks.deliveries.length, 3);
  assert.deepEqual(failures, [
    [1, 'HTTP 503'],
    [2, 'HTTP 503'],
    [3, 'HTTP 503'],
  ]);
});

test('a retry that gets a 2xx reports delivered with the attempts it took', async (t) => {
  const hooks = await webhookReceiver(t, (_d, n) => (n === 1 ? 500 : 200));
  const s = await sender(t, { attempts: 3 });
  assert.deepEqual(await s.deliver(`${hooks.url}/hook`, payload), { outcome: 'delivered', attempts: 2, detail: '200' });
  assert.equal(hooks.deliveries.length, 2);
});

test('a 4xx is not retried, and a 301 is neither retried nor followed', async (t) => {
  const hooks = await webhookReceiver(t, (d) => (d.path === '/moved' ? 301 : 422));
  const s = await sender(t, { attempts: 3 });
  assert.deepEqual(await s.deliver(`${hooks.url}/bad`, payload), {
    outcome: 'failed',
    attempts: 1,
    detail: 'HTTP 422',
  });
  assert.deepEqual(await s.deliver(`${hooks.url}/moved`, payload), {
    outcome: 'failed',
    attempts: 1,
    detail: 'HTTP 301',
  });
  assert.deepEqual(
    hooks.deliveries.map((d) => d.path),
    ['/bad', '/moved'],
  );
});

test('a connection failure is retried like a 5xx', async (t) => {
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const { port } = closed.address() as AddressInfo;
  await new Promise<void>((r) => closed.close(() => r()));
  const s = await sender(t, { attempts: 2 });
  const failures: number[] = [];
  const r = await s.deliver(`http://127.0.0.1:${port}/hook`, payload, { onFailedAttempt: (n) => failures.push(n) });
  assert.equal(r.outcome, 'failed');
  assert.equal(r.attempts, 2);
  assert.match(r.detail, /ECONNREFUSED|connect/i);
  assert.deepEqual(failures, [1, 2]);
});

test('closing the sender stops retrying: the delivery reports interrupted after the attempts it made', async (t) => {
  const hooks = await webhookReceiver(t, () => 500);
  const s = await sender(t, { attempts: 5 });
  const r = await s.deliver(`${hooks.url}/hook`, payload, { onFailedAttempt: () => void s.close() });
  assert.deepEqual(r, { outcome: 'interrupted', attempts: 1, detail: 'HTTP 500' });
  assert.equal(hooks.deliveries.length, 1);
});

test("an aborted caller's signal stops the delivery before its next attempt", async (t) => {
  const hooks = await webhookReceiver(t, () => 500);
  const s = await sender(t, { attempts: 5 });
  const shutdown = new AbortController();
  shutdown.abort();
  assert.deepEqual(await s.deliver(`${hooks.url}/hook`, payload, { signal: shutdown.signal }), {
    outcome: 'interrupted',
    attempts: 0,
    detail: '',
  });
  const later = new AbortController();
  const r = await s.deliver(`${hooks.url}/hook`, payload, {
    signal: later.signal,
    onFailedAttempt: () => later.abort(),
  });
  assert.deepEqual(r, { outcome: 'interrupted', attempts: 1, detail: 'HTTP 500' });
  assert.equal(hooks.deliveries.length, 1);
});

test('a delivery is compact JSON signed with every active secret, newest first', async (t) => {
  const hooks = await webhookReceiver(t);
  const s = await sender(t, {}, ['whsec_new', 'whsec_old']);
  assert.equal((await s.deliver(`${hooks.url}/hook`, payload)).outcome, 'delivered');
  const [d] = hooks.deliveries;
  assert.equal(d.raw.toString(), JSON.stringify(d.body));
  assert.equal(d.headers['x-baseten-request-id'], payload.request_id);
  assert.equal(d.body.type, 'async_request_completed');
  assert.deepEqual(d.body.data, payload.data);
  const [first, second] = (d.headers['x-baseten-signature'] as string).split(',');
  assert.ok(verifyBasetenWebhook(d.raw, first, ['whsec_new']), 'the newest secret signs first');
  assert.ok(verifyBasetenWebhook(d.raw, second, ['whsec_old']));
});
