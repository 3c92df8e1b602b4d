import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import { call, fixture, modelCopy, type Running, startGirder } from './helpers.ts';
import { alive } from './process.ts';
import { waitFor } from './wait.ts';

/**
 * A model must not reach Girder's data: the store (secret values, webhook secrets, key hashes),
 * the admin key, the logs, or another deployment's snapshot and secrets, not even through another
 * process's /proc entries. Two snoop models (test/fixtures/snoop*) try, each against the other.
 */

const asRoot = process.getuid?.() === 0;

interface Snooped {
  pid: number;
  uid: number;
  read: Record<string, string>;
  list: Record<string, string>;
  write: Record<string, string>;
  signal: Record<string, string>;
}

interface Snoop {
  modelId: string;
  deploymentId: string;
  snapshot: string;
  secretFile: string;
  secretValue: string;
  pid: number;
}

async function ask(girder: Running, who: Snoop | string, body: object): Promise<Snooped> {
  const id = typeof who === 'string' ? who : who.modelId;
  const r = await call(`${girder.url}/model-${id}/production/predict`, {
    headers: girder.auth,
    body: JSON.stringify(body),
  });
  assert.equal(r.status, 200, r.text);
  return r.json;
}

/** Deploys a copy of a snoop fixture under its own name, with a secret of its own. */
async function deploySnoop(girder: Running, t: Parameters<typeof modelCopy>[0], src: string, name: string) {
  const secret = `${name.replace(/-/g, '_')}_secret`;
  const value = `value-of-${secret}`;
  const r = await call(`${girder.url}/api/v1/secrets`, {
    headers: girder.auth,
    body: JSON.stringify({ name: secret, value }),
  });
  assert.equal(r.status, 200, r.text);
  const pushed = await girder.deploy(modelCopy(t, src, { model_name: name, secrets: { [secret]: null } }));
  const d = girder.g.registry.deployments.get(pushed.deployment.id)!;
  const secretFile = join(girder.g.options.dataDir, 'run', d.id, 'secrets', secret);
  const snoop = { modelId: pushed.model.id, deploymentId: d.id, snapshot: d.dir, secretFile, secretValue: value };
  return { ...snoop, pid: (await ask(girder, snoop.modelId, {})).pid };
}

/** What `me` tries against Girder and `other`: everything but its own files must fail. */
async function assertConfined(girder: Running, me: Snoop, other: Snoop): Promise<Snooped> {
  const dataDir = girder.g.options.dataDir;
  const db = join(dataDir, 'girder.db');
  const forbidden = [
    db,
    `${db}-wal`,
    join(dataDir, 'admin-key'),
    join(dataDir, 'logs', `${other.deploymentId}.jsonl`),
    other.secretFile,
    join(other.snapshot, 'config.yaml'),
    // Through the /proc entries of Girder and of the other replica.
    `/proc/${process.pid}/root${db}`,
    `/proc/${process.pid}/environ`,
    `/proc/${other.pid}/root${other.secretFile}`,
    `/proc/${other.pid}/cwd/config.yaml`,
    `/proc/${other.pid}/environ`,
  ];
  const own = [me.secretFile, join(me.snapshot, 'config.yaml')];
  const dirs = [dataDir, join(dataDir, 'snapshots'), join(dataDir, 'run'), join(dataDir, 'logs')];
  const r = await ask(girder, me, {
    read: [...forbidden, ...own],
    list: dirs,
    write: [join(me.snapshot, 'config.yaml')],
    signal: [other.pid, process.pid],
  });
  for (const p of forbidden) assert.match(r.read[p], /^error:/, `${me.modelId} must not read ${p}`);
  assert.equal(r.read[me.secretFile], `ok:${me.secretValue}`, 'its own secret');
  assert.match(r.read[join(me.snapshot, 'config.yaml')], /^ok:.*model_name/s, 'its own snapshot');
  assert.match(r.write[join(me.snapshot, 'config.yaml')], /^error:/, 'its snapshot is read-only');
  for (const d of dirs) {
    for (const name of ['girder.db', 'admin-key', basename(other.snapshot), other.deploymentId])
      assert.ok(!r.list[d].split(',').includes(name), `${me.modelId} lists ${name} in ${d}: ${r.list[d]}`);
  }
  if (asRoot) {
    assert.notEqual(r.uid, 0, 'a replica of a root Girder does not run as root');
    assert.match(r.signal[String(other.pid)], /^error:EPERM/, 'nor can it signal another deployment');
    assert.match(r.signal[String(process.pid)], /^error:EPERM/, 'or Girder');
  }
  return r;
}

