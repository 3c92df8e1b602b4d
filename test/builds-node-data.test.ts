import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { ok, runCli } from '../src/cli/run-cli.ts';
import { builtStatus, modelDir, preferLocalIndex, trussModel } from './builds.harness.ts';
import { call, startGirder } from './helpers.ts';
import { waitFor } from './wait.ts';

preferLocalIndex();

const TS_MODEL = `
import type { Model } from 'girder';
import { HttpError } from 'girder';
import shout from 'shout';

export default class Loud implements Model {
  predict({ text = 'hi' }: { text?: string }) {
    if (!text) throw new HttpError(422, 'text is empty');
    return { loud: shout(text) };
  }
}
`;

test('a TypeScript model imports the packages its package.json lists, installed at build; girder stays the SDK', async (t) => {
  const girder = await startGirder(t);
  const dir = modelDir(t, {
    'config.yaml': 'model_name: loud\n',
    'model/model.ts': TS_MODEL,
    // A local package, so that the test needs no registry; npm installs it as it would one from a registry.
    'package.json': JSON.stringify({ name: 'loud', private: true, dependencies: { shout: 'file:vendor/shout' } }),
    'vendor/shout/package.json': JSON.stringify({ name: 'shout', version: '1.0.0', type: 'module', main: 'index.js' }),
    'vendor/shout/index.js': 'export default (s) => s.toUpperCase() + "!";\n',
  });
  const pushed = await girder.push(dir);
  assert.equal(await builtStatus(girder.g, pushed.deployment.id), 'BUILT');
  const d = girder.g.registry.deployments.get(pushed.deployment.id)!;
  assert.match(d.build!.envs.node!, /envs\/node\/[0-9a-f]{24}$/);
  assert.ok(existsSync(`${d.build!.envs.node}/node_modules/shout/index.js`), 'installed into the environment');
  assert.ok(!existsSync(`${d.dir}/node_modules`), 'not into the snapshot');
  await waitFor(() => girder.g.supervisor.status(d).status === 'ACTIVE', 30_000, 'the model to serve');
  const r = await call(`${girder.url}/model-${pushed.model.id}/production/predict`, {
    headers: girder.auth,
    body: '{"text":"hello"}',
  });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, { loud: 'HELLO!' });
  const bad = await call(`${girder.url}/model-${pushed.model.id}/production/predict`, {
    headers: girder.auth,
    body: '{"text":""}',
  });
  assert.equal(bad.status, 422, 'HttpError from girder is the SDK class');

  const again = await girder.push(dir);
  assert.equal(girder.g.registry.deployments.get(again.deployment.id)!.build!.runs, 0, 'same package.json: no npm run');
});

test('external_data is downloaded once into the data dir; gc removes the environments no deployment uses', async (t) => {
  let downloads = 0;
  const server = createServer((req, res) => {
    if (req.url !== '/weights.txt') return void res.writeHead(404).end();
    downloads++;
    res.end('forty-two\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/weights.txt`;

  const girder = await startGirder(t);
  const config = `model_name: data\nexternal_data:\n  - url: ${url}\n    local_data_path: nested/weights.txt\n`;
  const files = trussModel(
    config,
    'import pathlib',
    'pathlib.Path(self._data_dir, "nested", "weights.txt").read_text()',
  );
  const dir = modelDir(t, files);
  const pushed = await girder.push(dir);
  assert.equal(await builtStatus(girder.g, pushed.deployment.id), 'BUILT');
  const d = girder.g.registry.deployments.get(pushed.deployment.id)!;
  await waitFor(() => girder.g.supervisor.status(d).status === 'ACTIVE', 30_000, 'the model to serve');
  const r = await call(`${girder.url}/model-${pushed.model.id}/production/predict`, {
    headers: girder.auth,
    body: '{}',
  });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json, 'forty-two\n');
  const second = await girder.push(dir, { promote: 'true' });
  assert.equal(girder.g.registry.deployments.get(second.deployment.id)!.build!.status, 'BUILT');
  assert.equal(downloads, 1, 'downloaded once');

  // A python environment that only the first model's deployment uses, then that model is deleted.
  const venvModel = modelDir(t, trussModel('model_name: gone\nrequirements: [six]\n', 'import six', '1'));
  const venv = await girder.push(venvModel);
  assert.equal(await builtStatus(girder.g, venv.deployment.id), 'BUILT');
  const venvDir = girder.g.registry.deployments.get(venv.deployment.id)!.build!.envs.python!;
  const del = await call(`${girder.url}/api/v1/models/${venv.model.id}`, { method: 'DELETE', headers: girder.auth });
  assert.equal(del.status, 200, del.text);

  const gc = ok(await runCli(girder.url, girder.key, ['gc']));
  assert.match(gc.stdout, new RegExp(`removed ${venvDir}`));
  assert.ok(!existsSync(venvDir), 'the unused virtualenv is gone');
  assert.ok(existsSync(d.build!.data![0]), 'the external file two deployments use stays');
  assert.match(ok(await runCli(girder.url, girder.key, ['gc'])).stdout, /^0 environments removed/m);
});

test('girder push streams the build, then waits; a failed build is its error and exit code', async (t) => {
  const girder = await startGirder(t);
  const good = modelDir(t, trussModel('model_name: cli-build\nrequirements: [six]\n', 'import six', 'six.__version__'));
  const r = ok(await runCli(girder.url, girder.key, ['push', good, '--timeout', '120']));
  assert.match(r.stdout, /building\s+deployment-1/);
  assert.match(r.stdout, /==> \$ pip install six/);
  assert.match(r.stdout, /Successfully installed six/);
  assert.match(r.stdout, /status\s+ACTIVE/);
  assert.ok(
    r.stdout.indexOf('Successfully installed') < r.stdout.indexOf('status      ACTIVE'),
    'the build comes first',
  );

  const bad = modelDir(t, trussModel('model_name: cli-build\nrequirements: [girder-no-such-package-xyz]\n', '', '1'));
  const failed = await runCli(girder.url, girder.key, ['push', bad, '--timeout', '120']);
  assert.equal(failed.code, 1, failed.stdout);
  assert.match(failed.stdout, /status\s+BUILD_FAILED/);
  assert.match(failed.stdout, /failed to build:\n[\s\S]*No matching distribution found for girder-no-such-package-xyz/);
  const log = ok(
    await runCli(girder.url, girder.key, ['logs', 'cli-build', '--build', '--deployment', 'deployment-2']),
  );
  assert.match(log.stdout, /==> build failed: /);
});
