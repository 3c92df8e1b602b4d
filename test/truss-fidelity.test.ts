// Truss models as people write them, pushed through Girder and called over HTTP: free-text names
// (and the CLI taking them), every Model.__init__ argument Truss passes, the request as predict's
// second argument (headers, and whether the client is still there), and a warning for each key
// Girder cannot honour here.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { request } from 'undici';
import { ok, runCli } from '../src/cli/run-cli.ts';
import { thisMachine } from '../src/control/packaging/machine.ts';
import { call, fixture, modelCopy, startGirder, type Running } from './helpers.ts';
import { waitFor } from './wait.ts';

const girder: Running = await startGirder({ after });
const cli = (args: string[]) => runCli(girder.url, girder.key, args);

/** The messages of a deployment's log lines, through the logs API. */
async function logMessages(modelId: string, deploymentId: string): Promise<string[]> {
  const r = await call(`${girder.url}/api/v1/models/${modelId}/deployments/${deploymentId}/logs?limit=500`, {
    method: 'GET',
    headers: girder.auth,
  });
  assert.equal(r.status, 200, r.text);
  return r.text
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => (JSON.parse(l) as { msg: string }).msg);
}

/** Starts a predict, waits until the model logs `started`, then aborts the client's request. */
async function abortOnce(modelId: string, deploymentId: string, body: unknown, started: string): Promise<void> {
  const controller = new AbortController();
  const pending = request(`${girder.url}/model-${modelId}/production/predict`, {
    method: 'POST',
    headers: { ...girder.auth, 'content-type': 'application/json', 'x-baseten-customer': 'acme' },
    body: JSON.stringify(body),
    signal: controller.signal,
  }).then(
    async (res) => {
      // A streamed answer's head comes first: read a little, then leave.
      for await (const _ of res.body) break;
    },
    () => {},
  );
  await waitFor(
    async () => (await logMessages(modelId, deploymentId)).some((m) => m.includes(started)),
    30_000,
    `the model to log "${started}"`,
  );
  controller.abort();
  await pending.catch(() => {});
}

test('a model named "My Model v2" is pushed, called, listed and its logs read by name with the CLI', async () => {
  const pushed = ok(await cli(['push', fixture('truss-named'), '--timeout', '60']));
  assert.match(pushed.stdout, /^model {7}[a-z0-9]{8} \(My Model v2\)$/m);
  const id = /^model {7}([a-z0-9]{8})/m.exec(pushed.stdout)![1];
  // The id is what URLs use; the name is shown.
  assert.match(pushed.stdout, new RegExp(`/model-${id}/production/predict`));

  const predicted = ok(await cli(['predict', 'My Model v2', '--data', '{"name":"Ada"}']));
  assert.deepEqual(JSON.parse(predicted.stdout), { greeting: 'Hello, Ada!' });
  // Typed with stray spaces, it is the same name.
  ok(await cli(['predict', '  My Model v2 ', '--data', '{"name":"Bo"}']));

  const listed = ok(await cli(['models', '--json']));
  const models = JSON.parse(listed.stdout) as { models: { id: string; name: string }[] };
  assert.ok(models.models.some((m) => m.id === id && m.name === 'My Model v2'));
  assert.match(ok(await cli(['models'])).stdout, /My Model v2/);

  await waitFor(
    async () => ok(await cli(['logs', 'My Model v2'])).stdout.includes('greeting Bo from My Model v2'),
    10_000,
    'the model line in `girder logs "My Model v2"`',
  );

  // The HTTP API says the same, under the id; /v1 knows the model by its name.
  const view = await call(`${girder.url}/api/v1/models/${id}`, { method: 'GET', headers: girder.auth });
  assert.equal(view.json.name, 'My Model v2');
  const v1 = await call(`${girder.url}/v1/models`, { method: 'GET', headers: girder.auth });
  assert.ok(
    (v1.json.data as { id: string }[]).some((m) => m.id === 'My Model v2'),
    v1.text,
  );
});

test('a model name with a line break, or an empty one, is refused with a 400 saying why', async () => {
  for (const [name, why] of [
    ['two\nlines', /control character or a line break/],
    ['   ', /empty/],
  ] as const) {
    await assert.rejects(girder.push(fixture('truss-named'), { name }), (err: Error) => {
      assert.match(err.message, /^push failed: 400 /);
      assert.match(err.message, why);
      return true;
    });
  }
});

test('Model(**kwargs) gets lazy_data_resolver, whose block_until_download_complete() answers at once', async () => {
  const m = await girder.deploy(fixture('truss-lazy-data'));
  const r = await call(`${girder.url}/model-${m.model.id}/production/predict`, { headers: girder.auth, body: '{}' });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, {
    kwargs: ['config', 'data_dir', 'environment', 'lazy_data_resolver', 'secrets'],
    resolved: '',
    weights: 'weights from the data dir',
  });
});

const requestModel = await girder.deploy(fixture('truss-request'));
const requestUrl = `${girder.url}/model-${requestModel.model.id}/production/predict`;

