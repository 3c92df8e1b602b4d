/**
 * The chains management API over real sockets: chains, chain deployments, activation, a chainlet's
 * logs, environments, promotion, per-chainlet autoscaling, and deletes that leave no process and no
 * file behind. One Girder for the whole file.
 */
import assert from 'node:assert/strict';
import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { pushChain } from './chains.harness.ts';
import { call, example, type Running, startGirder } from './helpers.ts';
import { alive } from './process.ts';
import { tempDir } from './temp-dir.ts';
import { waitFor } from './wait.ts';

let r: Running;
let hello: { id: string; deployment: string };
const NAMES = '{"names":["Ada","Bo"]}';

const api = (path: string, method = 'GET', body?: unknown) =>
  call(`${r.url}/api/v1${path}`, {
    method,
    headers: { ...r.auth, 'content-type': 'application/json' },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
const runRemote = (chainId: string, target = 'production') =>
  call(`${r.url}/chain-${chainId}/${target}/run_remote`, {
    headers: { ...r.auth, 'content-type': 'application/json' },
    body: NAMES,
  });

/** A copy of the Hello chain that greets with `word` instead of "Hello", to tell deployments apart. */
function helloSaying(word: string): string {
  const dir = join(tempDir({ after }), 'chain');
  cpSync(example('hello-chain'), dir, { recursive: true });
  const file = join(dir, 'chain.ts');
  writeFileSync(file, readFileSync(file, 'utf8').replace('`Hello, ', `\`${word}, `));
  return dir;
}

async function push(dir: string, name: string, query: Record<string, string> = {}) {
  const p = await pushChain(r.url, r.key, dir, { file: 'chain.ts', name, ...query });
  assert.equal(p.status, 200, JSON.stringify(p.json));
  return { id: p.json.chain.id as string, deployment: p.json.deployment.id as string };
}

/** What a deployment keeps on disk besides its snapshot: its log files and its run folder. */
function leftovers(deploymentId: string): string[] {
  const dataDir = r.g.options.dataDir;
  return [
    ...readdirSync(join(dataDir, 'logs')).filter((f) => f.startsWith(deploymentId)),
    ...(existsSync(join(dataDir, 'run', deploymentId)) ? [`run/${deploymentId}`] : []),
  ];
}

/** Every chainlet deployment id of a chain deployment, with the pids of its replicas now. */
function chainletsOf(chainDeploymentId: string) {
  const d = r.g.chainRegistry.deployments.get(chainDeploymentId)!;
  return d.chainlets.map((c) => ({
    ...c,
    pids: r.g.supervisor.replicas(c.deploymentId).flatMap((x) => (x.pid ? [x.pid] : [])),
  }));
}

before(async () => {
  r = await startGirder({ after: (fn) => afterAll.push(fn) });
  hello = await push(example('hello-chain'), 'hello');
});
const afterAll: (() => Promise<void> | void)[] = [];
test.after(async () => {
  for (const fn of afterAll.reverse()) await fn();
});

test('GET /chains and /chains/{id} answer ChainV1; an unknown chain is a 404', async () => {
  const list = await api('/chains');
  assert.equal(list.status, 200, list.text);
  const chain = list.json.chains.find((c: { id: string }) => c.id === hello.id);
  assert.deepEqual(Object.keys(chain).sort(), [
    'created_at',
    'deployments_count',
    'development_deployment_id',
    'id',
    'name',
    'production_deployment_id',
    'team_name',
  ]);
  assert.equal(chain.name, 'hello');
  assert.equal(chain.production_deployment_id, hello.deployment);
  const one = await api(`/chains/${hello.id}`);
  assert.deepEqual(one.json, chain);
  const missing = await api('/chains/nochain1');
  assert.equal(missing.status, 404);
  assert.equal(missing.json.error_code, 'model_does_not_exist');
  assert.match(missing.json.error, /Chain nochain1 was not found/);
  for (const path of ['/deployments', '/environments', '/deployments/abcdefg', '/environments/production'])
    assert.equal((await api(`/chains/nochain1${path}`)).status, 404, path);
});

test('chain deployments answer ChainDeploymentV1 with a ChainletV1 per chainlet, by id or alias', async () => {
  const list = await api(`/chains/${hello.id}/deployments`);
  assert.equal(list.status, 200, list.text);
  assert.equal(list.json.deployments.length, 1);
  const d = list.json.deployments[0];
  assert.equal(d.id, hello.deployment);
  assert.equal(d.chain_id, hello.id);
  assert.equal(d.environment, 'production');
  assert.equal(d.status, 'ACTIVE');
  assert.deepEqual(
    d.chainlets.map((c: { name: string }) => c.name),
    ['HelloAll', 'SayHello'],
  );
  const [entry] = d.chainlets;
  for (const key of ['id', 'name', 'autoscaling_settings', 'instance_type_name', 'active_replica_count', 'status'])
    assert.ok(key in entry, key);
  assert.equal(entry.instance_type_name, 'local');
  assert.equal(entry.entrypoint, true);
  assert.ok(r.g.registry.deployments.has(entry.id), 'a chainlet id is its deployment id');
  assert.deepEqual((await api(`/chains/${hello.id}/deployments/production`)).json.id, hello.deployment);
  assert.deepEqual((await api(`/chains/${hello.id}/deployments/${hello.deployment}`)).json.id, hello.deployment);
  const missing = await api(`/chains/${hello.id}/deployments/nodeplo`);
  assert.equal(missing.status, 404);
  assert.match(missing.json.error, /Deployment nodeplo of chain/);
});

test('a chainlet’s logs, by chainlet id or name, as the model logs route answers them', async () => {
  assert.equal((await runRemote(hello.id)).status, 200);
  const [entry, say] = chainletsOf(hello.deployment);
  const byId = await api(`/chains/${hello.id}/deployments/${hello.deployment}/chainlets/${say.deploymentId}/logs`);
  assert.equal(byId.status, 200, byId.text);
  assert.equal(byId.headers['content-type'], 'application/x-ndjson');
  const lines = byId.text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.ok(lines.length > 0);
  assert.ok(lines.every((l: { deployment_id: string }) => l.deployment_id === say.deploymentId));
  const byName = await api(`/chains/${hello.id}/deployments/production/chainlets/HelloAll/logs?limit=1`);
  assert.equal(byName.status, 200);
  const last = byName.text.trim().split('\n');
  assert.equal(last.length, 1);
  assert.equal(JSON.parse(last[0]).deployment_id, entry.deploymentId);
  const unknown = await api(`/chains/${hello.id}/deployments/${hello.deployment}/chainlets/Nope/logs`);
  assert.equal(unknown.status, 404);
  assert.match(unknown.json.error, /has no chainlet "Nope"/);
  assert.match(unknown.json.detail, /HelloAll \(.+\), SayHello/);
  const follow = await fetch(
    `${r.url}/api/v1/chains/${hello.id}/deployments/production/chainlets/SayHello/logs?follow=true`,
    { headers: r.auth },
  );
  const reader = follow.body!.getReader();
  assert.match(new TextDecoder().decode((await reader.read()).value), /"deployment_id"/);
  await reader.cancel();
});

test('environments: ChainEnvironmentV1 with chainlet_settings; create, update and their errors', async () => {
  const list = await api(`/chains/${hello.id}/environments`);
  assert.equal(list.status, 200, list.text);
  const prod = list.json.environments.find((e: { name: string }) => e.name === 'production');
  assert.equal(prod.chain_id, hello.id);
  assert.equal(prod.current_deployment.id, hello.deployment);
  assert.deepEqual(
    prod.chainlet_settings.map((s: { chainlet_name: string }) => s.chainlet_name),
    ['HelloAll', 'SayHello'],
  );
  assert.equal(prod.chainlet_settings[0].instance_type.name, 'local');
  assert.equal(typeof prod.chainlet_settings[0].autoscaling_settings.max_replica, 'number');

  const created = await api(`/chains/${hello.id}/environments`, 'POST', {
    name: 'staging',
    promotion_settings: { promotion_cleanup_strategy: 'KEEP' },
    chainlet_settings: [
      { chainlet_name: 'SayHello', autoscaling_settings: { max_replica: 3 }, instance_type_id: '1x2' },
    ],
  });
  assert.equal(created.status, 200, created.text);
  assert.equal(created.json.current_deployment, null);
  assert.equal(created.json.promotion_settings.promotion_cleanup_strategy, 'KEEP');
  const say = created.json.chainlet_settings.find((s: { chainlet_name: string }) => s.chainlet_name === 'SayHello');
  assert.equal(say.autoscaling_settings.max_replica, 3);
  assert.deepEqual((await api(`/chains/${hello.id}/environments/staging`)).json, created.json);

  const again = await api(`/chains/${hello.id}/environments`, 'POST', { name: 'staging' });
  assert.equal(again.status, 400);
  assert.match(again.json.error, /already exists/);
  const unknown = await api(`/chains/${hello.id}/environments`, 'POST', {
    name: 'qa',
    chainlet_settings: [{ chainlet_name: 'Nope' }],
  });
  assert.equal(unknown.status, 400);
  assert.match(unknown.json.error, /no chainlet "Nope"/);
  assert.match(unknown.json.detail, /HelloAll, SayHello/);
  const bad = await api(`/chains/${hello.id}/environments`, 'POST', { name: 'qa', colour: 'red' });
  assert.equal(bad.status, 400);
  assert.equal(bad.json.error_code, 'client_error');
  assert.equal((await api(`/chains/${hello.id}/environments`, 'POST', '{"name":')).status, 400);
  assert.equal((await api(`/chains/${hello.id}/environments/qa`)).status, 404, 'nothing was created');

  const patched = await api(`/chains/${hello.id}/environments/staging`, 'PATCH', {
    promotion_settings: { promotion_cleanup_strategy: 'DEACTIVATE' },
  });
  assert.deepEqual(patched.json, { ok: true });
  const now = await api(`/chains/${hello.id}/environments/staging`);
  assert.equal(now.json.promotion_settings.promotion_cleanup_strategy, 'DEACTIVATE');
  const wrong = await api(`/chains/${hello.id}/environments/staging`, 'PATCH', {
    promotion_settings: { promotion_cleanup_strategy: 'SOMETIMES' },
  });
  assert.equal(wrong.status, 400);
  assert.match(wrong.json.error, /promotion_settings\.promotion_cleanup_strategy/);
  assert.equal((await api(`/chains/${hello.id}/environments/nowhere`, 'PATCH', {})).status, 404);
});

test('per-chainlet autoscaling shows in the environment and applies to the chainlet’s deployment', async () => {
  const path = `/chains/${hello.id}/environments/production/chainlet_settings/autoscaling_settings`;
  const update = {
    updates: [{ chainlet_name: 'SayHello', autoscaling_settings: { max_replica: 2, scale_down_delay: 60 } }],
  };
  const first = await api(path, 'PATCH', update);
  assert.equal(first.status, 200, first.text);
  assert.equal(first.json.status, 'ACCEPTED');
  assert.equal((await api(path, 'PATCH', update)).json.status, 'UNCHANGED');

  const env = await api(`/chains/${hello.id}/environments/production`);
  const say = env.json.chainlet_settings.find((s: { chainlet_name: string }) => s.chainlet_name === 'SayHello');
  assert.equal(say.autoscaling_settings.max_replica, 2);
  assert.equal(say.autoscaling_settings.scale_down_delay, 60);
  const model = r.g.chainRegistry.chainletModel(hello.id, 'SayHello')!;
  assert.equal(
    r.g.registry.environment(model.id, 'production')!.autoscaling.max_replica,
    2,
    'the chainlet model’s env',
  );
  const dep = await api(`/chains/${hello.id}/deployments/production`);
  const chainlet = dep.json.chainlets.find((c: { name: string }) => c.name === 'SayHello');
  assert.equal(chainlet.autoscaling_settings.max_replica, 2, 'its deployment follows at once');
  assert.equal(r.g.registry.deployments.get(chainlet.id)!.autoscaling.max_replica, 2);

  const unknown = await api(path, 'PATCH', { updates: [{ chainlet_name: 'Ghost', autoscaling_settings: {} }] });
  assert.equal(unknown.status, 400);
  assert.match(unknown.json.error, /no chainlet "Ghost"/);
  assert.match(unknown.json.detail, /HelloAll, SayHello/);
  const twice = await api(path, 'PATCH', {
    updates: [
      { chainlet_name: 'SayHello', autoscaling_settings: {} },
      { chainlet_name: 'SayHello', autoscaling_settings: {} },
    ],
  });
  assert.equal(twice.status, 400);
  assert.match(twice.json.error, /updates\.1\.chainlet_name/);
  const range = await api(path, 'PATCH', {
    updates: [{ chainlet_name: 'SayHello', autoscaling_settings: { max_scale_down_rate: 90 } }],
  });
  assert.equal(range.status, 400);
  assert.match(range.json.error, /updates\.0\.autoscaling_settings\.max_scale_down_rate/);
  const minOverMax = await api(path, 'PATCH', {
    updates: [{ chainlet_name: 'SayHello', autoscaling_settings: { min_replica: 5 } }],
  });
  assert.equal(minOverMax.status, 400, minOverMax.text);
  assert.equal((await api(path, 'PATCH', { update: [] })).status, 400);
  assert.equal(r.g.registry.environment(model.id, 'production')!.autoscaling.min_replica, 0, 'nothing was written');
  assert.equal(
    (await api(`/chains/${hello.id}/environments/nowhere/chainlet_settings/autoscaling_settings`, 'PATCH', update))
      .status,
    404,
  );
});

test('a second chain deployment promoted to production answers run_remote; one in an environment cannot be deleted', async () => {
  const chain = await push(helloSaying('Hello'), 'promoted');
  const second = await push(helloSaying('Hi'), 'promoted');
  assert.equal((await runRemote(chain.id)).json, 'Hello, Ada!\nHello, Bo!');
  const path = `/chains/${chain.id}/environments/production/promote`;
  assert.equal((await api(path, 'POST', {})).status, 400, 'deployment_id is required');
  const unknown = await api(path, 'POST', { deployment_id: 'nodeplo' });
  assert.equal(unknown.status, 404);
  assert.equal(
    (await api(`/chains/${chain.id}/environments/nowhere/promote`, 'POST', { deployment_id: second.deployment }))
      .status,
    404,
  );

  const promoted = await api(path, 'POST', { deployment_id: second.deployment, scale_down_previous_deployment: false });
  assert.equal(promoted.status, 200, promoted.text);
  assert.equal(promoted.json.id, second.deployment);
  assert.equal(promoted.json.environment, 'production');
  assert.equal((await runRemote(chain.id)).json, 'Hi, Ada!\nHi, Bo!', 'production answers from the promoted one');
  assert.equal((await api(`/chains/${chain.id}`)).json.production_deployment_id, second.deployment);
  assert.equal((await runRemote(chain.id, `deployment/${chain.deployment}`)).json, 'Hello, Ada!\nHello, Bo!');

  const refused = await api(`/chains/${chain.id}/deployments/${second.deployment}`, 'DELETE');
  assert.equal(refused.status, 400);
  assert.equal(refused.json.error_code, 'client_error');
  assert.match(refused.json.error, /serves environment "production" and cannot be deleted/);

  const old = chainletsOf(chain.deployment);
  const gone = await api(`/chains/${chain.id}/deployments/${chain.deployment}`, 'DELETE');
  assert.equal(gone.status, 200, gone.text);
  assert.deepEqual(gone.json, { id: chain.deployment, deleted: true, chain_id: chain.id });
  for (const c of old) {
    assert.equal(r.g.registry.deployments.has(c.deploymentId), false);
    assert.deepEqual(leftovers(c.deploymentId), [], 'its logs and run folder are gone');
    for (const pid of c.pids) assert.equal(alive(pid), false, `replica ${pid} of ${c.name} stopped`);
  }
  assert.equal((await api(`/chains/${chain.id}/deployments/${chain.deployment}`)).status, 404);
  const only = await api(`/chains/${chain.id}/deployments/production`, 'DELETE');
  assert.equal(only.status, 400);
  assert.equal((await runRemote(chain.id)).json, 'Hi, Ada!\nHi, Bo!', 'production still serves');
});

test('deactivate stops every chainlet and refuses its requests; activate serves again', async () => {
  const chain = await push(helloSaying('Hey'), 'toggled');
  const before = chainletsOf(chain.deployment);
  const off = await api(`/chains/${chain.id}/deployments/${chain.deployment}/deactivate`, 'POST');
  assert.deepEqual(off.json, { success: true });
  const d = await api(`/chains/${chain.id}/deployments/${chain.deployment}`);
  assert.equal(d.json.status, 'INACTIVE');
  assert.ok(d.json.chainlets.every((c: { status: string }) => c.status === 'INACTIVE'));
  const pids = before.flatMap((c) => c.pids);
  await waitFor(() => !pids.some(alive), 10_000, 'every chainlet replica to stop');
  const refused = await runRemote(chain.id);
  assert.equal(refused.status, 404);
  assert.equal(refused.json.error_code, 'model_unavailable');
  assert.deepEqual((await api(`/chains/${chain.id}/deployments/production/activate`, 'POST')).json, { success: true });
  assert.equal((await runRemote(chain.id)).json, 'Hey, Ada!\nHey, Bo!');
  assert.equal((await api(`/chains/${chain.id}/deployments/${chain.deployment}/start`, 'POST')).status, 404);
  assert.equal((await api(`/chains/${chain.id}/deployments/${chain.deployment}/activate`, 'GET')).status, 400);
});

test('deleting a chain stops every chainlet, removes its files and revokes its keys', async () => {
  const chain = await push(helloSaying('Yo'), 'doomed');
  const second = await push(helloSaying('Yo'), 'doomed');
  const deployments = [chain.deployment, second.deployment].map((id) => r.g.chainRegistry.deployments.get(id)!);
  const keys = deployments.map((d) => d.invokeKey!);
  const chainlets = deployments.flatMap((d) => chainletsOf(d.id));
  assert.ok(
    chainlets.some((c) => c.pids.length > 0),
    'its chainlets run',
  );
  const snapshots = [...new Set(deployments.map((d) => d.dir))];
  assert.ok(snapshots.every((dir) => existsSync(dir)));
  const entry = chainlets[0];
  const asChain = await call(`${r.url}/model-${entry.modelId}/deployment/${entry.deploymentId}/run_remote`, {
    headers: { authorization: `Api-Key ${keys[0]}`, 'content-type': 'application/json' },
    body: NAMES,
  });
  assert.equal(asChain.status, 200, 'the chain key works before');

  const gone = await api(`/chains/${chain.id}`, 'DELETE');
  assert.equal(gone.status, 200, gone.text);
  assert.deepEqual(gone.json, { id: chain.id, deleted: true });
  for (const c of chainlets) {
    for (const pid of c.pids) assert.equal(alive(pid), false, `replica ${pid} of ${c.name} stopped`);
    assert.deepEqual(leftovers(c.deploymentId), []);
    assert.equal(r.g.registry.models.has(c.modelId), false, 'its chainlet models are gone');
  }
  for (const dir of snapshots) assert.equal(existsSync(dir), false, `${dir} removed`);
  for (const key of keys) {
    // An unknown key is a 401 wherever it goes (a 403 would mean it still authenticates).
    const res = await call(`${r.url}/chain-${hello.id}/production/run_remote`, {
      headers: { authorization: `Api-Key ${key}`, 'content-type': 'application/json' },
      body: NAMES,
    });
    assert.equal(res.status, 401, `the chain key is revoked: ${res.text}`);
  }
  assert.equal((await api(`/chains/${chain.id}`)).status, 404);
  assert.equal((await runRemote(chain.id)).status, 404);
  assert.equal((await api(`/chains/${chain.id}`, 'DELETE')).status, 404);
  assert.equal((await runRemote(hello.id)).status, 200, 'other chains keep serving');
});

test('a chainlet’s internal model is not a model of the model routes: 404 pointing at the chain', async () => {
  const chainlet = r.g.chainRegistry.deployments.get(hello.deployment)!.chainlets[0];
  for (const [method, path] of [
    ['GET', `/models/${chainlet.modelId}`],
    ['DELETE', `/models/${chainlet.modelId}`],
    ['GET', `/models/${chainlet.modelId}/deployments`],
  ]) {
    const res = await api(path, method);
    assert.equal(res.status, 404, `${method} ${path}`);
    assert.match(res.json.error, new RegExp(`chainlet ${chainlet.name} of chain ${hello.id}`));
    assert.match(res.json.detail, new RegExp(`/api/v1/chains/${hello.id}`));
  }
  assert.equal((await runRemote(hello.id)).status, 200, 'the chain still serves');
});
