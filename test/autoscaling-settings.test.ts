import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { ok, runCli } from '../src/cli/run-cli.ts';
import { call, fixture, modelCopy, startGirder, type Running } from './helpers.ts';
import { waitFor } from './wait.ts';

const girder: Running = await startGirder({ after });
const api = (path: string, method = 'GET', body?: unknown) =>
  call(`${girder.url}/api/v1${path}`, {
    method,
    headers: girder.auth,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
const cli = (args: string[]) => runCli(girder.url, girder.key, args);

test('an out-of-range value or an unknown field is a 400 naming the field, on deployments and environments', async () => {
  const pushed = await girder.push(modelCopy({ after }, fixture('behaviours'), { model_name: 'ranges' }));
  const dep = `/models/${pushed.model.id}/deployments/${pushed.deployment.id}/autoscaling_settings`;
  const env = `/models/${pushed.model.id}/environments/production`;
  const cases: [Record<string, unknown>, string][] = [
    [{ min_replica: -1 }, 'min_replica'],
    [{ max_replica: 0 }, 'max_replica'],
    [{ autoscaling_window: 9 }, 'autoscaling_window'],
    [{ autoscaling_window: 3601 }, 'autoscaling_window'],
    [{ scale_down_delay: 3601 }, 'scale_down_delay'],
    [{ max_scale_down_rate: 51 }, 'max_scale_down_rate'],
    [{ max_scale_down_rate: 0 }, 'max_scale_down_rate'],
    [{ concurrency_target: 0 }, 'concurrency_target'],
    [{ target_utilization_percentage: 101 }, 'target_utilization_percentage'],
    [{ min_replica: 1.5 }, 'min_replica'],
    [{ bogus: 1 }, 'bogus'],
    [{ min_replica: 3 }, 'max_replica'], // above the max of 1
  ];
  for (const [body, field] of cases) {
    const onDep = await api(dep, 'PATCH', body);
    assert.equal(onDep.status, 400, JSON.stringify(body));
    assert.match(onDep.json.error, new RegExp(field), onDep.text);
    const onEnv = await api(env, 'PATCH', { autoscaling_settings: body });
    assert.equal(onEnv.status, 400, JSON.stringify(body));
    assert.match(onEnv.json.error, new RegExp(field), onEnv.text);
  }
  const badCleanup = await api(env, 'PATCH', { promotion_settings: { promotion_cleanup_strategy: 'DELETE' } });
  assert.equal(badCleanup.status, 400);
  assert.match(badCleanup.json.error, /promotion_cleanup_strategy/);
  assert.equal((await api(env, 'PATCH', { bogus: {} })).status, 400);
  const unchanged = (await api(`/models/${pushed.model.id}/deployments/${pushed.deployment.id}`)).json;
  assert.deepEqual(unchanged.autoscaling_settings.min_replica, 0, 'nothing refused was applied');
});

test("an environment's settings are patched, answered ACCEPTED or UNCHANGED, and its deployment follows at once", async () => {
  const pushed = await girder.deploy(modelCopy({ after }, fixture('counter-server'), { model_name: 'env-patch' }));
  const env = `/models/${pushed.model.id}/environments/production`;
  const patch = {
    autoscaling_settings: { min_replica: 2, max_replica: 3, scale_down_delay: 120 },
    promotion_settings: { promotion_cleanup_strategy: 'KEEP' },
  };
  const accepted = await api(env, 'PATCH', patch);
  assert.equal(accepted.status, 200, accepted.text);
  assert.equal(accepted.json.status, 'ACCEPTED');
  assert.equal(typeof accepted.json.message, 'string');
  assert.equal((await api(env, 'PATCH', patch)).json.status, 'UNCHANGED');
  const shown = (await api(env)).json;
  assert.equal(shown.autoscaling_settings.max_replica, 3);
  assert.equal(shown.promotion_settings.promotion_cleanup_strategy, 'KEEP');
  const dep = `/models/${pushed.model.id}/deployments/production`;
  assert.equal((await api(dep)).json.autoscaling_settings.min_replica, 2);
  // Without a restart: the second replica starts because min_replica is now 2.
  await waitFor(async () => (await api(dep)).json.active_replica_count === 2, 20_000, 'two replicas');
});

test('a development deployment runs at most one replica, whatever its settings', async () => {
  const pushed = await girder.push(modelCopy({ after }, fixture('counter-server'), { model_name: 'dev-one' }), {
    development: 'true',
  });
  const dep = `/models/${pushed.model.id}/deployments/development`;
  const r = await api(`${dep}/autoscaling_settings`, 'PATCH', { min_replica: 2, max_replica: 2 });
  assert.equal(r.json.status, 'ACCEPTED', r.text);
  await waitFor(async () => (await api(dep)).json.active_replica_count === 1, 20_000, 'the development replica');
  assert.equal(girder.g.supervisor.replicas(pushed.deployment.id).length, 1);
});

test('girder autoscaling shows and changes the settings of an environment or a deployment', async () => {
  const pushed = await girder.push(modelCopy({ after }, fixture('behaviours'), { model_name: 'cli-scaling' }));
  const shown = ok(await cli(['autoscaling', 'cli-scaling']));
  assert.match(shown.stdout, /environment production, deployment /);
  assert.match(shown.stdout, /scale_down_delay\s+900/);
  assert.match(shown.stdout, /promotion_cleanup_strategy\s+SCALE_TO_ZERO/);

  const set = ok(await cli(['autoscaling', 'cli-scaling', '--min', '0', '--max', '4', '--scale-down-delay', '60']));
  assert.match(set.stdout, /^ACCEPTED: /);
  assert.match(set.stdout, /max_replica\s+4/);
  const d = girder.g.registry.deployments.get(pushed.deployment.id)!;
  assert.equal(d.autoscaling.max_replica, 4, 'the environment patch reached its deployment');
  assert.equal(girder.g.registry.environment(pushed.model.id, 'production')?.autoscaling.scale_down_delay, 60);

  const cleanup = ok(await cli(['autoscaling', 'cli-scaling', '--cleanup', 'DEACTIVATE']));
  assert.match(cleanup.stdout, /promotion_cleanup_strategy\s+DEACTIVATE/);

  const onDeployment = ok(
    await cli(['autoscaling', 'cli-scaling', '--deployment', 'deployment-1', '--utilization', '50']),
  );
  assert.match(onDeployment.stdout, /target_utilization_percentage\s+50/);
  assert.equal(d.autoscaling.target_utilization_percentage, 50);

  const refused = await cli(['autoscaling', 'cli-scaling', '--max-scale-down-rate', '80']);
  assert.equal(refused.code, 1);
  assert.match(refused.stderr, /max_scale_down_rate/);
  const both = await cli(['autoscaling', 'cli-scaling', '--deployment', 'deployment-1', '--environment', 'production']);
  assert.equal(both.code, 1);
});
