import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { setImmediate as tick } from 'node:timers/promises';
import { Pool } from 'undici';
import type { Registry } from '../control/registry.ts';
import type { AsyncError, AsyncRequestHead, AsyncRequestPatch, AsyncRequestRecord } from '../records/async.ts';
import type { DeploymentRecord } from '../records/control.ts';
import type { Replica } from '../runtime/replica.ts';
import type { Supervisor } from '../runtime/supervisor.ts';
import type { Store } from '../store/store.ts';
import { Committer } from './committer.ts';
import { Dispatcher } from './dispatch.ts';

type TestContext = { after: (fn: () => Promise<void> | void) => void };

/**
 * A model on a real loopback port: each request's input lists the statuses of its successive calls
 * (200 when they run out); `hold` keeps answers back until `release()`.
 */
async function model(t: TestContext) {
  const calls: string[] = [];
  const held: (() => void)[] = [];
  let hold = false;
  let arrived: () => void = () => {};
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c);
    const id = String(req.headers['x-baseten-request-id']);
    calls.push(id);
    const { statuses = [] } = JSON.parse(Buffer.concat(chunks).toString()) as { statuses?: number[] };
    const status = statuses[calls.filter((c) => c === id).length - 1] ?? 200;
    const answer = (r: ServerResponse) => r.writeHead(status, { 'content-type': 'application/json' }).end('{"ok":1}');
    arrived();
    if (hold) held.push(() => answer(res));
    else answer(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const pool = new Pool(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  t.after(async () => {
    await pool.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });
  const replica = { pool, opts: { spec: { predictPath: '/predict' } }, suspect() {} } as unknown as Replica;
  return {
    replica,
    calls,
    holdAnswers: () => {
      hold = true;
      return new Promise<void>((r) => (arrived = r));
    },
    release: () => {
      for (const answer of held.splice(0)) answer();
    },
  };
}

/** Replica slots as the supervisor lends them: none free until `open()`, waiters served in order. */
function slots(replica: Replica) {
  let free = 0;
  const waiters: ((r: Replica) => void)[] = [];
  const supervisor = {
    acquire(_d: DeploymentRecord, _cls: string, signal: AbortSignal) {
      if (free > 0) {
        free--;
        return replica;
      }
      return new Promise<Replica>((resolve, reject) => {
        waiters.push(resolve);
        signal.addEventListener('abort', () => {
          waiters.splice(waiters.indexOf(resolve), 1);
          reject(signal.reason);
        });
      });
    },
    release() {
      const next = waiters.shift();
      if (next) next(replica);
      else free++;
    },
  };
  return { supervisor: supervisor as unknown as Supervisor, open: () => supervisor.release() };
}

/** A dispatcher over one deployment, with an in-memory store and the outcomes it reports. */
async function setup(t: TestContext, { active = true } = {}) {
  const m = await model(t);
  const { supervisor, open } = slots(m.replica);
  const deployment = { id: 'dep1234', modelId: 'model123', active } as DeploymentRecord;
  const registry = Object.assign(new EventEmitter(), { deployments: new Map([[deployment.id, deployment]]) });
  const records = new Map<string, AsyncRequestRecord>();
  const patches: AsyncRequestPatch[] = [];
  const store = {
    async writeAsyncRequests(_inserts: AsyncRequestRecord[], ps: AsyncRequestPatch[]) {
      for (const p of ps) patches.push(p);
    },
    async getAsyncRequest(id: string) {
      return records.get(id);
    },
  } as unknown as Store;
  const committer = new Committer(store);
  const outcomes = new Map<string, { status: string; errors: AsyncError[]; output: unknown }>();
  const waiting = new Map<string, () => void>();
  const dispatch = new Dispatcher({
    registry: registry as unknown as Registry,
    supervisor,
    store,
    committer,
    predictTimeoutMs: 5000,
    finish: async (h, status, errors, output) => {
      outcomes.set(h.id, { status, errors, output });
      waiting.get(h.id)?.();
    },
    detach: (work) => void work.catch((err) => assert.fail(err)),
  });
  t.after(() => dispatch.close());
  let seq = 0;
  /** Submits a request as the queue does: counted as queued, then enqueued. */
  const submit = (id: string, priority: number, statuses: number[] = [], maxAttempts = 1) => {
    const h = {
      id,
      modelId: deployment.modelId,
      deploymentId: deployment.id,
      priority,
      seq: ++seq,
      retry: { max_attempts: maxAttempts, initial_delay_ms: 0, max_delay_ms: 0 },
      status: 'QUEUED',
      attempts: 0,
      notBefore: 0,
      errors: [],
    } as unknown as AsyncRequestHead;
    records.set(id, { ...h, input: JSON.stringify({ statuses }), output: null });
    dispatch.of(deployment.id).queued++;
    dispatch.enqueue(h);
    return h;
  };
  const finished = (id: string) =>
    new Promise<{ status: string; errors: AsyncError[]; output: unknown }>((resolve) => {
      if (outcomes.has(id)) return resolve(outcomes.get(id)!);
      waiting.set(id, () => resolve(outcomes.get(id)!));
    });
  return { ...m, open, dispatch, committer, registry, deployment, patches, outcomes, submit, finished };
}

test('the loop takes the best request when a slot frees, not the one that was first to wait', async (t) => {
  const s = await setup(t);
  s.submit('early-low', 2);
  s.submit('late-urgent', 0);
  s.open();
  await Promise.all([s.finished('early-low'), s.finished('late-urgent')]);
  assert.deepEqual(s.calls, ['late-urgent', 'early-low']);
});

test('a success finishes SUCCEEDED with the output, and the counts go back to zero', async (t) => {
  const s = await setup(t);
  s.submit('ok', 1);
  s.open();
  assert.deepEqual(await s.finished('ok'), { status: 'SUCCEEDED', errors: [], output: { ok: 1 } });
  const q = s.dispatch.of(s.deployment.id);
  assert.deepEqual([q.queued, q.inProgress], [0, 0]);
});

test('a retryable failure comes back QUEUED and runs again, up to max_attempts', async (t) => {
  const s = await setup(t);
  const flaky = s.submit('flaky', 1, [503], 3);
  s.open();
  assert.equal((await s.finished('flaky')).status, 'SUCCEEDED');
  assert.equal(flaky.attempts, 2);
  const requeued = s.patches.find((p) => p.id === 'flaky' && p.status === 'QUEUED');
  assert.equal(requeued?.errors?.[0].code, 'MODEL_UNAVAILABLE');
  s.submit('broken', 1, [500, 500, 500], 2);
  const broken = await s.finished('broken');
  assert.equal(broken.status, 'FAILED');
  assert.equal(broken.errors[0].code, 'MODEL_PREDICT_ERROR');
  assert.equal(s.calls.filter((c) => c === 'broken').length, 2);
});

test('a failure not worth retrying finishes FAILED after one attempt', async (t) => {
  const s = await setup(t);
  s.submit('invalid', 1, [422], 3);
  s.open();
  const done = await s.finished('invalid');
  assert.equal(done.status, 'FAILED');
  assert.equal(done.errors[0].code, 'MODEL_INVALID_INPUT');
  assert.deepEqual(s.calls, ['invalid']);
});

test('a call that ends after close records nothing, so that it stays IN_PROGRESS for the next start', async (t) => {
  const s = await setup(t);
  const arrived = s.holdAnswers();
  const h = s.submit('interrupted', 1);
  s.open();
  await arrived;
  s.dispatch.close();
  s.release();
  const q = s.dispatch.of(s.deployment.id);
  while (q.inProgress) await tick();
  await s.committer.drain();
  assert.equal(s.outcomes.size, 0);
  assert.equal(h.status, 'IN_PROGRESS');
  assert.deepEqual(
    s.patches.map((p) => p.status),
    ['IN_PROGRESS'],
  );
});

test('an inactive deployment keeps its queue, and its activation starts the loop', async (t) => {
  const s = await setup(t, { active: false });
  s.submit('waits', 1);
  s.open();
  await tick();
  assert.deepEqual(s.calls, []);
  assert.equal(s.dispatch.of(s.deployment.id).backlog.size, 1);
  s.deployment.active = true;
  s.registry.emit('change', { type: 'deployment-changed', deployment: s.deployment });
  assert.equal((await s.finished('waits')).status, 'SUCCEEDED');
});
