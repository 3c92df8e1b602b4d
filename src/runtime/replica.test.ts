import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseModelConfig } from '../control/packaging/config.ts';
import { LogBook } from './logs.ts';
import { Replica, type ReplicaState } from './replica.ts';
import { type LaunchSpec, launchSpec } from './runners/launch.ts';

/** A custom server that holds `POST /predict {"sleep_ms": N}` for N ms and answers with its pid. */
const COUNTER = fileURLToPath(new URL('../../test/fixtures/counter-server', import.meta.url));

/** A real replica of the counter server, killed when the test ends. */
function counterReplica(t: TestContext): Replica {
  const { config } = parseModelConfig(readFileSync(join(COUNTER, 'config.yaml'), 'utf8'));
  const logDir = mkdtempSync(join(tmpdir(), 'girder-replica-'));
  const logs = new LogBook(logDir);
  const replica = new Replica({
    deploymentId: 'dep1234',
    spec: launchSpec(COUNTER, config) as LaunchSpec,
    env: { PATH: `${dirname(process.execPath)}:/usr/bin:/bin` },
    capacity: 2,
    logs,
    startupTimeoutMs: 60_000,
    stopTrafficAfterMs: 0,
    restartAfterMs: 60_000,
    probeIntervalMs: 200,
  });
  t.after(async () => {
    replica.killNow();
    await logs.close();
    rmSync(logDir, { recursive: true, force: true });
  });
  return replica;
}

/** Resolves once the replica reaches `state`. */
function reaches(replica: Replica, state: ReplicaState): Promise<void> {
  if (replica.state === state) return Promise.resolve();
  return new Promise((resolve) => replica.on('state', (s) => s === state && resolve()));
}

/** Whether the process `pid` still runs. */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('a draining replica says so, finishes its request in flight, and stops once that request is released', {
  timeout: 60_000,
}, async (t) => {
  const replica = counterReplica(t);
  await replica.start();
  await reaches(replica, 'ready');
  replica.acquired();
  const answer = replica.pool!.request({ path: '/predict', method: 'POST', body: '{"sleep_ms": 300}' });
  const states: ReplicaState[] = [];
  replica.on('state', (s) => states.push(s));

  // Time stands still from here: a drain that polled would never notice the release, and the test
  // would time out. Only the release itself may end the wait.
  t.mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
  const drained = replica.drain(600_000);
  assert.deepEqual(states, ['stopping']);
  assert.equal(replica.routable, false);
  const res = await answer;
  assert.equal(res.statusCode, 200);
  assert.equal(typeof ((await res.body.json()) as { pid: number }).pid, 'number');
  assert.equal(replica.state, 'stopping');
  assert.ok(running(replica.pid!), 'the process runs until its request is released');

  replica.released();
  await drained;
  assert.deepEqual(states, ['stopping', 'exited']);
});

test('a draining replica whose request is never released is stopped after the grace period', {
  timeout: 60_000,
}, async (t) => {
  const replica = counterReplica(t);
  await replica.start();
  await reaches(replica, 'ready');
  replica.acquired();
  await replica.drain(100);
  assert.equal(replica.state, 'exited');
  assert.equal(replica.inflight, 1);
});

test('a replica with nothing in flight is stopped at once by a drain', { timeout: 60_000 }, async (t) => {
  const replica = counterReplica(t);
  await replica.start();
  await reaches(replica, 'ready');
  t.mock.timers.enable({ apis: ['setTimeout', 'setInterval'] });
  await replica.drain(600_000);
  assert.equal(replica.state, 'exited');
});
