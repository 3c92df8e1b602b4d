/**
 * Build tools run the model author's code (setup.py, npm scripts, build_commands), so a build runs
 * in the replicas' sandbox: a build command that looks for Girder's database finds nothing, and,
 * when Girder is root, it is not root. Its output is the environment, and only that.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { builtStatus, modelDir, preferLocalIndex, trussModel } from './builds.harness.ts';
import { startGirder } from './helpers.ts';

preferLocalIndex();

test('a build command cannot read Girder’s database nor write the snapshot; it writes its environment', async (t) => {
  const girder = await startGirder(t);
  const db = join(girder.g.options.dataDir, 'girder.db');
  const probe = [
    `if cat '${db}' >/dev/null 2>&1; then echo "read the database" >&2; exit 1; fi`,
    'if touch model/planted 2>/dev/null; then echo "wrote the snapshot" >&2; exit 1; fi',
    'id -u > "$VIRTUAL_ENV/built-by"',
  ].join('; ');
  const config = `model_name: jailed\nbuild_commands:\n  - ${JSON.stringify(probe)}\n`;
  const dir = modelDir(t, trussModel(config, '', '"ok"'));
  const pushed = await girder.push(dir);
  const status = await builtStatus(girder.g, pushed.deployment.id);
  const d = girder.g.registry.deployments.get(pushed.deployment.id)!;
  assert.equal(status, 'BUILT', String(d.build?.error));
  const builtBy = readFileSync(join(d.build!.envs.python!, 'built-by'), 'utf8').trim();
  if (process.getuid?.() === 0) assert.notEqual(builtBy, '0', 'as root, a build runs as a user of its own');
});
