import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bwrapArgs, type SandboxView, within } from './sandbox-args.ts';

const view = (patch: Partial<SandboxView> = {}): SandboxView => ({
  system: [{ path: '/usr' }, { path: '/bin', symlink: 'usr/bin' }, { path: '/etc' }],
  readOnly: [],
  devices: [],
  dataDir: '/srv/girder/data',
  snapshot: '/srv/girder/data/snapshots/ab12cd34ef56',
  runDir: '/srv/girder/data/run/dep1234',
  secretsDir: '/srv/girder/data/run/dep1234/secrets',
  unshareUser: false,
  ...patch,
});

/** The mounts in order, as `flag dest` (a symlink as `--symlink dest`). */
function mounts(args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (['--ro-bind', '--bind', '--dev-bind-try', '--symlink'].includes(a)) out.push(`${a} ${args[(i += 2)]}`);
    else if (['--tmpfs', '--proc', '--dev', '--dir'].includes(a)) out.push(`${a} ${args[++i]}`);
    else if (a === '--perms' || a === '--chdir') i++;
  }
  return out;
}

test('the system read-only, private /proc, /dev and /tmp, then the data dir hidden but for the deployment', () => {
  const args = bwrapArgs(view({ readOnly: ['/srv/girder'] }));
  assert.deepEqual(mounts(args), [
    '--ro-bind /usr',
    '--symlink /bin',
    '--ro-bind /etc',
    '--proc /proc',
    '--dev /dev',
    '--tmpfs /tmp',
    '--dir /srv',
    '--ro-bind /srv/girder',
    '--tmpfs /srv/girder/data',
    '--dir /srv/girder/data/snapshots',
    '--ro-bind /srv/girder/data/snapshots/ab12cd34ef56',
    '--dir /srv/girder/data/run',
    '--bind /srv/girder/data/run/dep1234',
    '--ro-bind /srv/girder/data/run/dep1234/secrets',
  ]);
  assert.deepEqual(args.slice(-2), ['--chdir', '/srv/girder/data/snapshots/ab12cd34ef56']);
  assert.ok(!args.includes('--unshare-user') && !args.includes('--unshare-pid') && !args.includes('--unshare-net'));
  assert.ok(args.includes('--unshare-ipc'));
});

test('directories bwrap would make 0700 are made 0755, and /tmp is 1777', () => {
  const args = bwrapArgs(view());
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--dir') assert.deepEqual(args.slice(i - 2, i), ['--perms', '0755'], args[i + 1]);
    if (args[i] === '--tmpfs' && args[i + 1] === '/tmp') assert.deepEqual(args.slice(i - 2, i), ['--perms', '1777']);
  }
});

test('nothing is made inside a bound host directory: it is there already', () => {
  const args = bwrapArgs(view({ readOnly: ['/opt/tools', '/opt/tools/bin/extra'], dataDir: '/var/lib/girder' }));
  const dirs = mounts(args).filter((m) => m.startsWith('--dir'));
  assert.ok(dirs.includes('--dir /opt'));
  assert.ok(!dirs.some((d) => d.startsWith('--dir /opt/tools')), 'inside /opt/tools, which is bound');
  assert.ok(!mounts(args).includes('--ro-bind /opt/tools/bin/extra'), 'visible through its parent already');
});

test('a data dir inside a system directory is still hidden, and what lies in its tmpfs is made', () => {
  const args = bwrapArgs(
    view({
      dataDir: '/usr/local/girder',
      snapshot: '/usr/local/girder/snapshots/s1',
      runDir: '/usr/local/girder/run/d1',
      secretsDir: '/usr/local/girder/run/d1/secrets',
    }),
  );
  const m = mounts(args);
  assert.ok(m.indexOf('--tmpfs /usr/local/girder') > m.indexOf('--ro-bind /usr'));
  assert.ok(m.includes('--dir /usr/local/girder/snapshots'), 'in the tmpfs, not in the host /usr');
});

test('read-only extras never reach into the data dir, and `/` is never bound', () => {
  const args = bwrapArgs(view({ readOnly: ['/', '/srv/girder/data', '/srv/girder/data/run/other', 'relative/path'] }));
  const m = mounts(args);
  assert.ok(!m.includes('--ro-bind /'));
  assert.ok(!m.includes('--ro-bind /srv/girder/data'));
  assert.ok(!m.some((x) => x.includes('/run/other') || x.includes('relative')));
});

test('GPUs pass through, and Girder without root gets a user namespace', () => {
  const args = bwrapArgs(view({ devices: ['/dev/nvidia0'], unshareUser: true }));
  assert.ok(mounts(args).includes('--dev-bind-try /dev/nvidia0'));
  assert.ok(args.includes('--unshare-user'));
});

test('within: a path is within itself and its parents, never within a sibling with the same prefix', () => {
  assert.ok(within('/a/b', '/a'));
  assert.ok(within('/a', '/a'));
  assert.ok(!within('/ab', '/a'));
  assert.ok(!within('/a', '/a/b'));
});

test("a deployment's built environments are shown read-only inside the hidden data dir, others' are not", () => {
  const env = '/srv/girder/data/envs/python/abc';
  const args = bwrapArgs(view({ envDirs: [env, '/elsewhere/venv'] }));
  const m = mounts(args);
  assert.ok(
    m.indexOf(`--ro-bind ${env}`) > m.indexOf('--tmpfs /srv/girder/data'),
    'bound after the tmpfs hides the data dir',
  );
  assert.ok(!m.some((x) => x.includes('/elsewhere/venv')), 'only environments Girder built');
  const binds = m.filter((x) => x.startsWith('--ro-bind') || x.startsWith('--bind'));
  assert.ok(!binds.some((x) => x.endsWith('/envs') || x.endsWith('/envs/python')), 'not the other environments');
});
