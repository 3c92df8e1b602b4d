import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { parseModelConfig } from '../control/packaging/config.ts';
import { DEFAULT_AUTOSCALING, type DeploymentRecord, type EnvironmentRecord } from '../records/control.ts';
import { replicaEnv } from './replica-env.ts';

const NODE_BIN = dirname(process.execPath);

/** A deployment whose config.yaml holds `yaml` besides its name. */
function deployment(yaml: string): DeploymentRecord {
  const { config } = parseModelConfig(`model_name: env-test\n${yaml}`);
  return {
    id: 'dep1234',
    modelId: 'abcd1234',
    name: 'deployment-1',
    createdAt: '2025-01-01T00:00:00.000Z',
    isDevelopment: false,
    active: true,
    dir: '/snapshots/ab12cd',
    config,
    autoscaling: { ...DEFAULT_AUTOSCALING },
    labels: null,
  };
}

function dataDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'girder-env-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const noSecrets = { values: () => new Map<string, string>() };
const spec = { modelClassFilename: null };

test("a replica inherits only the listed variables of Girder's environment, never its keys", (t) => {
  const env = replicaEnv({
    dataDir: dataDir(t),
    deployment: deployment(''),
    spec,
    secrets: noSecrets,
    environment: undefined,
    parentEnv: {
      PATH: '/opt/bin',
      HOME: '/home/ada',
      LANG: 'C.UTF-8',
      GIRDER_API_KEY: 'k',
      AWS_SECRET_ACCESS_KEY: 's',
    },
  });
  assert.equal(env.HOME, '/home/ada');
  assert.equal(env.LANG, 'C.UTF-8');
  assert.equal(env.GIRDER_API_KEY, undefined);
  assert.equal(env.AWS_SECRET_ACCESS_KEY, undefined);
  // `node` in a custom start command is the Node that runs Girder.
  assert.equal(env.PATH, `${NODE_BIN}:/opt/bin`);
});

test('without a PATH of its own, a replica gets the system directories after Girder’s Node', (t) => {
  const env = replicaEnv({
    dataDir: dataDir(t),
    deployment: deployment(''),
    spec,
    secrets: noSecrets,
    environment: undefined,
    parentEnv: {},
  });
  assert.equal(env.PATH, `${NODE_BIN}:/usr/bin:/bin`);
});

test('the secrets the config names become 0600 files in a fresh 0700 directory, never variables', (t) => {
  const dir = dataDir(t);
  const secretsDir = join(dir, 'run', 'dep1234', 'secrets');
  mkdirSync(secretsDir, { recursive: true });
  writeFileSync(join(secretsDir, 'removed_from_config'), 'old');
  const store = new Map([
    ['hf_token', 'hf_abc'],
    ['unnamed', 'not for this model'],
  ]);
  const secrets = {
    values: (names: Iterable<string>) => new Map([...names].flatMap((n) => (store.has(n) ? [[n, store.get(n)!]] : []))),
  };
  const env = replicaEnv({
    dataDir: dir,
    deployment: deployment('secrets: { hf_token: null, not_set: null }'),
    spec,
    secrets,
    environment: undefined,
  });
  assert.equal(env.GIRDER_SECRETS_DIR, secretsDir);
  assert.deepEqual(readdirSync(secretsDir), ['hf_token']);
  assert.equal(readFileSync(join(secretsDir, 'hf_token'), 'utf8'), 'hf_abc');
  assert.equal(statSync(join(secretsDir, 'hf_token')).mode & 0o777, 0o600);
  assert.equal(statSync(secretsDir).mode & 0o777, 0o700);
  assert.ok(!Object.values(env).some((v) => v.includes('hf_abc')));
});

test('a replica learns its model, deployment, config and environment, which environment_variables cannot override', (t) => {
  const environment = { name: 'staging' } as EnvironmentRecord;
  const d = deployment('environment_variables: { FLAVOUR: vanilla, BT_MODEL_ID: spoofed }');
  const env = replicaEnv({ dataDir: dataDir(t), deployment: d, spec, secrets: noSecrets, environment });
  assert.equal(env.FLAVOUR, 'vanilla');
  assert.equal(env.BT_MODEL_ID, 'abcd1234');
  assert.equal(env.BT_MODEL_DEPLOYMENT_ID, 'dep1234');
  assert.equal(env.GIRDER_MODEL_DIR, '/snapshots/ab12cd');
  assert.equal(env.GIRDER_ENVIRONMENT, '{"name":"staging"}');
  assert.equal(JSON.parse(env.GIRDER_CONFIG).model_name, 'env-test');
  const unserved = replicaEnv({ dataDir: dataDir(t), deployment: d, spec, secrets: noSecrets, environment: undefined });
  assert.equal(unserved.GIRDER_ENVIRONMENT, 'null');
});
