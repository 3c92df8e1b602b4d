import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Girder } from '../girder.ts';
import { ok, runCli, type Run } from './run-cli.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ECHO = join(ROOT, 'examples/custom-echo');

describe('girder CLI against a running server', () => {
  let g: Girder;
  let dataDir: string;
  let key: string;
  let modelId: string;

  const cli = (args: string[], opts: { key?: string; stdin?: string } = {}): Promise<Run> =>
    runCli(g.url, opts.key ?? key, args, opts.stdin);

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'girder-cli-'));
    g = await Girder.start({ dataDir, port: 0, probeIntervalMs: 200 });
    key = g.newAdminKey!;
  });
  after(async () => {
    await g.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  test('push prints the model id and waits for ACTIVE', async () => {
    const r = ok(await cli(['push', ECHO, '--timeout', '60']));
    modelId = /^model\s+([a-z0-9]{8})/m.exec(r.stdout)?.[1] ?? '';
    assert.ok(g.registry.models.has(modelId), r.stdout);
    assert.match(
      r.stdout,
      new RegExp(`curl -s -X POST ${g.url}/model-${modelId}/production/predict .*-d '\\{"hello":"world"\\}'`),
    );
    assert.match(r.stdout, /status\s+ACTIVE/);
  });

  test('a push that serves nothing yet starts its deployment once and says whether it works', async () => {
    const name = ['--name', 'echo-twice', '--timeout', '60'];
    assert.doesNotMatch(ok(await cli(['push', ECHO, ...name])).stdout, /starting it once/, 'production runs anyway');
    const second = ok(await cli(['push', ECHO, ...name]));
    assert.match(second.stdout, /starting it once to check that it works/);
    assert.match(second.stdout, /status\s+ACTIVE/);
    assert.match(second.stdout, /It works/);
    const broken = await cli(['push', join(ROOT, 'test/fixtures/load-fails'), ...name]);
    assert.equal(broken.code, 1, broken.stdout);
    assert.match(broken.stdout, /status\s+DEPLOY_FAILED/);
    assert.match(broken.stdout, /last log lines/);
    assert.doesNotMatch(ok(await cli(['push', ECHO, '--name', 'echo-twice', '--no-wait'])).stdout, /starting it once/);
  });

  test('predict prints the echo', async () => {
    const r = ok(await cli(['predict', 'custom-echo', '--data', '{"hello":"cli"}']));
    assert.deepEqual(JSON.parse(r.stdout), { hello: 'cli' });
    assert.ok(r.stdout.endsWith('\n'), 'the answer ends with a newline, even when piped');
  });

  test('--url and --api-key work before the command as well as after it', async () => {
    // No key in the environment: only the flags can make these calls work.
    const bare = (args: string[]) => runCli('http://127.0.0.1:1', '', args);
    const before = ok(await bare(['--url', g.url, '--api-key', key, 'models', '--json']));
    assert.ok(JSON.parse(before.stdout).models.some((m: { id: string }) => m.id === modelId));
    const after = ok(await bare(['models', '--url', g.url, '--api-key', key, '--json']));
    assert.deepEqual(JSON.parse(after.stdout), JSON.parse(before.stdout));
    const mixed = ok(await bare(['--url', g.url, 'predict', 'custom-echo', '--api-key', key, '--data', '{"a":1}']));
    assert.deepEqual(JSON.parse(mixed.stdout), { a: 1 });
  });

  test('predict with invalid --data fails with a clear message', async () => {
    const r = await cli(['predict', modelId, '--data', '{hello}']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /--data is not valid JSON/);
    assert.equal(r.stdout, '');
  });

  test('models and deployments list the pushed model', async () => {
    const { models } = JSON.parse(ok(await cli(['models', '--json'])).stdout);
    const model = models.find((m: { id: string }) => m.id === modelId);
    assert.equal(model.name, 'custom-echo');
    const { deployments } = JSON.parse(ok(await cli(['deployments', 'custom-echo', '--json'])).stdout);
    assert.equal(deployments.length, 1);
    assert.equal(deployments[0].id, model.production_deployment_id);
    assert.equal(deployments[0].status, 'ACTIVE');
    assert.match(ok(await cli(['models'])).stdout, new RegExp(`^${modelId}\\s+custom-echo`, 'm'));
  });

  test('keys create, list and revoke round trip', async () => {
    const created = ok(
      await cli(['keys', 'create', '--name', 'ci', '--type', 'WORKSPACE_INVOKE', '--model', 'custom-echo']),
    );
    const newKey = created.stdout.trim();
    assert.match(created.stderr, /shown only once/);
    const listed = JSON.parse(ok(await cli(['keys', 'list', '--json'])).stdout).keys.find(
      (k: { name: string }) => k.name === 'ci',
    );
    assert.ok(newKey.startsWith(listed.prefix));
    assert.deepEqual(listed.model_ids, [modelId]);
    assert.ok(!ok(await cli(['keys', 'list'])).stdout.includes(newKey));
    ok(await cli(['keys', 'revoke', listed.prefix]));
    const after = JSON.parse(ok(await cli(['keys', 'list', '--json'])).stdout).keys;
    assert.ok(!after.some((k: { prefix: string }) => k.prefix === listed.prefix));
  });

  test('secrets set from stdin, list without the value, rm', async () => {
    ok(await cli(['secrets', 'set', 'hf_token'], { stdin: 'sup3r-s3cret\n' }));
    assert.equal(g.secrets.values(['hf_token']).get('hf_token'), 'sup3r-s3cret'); // the newline from stdin is dropped
    for (const args of [
      ['secrets', 'list'],
      ['secrets', 'list', '--json'],
    ]) {
      const r = ok(await cli(args));
      assert.match(r.stdout, /hf_token/);
      assert.ok(!r.stdout.includes('sup3r'), r.stdout);
    }
    ok(await cli(['secrets', 'rm', 'hf_token']));
    assert.doesNotMatch(ok(await cli(['secrets', 'list'])).stdout, /hf_token/);
  });

  test("logs prints the deployment's lines", async () => {
    const depId = g.registry.environment(modelId, 'production')!.currentDeploymentId!;
    const raw = ok(await cli(['logs', 'custom-echo', '--json']))
      .stdout.trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.ok(raw.length > 0);
    assert.ok(raw.every((l: { deployment_id: string }) => l.deployment_id === depId));
    const lines = ok(await cli(['logs', modelId, '--deployment', depId, '--limit', '5']))
      .stdout.trim()
      .split('\n');
    assert.ok(lines.length > 0 && lines.length <= 5);
    assert.equal(lines.at(-1), `${raw.at(-1).ts} ${raw.at(-1).replica_id} ${raw.at(-1).msg}`);
  });

  test('a wrong key gives a clear unauthorized message', async () => {
    const r = await cli(['models'], { key: 'wrong-key' });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^Invalid API key\. \(unauthorized\)\n.+/);
  });

  test('promote to a new environment', async () => {
    const dep = g.registry.environment(modelId, 'production')!.currentDeploymentId!;
    const r = ok(await cli(['promote', 'custom-echo', dep, '--environment', 'staging']));
    assert.match(r.stdout, /to staging/);
    const { environments } = JSON.parse(ok(await cli(['environments', modelId, '--json'])).stdout);
    const staging = environments.find((e: { name: string }) => e.name === 'staging');
    assert.ok(staging.current_deployment, JSON.stringify(environments));
  });
});
