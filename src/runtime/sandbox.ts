import { execFile } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { grantDirs, type ReplicaDirs } from './replica-dirs.ts';
import { type ReplicaIdentity, type ReplicaUsers, runningAsRoot } from './replica-users.ts';
import type { LaunchSpec } from './runners/launch.ts';
import { bwrapArgs, type HostEntry } from './sandbox-args.ts';
import { findExecutable, gpuDevices, nodePrefix, pythonInstall, supportFiles, systemEntries } from './sandbox-host.ts';

/** `girder serve --sandbox`: bwrap when it works (auto), bwrap or fail (bwrap), or none. */
export type SandboxMode = 'auto' | 'bwrap' | 'none';

export interface SandboxOptions {
  mode: SandboxMode;
  dataDir: string;
  users: ReplicaUsers;
  /** More host paths to show read-only (`--sandbox-ro-bind`): model caches, tools, virtualenvs. */
  readOnly?: string[];
}

/** One replica as Replica.start() spawns it. */
export interface ReplicaLaunch {
  deploymentId: string;
  spec: LaunchSpec;
  /** The replica protocol's environment, PORT included. */
  env: Record<string, string>;
}

/** What to spawn for it: the command (maybe wrapped), as whom, and a note for its log. */
export interface SpawnPlan {
  command: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
  uid?: number;
  gid?: number;
  note: string;
}

/** Girder's own directory, where the runners live: every sandbox shows it read-only. */
const GIRDER_ROOT = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');

/**
 * Girder's dependencies, where they really are: a chainlet's runner loads zod and undici from them,
 * and a checkout may link its node_modules from elsewhere (a git worktree), which the bind of
 * GIRDER_ROOT alone would show as a dangling link.
 */
function girderModules(): string[] {
  try {
    const real = realpathSync(join(GIRDER_ROOT, 'node_modules'));
    return real.startsWith(`${GIRDER_ROOT}/`) ? [] : [real];
  } catch {
    return [];
  }
}

interface Tools {
  env: string;
  bwrap: string;
  setpriv: string | null;
}

/**
 * How replicas are isolated from Girder's data and from each other. With bwrap, each replica sees
 * the host's system directories, Girder's directory and the interpreters read-only, a private
 * /tmp, /dev and /proc, and of the data dir only its deployment's snapshot (read-only) and run dir
 * (its secrets read-only); as root it also runs as a user of its own (`ReplicaUsers`). Without bwrap
 * only that user stands between a model and Girder's files.
 *
 * Stopping still reaches every process: bwrap is the replica's process-group leader and stays in
 * the group, ignoring the SIGTERM that `Replica.stop()` sends the group (`env --ignore-signal`,
 * undone for the model by `env --default-signal`), so it exits only once the model did and its
 * exit is the model's. No PID namespace: it would hide from Girder the pids models report, and
 * nothing else needs one: the user of its own, or the user namespace when Girder is not root, keeps
 * a replica out of other processes' /proc entries.
 *
 * @example
 *   const sandbox = await Sandbox.create({ mode: 'auto', dataDir, users: ReplicaUsers.resolve('auto', base) });
 *   sandbox.summary; // → 'replicas: sandboxed by bwrap, each snapshot as a user of its own (uid …)'
 *   const plan = await sandbox.plan({ deploymentId, spec, env }); // spawn(plan.command, plan.args, …)
 */
export class Sandbox {
  readonly kind: 'bwrap' | 'none';
  readonly summary: string;
  readonly #opts: SandboxOptions;
  readonly #tools: Tools | null;
  readonly #system: HostEntry[];
  /** Snapshots already given to their group (`grantDirs`). */
  readonly #shared = new Set<string>();

  private constructor(opts: SandboxOptions, tools: Tools | null, why: string) {
    this.#opts = opts;
    this.#tools = tools;
    this.kind = tools ? 'bwrap' : 'none';
    this.#system = tools ? systemEntries() : [];
    const who = opts.users.describe();
    this.summary = tools ? `replicas: sandboxed by bwrap, ${who}` : `replicas: NOT sandboxed (${why}), ${who}`;
  }

  /** Picks the sandbox: `auto` tries bwrap and falls back to none, saying why; `bwrap` throws instead. */
  static async create(opts: SandboxOptions): Promise<Sandbox> {
    if (!['auto', 'bwrap', 'none'].includes(opts.mode))
      throw new Error(`--sandbox takes auto, bwrap or none, not "${opts.mode}"`);
    const missing = (opts.readOnly ?? []).find((p) => !existsSync(p));
    if (missing) throw new Error(`--sandbox-ro-bind: there is no ${missing}`);
    if (opts.mode === 'none') return new Sandbox(opts, null, '--sandbox none');
    const tools = findTools();
    const why = typeof tools === 'string' ? tools : await probe(tools, sampleIdentity(opts.users), opts.dataDir);
    if (why === null) return new Sandbox(opts, tools as Tools, '');
    if (opts.mode === 'bwrap') throw new Error(`--sandbox bwrap: ${why}`);
    return new Sandbox(opts, null, why);
  }

  /**
   * Replicas outside a sandbox but as another user reach their directories through the data dir,
   * which must then be traversable (0711; still not listable, and everything private stays 0600/0700).
   */
  get dataDirTraversable(): boolean {
    return this.kind === 'none' && this.#opts.users.kind !== 'self';
  }

