import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT, call } from './helpers.ts';
import { serve } from './process.ts';
import { entry, rawPush } from './raw-push.ts';
import { tempDir } from './temp-dir.ts';
import { waitFor } from './wait.ts';

const keyOf = (dataDir: string): string => readFileSync(join(dataDir, 'admin-key'), 'utf8').trim();
const config = entry('config.yaml', 'model_name: bad-bundle\n');

test('a bad entry in a push sent in parts is a 400 naming it, and the server stays up', async (t) => {
  const dataDir = tempDir(t);
  const s = await serve(t, dataDir);
  const key = keyOf(dataDir);
  const long = 'x'.repeat(300);
  const cases: [string, Buffer[]][] = [
    // The entry's file is opened while the upload waits for its bytes.
    ['.', [Buffer.concat([config, entry('.', '01234', 10)]), Buffer.from('56789')]],
    [long, [Buffer.concat([config, entry(long, '01234', 10)]), Buffer.from('56789')]],
    // A file, then a file inside it.
    ['a/b', [Buffer.concat([config, entry('a', 'x')]), entry('a/b', 'y')]],
    // The same file twice.
    ['a', [Buffer.concat([config, entry('a', 'x')]), entry('a', 'y')]],
  ];
  for (const [name, parts] of cases) {
    const r = await rawPush(s.url, key, parts);
    assert.ok(r, `an answer for ${name.slice(0, 20)} (the server is gone: ${s.output().slice(-800)})`);
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json.error_code, 'client_error');
    assert.ok(r.json.error.includes(JSON.stringify(name)), `the error names the entry: ${r.json.error}`);
  }
  assert.equal(s.child.exitCode, null, 'girder serve still runs');
  const models = await call(`${s.url}/api/v1/models`, { method: 'GET', headers: { authorization: `Api-Key ${key}` } });
  assert.equal(models.status, 200);
  assert.deepEqual(readdirSync(join(dataDir, 'snapshots')), [], 'no partial snapshot is left');
});

const canMount = spawnSync('unshare', ['-rm', 'true']).status === 0;

/**
 * `girder serve` in a mount namespace of its own whose data dir is a tmpfs of `size`, after `setup`
 * (shell, `$0` is the data dir) ran there. Its files are read through `/proc/<pid>/root`.
 */
async function serveOnTmpfs(t: Parameters<typeof tempDir>[0], size: string, setup = 'true') {
  const dataDir = tempDir(t);
  const script = `mount -t tmpfs -o size=${size} girder "$0" && ${setup} && exec "$1" src/cli/main.ts serve --port 0 --data-dir "$0"`;
  const child = spawn('unshare', ['-rm', 'sh', '-c', script, dataDir, process.execPath], {
    cwd: ROOT,
    env: { ...process.env, GIRDER_API_KEY: 'tmpfs-admin-key-0123456789' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  t.after(() => void child.kill('SIGKILL'));
  await waitFor(() => /listening on http/.test(out) || child.exitCode !== null, 20_000, 'girder serve to listen');
  const url = /listening on (http:\/\/\S+)/.exec(out)?.[1];
  if (!url) throw new Error(`girder serve did not start:\n${out}`);
  const inside = (path: string) => `/proc/${child.pid}/root${join(dataDir, path)}`;
  return { child, url, key: 'tmpfs-admin-key-0123456789', inside, output: () => out };
}

test('a push that fills the disk is a 507, leaves nothing behind, and the server stays up', {
  skip: !canMount && 'needs unshare -rm',
}, async (t) => {
  const s = await serveOnTmpfs(t, '3m');
  const mb = Buffer.alloc(1024 * 1024, 7);
  // 6 MB in six parts, into 3 MB minus the store.
  const parts = [Buffer.concat([config, entry('model/weights.bin', mb, 6 * mb.length)]), ...Array(5).fill(mb)];
  const r = await rawPush(s.url, s.key, parts, { gapMs: 100 });
  assert.ok(r, `an answer (the server is gone: ${s.output().slice(-800)})`);
  assert.equal(r.status, 507, r.text);
  assert.equal(r.json.error_code, 'insufficient_storage');
  assert.match(r.json.error, /model\/weights\.bin/);
  assert.equal(s.child.exitCode, null, 'girder serve still runs');
  assert.deepEqual(readdirSync(s.inside('snapshots')), [], 'the partial snapshot is removed');
  // The space is free again: a 1 MB upload is written whole (and refused only for what it holds).
  const small = await rawPush(s.url, s.key, [entry('data.bin', mb)]);
  assert.equal(small?.status, 400, small?.text);
  assert.match(small.json.error, /config\.yaml/);
});

test('a push the disk refuses for another reason is a 500, and the server stays up', {
  skip: !canMount && 'needs unshare -rm',
}, async (t) => {
  // The snapshots folder is read-only: the snapshot cannot even be created.
  const s = await serveOnTmpfs(
    t,
    '8m',
    'mkdir "$0/snapshots" && mount --bind "$0/snapshots" "$0/snapshots" && mount -o remount,bind,ro "$0/snapshots"',
  );
  const r = await rawPush(s.url, s.key, [config, entry('model/model.ts', 'export default class {}')]);
  assert.ok(r, `an answer (the server is gone: ${s.output().slice(-800)})`);
  assert.equal(r.status, 500, r.text);
  assert.equal(r.json.error_code, 'internal_baseten_error');
  assert.match(`${r.json.error} ${r.json.detail}`, /EROFS/);
  assert.equal(s.child.exitCode, null, 'girder serve still runs');
});
