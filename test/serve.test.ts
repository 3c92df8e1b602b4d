import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT, call, example, fixture, pushDir } from './helpers.ts';
import { tempDir } from './temp-dir.ts';
import { waitFor } from './wait.ts';
import { alive, predictOk, serve } from './process.ts';

test('the first start creates an admin key, prints it once and saves it with mode 0600', async (t) => {
  const dir = tempDir(t);
  const first = await serve(t, dir);
  const file = join(dir, 'admin-key');
  assert.ok(existsSync(file));
  assert.equal(statSync(file).mode & 0o777, 0o600);
  const key = readFileSync(file, 'utf8').trim();
  assert.ok(first.output().includes(key), 'the key is printed');
  const models = await call(`${first.url}/api/v1/models`, {
    method: 'GET',
    headers: { authorization: `Api-Key ${key}` },
  });
  assert.equal(models.status, 200);
  first.child.kill('SIGTERM');
  assert.equal(await first.exited, 0);
  const second = await serve(t, dir);
  assert.ok(!second.output().includes(key), 'a later start does not print it again');
  second.child.kill('SIGTERM');
  await second.exited;
});

test('GIRDER_API_KEY is registered as an admin key and no key file is written', async (t) => {
  const dir = tempDir(t);
  const s = await serve(t, dir, { GIRDER_API_KEY: 'my-own-admin-key-0123456789' });
  assert.ok(!existsSync(join(dir, 'admin-key')));
  const r = await call(`${s.url}/api/v1/api_keys`, {
    method: 'GET',
    headers: { authorization: 'Bearer my-own-admin-key-0123456789' },
  });
  assert.equal(r.status, 200);
  assert.equal(r.json.keys[0].type, 'WORKSPACE_MANAGE_ALL');
  s.child.kill('SIGTERM');
  await s.exited;
});

test('a restart keeps models, deployments, environments, keys and secrets, and starts the replicas again', async (t) => {
  const dir = tempDir(t);
  const key = 'restart-admin-key-0123456789';
  const first = await serve(t, dir, { GIRDER_API_KEY: key });
  const auth = { authorization: `Api-Key ${key}` };
  const echo = await pushDir(first.url, key, example('custom-echo'));
  const staged = await pushDir(first.url, key, fixture('behaviours'), { environment: 'staging' });
  const invoke = await call(`${first.url}/api/v1/api_keys`, {
    headers: auth,
    body: JSON.stringify({ type: 'WORKSPACE_INVOKE', name: 'ci' }),
  });
  await call(`${first.url}/api/v1/secrets`, {
    headers: auth,
    body: JSON.stringify({ name: 'greeting_secret', value: 's3cret' }),
  });
  await predictOk(first.url, key, `/model-${echo.model.id}/production/predict`, { before: 'restart' });
  first.child.kill('SIGTERM');
  assert.equal(await first.exited, 0);

  const second = await serve(t, dir, { GIRDER_API_KEY: key }); // stopped (SIGTERM) after the test
  const models = await call(`${second.url}/api/v1/models`, { method: 'GET', headers: auth });
  assert.deepEqual(models.json.models.map((m: { id: string }) => m.id).sort(), [echo.model.id, staged.model.id].sort());
  const envs = await call(`${second.url}/api/v1/models/${staged.model.id}/environments`, {
    method: 'GET',
    headers: auth,
  });
  assert.equal(envs.json.environments[0].name, 'staging');
  assert.equal(envs.json.environments[0].current_deployment.id, staged.deployment.id);
  const keys = await call(`${second.url}/api/v1/api_keys`, { method: 'GET', headers: auth });
  assert.ok(keys.json.keys.some((k: { name: string }) => k.name === 'ci'));
  const secrets = await call(`${second.url}/api/v1/secrets`, { method: 'GET', headers: auth });
  assert.deepEqual(
    secrets.json.secrets.map((s: { name: string }) => s.name),
    ['greeting_secret'],
  );
  // The replicas run again, and the invoke key made before the restart still works.
  assert.deepEqual(
    await predictOk(second.url, key, `/model-${echo.model.id}/production/predict`, { after: 'restart' }),
    { after: 'restart' },
  );
  const secret = await predictOk(
    second.url,
    invoke.json.api_key,
    `/model-${staged.model.id}/environments/staging/predict`,
    { secret: 'greeting_secret' },
  );
  assert.equal(secret.value, 's3cret');
});

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  test(`${signal} stops every replica process, leaving no orphans`, async (t) => {
    const dir = tempDir(t);
    const key = 'signal-admin-key-0123456789';
    const s = await serve(t, dir, { GIRDER_API_KEY: key });
    const node = await pushDir(s.url, key, fixture('behaviours'));
    const custom = await pushDir(s.url, key, fixture('counter-server'));
    const pids = [
      (await predictOk(s.url, key, `/model-${node.model.id}/production/predict`, { pid: true })).pid,
      (await predictOk(s.url, key, `/model-${custom.model.id}/production/predict`, {})).pid,
    ];
    assert.ok(pids.every(alive));
    s.child.kill(signal);
    assert.equal(await s.exited, 0);
    for (const pid of pids) assert.equal(alive(pid), false, `replica ${pid} is gone`);
  });
}

test('after a kill -9 of Girder, runner replicas exit by themselves and the next start reaps custom servers', async (t) => {
  const dir = tempDir(t);
  const key = 'kill9-admin-key-0123456789';
  const first = await serve(t, dir, { GIRDER_API_KEY: key });
  const node = await pushDir(first.url, key, fixture('behaviours'));
  const custom = await pushDir(first.url, key, fixture('counter-server'));
  const nodePid = (await predictOk(first.url, key, `/model-${node.model.id}/production/predict`, { pid: true })).pid;
  const customPid = (await predictOk(first.url, key, `/model-${custom.model.id}/production/predict`, {})).pid;
  const record = join(dir, 'run', 'replicas.json');
  await waitFor(
    () => existsSync(record) && JSON.parse(readFileSync(record, 'utf8')).length === 2,
    10_000,
    'both replicas in the record',
  );
  first.child.kill('SIGKILL');
  await first.exited;
  await waitFor(() => !alive(nodePid), 10_000, 'the node runner to notice Girder is gone');
  assert.equal(alive(customPid), true, 'a custom server that ignores stdin outlives a SIGKILLed Girder…');
  await serve(t, dir, { GIRDER_API_KEY: key });
  await waitFor(() => !alive(customPid), 10_000, '…until the next start reaps it');
});

test('a port already in use ends girder serve with a message that says what to do', async (t) => {
  const first = await serve(t, tempDir(t), { GIRDER_API_KEY: 'port-admin-key-0123456789' });
  const port = new URL(first.url).port;
  const { spawnSync } = await import('node:child_process');
  const second = spawnSync(process.execPath, ['src/cli/main.ts', 'serve', '--port', port, '--data-dir', tempDir(t)], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 20_000,
  });
  assert.equal(second.status, 1);
  assert.match(second.stderr, /already in use.*--port/);
  first.child.kill('SIGTERM');
  await first.exited;
});
