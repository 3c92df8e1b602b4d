import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseModelConfig } from '../../control/packaging/config.ts';
import { tempDir } from '../../../test/temp-dir.ts';
import { readPyproject } from './plan.ts';
import { buildSpec, isEmpty } from './spec.ts';

function dirWith(t: { after: (fn: () => void) => void }, files: Record<string, string>): string {
  const dir = tempDir(t, 'girder-spec-');
  for (const [p, text] of Object.entries(files)) {
    mkdirSync(join(dir, p, '..'), { recursive: true });
    writeFileSync(join(dir, p), text);
  }
  return dir;
}

const spec = (dir: string, yaml: string, runner: 'python' | 'node' | 'custom' = 'python') =>
  buildSpec(dir, parseModelConfig(yaml).config, runner, readPyproject);

test('requirements, a requirements.txt and a pyproject.toml all become requirement lines', async (t) => {
  const dir = dirWith(t, {
    'requirements.txt': '# comment\nsix==1.17.0  # pinned\n\nattrs\n',
    'pyproject.toml': '[project]\nname = "m"\ndependencies = ["idna>=3", "appdirs"]\n',
  });
  assert.deepEqual((await spec(dir, 'requirements: [six, " attrs "]\n')).python, {
    version: null,
    requirements: ['six', 'attrs'],
  });
  assert.deepEqual((await spec(dir, 'requirements_file: requirements.txt\n')).python?.requirements, [
    'six==1.17.0',
    'attrs',
  ]);
  assert.deepEqual((await spec(dir, 'requirements_file: pyproject.toml\n')).python?.requirements, [
    'idna>=3',
    'appdirs',
  ]);
  assert.ok(isEmpty(await spec(dir, 'model_name: m\n')), 'nothing asked, nothing to build');
});

test('bad build keys are refused, naming the key; paths stay inside the model directory', async (t) => {
  const dir = dirWith(t, { 'requirements.txt': 'six\n' });
  await assert.rejects(
    spec(dir, 'requirements_file: ../../etc/passwd\n'),
    /requirements_file: .* inside the model directory/,
  );
  await assert.rejects(spec(dir, 'requirements_file: missing.txt\n'), /missing.txt is not in the model directory/);
  await assert.rejects(
    spec(dir, 'requirements: [six]\nrequirements_file: requirements.txt\n'),
    /cannot be used together/,
  );
  await assert.rejects(spec(dir, 'python_version: "3.11"\n'), /python_version: must be like py311/);
  await assert.rejects(
    spec(dir, 'external_data:\n  - url: ftp://x/y\n    local_data_path: y\n'),
    /external_data\[0\]\.url: must be an http\(s\) URL/,
  );
  await assert.rejects(
    spec(dir, 'external_data:\n  - url: https://x/y\n    local_data_path: ../../y\n'),
    /local_data_path: .* inside the model directory/,
  );
});

test('a node model gets a node environment from its package.json, with its lockfile when there is one', async (t) => {
  const dir = dirWith(t, { 'package.json': '{"dependencies":{}}', 'package-lock.json': '{"lockfileVersion":3}' });
  const s = await spec(dir, 'model_name: m\nrequirements: [six]\n', 'node');
  assert.equal(s.python, null, 'requirements are for Python models');
  assert.equal(s.node?.lockfile?.name, 'package-lock.json');
  assert.equal((await spec(dir, 'model_name: m\n', 'python')).node, null, 'package.json is for node models');
});
