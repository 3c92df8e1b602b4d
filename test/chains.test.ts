/**
 * Chains over real sockets and processes: push, run_remote on every target and host form, the error
 * chain, retries and timeouts, streaming through two chainlets, a Python model as a dependency,
 * promotion, an atomic push, and the seed's Python snippet. One Girder for the whole file.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { request } from 'undici';
import { pushChain } from './chains.harness.ts';
import { call, example, fixture, type Running, startGirder } from './helpers.ts';

let r: Running;
let hello: { id: string; deployment: string };
const json = () => ({ ...r.auth, 'content-type': 'application/json' });
const FIXTURES = fixture('chains');

before(async () => {
  r = await startGirder({ after: (fn) => after.push(fn) });
  const p = await pushChain(r.url, r.key, example('hello-chain'), { file: 'chain.ts', name: 'hello' });
  assert.equal(p.status, 200, JSON.stringify(p.json));
  hello = { id: p.json.chain.id, deployment: p.json.deployment.id };
});
const after: (() => Promise<void> | void)[] = [];
test.after(async () => {
  for (const fn of after.reverse()) await fn();
});

const NAMES = '{"names":["Marius","Sid","Bola"]}';
const GREETING = 'Hello, Marius!\nHello, Sid!\nHello, Bola!';

test('the first push goes to production, and run_remote answers on every target and host form', async () => {
  const paths = [
    ['127.0.0.1', `/chain-${hello.id}/production/run_remote`],
    ['127.0.0.1', `/chain-${hello.id}/environments/production/run_remote`],
    ['127.0.0.1', `/chain-${hello.id}/deployment/${hello.deployment}/run_remote`],
    ['127.0.0.1', `/chain-${hello.id}-production/run_remote`],
    [`chain-${hello.id}.localhost`, '/production/run_remote'],
    [`chain-${hello.id}-production.localhost`, '/run_remote'],
  ];
  for (const [host, path] of paths) {
    const res = await call(`${r.url}${path}`, { headers: { ...json(), host }, body: NAMES });
    assert.equal(res.status, 200, `${host}${path}: ${res.text}`);
    assert.equal(res.json, GREETING, `${host}${path}`);
    assert.match(String(res.headers['x-baseten-request-id']), /^[0-9a-f]{32}$/);
  }
});

test('predict on a chain and run_remote on a model are 400s naming the right action', async () => {
  const onChain = await call(`${r.url}/chain-${hello.id}/production/predict`, { headers: json(), body: NAMES });
  assert.equal(onChain.status, 400);
  assert.equal(onChain.json.error_code, 'client_error');
  assert.match(onChain.json.detail, /run_remote/);
  const model = await r.deploy(example('hello-python'));
  const onModel = await call(`${r.url}/model-${model.model.id}/production/run_remote`, { headers: json(), body: '{}' });
  assert.equal(onModel.status, 400);
  assert.match(onModel.json.detail, /predict/);
  const models = await call(`${r.url}/api/v1/models`, { method: 'GET', headers: r.auth });
  assert.deepEqual(
    models.json.models.map((m: { name: string }) => m.name),
    ['hello-python'],
    'chainlets are not listed as models',
  );
});

test('an input the entrypoint rejects is a 400 naming the field; a chainlet rejecting its input is the chain’s 500', async () => {
  const bad = await call(`${r.url}/chain-${hello.id}/production/run_remote`, {
    headers: json(),
    body: '{"names":[1]}',
  });
  assert.equal(bad.status, 400);
  assert.equal(bad.json.error_code, 'client_error');
  assert.match(bad.json.error, /`names\.0`: Invalid input: expected string, received number/);
  const missing = await call(`${r.url}/chain-${hello.id}/production/run_remote`, { headers: json(), body: '{}' });
  assert.equal(missing.status, 400);
  assert.match(missing.json.error, /`names`/);
  const inner = await call(`${r.url}/chain-${hello.id}/production/run_remote`, {
    headers: json(),
    body: '{"names":[""]}',
  });
  assert.equal(inner.status, 500);
  assert.equal(inner.json.error_code, 'application_error');
  assert.match(inner.json.detail, /HelloAll: ChainletError[\s\S]*SayHello: InputValidationError/);
});

let failing: string;
test('a dependency that throws: the root cause’s message, the chain of calls, an HttpError’s status kept', async () => {
  const p = await pushChain(r.url, r.key, FIXTURES, { file: 'failing.ts' });
  assert.equal(p.status, 200, JSON.stringify(p.json));
  failing = p.json.chain.id;
  const type = await call(`${r.url}/chain-${failing}/production/run_remote`, {
    headers: json(),
    body: '{"what":"error"}',
  });
  assert.equal(type.status, 500);
  assert.equal(type.json.error_code, 'application_error');
  assert.equal(type.json.error, 'the root broke');
  const lines = type.json.detail.split('\n').slice(1);
  assert.deepEqual(
    lines.map((l: string) => l.split(':')[0]),
    ['Front', 'Middle', 'Root'],
  );
  assert.match(lines[2], /Root: TypeError: the root broke \(at failing\.ts:\d+ in Root\.runRemote\)/);
  const http = await call(`${r.url}/chain-${failing}/production/run_remote`, {
    headers: json(),
    body: '{"what":"error","kind":"http"}',
  });
  assert.equal(http.status, 422, 'the status of the HttpError raised two hops down');
  assert.equal(http.json.error, 'the root refuses');
});

test('a 503 from a dependency is retried with backoff; a slow one times out naming it and its limit', async () => {
  const retried = await call(`${r.url}/chain-${failing}/production/run_remote`, {
    headers: json(),
    body: '{"what":"retry"}',
  });
  assert.equal(retried.status, 200, retried.text);
  assert.equal(retried.json, 'ok after 3 calls');
  const slow = await call(`${r.url}/chain-${failing}/production/run_remote`, {
    headers: json(),
    body: '{"what":"timeout"}',
  });
  assert.equal(slow.status, 500);
  assert.equal(slow.json.error, 'Timeout calling chainlet `Slow` (0.5 seconds limit).');
});

test('a stream passes through two chainlets chunk by chunk', async () => {
  const p = await pushChain(r.url, r.key, FIXTURES, { file: 'stream.ts' });
  assert.equal(p.status, 200, JSON.stringify(p.json));
  const res = await request(`${r.url}/chain-${p.json.chain.id}/production/run_remote`, {
    method: 'POST',
    headers: json(),
    body: '{"pauseMs":1500}',
  });
  assert.equal(res.statusCode, 200);
  const chunks: string[] = [];
  for await (const chunk of res.body) chunks.push(String(chunk));
  assert.deepEqual(chunks, ['FIRST ', 'LAST'], 'the first chunk arrived on its own, before the stream ended');
});

test('an existing Python model is a dependency of a TypeScript chain', async () => {
  const p = await pushChain(r.url, r.key, FIXTURES, { file: 'with-model.ts' });
  assert.equal(p.status, 200, JSON.stringify(p.json));
  const res = await call(`${r.url}/chain-${p.json.chain.id}/production/run_remote`, {
    headers: json(),
    body: '{"text":"the cat and the cat"}',
  });
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.json.stats.most_common, [{ word: 'cat', count: 2 }]);
});

test('a later push stays out of production until promoted; --promote moves every chainlet', async () => {
  const second = await pushChain(r.url, r.key, example('hello-chain'), { file: 'chain.ts', name: 'hello' });
  assert.equal(second.status, 200, JSON.stringify(second.json));
  assert.equal(second.json.deployment.environment, null);
  assert.equal(r.g.chainRegistry.resolve(hello.id, { kind: 'production' }).id, hello.deployment);
  const byId = await call(`${r.url}/chain-${hello.id}/deployment/${second.json.deployment.id}/run_remote`, {
    headers: json(),
    body: NAMES,
  });
  assert.equal(byId.json, GREETING);
  await r.g.chainEnvironments.promote(hello.id, second.json.deployment.id, 'production');
  assert.equal(r.g.chainRegistry.resolve(hello.id, { kind: 'production' }).id, second.json.deployment.id);
  const third = await pushChain(r.url, r.key, example('hello-chain'), {
    file: 'chain.ts',
    name: 'hello',
    promote: 'true',
  });
  assert.equal(third.json.deployment.environment, 'production');
  assert.equal(r.g.chainRegistry.resolve(hello.id, { kind: 'production' }).id, third.json.deployment.id);
  const res = await call(`${r.url}/chain-${hello.id}/production/run_remote`, { headers: json(), body: NAMES });
  assert.equal(res.json, GREETING);
});

test('a push whose second chainlet cannot start fails naming it, and what served before still serves', async () => {
  const first = await pushChain(r.url, r.key, example('hello-chain'), { file: 'chain.ts', name: 'atomic' });
  const id = first.json.chain.id;
  const before = r.g.chainRegistry.deploymentsOf(id).length;
  const broken = await pushChain(r.url, r.key, FIXTURES, { file: 'broken.ts', name: 'atomic', promote: 'true' });
  assert.equal(broken.status, 400);
  assert.match(broken.json.error, /Chainlet `Broken` failed to start/);
  assert.match(broken.json.detail, /weights not found/);
  assert.equal(r.g.chainRegistry.deploymentsOf(id).length, before, 'the failed chain deployment is gone');
  const res = await call(`${r.url}/chain-${id}/production/run_remote`, { headers: json(), body: NAMES });
  assert.equal(res.json, GREETING);
});

test('a development push is the development target', async () => {
  const dev = await pushChain(r.url, r.key, example('hello-chain'), {
    file: 'chain.ts',
    name: 'hello',
    development: 'true',
  });
  assert.equal(dev.status, 200, JSON.stringify(dev.json));
  const res = await call(`${r.url}/chain-${hello.id}/development/run_remote`, { headers: json(), body: NAMES });
  assert.equal(res.json, GREETING);
});

test('the seed’s call_chain.py works with only CHAIN_URL and the key changed', async () => {
  const script = [
    'import requests',
    'import os',
    '',
    `CHAIN_URL = "${r.url}/chain-${hello.id}/production/run_remote"`,
    'baseten_api_key = os.environ["BASETEN_API_KEY"]',
    'data = {"names": ["Marius", "Sid", "Bola"]}',
    '',
    'resp = requests.post(',
    '    CHAIN_URL,',
    '    headers={"Authorization": f"Api-Key {baseten_api_key}"},',
    '    json=data,',
    ')',
    '',
    'print(resp.json())',
  ].join('\n');
  const out = await new Promise<string>((resolve, reject) =>
    execFile('python3', ['-c', script], { env: { ...process.env, BASETEN_API_KEY: r.key } }, (err, stdout, stderr) =>
      err ? reject(new Error(stderr || err.message)) : resolve(stdout),
    ),
  );
  assert.equal(out.trim(), 'Hello, Marius!\nHello, Sid!\nHello, Bola!');
});

test('the request, chain request and trace headers pass on every hop, and the key never reaches a log', async () => {
  await r.push(fixture('behaviours'));
  const p = await pushChain(r.url, r.key, FIXTURES, { file: 'headers.ts', name: 'headers' });
  assert.equal(p.status, 200, JSON.stringify(p.json));
  const trace = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
  const res = await call(`${r.url}/chain-${p.json.chain.id}/production/run_remote`, {
    headers: { ...json(), traceparent: trace },
    body: '{}',
  });
  assert.equal(res.status, 200, res.text);
  const seen = res.json as Record<string, string>;
  assert.equal(seen.traceparent, trace, 'the caller’s trace context, two hops down');
  assert.equal(seen['x-baseten-chain-request-id'], res.headers['x-baseten-request-id'], 'the chain’s request id');
  assert.match(seen['x-baseten-request-id'], /^[0-9a-f]{32}$/);
  assert.notEqual(
    seen['x-baseten-request-id'],
    res.headers['x-baseten-request-id'],
    'each hop a request id of its own',
  );
  assert.equal(seen.authorization, undefined, 'no key reaches a model');
  const key = r.g.chainRegistry.deployments.get(p.json.deployment.id)!.invokeKey!;
  const logs = join(r.g.options.dataDir, 'logs');
  for (const f of readdirSync(logs)) assert.ok(!readFileSync(join(logs, f), 'utf8').includes(key), f);
});
