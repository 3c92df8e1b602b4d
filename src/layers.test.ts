import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

/**
 * The layers of `src/`, lowest first. A module may import its own layer and any layer below it,
 * never one above: the gateway calls the queue, the queue calls the runtime, and so on down to the
 * records every layer shares. Tests (`*.test.ts`) may import anything.
 */
const LAYERS: string[][] = [
  ['errors.ts', 'ids.ts', 'sdk'],
  ['records'],
  ['store'],
  ['control'],
  ['runtime'],
  ['queue'],
  ['gateway'],
  ['girder.ts'],
  ['cli'],
];

const SRC = dirname(fileURLToPath(import.meta.url));
const IMPORT_RE = /(?:^|\s)(?:import|export)\s[^'"]*?from\s+'([^']+)'|import\(\s*'([^']+)'\s*\)|^import\s+'([^']+)'/gm;

/** The layer of a path under src/: the index in LAYERS of its first segment. */
function layerOf(file: string): { name: string; rank: number } {
  const first = relative(SRC, file).split('/')[0];
  const rank = LAYERS.findIndex((names) => names.includes(first));
  return { name: first, rank };
}

async function sources(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    const path = join(entry.parentPath, entry.name);
    if (entry.isFile() && path.endsWith('.ts') && !path.endsWith('.test.ts') && !path.includes('/fixtures/')) {
      out.push(path);
    }
  }
  return out;
}

/** Every import in `text`, the source of `file`, that reaches a layer above the file's own. */
function upwardImports(file: string, text: string): string[] {
  const from = layerOf(file);
  const bad: string[] = [];
  for (const m of text.matchAll(IMPORT_RE)) {
    const spec = m[1] ?? m[2] ?? m[3];
    if (!spec.startsWith('.')) continue;
    const target = resolve(dirname(file), spec);
    const to = layerOf(target);
    if (to.name !== from.name && to.rank >= from.rank)
      bad.push(`${relative(SRC, file)} imports ${relative(SRC, target)}`);
  }
  return bad;
}

test('every folder of src/ belongs to a layer', async () => {
  const unknown = (await sources(SRC)).filter((f) => layerOf(f).rank < 0).map((f) => relative(SRC, f));
  assert.deepEqual(unknown, [], 'add the new folder to LAYERS in src/layers.test.ts');
});

test('imports point down the layers: gateway → queue → runtime → control → store → records', async () => {
  const files = await sources(SRC);
  const bad = (await Promise.all(files.map(async (f) => upwardImports(f, await readFile(f, 'utf8'))))).flat();
  assert.deepEqual(bad, []);
});

test('the layer check catches an upward import, and only that', () => {
  const file = join(SRC, 'store', 'probe.ts');
  const text = [
    "import type { AsyncQueue } from '../queue/queue.ts';",
    "import { x } from './same.ts';",
    "import type { DeploymentRecord } from '../records/control.ts';",
    "export { y } from '../control/registry.ts';",
    "const lazy = await import('../gateway/server.ts');",
  ].join('\n');
  assert.deepEqual(upwardImports(file, text), [
    'store/probe.ts imports queue/queue.ts',
    'store/probe.ts imports control/registry.ts',
    'store/probe.ts imports gateway/server.ts',
  ]);
});
