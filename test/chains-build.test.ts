/**
 * A chain's folder is built as a TypeScript model's is: its package.json's packages are installed
 * before the chain file is imported to describe it, and every chainlet runs with them. A failed
 * install fails the push with npm's own message, and what served before still serves.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { modelDir } from './builds.harness.ts';
import { pushChain } from './chains.harness.ts';
import { call, startGirder } from './helpers.ts';

const CHAIN = `
import { chainlet, depends, type Input, z } from 'girder/chains';
import shout from 'shout';

export class Shout extends chainlet({ input: z.object({ text: z.string() }) }) {
  async runRemote({ text }: Input<typeof Shout>) {
    return shout(text);
  }
}

export class Front extends chainlet({
  entrypoint: true,
  input: z.object({ words: z.array(z.string()) }),
  deps: { shout: depends(Shout) },
}) {
  async runRemote({ words }: Input<typeof Front>) {
    return (await Promise.all(words.map((text) => this.deps.shout.runRemote({ text })))).join(' ');
  }
}
`;

const folder = (dependency: string) => ({
  'chain.ts': CHAIN,
  // A local package, so that the test needs no registry; npm installs it as it would one from a registry.
  'package.json': JSON.stringify({ name: 'loud-chain', private: true, dependencies: { shout: dependency } }),
  'vendor/shout/package.json': JSON.stringify({ name: 'shout', version: '1.0.0', type: 'module', main: 'index.js' }),
  'vendor/shout/index.js': 'export default (s) => s.toUpperCase() + "!";\n',
});

test('a chain folder’s package.json is installed before the push describes it, for every chainlet', async (t) => {
  const r = await startGirder(t);
  const p = await pushChain(r.url, r.key, modelDir(t, folder('file:vendor/shout')), {
    file: 'chain.ts',
    name: 'Loud chain v2',
  });
  assert.equal(p.status, 200, JSON.stringify(p.json));
  assert.equal(p.json.chain.name, 'Loud chain v2', 'chain names are free text, as model names');
  const url = `${r.url}/chain-${p.json.chain.id}/production/run_remote`;
  const answer = await call(url, { headers: r.auth, body: '{"words":["hello","there"]}' });
  assert.equal(answer.status, 200, answer.text);
  assert.equal(answer.json, 'HELLO! THERE!');

  const broken = await pushChain(r.url, r.key, modelDir(t, folder('file:vendor/missing')), {
    file: 'chain.ts',
    name: 'Loud chain v2',
    promote: 'true',
  });
  assert.equal(broken.status, 400, JSON.stringify(broken.json));
  assert.equal(broken.json.error_code, 'client_error');
  assert.match(
    broken.json.error,
    /^The build failed: .*vendor\/missing/s,
    'the install’s own error, naming what is missing',
  );
  const still = await call(url, { headers: r.auth, body: '{"words":["still"]}' });
  assert.equal(still.json, 'STILL!', 'production still serves the chain deployment that built');
});