test('in the sandbox, a replica reads its own secret and snapshot, and nothing of Girder or another deployment', async (t) => {
  const girder = await startGirder(t);
  if (girder.g.sandbox.kind === 'none' && !asRoot) return t.skip(girder.g.sandbox.summary);
  assert.equal(girder.g.sandbox.kind, 'bwrap', `${girder.g.sandbox.summary} (CI installs bubblewrap)`);
  const a = await deploySnoop(girder, t, fixture('snoop'), 'snoop-a');
  const b = await deploySnoop(girder, t, fixture('snoop-server'), 'snoop-b');
  const ra = await assertConfined(girder, a, b);
  const rb = await assertConfined(girder, b, a);
  if (asRoot) assert.notEqual(ra.uid, rb.uid, 'two deployments, two users');
  // Each has a /tmp of its own.
  assert.equal((await ask(girder, a, { write: ['/tmp/left-by-a'] })).write['/tmp/left-by-a'], 'ok:');
  assert.equal((await ask(girder, b, { read: ['/tmp/left-by-a'] })).read['/tmp/left-by-a'], 'error:ENOENT');
});

test('a running sandboxed replica reads a secret updated while it runs', async (t) => {
  const girder = await startGirder(t);
  if (girder.g.sandbox.kind === 'none' && !asRoot) return t.skip(girder.g.sandbox.summary);
  const a = await deploySnoop(girder, t, fixture('snoop'), 'snoop-update');
  const r = await call(`${girder.url}/api/v1/secrets`, {
    headers: girder.auth,
    body: JSON.stringify({ name: 'snoop_update_secret', value: 'rotated' }),
  });
  assert.equal(r.status, 200, r.text);
  assert.equal((await ask(girder, a, { read: [a.secretFile] })).read[a.secretFile], 'ok:rotated');
});

test('without the sandbox, a root Girder still runs each deployment as a user of its own who reaches only its files', {
  skip: !asRoot && 'only a root Girder switches users',
}, async (t) => {
  const girder = await startGirder(t, { sandbox: 'none' });
  assert.match(girder.g.sandbox.summary, /NOT sandboxed \(--sandbox none\)/);
  // Both in Node: python3 may live where only root can reach it (pyenv under /root).
  const a = await deploySnoop(girder, t, fixture('snoop-server'), 'snoop-a');
  const b = await deploySnoop(girder, t, fixture('snoop-server'), 'snoop-b');
  const ra = await assertConfined(girder, a, b);
  const rb = await assertConfined(girder, b, a);
  assert.notEqual(ra.uid, rb.uid, 'two deployments, two users');
});

test('stopping a sandboxed replica sends SIGTERM to the model, which exits on its own, with every child', async (t) => {
  const girder = await startGirder(t);
  const start = "trap 'echo got TERM; exit 0' TERM; node server.mjs $PORT & wait";
  const pushed = await girder.deploy(
    modelCopy(t, fixture('snoop-server'), { docker_server: { start_command: start } }),
  );
  const { pid } = await ask(girder, pushed.model.id, {});
  const replica = girder.g.supervisor.replicas(pushed.deployment.id)[0];
  const exited = new Promise<[number | null, string | null]>((ok) => replica.once('exit', (c, s) => ok([c, s])));
  await replica.stop();
  assert.deepEqual(await exited, [0, null], "the replica's exit is the model's own");
  await waitFor(() => !alive(pid), 5_000, 'the server the shell started to be gone');
  const lines = await girder.g.logs.recent(pushed.deployment.id);
  assert.ok(
    lines.some((l) => l.msg === 'got TERM'),
    'the model saw SIGTERM',
  );
});

test("Girder's data dir is its own: the store, its WAL and the admin key 0600, the directories 0700", async (t) => {
  const girder = await startGirder(t);
  await girder.deploy(fixture('snoop-server'));
  const dir = girder.g.options.dataDir;
  const mode = (p: string) => statSync(join(dir, p)).mode & 0o777;
  for (const f of ['girder.db', 'girder.db-wal', 'girder.db-shm', 'admin-key']) assert.equal(mode(f), 0o600, f);
  for (const d of ['', 'logs', 'snapshots', 'run']) assert.equal(mode(d), 0o700, d || 'the data dir');
});
