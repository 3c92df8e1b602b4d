import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseModelConfig } from '../control/packaging/config.ts';
import { DEFAULT_AUTOSCALING, type DeploymentRecord } from '../records/control.ts';
import { replicaEnv } from './replica-env.ts';

/** A deployment whose config.yaml holds `yaml` besides its name. */
function deployment(yaml: string): DeploymentRecord {
  const { config } = parseModelConfig(`model_name: cache-test\n${yaml}`);
  return {
    ...{ id: 'dep1234', modelId: 'abcd1234', name: 'deployment-1', createdAt: '', isDevelopment: false },
    ...{ active: true, dir: '/snapshots/ab12cd', config, autoscaling: { ...DEFAULT_AUTOSCALING }, labels: null },
  };
}

test("a replica's Node keeps its compile cache in the deployment's run dir, unless the config says otherwise", (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'girder-env-cache-'));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const input = {
    dataDir,
    spec: { modelClassFilename: null },
    secrets: { values: () => new Map() },
    environment: undefined,
  };
  const env = replicaEnv({ ...input, deployment: deployment('') });
  assert.equal(env.NODE_COMPILE_CACHE, join(dataDir, 'run', 'dep1234', 'node-compile-cache'));
  const own = replicaEnv({ ...input, deployment: deployment('environment_variables:\n  NODE_COMPILE_CACHE: /mine\n') });
  assert.equal(own.NODE_COMPILE_CACHE, '/mine');
});