test('an explicit __init__(config, data_dir, secrets, environment) gets those, and predict the request', async () => {
  const r = await call(requestUrl, {
    headers: { ...girder.auth, 'content-type': 'application/json', 'X-Baseten-Customer': 'acme' },
    body: '{}',
  });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, {
    customer: 'acme',
    customer_any_case: 'acme',
    preprocess_saw: 'acme',
    postprocess_saw: 'acme',
    method: 'POST',
    path: '/v1/models/model:predict',
    disconnected: false,
    model_name: 'truss-request',
    data_dir_is_path: true,
    data_dir: 'data',
    secret: "Secret 'greeting_secret' is not set. Set it with `girder secrets set greeting_secret`.",
    environment: { name: 'production' },
  });
});

test('an async predict sees await request.is_disconnected() turn true once its client aborts', async () => {
  const { model, deployment } = requestModel;
  await abortOnce(model.id, deployment.id, { wait_for_disconnect: true }, 'waiting for the client to leave');
  await waitFor(
    async () => (await logMessages(model.id, deployment.id)).includes('saw the client leave'),
    10_000,
    'the model to see its client leave',
  );
  assert.ok(!(await logMessages(model.id, deployment.id)).includes('the client never left'));
});

test("sync code sees the client leave through Truss's request.state.watch_disconnect()", async () => {
  const { model, deployment } = requestModel;
  await abortOnce(model.id, deployment.id, { sync_wait_for_disconnect: true }, 'sync code waiting for the client');
  await waitFor(
    async () => (await logMessages(model.id, deployment.id)).includes('sync code saw the client leave'),
    10_000,
    'the sync preprocess to see its client leave',
  );
});

test('a streaming predict(model_input, request) reads headers and is closed when its client leaves', async () => {
  const m = await girder.deploy(fixture('truss-request-stream'));
  const controller = new AbortController();
  const res = await request(`${girder.url}/model-${m.model.id}/production/predict`, {
    method: 'POST',
    headers: { ...girder.auth, 'content-type': 'application/json', 'x-baseten-customer': 'acme' },
    body: '{}',
    signal: controller.signal,
  });
  assert.equal(res.statusCode, 200);
  let first = '';
  for await (const chunk of res.body) {
    first += chunk.toString();
    if (first.includes('\n')) break;
  }
  assert.match(first, /^chunk 0 for acme\n/);
  controller.abort();
  await waitFor(
    async () =>
      (await logMessages(m.model.id, m.deployment.id)).some((l) => /^stream for acme closed after \d+ chunks$/.test(l)),
    10_000,
    'the generator to be closed',
  );
});

test('each key Girder cannot honour here is named in a warning, in the push answer and by `girder push`', async () => {
  const gpu = thisMachine().gpuDevices.length > 0;
  const expected = [
    'config.yaml:3: base_image',
    'config.yaml:5: system_packages',
    'config.yaml:8: resources.accelerator',
    ...(gpu ? [] : ['config.yaml:9: resources.use_gpu']),
    'config.yaml:10: resources.cpu',
    'config.yaml:11: resources.memory',
    'config.yaml:12: trt_llm',
    'config.yaml:15: model_cache',
    'config.yaml:17: live_reload',
  ];
  const answer = await girder.push(fixture('truss-unhonoured'));
  assert.deepEqual(
    answer.warnings.map((w) => w.split(': ').slice(0, 2).join(': ')),
    expected,
  );
  const say = (key: string) => answer.warnings.find((w) => w.includes(`: ${key}: `)) ?? '';
  assert.match(say('system_packages'), /not installed .*ffmpeg/);
  assert.match(say('live_reload'), /girder push --watch/);
  if (!gpu) assert.match(say('resources.accelerator'), /no GPU: the model runs on the CPU \(A10G asked\)/);

  const pushed = ok(await cli(['push', fixture('truss-unhonoured'), '--no-wait']));
  const printed = pushed.stderr.split('\n').filter((l) => l.startsWith('warning: '));
  assert.deepEqual(
    printed,
    answer.warnings.map((w) => `warning: ${w}`),
  );
  // The model itself still serves.
  const r = await call(`${girder.url}/model-${answer.model.id}/production/predict`, {
    headers: girder.auth,
    body: '{}',
  });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, { served: true });
});

test('model_module_dir, model_class_filename, model_class_name, data_dir, environment_variables and secrets keep working', async () => {
  const secret = await call(`${girder.url}/api/v1/secrets`, {
    headers: { ...girder.auth, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'layout_token', value: 't0ken' }),
  });
  assert.equal(secret.status, 200, secret.text);
  const m = await girder.deploy(fixture('truss-layout'));
  assert.deepEqual(m.warnings, []);
  const r = await call(`${girder.url}/model-${m.model.id}/production/predict`, { headers: girder.auth, body: '{}' });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, { greeting: 'Howdy, partner!', token: 't0ken', predict_concurrency: 2 });
});

test('a stream that stalls longer than runtime.streaming_read_timeout is cut after what it sent', async () => {
  const m = await girder.deploy(modelCopy({ after }, fixture('truss-layout'), { model_name: 'truss-layout-stall' }));
  const res = await request(`${girder.url}/model-${m.model.id}/production/predict`, {
    method: 'POST',
    headers: { ...girder.auth, 'content-type': 'application/json' },
    body: JSON.stringify({ stall: true }),
  });
  assert.equal(res.statusCode, 200);
  let received = '';
  // The model sleeps 120 s after its first chunk: with streaming_read_timeout 1 the stream ends long before.
  await assert.rejects(async () => {
    for await (const chunk of res.body) received += chunk.toString();
  });
  assert.equal(received, 'one chunk, then nothing for longer than streaming_read_timeout\n');
});
