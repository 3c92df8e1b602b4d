import assert from 'node:assert/strict';
import { test } from 'node:test';
import { builtStatus, modelDir, preferLocalIndex, trussModel } from './builds.harness.ts';
import { Girder } from '../src/girder.ts';
import { call, pushDir, startGirder } from './helpers.ts';
import { tempDir } from './temp-dir.ts';
import { waitFor } from './wait.ts';

preferLocalIndex();

const IMPORTS = 'import six, attrs';
const USES = '{"six": six.__version__, "attrs": attrs.__version__, "where": six.__file__}';

test('a Truss model with requirements is built into a virtualenv, serves with them, and a second push builds nothing', async (t) => {
  const girder = await startGirder(t);
  const config = 'model_name: reqs\nrequirements:\n  - six==1.17.0\n  - attrs\n';
  const dir = modelDir(t, trussModel(config, IMPORTS, USES));

  const first = await girder.push(dir);
  assert.equal(first.deployment.status, 'BUILDING', 'the push answers before the build');
  assert.equal(await builtStatus(girder.g, first.deployment.id), 'BUILT');
  const built = girder.g.registry.deployments.get(first.deployment.id)!;
  assert.ok(built.build!.runs >= 1, 'pip ran');
  assert.match(built.build!.envs.python!, /envs\/python\/[0-9a-f]{24}$/);
  await waitFor(() => girder.g.supervisor.status(built).status === 'ACTIVE', 30_000, 'production to serve');
  const r = await call(`${girder.url}/model-${first.model.id}/production/predict`, {
    headers: girder.auth,
    body: '{}',
  });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.six, '1.17.0');
  assert.ok(
    r.json.where.startsWith(built.build!.envs.python!),
    `six comes from the deployment's venv: ${r.json.where}`,
  );

  const log = await call(
    `${girder.url}/api/v1/models/${first.model.id}/deployments/${first.deployment.id}/build_logs`,
    { method: 'GET', headers: girder.auth },
  );
  const lines = log.text
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.ok(lines.some((l) => l.stream === 'girder' && l.line.startsWith('$ pip install six==1.17.0 attrs')));
  assert.ok(
    lines.some((l) => /Successfully installed/.test(l.line)),
    'pip output is in the build log',
  );

  const second = await girder.push(dir, { promote: 'true' });
  assert.notEqual(second.deployment.status, 'BUILDING', 'cached: built in the push itself, nothing to wait for');
  const again = girder.g.registry.deployments.get(second.deployment.id)!;
  assert.equal(again.build!.status, 'BUILT');
  assert.equal(again.build!.runs, 0, 'no pip run');
  assert.equal(again.build!.envs.python, built.build!.envs.python, 'the same environment');
  await waitFor(() => girder.g.supervisor.status(again).status === 'ACTIVE', 30_000, 'the second deployment to serve');
  const r2 = await call(`${girder.url}/model-${first.model.id}/production/predict`, {
    headers: girder.auth,
    body: '{}',
  });
  assert.equal(r2.headers['x-baseten-model-version-id'], second.deployment.id);
  assert.equal(r2.json.attrs, r.json.attrs);
});

