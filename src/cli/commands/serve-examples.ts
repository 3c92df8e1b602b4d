import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { packDir } from '../../control/packaging/bundle.ts';
import { receivePush } from '../../control/packaging/push.ts';
import type { Girder } from '../../girder.ts';
import type { DeploymentRecord } from '../../records/control.ts';
import { curlSnippet, exportLine, type KeySource, pythonSnippet, v1Snippet } from '../snippets.ts';

/** `girder serve --examples`: the example models deployed, and what to paste to call them. */

const EXAMPLES_DIR = fileURLToPath(new URL('../../../examples/', import.meta.url));

/** Pushes each example model that is not deployed yet, in-process, through the same path as `girder push`. */
export async function deployExamples(g: Girder): Promise<string[]> {
  const hasPython = spawnSync('python3', ['--version']).status === 0;
  const ids: string[] = [];
  for (const name of readdirSync(EXAMPLES_DIR).sort()) {
    const dir = join(EXAMPLES_DIR, name);
    if (!existsSync(join(dir, 'config.yaml'))) continue;
    if (existsSync(join(dir, 'model', 'model.py')) && !hasPython) {
      console.log(`  skipping ${name}: python3 is not on PATH`);
      continue;
    }
    const known = g.registry.modelByName(name);
    if (known) {
      ids.push(known.id);
      continue;
    }
    const r = await receivePush(g, g.options.dataDir, Readable.from(packDir(dir)), {}, g.options.maxPushBytes);
    for (const w of r.warnings) console.log(`  ${name}: ${w}`);
    ids.push(r.model.id);
  }
  return ids;
}

/** Waits (bounded) until the production deployments of the given models are ACTIVE. */
export async function waitActive(g: Girder, modelIds: string[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (const id of modelIds) {
    const d = g.registry.resolve(id, { kind: 'production' }, { allowInactive: true });
    while (g.supervisor.status(d).status !== 'ACTIVE' && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * What to paste to call each example: the line that sets GIRDER_API_KEY in another shell, a curl per
 * model, the first model's call in Python with `requests`, and a `/v1` curl of a chat model.
 */
export function printQuickstart(g: Girder, modelIds: string[]): void {
  const source: KeySource = process.env.GIRDER_API_KEY
    ? { kind: 'env' }
    : { kind: 'file', path: join(g.options.dataDir, 'admin-key') };
  const set = exportLine(source);
  const lines = ['', '# In another shell:', ...(set ? [set] : [])];
  const calls = modelIds.map((id) => {
    const d = g.registry.resolve(id, { kind: 'production' }, { allowInactive: true });
    const url = `${g.url}/model-${id}/production/predict`;
    return { name: g.registry.model(id).name, status: g.supervisor.status(d).status, url, input: exampleOf(d) };
  });
  for (const c of calls) lines.push(`# ${c.name} (${c.status})`, curlSnippet(c.url, c.input));
  if (calls.length) lines.push('', `# Python, ${calls[0].name}:`, ...pythonSnippet(calls[0].url, calls[0].input));
  // A model whose example input is a chat request (the LLM stand-in) answers on the OpenAI-compatible API too.
  for (const c of calls.filter((c) => (c.input as { messages?: unknown }).messages !== undefined)) {
    lines.push('', `# ${c.name} through the OpenAI-compatible API (any OpenAI SDK: base URL ${g.url}/v1):`);
    lines.push(v1Snippet(`${g.url}/v1/chat/completions`, c.input));
  }
  console.log([...lines, ''].join('\n'));
}

/** config.yaml's model_metadata.example_model_input, `{}` when it has none. */
function exampleOf(d: DeploymentRecord): unknown {
  return (d.config.model_metadata as { example_model_input?: unknown }).example_model_input ?? {};
}
