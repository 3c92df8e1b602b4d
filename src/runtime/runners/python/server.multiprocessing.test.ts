// A Python model that uses multiprocessing, with each start method: its Pool works in load() and in
// predict(), and every process it started ends with the runner. Shared pieces: server.harness.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { waitFor } from '../../../../test/wait.ts';
import { JSON_HEADERS, startReady, WAIT_MS } from './server.harness.ts';

/** The live processes whose environment holds FIXTURE_MARK=mark: the runner and all it started. */
function processesMarked(mark: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // A zombie's environ reads empty, so an exited process never counts.
      const environ = readFileSync(`/proc/${entry}/environ`, 'latin1').split('\0');
      if (environ.includes(`FIXTURE_MARK=${mark}`)) pids.push(Number(entry));
    } catch {
      /* gone meanwhile, or not ours to read */
    }
  }
  return pids;
}

for (const method of ['fork', 'spawn', 'forkserver']) {
  test(`a multiprocessing.Pool (${method}) works in load() and predict(), and its processes end with the runner`, async () => {
    const mark = randomUUID();
    const runner = await startReady('multiprocessing-pool', {
      env: { FIXTURE_START_METHOD: method, FIXTURE_MARK: mark },
    });
    const response = await fetch(`${runner.url}/v1/models/model:predict`, {
      method: 'POST',
      headers: JSON_HEADERS,
      body: JSON.stringify({ numbers: [1, 2, 3] }),
      signal: AbortSignal.timeout(WAIT_MS),
    });
    assert.equal(response.status, 200);
    assert.deepEqual(await response.json(), {
      start_method: method,
      load: [0, 1, 4, 9],
      predict: [1, 4, 9],
      kept: [25],
      helper: -7,
    });
    assert.ok(processesMarked(mark).length >= 4, 'the runner, the pool kept from load() and the helper');

    runner.child.stdin!.end(); // as when Girder dies
    assert.deepEqual(await runner.exited, { code: 0, signal: null });
    await waitFor(() => processesMarked(mark).length === 0, WAIT_MS, "the model's processes to end");
  });
}

test("SIGTERM, as Girder stops a replica, ends the model's processes too", async () => {
  const mark = randomUUID();
  const runner = await startReady('multiprocessing-pool', {
    env: { FIXTURE_START_METHOD: 'fork', FIXTURE_MARK: mark },
  });
  assert.ok(processesMarked(mark).length >= 4, 'the runner, the pool kept from load() and the helper');
  runner.child.kill('SIGTERM'); // the runner alone: its children must not need the group signal
  assert.deepEqual(await runner.exited, { code: 0, signal: null });
  await waitFor(() => processesMarked(mark).length === 0, WAIT_MS, "the model's processes to end");
});