test('a requirements_file is installed; a requirement that does not exist fails the build and production keeps serving', async (t) => {
  const girder = await startGirder(t);
  const files = trussModel(
    'model_name: reqfile\nrequirements_file: requirements.txt\n',
    'import idna, appdirs',
    '{"idna": idna.encode("ドメイン.テスト").decode(), "appdirs": appdirs.__version__}',
  );
  const dir = modelDir(t, { ...files, 'requirements.txt': '# from a file\nidna\nappdirs==1.4.4  # pinned\n' });
  const first = await girder.push(dir);
  assert.equal(await builtStatus(girder.g, first.deployment.id), 'BUILT');
  const d1 = girder.g.registry.deployments.get(first.deployment.id)!;
  await waitFor(() => girder.g.supervisor.status(d1).status === 'ACTIVE', 30_000, 'production to serve');
  const ok = await call(`${girder.url}/model-${first.model.id}/production/predict`, {
    headers: girder.auth,
    body: '{}',
  });
  assert.equal(ok.status, 200, ok.text);
  assert.deepEqual(ok.json, { idna: 'xn--eckwd4c7c.xn--zckzah', appdirs: '1.4.4' });

  const broken = modelDir(t, { ...files, 'requirements.txt': 'idna\ngirder-no-such-package-xyz==1.0\n' });
  const failed = await girder.push(broken, { promote: 'true' });
  assert.equal(await builtStatus(girder.g, failed.deployment.id), 'BUILD_FAILED');
  const view = await call(`${girder.url}/api/v1/models/${first.model.id}/deployments/${failed.deployment.id}`, {
    method: 'GET',
    headers: girder.auth,
  });
  assert.equal(view.json.status, 'BUILD_FAILED');
  assert.match(
    view.json.build.error,
    /No matching distribution found for girder-no-such-package-xyz/,
    "pip's own message",
  );
  const prod = await call(`${girder.url}/model-${first.model.id}/production/predict`, {
    headers: girder.auth,
    body: '{}',
  });
  assert.equal(prod.status, 200, 'the previous deployment keeps serving');
  assert.equal(prod.headers['x-baseten-model-version-id'], first.deployment.id, 'production was not moved');
  const byId = await call(`${girder.url}/model-${first.model.id}/deployment/${failed.deployment.id}/predict`, {
    headers: girder.auth,
    body: '{}',
  });
  assert.equal(byId.status, 503);
  assert.equal(byId.headers['x-girder-error-reason'], 'build_failed');
  assert.match(byId.json.detail, /No matching distribution/);
});

test('python_version names an interpreter this machine lacks: BUILD_FAILED says which', async (t) => {
  const girder = await startGirder(t);
  const dir = modelDir(t, trussModel('model_name: old\npython_version: py36\n', '', '1'));
  const pushed = await girder.push(dir);
  assert.equal(await builtStatus(girder.g, pushed.deployment.id), 'BUILD_FAILED');
  const d = girder.g.registry.deployments.get(pushed.deployment.id)!;
  assert.match(d.build!.error!, /python_version py36 needs Python 3\.6, and `python3\.6` is not installed/);
});

test('a bad build key is refused at push, naming it', async (t) => {
  const girder = await startGirder(t);
  const dir = modelDir(t, trussModel('model_name: bad\nrequirements: six\n', '', '1'));
  await assert.rejects(girder.push(dir), /config.yaml: requirements: must be a list of strings/);
});

test('a build cut short by a stop runs again at the next start, and a development push builds too', async (t) => {
  const dataDir = tempDir(t, 'girder-build-restart-');
  const dir = modelDir(t, trussModel('model_name: again\nrequirements: [six, attrs]\n', IMPORTS, USES));
  const first = await Girder.start({ dataDir, port: 0, probeIntervalMs: 200 });
  const key = first.newAdminKey!;
  const pushed = await pushDir(first.url, key, dir);
  assert.equal(pushed.deployment.status, 'BUILDING');
  await first.close(); // its pip is stopped; nothing half-built counts

  const girder = await startGirder(t, { dataDir, apiKey: key });
  const status = await builtStatus(girder.g, pushed.deployment.id);
  assert.equal(status, 'BUILT', String(girder.g.registry.deployments.get(pushed.deployment.id)?.build?.error));
  const d = girder.g.registry.deployments.get(pushed.deployment.id)!;
  await waitFor(() => girder.g.supervisor.status(d).status === 'ACTIVE', 30_000, 'production to serve');
  const r = await call(`${girder.url}/model-${pushed.model.id}/production/predict`, {
    headers: girder.auth,
    body: '{}',
  });
  assert.equal(r.json.six, '1.17.0');

  const dev = modelDir(t, trussModel('model_name: again\nrequirements: [idna]\n', 'import idna', 'idna.__version__'));
  const devPush = await girder.push(dev, { development: 'true' });
  assert.equal(devPush.deployment.status, 'BUILDING');
  assert.equal(await builtStatus(girder.g, devPush.deployment.id), 'BUILT');
  const devD = girder.g.registry.deployments.get(devPush.deployment.id)!;
  await waitFor(() => girder.g.supervisor.status(devD).status === 'ACTIVE', 30_000, 'development to serve');
  const r2 = await call(`${girder.url}/model-${pushed.model.id}/development/predict`, {
    headers: girder.auth,
    body: '{}',
  });
  assert.equal(r2.status, 200, r2.text);
});