  /** The command, environment and user of one replica, after giving its directories to that user. */
  async plan({ deploymentId, spec, env }: ReplicaLaunch): Promise<SpawnPlan> {
    const runDir = join(this.#opts.dataDir, 'run', deploymentId);
    const dirs: ReplicaDirs = {
      snapshot: resolve(spec.cwd),
      runDir,
      secretsDir: join(runDir, 'secrets'),
      home: join(runDir, 'home'),
    };
    const id = this.#opts.users.identityFor(dirs.snapshot);
    if (id) await grantDirs(id, dirs, this.#shared);
    else if (this.#tools) await mkdir(dirs.home, { recursive: true, mode: 0o700 });
    const isolated = this.#tools !== null || id !== undefined;
    // An isolated replica cannot use Girder's HOME (and must not): caches go to its run dir.
    const childEnv = isolated ? { ...env, HOME: dirs.home, TMPDIR: '/tmp' } : env;
    const who = id ? `uid ${id.uid}` : runningAsRoot() ? 'root' : "Girder's user";
    if (!this.#tools) {
      const note = isolated ? `not sandboxed, as ${who}` : 'not sandboxed';
      return { command: spec.command, args: spec.args, cwd: dirs.snapshot, env: childEnv, ...id, note };
    }
    return this.#bwrapPlan(spec, dirs, childEnv, id, who);
  }

  async #bwrapPlan(
    spec: LaunchSpec,
    dirs: ReplicaDirs,
    env: Record<string, string>,
    id: ReplicaIdentity | undefined,
    who: string,
  ): Promise<SpawnPlan> {
    const tools = this.#tools!;
    const python = await pythonInstall(env);
    const readOnly = [
      GIRDER_ROOT,
      ...girderModules(),
      nodePrefix(),
      ...supportFiles(env),
      ...(this.#opts.readOnly ?? []),
    ];
    if (python) {
      readOnly.push(...python.trees);
      // After Node's directory (first), before shims that need what the sandbox hides.
      const [first, ...rest] = env.PATH.split(delimiter);
      env = { ...env, PATH: [first, python.binDir, ...rest].join(delimiter) };
    }
    const view = {
      system: this.#system,
      readOnly,
      devices: gpuDevices(),
      ...dirs,
      dataDir: this.#opts.dataDir,
      envDirs: spec.envDirs,
    };
    const args = [
      '--ignore-signal=TERM',
      tools.bwrap,
      ...bwrapArgs({ ...view, unshareUser: !runningAsRoot() }),
      ...(runningAsRoot() && !id ? ['--cap-drop', 'ALL'] : []),
      '--',
      ...dropTo(tools, id),
      tools.env,
      '--default-signal=TERM',
      spec.command,
      ...spec.args,
    ];
    return { command: tools.env, args, cwd: dirs.snapshot, env, note: `sandboxed by bwrap, as ${who}` };
  }
}

/** setpriv's arguments that make root inside the sandbox the replica's user for good, or none. */
function dropTo(tools: Tools, id: ReplicaIdentity | undefined): string[] {
  if (!id || !tools.setpriv) return [];
  const ids = ['--reuid', String(id.uid), '--regid', String(id.gid)];
  return [tools.setpriv, ...ids, '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', '--'];
}

/** Where the programs that run inside a sandbox are looked for: directories every sandbox shows. */
const SYSTEM_PATH = '/usr/bin:/usr/sbin:/bin:/sbin';

/** The programs a sandbox needs, or why there are none. */
function findTools(): Tools | string {
  const bwrap = findExecutable('bwrap');
  if (!bwrap) return 'bwrap is not installed; apt-get install bubblewrap';
  const env = findExecutable('env', SYSTEM_PATH);
  if (!env) return `\`env\` is not in ${SYSTEM_PATH}`;
  const setpriv = runningAsRoot() ? findExecutable('setpriv', SYSTEM_PATH) : null;
  if (runningAsRoot() && !setpriv) return 'setpriv (util-linux) is not installed';
  return { env, bwrap, setpriv };
}

function sampleIdentity(users: ReplicaUsers): ReplicaIdentity | undefined {
  return users.kind === 'self' ? undefined : users.identityFor('/girder-sandbox-probe');
}

const probes = new Map<string, Promise<string | null>>();

/**
 * Runs `true` in a sandbox made as replicas' are (the data dir hidden, a directory of it bound, the
 * user switch, the signal wrappers): null when it works, else why not, in bwrap's words. Once per
 * process, data dir and tools.
 */
async function probe(tools: Tools, id: ReplicaIdentity | undefined, dataDir: string): Promise<string | null> {
  const key = JSON.stringify([tools, id, dataDir]);
  let found = probes.get(key);
  if (!found) {
    const dir = join(dataDir, 'run', '.sandbox-probe');
    await mkdir(join(dir, 'secrets'), { recursive: true, mode: 0o700 });
    const view = { system: systemEntries(), readOnly: [GIRDER_ROOT], devices: [], unshareUser: !runningAsRoot() };
    const dirs = { dataDir, snapshot: dir, runDir: dir, secretsDir: join(dir, 'secrets') };
    const inner = [...dropTo(tools, id), tools.env, '--default-signal=TERM', 'true'];
    const args = ['--ignore-signal=TERM', tools.bwrap, ...bwrapArgs({ ...view, ...dirs }), '--', ...inner];
    found = new Promise<string | null>((done) => {
      execFile(tools.env, args, { env: { PATH: SYSTEM_PATH }, timeout: 10_000 }, (err, _out, stderr) =>
        done(err ? `bwrap does not work here: ${stderr.trim() || err.message}` : null),
      );
    }).finally(() => rm(dir, { recursive: true, force: true }));
    probes.set(key, found);
  }
  return found;
}
