import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { call, example, modelCopy, startGirder } from './helpers.ts';
import { tempDir } from './temp-dir.ts';
import { waitFor } from './wait.ts';

// In this process, so that /proc/self/fd shows the files the Girder holds open.
const girder = await startGirder({ after });
const dataDir = girder.g.options.dataDir;
const api = (path: string, method = 'GET', body?: unknown) =>
  call(`${girder.url}/api/v1${path}`, {
    method,
    headers: girder.auth,
    body: body === undefined ? undefined : JSON.stringify(body),
  });

/** Files this process holds open under `dir`. */
function openUnder(dir: string): string[] {
  const held: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const target = readlinkSync(`/proc/self/fd/${fd}`);
      if (target.startsWith(dir)) held.push(target);
    } catch {
      /* closed while we looked */
    }
  }
  return held;
}

/** What a deployment keeps on disk besides its snapshot: its log files and its run folder. */
const leftovers = (deploymentId: string): string[] => [
  ...readdirSync(join(dataDir, 'logs')).filter((f) => f.startsWith(deploymentId)),
  ...(existsSync(join(dataDir, 'run', deploymentId)) ? [`run/${deploymentId}`] : []),
];

/** A hello-ts model that names the secret `token` in its config. */
const withSecret = (name: string) =>
  modelCopy({ after }, example('hello-ts'), { model_name: name, secrets: { token: '' } });

test('deleting a model closes and removes its logs and run folder', async () => {
  assert.equal((await api('/secrets', 'POST', { name: 'token', value: 'cycle-secret' })).status, 200);
  const dir = withSecret('cycle');
  for (let i = 0; i < 5; i++) {
    const m = await girder.deploy(dir);
    const id = m.deployment.id;
    assert.equal(readFileSync(join(dataDir, 'run', id, 'secrets', 'token'), 'utf8'), 'cycle-secret');
    await waitFor(() => openUnder(join(dataDir, 'logs', id)).length > 0, 5_000, 'its log file to be open');
    const r = await api(`/models/${m.model.id}`, 'DELETE');
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(leftovers(id), [], 'the DELETE answers once its files are gone');
  }
  assert.deepEqual(openUnder(join(dataDir, 'logs')), [], 'no log file is left open');
  await api('/secrets/token', 'DELETE');
});

test('deleting a deployment removes its logs and run folder, and keeps the model', async () => {
  await api('/secrets', 'POST', { name: 'token', value: 'dep-secret' });
  const dir = withSecret('two-deployments');
  const first = await girder.deploy(dir);
  const second = await girder.push(dir);
  // Not serving: started by a wake, so that it has logs and a run folder.
  await call(`${girder.url}/model-${second.model.id}/deployment/${second.deployment.id}/wake`, {
    headers: girder.auth,
  });
  await waitFor(() => leftovers(second.deployment.id).length === 2, 10_000, 'its logs and run folder');
  const follow = await fetch(
    `${girder.url}/api/v1/models/${second.model.id}/deployments/${second.deployment.id}/logs?follow=true`,
    { headers: girder.auth, signal: AbortSignal.timeout(10_000) },
  );
  const r = await api(`/models/${second.model.id}/deployments/${second.deployment.id}`, 'DELETE');
  assert.equal(r.status, 200, r.text);
  assert.match(await follow.text(), /starting/, 'a follower gets the lines, then the end of the stream');
  assert.deepEqual(leftovers(second.deployment.id), []);
  assert.deepEqual(openUnder(join(dataDir, 'logs', second.deployment.id)), []);
  assert.equal(leftovers(first.deployment.id).length, 2, 'the other deployment keeps its own');
  await api(`/models/${first.model.id}`, 'DELETE');
  await api('/secrets/token', 'DELETE');
});

test("a secret's copies follow it: an update leaves no old value, a delete leaves no copy", async () => {
  await api('/secrets', 'POST', { name: 'token', value: 'old-value' });
  const running = await girder.deploy(withSecret('running'));
  const stopped = await girder.deploy(withSecret('stopped'));
  const copy = (d: { deployment: { id: string } }) => join(dataDir, 'run', d.deployment.id, 'secrets', 'token');
  assert.equal(readFileSync(copy(stopped), 'utf8'), 'old-value');
  await api(`/models/${stopped.model.id}/deployments/${stopped.deployment.id}/deactivate`, 'POST');
  await waitFor(() => girder.g.supervisor.replicas(stopped.deployment.id).length === 0, 10_000, 'it to stop');

  // Each answer comes once the copies are in line with it.
  await api('/secrets', 'POST', { name: 'token', value: 'new-value' });
  for (const d of [running, stopped])
    assert.ok(!existsSync(copy(d)) || readFileSync(copy(d), 'utf8') !== 'old-value', 'no copy of the old value');
  assert.equal(readFileSync(copy(running), 'utf8'), 'new-value', 'a running replica reads the new value');

  await api('/secrets/token', 'DELETE');
  const everywhere = readdirSync(join(dataDir, 'run'), { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .filter((e) => existsSync(join(dataDir, 'run', e.name, 'secrets', 'token')));
  assert.deepEqual(everywhere, []);
});

test('a start removes the logs and run folders of deployments that no longer exist', async (t) => {
  const dir = tempDir(t);
  mkdirSync(join(dir, 'run', 'gone123', 'secrets'), { recursive: true });
  writeFileSync(join(dir, 'run', 'gone123', 'secrets', 'token'), 'left-behind');
  mkdirSync(join(dir, 'logs'));
  for (const f of ['gone123.jsonl', 'gone123.jsonl.1']) writeFileSync(join(dir, 'logs', f), '{}\n');
  const own = await startGirder(t, { dataDir: dir });
  await waitFor(
    () => !existsSync(join(dir, 'run', 'gone123')) && readdirSync(join(dir, 'logs')).length === 0,
    5_000,
    'the leftovers to be removed',
  );
  assert.equal(own.g.registry.deployments.size, 0);
});
