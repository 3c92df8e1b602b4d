import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { call, fixture, startGirder } from './helpers.ts';
import { waitFor } from './wait.ts';

// Two failed starts in a row and a deployment stops trying.
const girder = await startGirder({ after }, { maxFailedStarts: 2 });
const api = (path: string, method = 'GET') => call(`${girder.url}/api/v1${path}`, { method, headers: girder.auth });

/** How often Girder started a replica of the deployment, and how often it stopped trying. */
async function attempts(deploymentId: string): Promise<{ starts: number; stops: number }> {
  const notes = (await girder.g.logs.recent(deploymentId, 1000)).filter((l) => l.stream === 'girder');
  return {
    starts: notes.filter((l) => l.msg.startsWith('starting ')).length,
    stops: notes.filter((l) => l.msg.startsWith('not restarting after 2 failed starts')).length,
  };
}

/** Waits until the deployment has stopped trying `stops` times in all. */
async function stoppedTrying(deploymentId: string, stops: number): Promise<void> {
  await waitFor(async () => (await attempts(deploymentId)).stops === stops, 30_000, `stop number ${stops}`);
  assert.deepEqual(await attempts(deploymentId), { starts: 2 * stops, stops });
}

test('a deployment that cannot start stops trying: DEPLOY_FAILED, and 503 at once with the last error', async () => {
  const pushed = await girder.push(fixture('load-fails'));
  const { id } = pushed.deployment;
  const base = `/models/${pushed.model.id}/deployments/${id}`;
  await stoppedTrying(id, 1);
  assert.equal((await api(base)).json.status, 'DEPLOY_FAILED');

  const t0 = Date.now();
  const r = await call(`${girder.url}/model-${pushed.model.id}/production/predict`, {
    headers: girder.auth,
    body: '{}',
  });
  // At once, not after another attempt (its backoff alone would be 1 s, then a whole start).
  assert.ok(Date.now() - t0 < 1_500, `answered at once (${Date.now() - t0} ms)`);
  assert.equal(r.status, 503, r.text);
  assert.equal(r.json.error_code, 'model_unavailable');
  assert.equal(r.headers['x-girder-error-reason'], 'replica_cannot_start');
  assert.match(r.json.detail, /weights not found/, "the replica's last output");
  assert.match(r.json.detail, /exit code 1/, 'and its exit');

  // Longer than the next backoff would have been (1 s): nothing more was tried.
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  assert.deepEqual(await attempts(id), { starts: 2, stops: 1 });

  // A wake tries again, and so does an activate.
  const wake = await call(`${girder.url}/model-${pushed.model.id}/production/wake`, { headers: girder.auth });
  assert.equal(wake.status, 202);
  await stoppedTrying(id, 2);
  assert.equal((await api(`${base}/activate`, 'POST')).status, 200);
  await stoppedTrying(id, 3);
  assert.equal((await api(base)).json.status, 'DEPLOY_FAILED');
});

test('a development push of a deployment that stopped trying tries again', async () => {
  const first = await girder.push(fixture('load-fails'), { development: 'true', name: 'dev-fails' });
  await stoppedTrying(first.deployment.id, 1);
  const again = await girder.push(fixture('load-fails'), { development: 'true', name: 'dev-fails' });
  assert.equal(again.deployment.id, first.deployment.id, 'the same development deployment, new files');
  await stoppedTrying(first.deployment.id, 2);
});

test('a new deployment pushed to production starts with its own tries', async () => {
  const first = await girder.push(fixture('load-fails'), { name: 'prod-fails' });
  await stoppedTrying(first.deployment.id, 1);
  const second = await girder.push(fixture('load-fails'), { name: 'prod-fails', promote: 'true' });
  await stoppedTrying(second.deployment.id, 1);
  assert.deepEqual(await attempts(first.deployment.id), { starts: 2, stops: 1 }, 'the old one stays stopped');
});
