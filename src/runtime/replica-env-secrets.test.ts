import assert from 'node:assert/strict';
import { chownSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../../test/temp-dir.ts';
import { parseModelConfig } from '../control/packaging/config.ts';
import type { DeploymentRecord } from '../records/control.ts';
import { replicaEnv } from './replica-env.ts';

function deployment(secrets: string[]): DeploymentRecord {
  const yaml = `model_name: s\nsecrets:\n${secrets.map((s) => `  ${s}: null\n`).join('')}`;
  return {
    id: 'dep1234',
    modelId: 'abcd1234',
    dir: '/snap',
    config: parseModelConfig(yaml).config,
  } as DeploymentRecord;
}

const store = (values: Record<string, string>) => ({
  values: (names: Iterable<string>) => new Map([...names].filter((n) => n in values).map((n) => [n, values[n]])),
});

test("the secrets directory is updated in place: a running replica's sandbox keeps seeing it", (t) => {
  const dataDir = tempDir(t);
  const input = { dataDir, spec: { modelClassFilename: null }, environment: undefined };
  const dir = replicaEnv({
    ...input,
    deployment: deployment(['a', 'b']),
    secrets: store({ a: '1', b: '2' }),
  }).GIRDER_SECRETS_DIR;
  const inode = statSync(dir).ino;
  replicaEnv({ ...input, deployment: deployment(['a', 'c']), secrets: store({ a: 'one', c: '3' }) });
  assert.equal(statSync(dir).ino, inode, 'the same directory');
  assert.deepEqual(readdirSync(dir).sort(), ['a', 'c']);
  assert.equal(readFileSync(join(dir, 'a'), 'utf8'), 'one');
  assert.deepEqual(readdirSync(join(dataDir, 'run', 'dep1234')), ['secrets'], 'nothing left aside');
});

test("new secret files take the directory's owner and group, which may read them", {
  skip: process.getuid?.() !== 0,
}, (t) => {
  const dataDir = tempDir(t);
  const dir = join(dataDir, 'run', 'dep1234', 'secrets');
  mkdirSync(dir, { recursive: true });
  chownSync(dir, 1_879_050_000, 1_879_050_000);
  replicaEnv({
    dataDir,
    spec: { modelClassFilename: null },
    environment: undefined,
    deployment: deployment(['a']),
    secrets: store({ a: '1' }),
  });
  const st = statSync(join(dir, 'a'));
  assert.deepEqual([st.uid, st.gid, st.mode & 0o777], [1_879_050_000, 1_879_050_000, 0o640]);
});
