import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Deployments } from '../control/deployments.ts';
import { Environments } from '../control/environments.ts';
import { parseModelConfig } from '../control/packaging/config.ts';
import { Pushes } from '../control/pushes.ts';
import { Registry, type RegistryEvent } from '../control/registry.ts';
import { Secrets } from '../control/secrets.ts';
import type { DeploymentRecord } from '../records/control.ts';
import { SqliteStore } from '../store/sqlite/store.ts';
import { LogBook } from './logs.ts';
import { Replica, type ReplicaOptions, type ReplicaState } from './replica.ts';
import type { ReplicaCountHost, ReplicaCountPolicy } from './replica-count.ts';
import { Supervisor, type SupervisorOptions } from './supervisor.ts';

/** A custom server that holds `POST /predict {"sleep_ms": N}` for N ms; predict_concurrency 2. */
const COUNTER = fileURLToPath(new URL('../../test/fixtures/counter-server', import.meta.url));
const { config } = parseModelConfig(readFileSync(join(COUNTER, 'config.yaml'), 'utf8'));

/** A supervisor over an in-memory registry, closed when the test ends. */
function supervisorFor(t: TestContext, opts: Partial<SupervisorOptions> = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'girder-supervisor-'));
  const store = SqliteStore.open(':memory:');
  const registry = new Registry(store);
  const deployments = new Deployments(store, registry);
  const pushes = new Pushes(registry, deployments, new Environments(store, registry, deployments));
  const logs = new LogBook(join(dataDir, 'logs'));
  const supervisor = new Supervisor({ dataDir, registry, secrets: new Secrets(store), logs, ...opts });
  supervisor.start();
  t.after(async () => {
    await supervisor.close();
    await logs.close();
    await store.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  /** Pushes the counter server; as the model's first deployment it serves production. */
  const push = async (): Promise<DeploymentRecord> =>
    (await pushes.record({ modelName: 'counter', dir: COUNTER, config })).deployment;
  return { supervisor, push };
}

/** Resolves once the replica reaches `state`. */
function reaches(replica: Replica, state: ReplicaState): Promise<void> {
  if (replica.state === state) return Promise.resolve();
  return new Promise((resolve) => replica.on('state', (s) => s === state && resolve()));
}

/** A policy whose answer the test sets; it records what the supervisor tells it. */
class SetPolicy implements ReplicaCountPolicy {
  count: number;
  host: ReplicaCountHost | undefined;
  readonly woken: string[] = [];
  readonly changes: RegistryEvent['type'][] = [];
  onWake = (): void => {};

  constructor(count: number) {
    this.count = count;
  }
  attach(host: ReplicaCountHost): void {
    this.host = host;
  }
  desired(): number {
    return this.count;
  }
  wake(d: DeploymentRecord): void {
    this.woken.push(d.id);
    this.onWake();
  }
  changed(e: RegistryEvent): void {
    this.changes.push(e.type);
  }
  close(): void {
    this.count = 0;
  }
  /** Changes the answer and asks the supervisor to follow it, as the autoscaler will. */
  set(count: number, deploymentId: string): void {
    this.count = count;
    this.host!.reconcile(deploymentId);
  }
}

test('every replica is made by the injected factory', { timeout: 60_000 }, async (t) => {
  const made: ReplicaOptions[] = [];
  const { supervisor, push } = supervisorFor(t, {
    createReplica: (opts) => {
      made.push(opts);
      return new Replica(opts);
    },
  });
  const d = await push();
  assert.equal(made.length, 1);
  assert.equal(made[0].deploymentId, d.id);
  assert.equal(made[0].env.BT_MODEL_DEPLOYMENT_ID, d.id);
  const [replica] = supervisor.replicas(d.id);
  assert.equal(replica.opts, made[0]);
  await reaches(replica, 'ready');
  assert.equal(supervisor.status(d).status, 'ACTIVE');
});

test('the supervisor runs as many replicas as its policy says, and drains the extra ones', {
  timeout: 60_000,
}, async (t) => {
  const policy = new SetPolicy(1);
  const { supervisor, push } = supervisorFor(t, { replicaCount: policy });
  const d = await push();
  assert.deepEqual(policy.changes, ['deployment-added', 'deployment-changed']);
  assert.equal(supervisor.replicas(d.id).length, 1);

  policy.set(2, d.id);
  const [a, b] = supervisor.replicas(d.id);
  assert.ok(b);
  await Promise.all([reaches(a, 'ready'), reaches(b, 'ready')]);
  const busy = supervisor.tryAcquire(d, 'sync')!;
  assert.deepEqual(policy.host!.load(d.id), {
    inflight: 1,
    parked: 0,
    parkedAsync: 0,
    replicas: 2,
    ready: 2,
    starting: 0,
    served: 1,
  });
  const answer = busy.pool!.request({ path: '/predict', method: 'POST', body: '{"sleep_ms": 200}' });

  policy.set(0, d.id);
  assert.deepEqual([a.state, b.state], ['stopping', 'stopping']);
  const idle = busy === a ? b : a;
  await reaches(idle, 'exited');
  assert.equal((await answer).statusCode, 200);
  assert.equal(busy.state, 'stopping', 'a replica with a request in flight waits for its release');
  const exit = once(busy, 'exit');
  supervisor.release(d.id, busy);
  await exit;
  assert.deepEqual(supervisor.replicas(d.id), []);
  assert.equal(supervisor.status(d).status, 'SCALED_TO_ZERO', 'a drained replica is not restarted');
});

test('a request to a deployment that runs nothing wakes it through the policy, which decides', {
  timeout: 60_000,
}, async (t) => {
  const policy = new SetPolicy(0);
  const { supervisor, push } = supervisorFor(t, { replicaCount: policy });
  const d = await push();
  assert.equal(supervisor.tryAcquire(d, 'sync'), undefined);
  assert.deepEqual(policy.woken, [d.id]);
  assert.deepEqual(supervisor.replicas(d.id), [], 'the policy said 0, so nothing starts');

  policy.onWake = () => (policy.count = 1);
  const parked = supervisor.acquire(d, 'sync', AbortSignal.timeout(50_000));
  assert.equal(supervisor.replicas(d.id).length, 1);
  const replica = await parked;
  assert.equal(replica, supervisor.replicas(d.id)[0]);
  supervisor.release(d.id, replica);
});
