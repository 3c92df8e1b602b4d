// The python runner's life cycle: readiness while load() runs and after, the Model(...) arguments,
// a load() that fails, and how the process ends. Shared pieces: server.harness.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { request } from 'undici';
import { waitFor } from '../../../../test/wait.ts';
import { predict, spawnRunner, startReady, startRunner, tempDir, WAIT_MS } from './server.harness.ts';

test('readiness is 503 while load() runs, then 200 {}', async () => {
  const dir = await tempDir();
  const gate = path.join(dir, 'gate');
  const runner = await startRunner('slow-load', { env: { FIXTURE_GATE: gate, FIXTURE_SICK: path.join(dir, 'sick') } });

  const before = await fetch(`${runner.url}/v1/models/model`);
  assert.equal(before.status, 503);
  assert.deepEqual(await before.json(), { error: 'Model with name model is not ready.' });
  assert.equal((await fetch(`${runner.url}/v1/models/model/loaded`)).status, 503);
  const live = await fetch(`${runner.url}/`);
  assert.equal(live.status, 200);
  assert.equal(await live.json(), true);
  const early = await predict(runner, {});
  assert.equal(early.status, 503);
  await early.body?.cancel();

  await writeFile(gate, '');
  const ready = await waitFor(
    async () => {
      const response = await fetch(`${runner.url}/v1/models/model`);
      if (response.status === 200) return response;
      await response.body?.cancel();
      return undefined;
    },
    WAIT_MS,
    'readiness',
  );
  assert.deepEqual(await ready.json(), {});
  const loaded = await fetch(`${runner.url}/v1/models/model/loaded`);
  assert.equal(loaded.status, 200);
  assert.deepEqual(await loaded.json(), {});
});

test('readiness follows is_healthy() once loaded', async () => {
  const dir = await tempDir();
  const gate = path.join(dir, 'gate');
  const sick = path.join(dir, 'sick');
  await writeFile(gate, '');
  const runner = await startReady('slow-load', { env: { FIXTURE_GATE: gate, FIXTURE_SICK: sick } });

  await writeFile(sick, '');
  const unhealthy = await fetch(`${runner.url}/v1/models/model`);
  assert.equal(unhealthy.status, 503);
  assert.deepEqual(await unhealthy.json(), { error: 'Model with name model is not ready.' });
  await waitFor(() => runner.stderr().includes('Health check failed.'), WAIT_MS, 'the health check failure log');

  await rm(sick);
  assert.equal((await fetch(`${runner.url}/v1/models/model`)).status, 200);
});

test('a Truss model taking **kwargs gets config, data_dir, secrets, environment and lazy_data_resolver', async () => {
  const runner = await startReady('truss-kwargs', {
    config: {
      model_metadata: { owner: 'fixtures' },
      environment_variables: { GREETING_STYLE: 'warm' },
      secrets: { api_token: null, not_set_anywhere: null },
    },
    secrets: { api_token: 's3cr3t' },
    environment: { name: 'production' },
  });
  const response = await predict(runner, {});
  assert.equal(response.status, 200);
  assert.deepEqual(await response.json(), {
    kwargs: ['config', 'data_dir', 'environment', 'lazy_data_resolver', 'secrets'],
    model_name: 'truss-kwargs',
    owner: 'fixtures',
    data_dir_is_path: true,
    greeting: 'hello from data_dir',
    api_token: 's3cr3t',
    get_missing: 'default',
    missing_secret_error: "Secret 'not_set_anywhere' is not set. Set it with `girder secrets set not_set_anywhere`.",
    environment: { name: 'production' },
    env_var: 'warm',
  });
});

test('Model.__init__ gets only the keyword arguments it declares', async () => {
  const runner = await startReady('explicit-init');
  const response = await predict(runner, {});
  assert.equal(response.status, 200);
  assert.deepEqual(await response.json(), { model_name: 'explicit-init' });
});

test('a load() that raises exits the process with status 1', async () => {
  const runner = await spawnRunner('load-fails');
  const { code } = await runner.exited;
  assert.equal(code, 1);
  assert.match(runner.stderr(), /Traceback[\s\S]*RuntimeError: weights are missing/);
});

test('SIGTERM exits promptly with status 0', async () => {
  const runner = await startReady('pipeline');
  runner.child.kill('SIGTERM');
  assert.deepEqual(await runner.exited, { code: 0, signal: null });
});

test('the runner exits when its stdin closes, as when Girder dies', async () => {
  const runner = await startReady('pipeline');
  runner.child.stdin!.end();
  assert.deepEqual(await runner.exited, { code: 0, signal: null });
});

test('setup_environment() runs before load(), enable_debug_logs shows debug lines, and the request is starlette-like', async () => {
  const runner = await startReady('truss-extras', {
    config: { runtime: { enable_debug_logs: true } },
    environment: { name: 'staging' },
  });
  assert.match(runner.stdout(), /a debug line from load\(\)/);
  const response = await request(`${runner.url}/v1/models/model:predict?q=1`, {
    method: 'POST',
    headers: ['content-type', 'application/json', 'x-baseten-twice', 'a', 'X-Baseten-Twice', 'b'],
    body: '{}',
  });
  assert.equal(response.statusCode, 200);
  const answer = (await response.body.json()) as Record<string, unknown>;
  assert.match(String(answer.url), /^http:\/\/127\.0\.0\.1:\d+\/v1\/models\/model:predict\?q=1$/);
  delete answer.url;
  assert.deepEqual(answer, {
    environment_seen: { name: 'staging' },
    resolved: '',
    first: 'a',
    all: ['a', 'b'],
    has_lower: true,
    query: { q: '1' },
    path: '/v1/models/model:predict',
  });
});

test('without enable_debug_logs, debug lines stay out, and setup_environment waits for an environment', async () => {
  const runner = await startReady('truss-extras');
  assert.doesNotMatch(runner.stdout(), /a debug line/);
  const response = await predict(runner, {}, { 'x-baseten-twice': 'x' });
  assert.equal(((await response.json()) as { environment_seen: unknown }).environment_seen, null);
});
