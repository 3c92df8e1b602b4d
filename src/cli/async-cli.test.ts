import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startGate } from '../../test/gate.ts';
import { webhookReceiver } from '../../test/webhook-receiver.ts';
import { Girder } from '../girder.ts';
import { ok, runCli, type Run } from './run-cli.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BEHAVIOURS = join(ROOT, 'test/fixtures/behaviours'); // predict_concurrency 1: one request at a time

describe('girder async and webhook-secrets against a running server', () => {
  let g: Girder;
  let dataDir: string;
  let key: string;
  let modelId: string;
  let hooks: Awaited<ReturnType<typeof webhookReceiver>>;
  const closers: (() => Promise<void> | void)[] = [];

  const cli = (args: string[]): Promise<Run> => runCli(g.url, key, args);

  /** Setup requests go straight to the server: faster than the CLI, so timings stay predictable. */
  const submit = async (input: unknown): Promise<string> => {
    const res = await fetch(`${g.url}/model-${modelId}/production/async_predict`, {
      method: 'POST',
      headers: { authorization: `Api-Key ${key}` },
      body: JSON.stringify({ model_input: input }),
    });
    assert.equal(res.status, 201);
    return ((await res.json()) as { request_id: string }).request_id;
  };
  const statusOf = async (id: string): Promise<string> => {
    const res = await fetch(`${g.url}/model-${modelId}/async_request/${id}`, {
      headers: { authorization: `Api-Key ${key}` },
    });
    return ((await res.json()) as { status: string }).status;
  };
  const settle = (...ids: string[]) =>
    Promise.all(ids.map(async (id) => ok(await cli(['async', 'status', 'behaviours', id, '--wait']))));

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'girder-async-cli-'));
    g = await Girder.start({ dataDir, port: 0, probeIntervalMs: 200, allowPrivateWebhooks: true });
    key = g.newAdminKey!;
    // Its own `after` list: node:test's `after` called inside `before` would close it at once.
    hooks = await webhookReceiver({ after: (fn) => closers.push(fn) });
    const pushed = ok(await cli(['push', BEHAVIOURS, '--timeout', '60']));
    modelId = /^model\s+([a-z0-9]{8})/m.exec(pushed.stdout)?.[1] ?? '';
    assert.match(pushed.stdout, /status\s+ACTIVE/);
  });
  after(async () => {
    for (const close of closers) await close();
    await g.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  test('submit prints the request id; status --wait waits for the webhook and ends SUCCEEDED', async () => {
    const submitted = ok(
      await cli(['async', 'submit', 'behaviours', '--data', '{"echo":"hi"}', '--webhook', `${hooks.url}/ok`]),
    );
    const id = submitted.stdout.trim();
    assert.match(id, /^[0-9a-f]{32}$/);
    const r = ok(await cli(['async', 'status', 'behaviours', id, '--wait']));
    assert.match(r.stdout, new RegExp(`^${id}\\s+SUCCEEDED\\s+SUCCEEDED\\s`, 'm'));
    assert.deepEqual(hooks.for(id)[0].body.data, { echo: 'hi', request_id: id });
  });

  test('--keep-output keeps the output for status --json', async () => {
    const id = ok(await cli(['async', 'submit', modelId, '--data', '{"echo":42}', '--keep-output'])).stdout.trim();
    const s = JSON.parse(ok(await cli(['async', 'status', modelId, id, '--wait', '--json'])).stdout);
    assert.equal(s.status, 'SUCCEEDED');
    assert.deepEqual(s.output, { echo: 42, request_id: id });
  });

  test('cancel of a queued request prints canceled and the status is CANCELED', async () => {
    // The gate holds the single slot until the test is done, however slow the CLI starts are.
    const gate = await startGate();
    closers.push(() => gate.close());
    const blocker = await submit({ gate_url: gate.url });
    const id = ok(await cli(['async', 'submit', 'behaviours', '--data', '{"echo":"never"}'])).stdout.trim();
    assert.match(ok(await cli(['async', 'cancel', 'behaviours', id])).stdout, /canceled/i);
    assert.equal(JSON.parse(ok(await cli(['async', 'status', 'behaviours', id, '--json'])).stdout).status, 'CANCELED');
    const again = await cli(['async', 'cancel', 'behaviours', id]);
    assert.equal(again.code, 1, 'a second cancel changes nothing');
    assert.match(again.stdout, /only QUEUED requests can be canceled/);
    gate.open();
    await settle(blocker);
  });

  test('queue counts queued and in-progress requests', async () => {
    const gate = await startGate();
    closers.push(() => gate.close());
    const blocker = await submit({ gate_url: gate.url });
    const queued = await submit({ echo: 'later' });
    while ((await statusOf(blocker)) !== 'IN_PROGRESS') await new Promise((r) => setTimeout(r, 50));
    const q = JSON.parse(ok(await cli(['async', 'queue', 'behaviours', '--json'])).stdout);
    assert.equal(q.num_queued_requests, 1);
    assert.equal(q.num_in_progress_requests, 1);
    assert.match(
      ok(await cli(['async', 'queue', 'behaviours', '-e', 'production'])).stdout,
      new RegExp(`^${q.deployment_id}\\s+1\\s+1$`, 'm'),
    );
    gate.open();
    await settle(blocker, queued);
  });

  test('a bad --priority fails with the server message', async () => {
    const r = await cli(['async', 'submit', 'behaviours', '--priority', '5']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^Invalid priority: priority must be at most 2\. \(client_error\)/);
    assert.equal(r.stdout, '');
  });

  test('webhook-secrets create, list, rotate and rm round trip; list never shows a value', async () => {
    const created = ok(await cli(['webhook-secrets', 'create']));
    const secret = created.stdout.trim();
    assert.match(created.stderr, /shown only once/);
    const listed = JSON.parse(ok(await cli(['webhook-secrets', 'list', '--json'])).stdout).webhook_secrets;
    assert.equal(listed.length, 1);
    const id = listed[0].id;
    const rotated = ok(await cli(['webhook-secrets', 'rotate', id]));
    const newSecret = rotated.stdout.trim();
    assert.notEqual(newSecret, secret);
    assert.match(rotated.stderr, new RegExp(`${id} stays valid .* until \\d{4}-`));
    for (const args of [
      ['webhook-secrets', 'list'],
      ['webhook-secrets', 'list', '--json'],
    ]) {
      const r = ok(await cli(args));
      assert.ok(!r.stdout.includes(secret) && !r.stdout.includes(newSecret), r.stdout);
    }
    const table = ok(await cli(['webhook-secrets', 'list'])).stdout;
    assert.match(
      table,
      new RegExp(`^${id}\\s+yes\\s+\\S+ \\S+\\s+\\d{4}-`, 'm'),
      'the rotated one is active until it expires',
    );
    const newId = JSON.parse(ok(await cli(['webhook-secrets', 'list', '--json'])).stdout).webhook_secrets.find(
      (s: { id: string }) => s.id !== id,
    ).id;
    for (const x of [id, newId]) assert.match(ok(await cli(['webhook-secrets', 'rm', x])).stdout, /deleted/);
    assert.match(ok(await cli(['webhook-secrets', 'list'])).stdout, /No webhook secrets/);
  });

  test('status --wait of a request whose model raises exits 1 and shows the error code', async () => {
    const id = ok(
      await cli(['async', 'submit', 'behaviours', '--data', '{"raise":"boom"}', '--max-attempts', '1']),
    ).stdout.trim();
    const r = await cli(['async', 'status', 'behaviours', id, '--wait']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /\sFAILED\s/);
    assert.match(r.stdout, /error: MODEL_PREDICT_ERROR: .*boom/);
  });
});
