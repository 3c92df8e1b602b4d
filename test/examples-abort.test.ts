// Every example in examples/ survives a client that aborts its upload mid-body: examples are what
// users copy, and one that crashes takes the requests it was serving down with it (502s).
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:net';
import { after, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { call, example, ROOT, startGirder } from './helpers.ts';
import { waitFor } from './wait.ts';

const girder = await startGirder({ after });
const port = Number(new URL(girder.url).port);
const EXAMPLES = readdirSync(join(ROOT, 'examples')).filter((n) => existsSync(join(example(n), 'config.yaml')));

/**
 * Sends the head and 200 KB of a 1 MB predict body, waits until Girder is calling the replica with
 * it (the body streams on, as it is over 64 KiB), then drops the connection.
 */
async function abortedUpload(path: string, replica: { inflight: number }): Promise<void> {
  const socket = connect({ port, host: '127.0.0.1' });
  socket.on('error', () => {});
  await once(socket, 'connect');
  socket.write(
    `POST ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Api-Key ${girder.key}\r\n` +
      'Content-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{"name":"',
  );
  socket.write('a'.repeat(200_000));
  await waitFor(() => replica.inflight > 0, 10_000, 'the upload to reach the replica');
  await sleep(100); // the replica is reading the body now
  socket.destroy();
  await waitFor(() => replica.inflight === 0, 10_000, 'the aborted call to end');
}

for (const name of EXAMPLES) {
  test(`${name} serves on after an upload aborted mid-body, in the same process`, { timeout: 60_000 }, async () => {
    const pushed = await girder.deploy(example(name));
    const path = `/model-${pushed.model.id}/production/predict`;
    const [replica] = girder.g.supervisor.replicas(pushed.deployment.id);
    const pid = replica.pid;
    const predict = () => call(`${girder.url}${path}`, { headers: girder.auth, body: '{"name":"Ada","text":"a b"}' });

    // Other requests in flight at the same time must not fail with it.
    const [, ...during] = await Promise.all([abortedUpload(path, replica), ...Array.from({ length: 10 }, predict)]);
    for (const r of during) assert.equal(r.status, 200, `a request alongside the abort: ${r.text}`);
    await abortedUpload(path, replica);
    await sleep(200); // a crash would show by now
    const next = await predict();
    assert.equal(next.status, 200, next.text);
    const [now] = girder.g.supervisor.replicas(pushed.deployment.id);
    assert.equal(now.pid, pid, 'the replica process did not restart');
    assert.equal(now, replica);
  });
}
