import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pushChain } from './chains.harness.ts';
import { call, fixture, modelCopy, pushDir } from './helpers.ts';
import { tempDir } from './temp-dir.ts';
import { waitFor } from './wait.ts';
import { predictOk, serve } from './process.ts';
import { webhookReceiver } from './webhook-receiver.ts';

const KEY = 'crash-admin-key-0123456789';
const FLAGS = ['--allow-private-webhooks', '--webhook-retry-delay-ms', '100'];

test('every request that got a 201 reaches SUCCEEDED and its webhook, across a kill -9 of the server', {
  timeout: 180_000,
}, async (t) => {
  const dir = tempDir(t);
  const hooks = await webhookReceiver(t);
  const first = await serve(t, dir, { GIRDER_API_KEY: KEY }, FLAGS);
  const model = modelCopy(t, fixture('behaviours'), { model_name: 'crash-test', runtime: { predict_concurrency: 4 } });
  const { model: m } = await pushDir(first.url, KEY, model);
  await predictOk(first.url, KEY, `/model-${m.id}/production/predict`, {});
  const accepted: string[] = [];
  let killed = false;
  // Submit up to 300 requests, 20 at a time, and kill -9 the server once 150 were accepted and some
  // finished: the kill then finds requests queued, in progress, and waiting for their webhook.
  const ripe = () => accepted.length >= 150 && hooks.deliveries.length >= 30;
  const submitOne = async (i: number) => {
    try {
      const r = await call(`${first.url}/model-${m.id}/production/async_predict`, {
        headers: { authorization: `Api-Key ${KEY}` },
        body: JSON.stringify({ model_input: { echo: i, sleep_ms: 20 }, webhook_endpoint: `${hooks.url}/hook` }),
      });
      if (r.status === 201) accepted.push(r.json.request_id);
    } catch {
      /* the server died under this submit: no 201, no promise made */
    }
    if (!killed && ripe()) {
      killed = true;
      first.child.kill('SIGKILL');
    }
  };
  let next = 0;
  await Promise.all(
    Array.from({ length: 20 }, async () => {
      while (next < 300 && !killed) await submitOne(next++);
    }),
  );
  if (!killed) {
    await waitFor(ripe, 30_000, 'some requests to finish');
    first.child.kill('SIGKILL');
  }
  await first.exited;
  const deliveredBefore = new Set(hooks.deliveries.map((d) => d.body.request_id)).size;
  assert.ok(accepted.length >= 150);
  assert.ok(deliveredBefore < accepted.length, 'the kill came before everything was done');
  t.diagnostic(`${accepted.length} accepted, ${deliveredBefore} delivered before the kill`);

  const second = await serve(t, dir, { GIRDER_API_KEY: KEY }, FLAGS);
  t.after(async () => {
    second.child.kill('SIGTERM');
    await second.exited;
  });
  await waitFor(
    () => accepted.every((id) => hooks.for(id).length > 0),
    120_000,
    'a webhook for every accepted request',
  );
  for (const id of accepted) {
    const s = await call(`${second.url}/model-${m.id}/async_request/${id}`, {
      method: 'GET',
      headers: { authorization: `Api-Key ${KEY}` },
    });
    assert.equal(s.json.status, 'SUCCEEDED', `${id}: ${s.text}`);
    assert.equal(hooks.for(id)[0].body.errors.length, 0);
  }
});

test('a chain’s accepted async requests survive a kill -9 too, and their webhooks carry chain_id', {
  timeout: 120_000,
}, async (t) => {
  const dir = tempDir(t);
  const hooks = await webhookReceiver(t);
  const first = await serve(t, dir, { GIRDER_API_KEY: KEY }, FLAGS);
  const pushed = await pushChain(first.url, KEY, fixture('chains'), { file: 'sleepy.ts' });
  assert.equal(pushed.status, 200, JSON.stringify(pushed.json));
  const chainId = pushed.json.chain.id;
  // One slot on the entrypoint, 300 ms each: when the last 201 comes, most requests are still queued.
  const accepted: string[] = [];
  for (let i = 0; i < 10; i++) {
    const r = await call(`${first.url}/chain-${chainId}/production/async_run_remote`, {
      headers: { authorization: `Api-Key ${KEY}` },
      body: JSON.stringify({ model_input: { text: `n${i}`, sleepMs: 300 }, webhook_endpoint: `${hooks.url}/hook` }),
    });
    assert.equal(r.status, 201, r.text);
    accepted.push(r.json.request_id);
  }
  first.child.kill('SIGKILL');
  await first.exited;
  const deliveredBefore = new Set(hooks.deliveries.map((d) => d.body.request_id)).size;
  assert.ok(deliveredBefore < accepted.length, 'the kill came before everything was done');

  const second = await serve(t, dir, { GIRDER_API_KEY: KEY }, FLAGS);
  t.after(async () => {
    second.child.kill('SIGTERM');
    await second.exited;
  });
  await waitFor(() => accepted.every((id) => hooks.for(id).length > 0), 60_000, 'a webhook for every request');
  for (const [i, id] of accepted.entries()) {
    const s = await call(`${second.url}/chain-${chainId}/async_request/${id}`, {
      method: 'GET',
      headers: { authorization: `Api-Key ${KEY}` },
    });
    assert.equal(s.json.status, 'SUCCEEDED', `${id}: ${s.text}`);
    const hook = hooks.for(id)[0].body;
    assert.equal(hook.chain_id, chainId);
    assert.deepEqual(hook.data, { text: `N${i}` });
  }
});
