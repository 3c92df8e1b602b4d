import assert from 'node:assert/strict';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../../test/temp-dir.ts';
import { DEFAULT_UID_BASE, ReplicaUsers } from './replica-users.ts';
import type { LaunchSpec } from './runners/launch.ts';
import { Sandbox } from './sandbox.ts';

const asRoot = process.getuid?.() === 0;
const users = () => ReplicaUsers.resolve('auto', DEFAULT_UID_BASE);

/** A data dir with one deployment (`dep1234`) whose snapshot and secrets exist, as the supervisor leaves them. */
function deployment(t: { after: (fn: () => void) => void }) {
  const dataDir = tempDir(t);
  const snapshot = join(dataDir, 'snapshots', 'ab12cd34ef56');
  mkdirSync(join(snapshot, 'model'), { recursive: true });
  writeFileSync(join(snapshot, 'config.yaml'), 'model_name: x\n', { mode: 0o600 });
  mkdirSync(join(dataDir, 'run', 'dep1234', 'secrets'), { recursive: true });
  writeFileSync(join(dataDir, 'run', 'dep1234', 'secrets', 'token'), 's3cret', { mode: 0o600 });
  const spec = { runner: 'custom', command: '/bin/sh', args: ['-c', 'exec server'], cwd: snapshot } as LaunchSpec;
  return { dataDir, snapshot, spec, env: { PATH: '/usr/bin:/bin', PORT: '1234', HOME: '/root' } };
}

/** Runs `fn` with a PATH on which no bwrap is found. */
async function withoutBwrap<T>(fn: () => Promise<T>): Promise<T> {
  const path = process.env.PATH;
  process.env.PATH = '/nonexistent';
  try {
    return await fn();
  } finally {
    process.env.PATH = path;
  }
}

test('auto falls back to no sandbox and says why; bwrap refuses to start without it; none is none', async (t) => {
  const dataDir = tempDir(t);
  const auto = await withoutBwrap(() => Sandbox.create({ mode: 'auto', dataDir, users: users() }));
  assert.equal(auto.kind, 'none');
  assert.match(auto.summary, /^replicas: NOT sandboxed \(bwrap is not installed; apt-get install bubblewrap\)/);
  await assert.rejects(
    withoutBwrap(() => Sandbox.create({ mode: 'bwrap', dataDir, users: users() })),
    /--sandbox bwrap: bwrap is not installed/,
  );
  assert.equal((await Sandbox.create({ mode: 'none', dataDir, users: users() })).kind, 'none');
  await assert.rejects(Sandbox.create({ mode: 'docker' as 'none', dataDir, users: users() }), /auto, bwrap or none/);
});

test('without a sandbox, a root Girder runs a replica as its snapshot user, who alone may read its files', {
  skip: !asRoot && 'only root switches users',
}, async (t) => {
  const { dataDir, snapshot, spec, env } = deployment(t);
  const u = users();
  const sandbox = await Sandbox.create({ mode: 'none', dataDir, users: u });
  const plan = await sandbox.plan({ deploymentId: 'dep1234', spec, env });
  const id = u.identityFor(snapshot)!;
  assert.deepEqual([plan.command, plan.uid, plan.gid], ['/bin/sh', id.uid, id.gid]);
  assert.equal(plan.env.HOME, join(dataDir, 'run', 'dep1234', 'home'));
  assert.ok(sandbox.dataDirTraversable);
  const st = (p: string) => statSync(p);
  assert.deepEqual([st(snapshot).gid, st(snapshot).mode & 0o777], [id.gid, 0o750]);
  assert.equal(st(join(snapshot, 'config.yaml')).mode & 0o777, 0o640, 'group-readable, never world-readable');
  const secret = st(join(dataDir, 'run', 'dep1234', 'secrets', 'token'));
  assert.deepEqual([secret.uid, secret.gid, secret.mode & 0o777], [0, id.gid, 0o640], "Girder's, its group may read");
  const runDir = st(join(dataDir, 'run', 'dep1234'));
  assert.deepEqual([runDir.uid, runDir.mode & 0o777], [id.uid, 0o700]);
});

test('with bwrap, Girder spawns env ignoring SIGTERM, bwrap, the user switch, then the model with SIGTERM back', async (t) => {
  const { dataDir, spec, env } = deployment(t);
  const sandbox = await Sandbox.create({ mode: 'auto', dataDir, users: users() });
  if (sandbox.kind !== 'bwrap') return t.skip(sandbox.summary);
  const plan = await sandbox.plan({ deploymentId: 'dep1234', spec, env });
  assert.match(plan.command, /\/env$/);
  assert.equal(plan.args[0], '--ignore-signal=TERM');
  assert.match(plan.args[1], /\/bwrap$/);
  const inner = plan.args.slice(plan.args.indexOf('--') + 1);
  assert.deepEqual(inner.slice(-4), ['--default-signal=TERM', '/bin/sh', '-c', 'exec server']);
  if (asRoot) assert.match(inner[0], /\/setpriv$/);
  assert.equal(plan.uid, undefined, 'bwrap itself starts as Girder, to mount what only Girder can reach');
  assert.equal(plan.env.TMPDIR, '/tmp');
});

test('--sandbox-ro-bind shows more host paths read-only, and a path that does not exist stops the start', async (t) => {
  const { dataDir, spec, env } = deployment(t);
  const extra = tempDir(t);
  await assert.rejects(
    Sandbox.create({ mode: 'auto', dataDir, users: users(), readOnly: [join(extra, 'nope')] }),
    /--sandbox-ro-bind: there is no/,
  );
  const sandbox = await Sandbox.create({ mode: 'auto', dataDir, users: users(), readOnly: [extra] });
  if (sandbox.kind !== 'bwrap') return t.skip(sandbox.summary);
  const { args } = await sandbox.plan({ deploymentId: 'dep1234', spec, env });
  const i = args.indexOf(extra);
  assert.deepEqual(args.slice(i - 1, i + 2), ['--ro-bind', extra, extra]);
});
