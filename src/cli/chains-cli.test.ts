import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Girder } from '../girder.ts';
import { ok, type Run, runCli } from './run-cli.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const HELLO = join(ROOT, 'examples/hello-chain/chain.ts');

describe('girder CLI for chains, against a running server', () => {
  let g: Girder;
  let dataDir: string;
  let key: string;
  let chainId: string;

  const cli = (args: string[]): Promise<Run> => runCli(g.url, key, args);
  const production = () => g.chainRegistry.resolve(chainId, { kind: 'production' });
  const failed = (r: Run, message: RegExp) => {
    assert.equal(r.code, 1, `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    assert.match(r.stderr, message);
  };

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'girder-chains-cli-'));
    g = await Girder.start({ dataDir, port: 0, probeIntervalMs: 200 });
    key = g.newAdminKey!;
    const pushed = ok(await cli(['push', HELLO, '--name', 'hello']));
    chainId = /^chain\s+([a-z0-9]{8})/m.exec(pushed.stdout)?.[1] ?? '';
    assert.ok(g.chainRegistry.chains.has(chainId), pushed.stdout);
  });
  after(async () => {
    await g.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  test('chains and chain-deployments list the chain, its deployments and chainlets', async () => {
    assert.match(ok(await cli(['chains'])).stdout, new RegExp(`^${chainId}\\s+hello\\s+[a-z0-9]{7}\\s+-\\s+1$`, 'm'));
    const { chains } = JSON.parse(ok(await cli(['chains', '--json'])).stdout);
    assert.deepEqual(
      chains.map((c: { id: string }) => c.id),
      [chainId],
    );
    const table = ok(await cli(['chain-deployments', 'hello'])).stdout;
    assert.match(table, /deployment-1\s+production\s+ACTIVE\s+.*HelloAll:ACTIVE SayHello:ACTIVE/);
    const { deployments } = JSON.parse(ok(await cli(['chain-deployments', chainId, '--json'])).stdout);
    assert.equal(deployments[0].id, production().id);
    failed(await cli(['chain-deployments', 'nope']), /No chain "nope"\. List them with `girder chains`/);
  });

  test('promote moves every chainlet of a chain deployment, to production or a new environment', async () => {
    const first = production().id;
    ok(await cli(['push', HELLO, '--name', 'hello']));
    const r = ok(await cli(['promote', 'hello', 'deployment-2']));
    assert.match(r.stdout, /to production: every chainlet moved/);
    assert.equal(production().name, 'deployment-2');
    ok(await cli(['promote', chainId, first, '--environment', 'staging']));
    assert.equal(g.chainRegistry.resolve(chainId, { kind: 'environment', name: 'staging' }).id, first);
    const envs = ok(await cli(['chain-environments', 'hello'])).stdout;
    assert.match(envs, new RegExp(`^staging\\s+${first}\\s+deployment-1\\s+ACTIVE`, 'm'));
    failed(await cli(['promote', 'hello', 'nodeplo']), /nodeplo.*not found/);
  });

  test('autoscaling shows and changes one chainlet’s settings in an environment', async () => {
    const shown = ok(await cli(['autoscaling', 'hello'])).stdout;
    assert.match(shown, /^environment production, chain deployment [a-z0-9]{7} \(deployment-2\)/);
    assert.match(shown, /^SayHello\s+0\s+1\s+60\s+900/m);
    const changed = ok(await cli(['autoscaling', 'hello', '--chainlet', 'SayHello', '--max', '3', '--min', '1']));
    assert.match(changed.stdout, /^ACCEPTED/);
    const model = g.chainRegistry.chainletModel(chainId, 'SayHello')!;
    assert.equal(g.registry.environment(model.id, 'production')!.autoscaling.max_replica, 3);
    const sayHello = production().chainlets.find((c) => c.name === 'SayHello')!;
    assert.equal(g.registry.deployments.get(sayHello.deploymentId)!.autoscaling.min_replica, 1, 'applied');
    failed(await cli(['autoscaling', 'hello', '--max', '2']), /--chainlet \(this chain's: HelloAll, SayHello\)/);
    failed(
      await cli(['autoscaling', 'hello', '--chainlet', 'Ghost', '--max', '2']),
      /no chainlet "Ghost"[\s\S]*HelloAll/,
    );
    failed(await cli(['autoscaling', 'hello', '--deployment', 'deployment-1']), /pass --environment/);
    const json = JSON.parse(ok(await cli(['autoscaling', 'hello', '--environment', 'staging', '--json'])).stdout);
    assert.equal(json.name, 'staging');
  });

  test('logs prints every chainlet’s lines, each named, or one chainlet’s', async () => {
    const ids = production().chainlets.map((c) => c.deploymentId);
    const raw = ok(await cli(['logs', 'hello', '--json']))
      .stdout.trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(new Set(raw.map((l: { deployment_id: string }) => l.deployment_id)), new Set(ids));
    const named = ok(await cli(['logs', 'hello', '-n', '2']))
      .stdout.trim()
      .split('\n');
    assert.ok(
      named.some((l) => l.startsWith('HelloAll ')) && named.some((l) => l.startsWith('SayHello ')),
      named.join('\n'),
    );
    const one = ok(await cli(['logs', 'hello', '--chainlet', 'SayHello', '--json']))
      .stdout.trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.ok(one.every((l: { deployment_id: string }) => l.deployment_id === ids[1]));
    failed(await cli(['logs', 'hello', '--chainlet', 'Nope']), /No chainlet "Nope".*HelloAll, SayHello/);
  });

  test('deactivate and activate a chain deployment', async () => {
    ok(await cli(['deactivate', 'hello', 'deployment-1']));
    assert.equal(production().active, true, 'production is untouched');
    const staged = g.chainRegistry.resolve(chainId, { kind: 'environment', name: 'staging' }, { allowInactive: true });
    assert.equal(staged.active, false);
    assert.match(ok(await cli(['chain-deployments', 'hello'])).stdout, /deployment-1\s+staging\s+INACTIVE/);
    ok(await cli(['activate', 'hello', 'deployment-1']));
    assert.equal(staged.active, true);
  });

  test('a name that is both a model’s and a chain’s asks for the id', async () => {
    const pushed = ok(await cli(['push', join(ROOT, 'examples/custom-echo'), '--name', 'hello', '--no-wait']));
    const modelId = /^model\s+([a-z0-9]{8})/m.exec(pushed.stdout)?.[1] ?? '';
    failed(await cli(['promote', 'hello', 'deployment-1']), /names a chain \([a-z0-9]{8}\) and a model/);
    ok(await cli(['logs', modelId, '-n', '1']));
    ok(await cli(['autoscaling', chainId]));
  });

  test('chains rm deletes a chain deployment that serves nothing, then the chain', async () => {
    failed(await cli(['chains', 'rm', 'hello', 'deployment-1']), /serves environment "staging"/);
    ok(await cli(['promote', chainId, 'deployment-2', '--environment', 'staging']));
    const copy = g.chainRegistry.resolve(chainId, { kind: 'environment', name: 'staging' });
    assert.notEqual(copy.name, 'deployment-2', 'deployment-2 serves production: staging got a copy');
    assert.match(ok(await cli(['chains', 'rm', chainId, 'deployment-1'])).stdout, /Deleted chain deployment/);
    assert.equal(g.chainRegistry.deploymentsOf(chainId).length, 2);
    const gone = JSON.parse(ok(await cli(['chains', 'rm', chainId, '--json'])).stdout);
    assert.deepEqual(gone, { id: chainId, deleted: true });
    assert.match(ok(await cli(['chains'])).stdout, /No chains yet/);
    assert.equal([...g.registry.models.values()].filter((m) => m.chainId).length, 0, 'no chainlet model is left');
  });
});
