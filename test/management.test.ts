import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { call, example, fixture, modelCopy, startGirder, type Running } from './helpers.ts';
import { waitFor } from './wait.ts';

const girder: Running = await startGirder({ after });
const api = (path: string, method = 'GET', body?: unknown) =>
  call(`${girder.url}/api/v1${path}`, {
    method,
    headers: girder.auth,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
const predict = (id: string, target: string, body: unknown) =>
  call(`${girder.url}/model-${id}/${target}/predict`, { headers: girder.auth, body: JSON.stringify(body) });

test("models and deployments are listed in Baseten's shapes", async () => {
  const pushed = await girder.deploy(modelCopy({ after }, example('hello-ts'), { model_name: 'shapes' }));
  const model = await api(`/models/${pushed.model.id}`);
  assert.deepEqual(Object.keys(model.json).sort(), [
    'created_at',
    'deployments_count',
    'development_deployment_id',
    'id',
    'instance_type_name',
    'name',
    'production_deployment_id',
    'team_name',
  ]);
  assert.equal(model.json.production_deployment_id, pushed.deployment.id);
  const list = await api('/models');
  assert.ok(list.json.models.some((m: { id: string }) => m.id === pushed.model.id));
  const dep = await api(`/models/${pushed.model.id}/deployments/production`);
  assert.equal(dep.json.id, pushed.deployment.id);
  assert.equal(dep.json.name, 'deployment-1');
  assert.equal(dep.json.status, 'ACTIVE');
  assert.equal(dep.json.is_production, true);
  assert.equal(dep.json.environment, 'production');
  assert.equal(dep.json.active_replica_count, 1);
  assert.equal(dep.json.autoscaling_settings.min_replica, 0);
});

test('a second push is deployment-2, stays out of production until promoted, then takes it over', async () => {
  const dir = modelCopy({ after }, fixture('behaviours'), { model_name: 'promotions' });
  const first = await girder.deploy(dir);
  const second = await girder.push(dir);
  assert.equal(second.deployment.name, 'deployment-2');
  assert.equal(second.deployment.environment, null);
  assert.equal(
    (await predict(first.model.id, 'production', {})).headers['x-baseten-model-version-id'],
    first.deployment.id,
  );
  const promoted = await api(`/models/${first.model.id}/deployments/${second.deployment.id}/promote`, 'POST', {});
  assert.equal(promoted.json.id, second.deployment.id);
  assert.equal(promoted.json.environment, 'production');
  const r = await predict(first.model.id, 'production', {});
  assert.equal(r.status, 200, r.text);
  assert.equal(r.headers['x-baseten-model-version-id'], second.deployment.id);
  const old = await api(`/models/${first.model.id}/deployments/${first.deployment.id}`);
  assert.equal(old.json.environment, null);
  // The old deployment scales to zero, and still answers by id (starting a replica on demand).
  await waitFor(
    async () =>
      (await api(`/models/${first.model.id}/deployments/${first.deployment.id}`)).json.status === 'SCALED_TO_ZERO',
    40_000,
    'the old deployment to scale to zero',
  );
  assert.equal((await predict(first.model.id, `deployment/${first.deployment.id}`, {})).status, 200);
});

test('push --promote sends the new deployment straight to production', async () => {
  const dir = modelCopy({ after }, fixture('behaviours'), { model_name: 'push-promote' });
  await girder.deploy(dir);
  const second = await girder.push(dir, { promote: 'true' });
  assert.equal(second.deployment.environment, 'production');
});

test('environments are created, listed and promoted to', async () => {
  const pushed = await girder.deploy(modelCopy({ after }, fixture('behaviours'), { model_name: 'envs' }));
  const created = await api(`/models/${pushed.model.id}/environments`, 'POST', { name: 'canary' });
  assert.equal(created.status, 200, created.text);
  assert.equal(created.json.current_deployment, null);
  assert.equal((await api(`/models/${pushed.model.id}/environments`, 'POST', { name: 'canary' })).status, 400);
  // The deployment already serves production: promoting it to canary copies it (new id, same files), as Baseten does.
  const promoted = await api(`/models/${pushed.model.id}/environments/canary/promote`, 'POST', {
    deployment_id: pushed.deployment.id,
  });
  assert.notEqual(promoted.json.id, pushed.deployment.id);
  assert.equal(promoted.json.environment, 'canary');
  const env = await api(`/models/${pushed.model.id}/environments/canary`);
  assert.equal(env.json.current_deployment.id, promoted.json.id);
  const r = await predict(pushed.model.id, 'environments/canary', { environment: true });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.environment, { name: 'canary' }, 'the model knows the environment it serves');
  const names = (await api(`/models/${pushed.model.id}/environments`)).json.environments
    .map((e: { name: string }) => e.name)
    .sort();
  assert.deepEqual(names, ['canary', 'production']);
});

test('autoscaling settings are validated and applied', async () => {
  const pushed = await girder.deploy(modelCopy({ after }, fixture('counter-server'), { model_name: 'scaled' }));
  const path = `/models/${pushed.model.id}/deployments/${pushed.deployment.id}/autoscaling_settings`;
  assert.equal((await api(path, 'PATCH', { min_replica: 2, max_replica: 2 })).json.status, 'ACCEPTED');
  assert.equal((await api(path, 'PATCH', { min_replica: 2 })).json.status, 'UNCHANGED');
  assert.equal((await api(path, 'PATCH', { max_scale_down_rate: 90 })).status, 400);
  assert.equal((await api(path, 'PATCH', { bogus: 1 })).status, 400);
  await waitFor(
    async () =>
      (await api(`/models/${pushed.model.id}/deployments/${pushed.deployment.id}`)).json.active_replica_count === 2,
    20_000,
    'two replicas',
  );
});

test('target_in_flight_tokens is null by default, and a PATCH stores it and shows it in autoscaling_settings', async () => {
  const pushed = await girder.push(modelCopy({ after }, fixture('behaviours'), { model_name: 'token-scaled' }));
  const dep = `/models/${pushed.model.id}/deployments/${pushed.deployment.id}`;
  assert.equal((await api(dep)).json.autoscaling_settings.target_in_flight_tokens, null);
  const patched = await api(`${dep}/autoscaling_settings`, 'PATCH', { target_in_flight_tokens: 4000 });
  assert.equal(patched.json.status, 'ACCEPTED', patched.text);
  assert.equal((await api(dep)).json.autoscaling_settings.target_in_flight_tokens, 4000);
  assert.equal(girder.g.registry.deployments.get(pushed.deployment.id)?.autoscaling.target_in_flight_tokens, 4000);
  const again = await api(`${dep}/autoscaling_settings`, 'PATCH', { target_in_flight_tokens: 4000 });
  assert.equal(again.json.status, 'UNCHANGED');
  assert.equal((await api(`${dep}/autoscaling_settings`, 'PATCH', { target_in_flight_tokens: 0 })).status, 400);
});

test("deployments that serve an environment, or are a model's only one, cannot be deleted; others can", async () => {
  const dir = modelCopy({ after }, fixture('behaviours'), { model_name: 'deletions' });
  const first = await girder.deploy(dir);
  assert.equal((await api(`/models/${first.model.id}/deployments/${first.deployment.id}`, 'DELETE')).status, 400);
  const second = await girder.push(dir);
  const deleted = await api(`/models/${first.model.id}/deployments/${second.deployment.id}`, 'DELETE');
  assert.deepEqual(deleted.json, { id: second.deployment.id, deleted: true, model_id: first.model.id });
  assert.equal((await predict(first.model.id, `deployment/${second.deployment.id}`, {})).status, 404);
  assert.deepEqual((await api(`/models/${first.model.id}`, 'DELETE')).json, { id: first.model.id, deleted: true });
  assert.equal((await predict(first.model.id, 'production', {})).status, 404);
});

test('API keys: created once, listed without secrets, revoked for good', async () => {
  const created = await api('/api_keys', 'POST', { name: 'ci-bot', type: 'WORKSPACE_INVOKE' });
  const key: string = created.json.api_key;
  const prefix = key.split('.')[0];
  const listed = await api('/api_keys');
  const entry = listed.json.keys.find((k: { prefix: string }) => k.prefix === prefix);
  assert.deepEqual(
    { name: entry.name, type: entry.type, model_ids: entry.model_ids },
    { name: 'ci-bot', type: 'WORKSPACE_INVOKE', model_ids: null },
  );
  assert.ok(!listed.text.includes(key.split('.')[1]), 'the secret part never comes back');
  assert.deepEqual((await api(`/api_keys/${prefix}`, 'DELETE')).json, { prefix });
  const after2 = await call(`${girder.url}/api/v1/models`, {
    method: 'GET',
    headers: { authorization: `Api-Key ${key}` },
  });
  assert.equal(after2.status, 401);
});

test('secrets: values reach the model and never come back out of the API', async () => {
  const put = await api('/secrets', 'POST', { name: 'greeting_secret', value: 'open sesame' });
  assert.equal(put.json.name, 'greeting_secret');
  assert.ok(!put.text.includes('open sesame'));
  const listed = await api('/secrets');
  assert.ok(!listed.text.includes('open sesame'));
  const pushed = await girder.deploy(modelCopy({ after }, fixture('behaviours'), { model_name: 'secretive' }));
  assert.equal((await predict(pushed.model.id, 'production', { secret: 'greeting_secret' })).json.value, 'open sesame');
  assert.equal(
    (await predict(pushed.model.id, 'production', { env: 'FIXTURE_FLAVOUR' })).json.value,
    'vanilla',
    'environment_variables reach the replica',
  );
  assert.equal(
    (await predict(pushed.model.id, 'production', { env: 'GIRDER_API_KEY' })).json.value,
    null,
    "Girder's own key does not",
  );
  assert.deepEqual((await api('/secrets/greeting_secret', 'DELETE')).json, { name: 'greeting_secret' });
  assert.equal((await api('/secrets/greeting_secret', 'DELETE')).status, 404);
});

test('a bad config.yaml is refused with the key, the line and the reason, and nothing is deployed', async () => {
  const dir = modelCopy({ after }, fixture('behaviours'), { model_name: 'broken-config' });
  writeFileSync(join(dir, 'config.yaml'), 'model_name: broken-config\nruntime:\n  predict_concurrency: two\n');
  await assert.rejects(girder.push(dir), /config\.yaml:3: runtime\.predict_concurrency/);
  assert.ok(!(await api('/models')).json.models.some((m: { name: string }) => m.name === 'broken-config'));
});

test('a directory without a model file is refused', async () => {
  const dir = modelCopy({ after }, fixture('behaviours'), { model_name: 'no-model', model_module_dir: 'nowhere' });
  await assert.rejects(girder.push(dir), /No model file found/);
});

test('log lines carry the request id of the request that printed them', async () => {
  const pushed = await girder.deploy(modelCopy({ after }, fixture('behaviours'), { model_name: 'logged' }));
  const r = await predict(pushed.model.id, 'production', { log: 'hello from predict' });
  const id = r.headers['x-baseten-request-id'];
  const logs = await call(
    `${girder.url}/api/v1/models/${pushed.model.id}/deployments/${pushed.deployment.id}/logs?limit=50`,
    { method: 'GET', headers: girder.auth },
  );
  const lines = logs.text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  const line = lines.find((l) => l.msg === 'hello from predict');
  assert.equal(line.request_id, id);
  assert.equal(line.deployment_id, pushed.deployment.id);
});

test("a model's traceback names its files where they were pushed from, not the snapshot", async () => {
  const dir = modelCopy({ after }, fixture('behaviours'), { model_name: 'traced' });
  const pushed = await girder.deploy(dir, { source: '/home/ada/traced' });
  const snapshot = girder.g.registry.deployments.get(pushed.deployment.id)!.dir;
  const r = await predict(pushed.model.id, 'production', { raise: 'boom' });
  assert.equal(r.status, 500);
  const logsUrl = `${girder.url}/api/v1/models/${pushed.model.id}/deployments/${pushed.deployment.id}/logs?limit=200`;
  let text = '';
  await waitFor(
    async () => (text = (await call(logsUrl, { method: 'GET', headers: girder.auth })).text).includes('boom'),
    10_000,
    'the traceback in the logs',
  );
  assert.match(text, /\/home\/ada\/traced\/model\/model\.ts/, 'the traceback names the pushed file');
  assert.ok(!text.includes(snapshot), `no line names the snapshot ${snapshot}`);
});

test('a development push replaces the development deployment in place and restarts it on the new code', async () => {
  const dir = modelCopy({ after }, fixture('behaviours'), {
    model_name: 'dev-loop',
    environment_variables: { FIXTURE_FLAVOUR: 'first' },
  });
  const first = await girder.deploy(dir, { development: 'true' });
  assert.equal((await predict(first.model.id, 'development', { env: 'FIXTURE_FLAVOUR' })).json.value, 'first');
  writeFileSync(join(dir, 'config.yaml'), 'model_name: dev-loop\nenvironment_variables:\n  FIXTURE_FLAVOUR: second\n');
  const second = await girder.push(dir, { development: 'true' });
  assert.equal(second.deployment.id, first.deployment.id, 'the same development deployment');
  await waitFor(
    async () => (await predict(first.model.id, 'development', { env: 'FIXTURE_FLAVOUR' })).json?.value === 'second',
    20_000,
    'the new code to serve',
  );
});
