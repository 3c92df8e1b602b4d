import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { Girder } from '../girder.ts';
import { tempDir } from '../../test/temp-dir.ts';
import { waitFor } from '../../test/wait.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

test('girder push chain.ts --watch serves development, re-pushes on a change, and keeps the last good one on a failure', {
  timeout: 180_000,
}, async (t) => {
  const g = await Girder.start({ dataDir: join(tempDir(t), 'data'), port: 0, probeIntervalMs: 200 });
  after(() => g.close());
  const key = g.newAdminKey!;
  const dir = tempDir(t);
  const file = join(dir, 'chain.ts');
  copyFileSync(join(ROOT, 'examples/hello-chain/chain.ts'), file);
  const original = readFileSync(file, 'utf8');

  const child = spawn(
    process.execPath,
    ['--disable-warning=ExperimentalWarning', 'src/cli/main.ts', 'push', file, '--name', 'watched', '--watch'],
    { cwd: ROOT, env: { ...process.env, GIRDER_URL: g.url, GIRDER_API_KEY: key } },
  );
  let out = '';
  child.stdout.on('data', (c) => (out += c));
  child.stderr.on('data', (c) => (out += c));
  const exited = new Promise((r) => child.once('exit', r));
  t.after(async () => {
    if (child.exitCode === null) child.kill('SIGINT');
    await exited;
  });
  const lines = (re: RegExp) => out.split('\n').filter((l) => re.test(l)).length;
  const greet = async () => {
    const chain = g.chainRegistry.chainByName('watched')!;
    const res = await request(`${g.url}/chain-${chain.id}/development/run_remote`, {
      method: 'POST',
      headers: { authorization: `Api-Key ${key}` },
      body: '{"names":["Ada"]}',
    });
    return { status: res.statusCode, body: await res.body.json() };
  };
  const devId = () => g.chainRegistry.developmentOf(g.chainRegistry.chainByName('watched')!.id)?.id;

  await waitFor(() => out.includes('Watching'), 60_000, `the first push and the watch:\n${out}`);
  assert.match(out, /deployment\s+[a-z0-9]{7} \(development\)/);
  assert.match(out, /\/chain-[a-z0-9]{8}\/development\/run_remote/, 'the snippet calls development');
  assert.deepEqual(await greet(), { status: 200, body: 'Hello, Ada!' });
  const first = devId();

  writeFileSync(file, original.replace('`Hello, ', '`Hi, '));
  await waitFor(() => lines(/updated watched development/) === 1, 60_000, `the re-push:\n${out}`);
  assert.deepEqual(await greet(), { status: 200, body: 'Hi, Ada!' });
  const second = devId();
  assert.notEqual(second, first);
  assert.equal(
    g.chainRegistry.deploymentsOf(g.chainRegistry.chainByName('watched')!.id).length,
    1,
    'the last one went',
  );

  // SayHello's load() now throws: the new chain deployment cannot start, the last one keeps serving
  const broken = original.replace(
    '  async runRemote({ name }: Input<typeof SayHello>) {',
    "  async load() {\n    throw new Error('broken on purpose');\n  }\n  async runRemote({ name }: Input<typeof SayHello>) {",
  );
  assert.match(broken, /broken on purpose/);
  writeFileSync(file, broken);
  await waitFor(
    () => /push failed: Chainlet `SayHello` failed to start.*broken on purpose/.test(out),
    60_000,
    `the failed push:\n${out}`,
  );
  assert.equal(devId(), second, 'the last good development chain deployment still serves');
  assert.deepEqual(await greet(), { status: 200, body: 'Hi, Ada!' });
  child.kill('SIGINT');
  assert.equal(await exited, 0);
});
