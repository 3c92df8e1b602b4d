import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { configForReplica } from '../control/packaging/config.ts';
import type { Registry, RegistryEvent } from '../control/registry.ts';
import type { Secrets } from '../control/secrets.ts';
import type { DeploymentRecord } from '../records/control.ts';
import { GirderError } from '../errors.ts';
import type { LogBook } from './logs.ts';
import { ReplicaRecord } from './orphans.ts';
import { Replica } from './replica.ts';
import { launchSpec, type LaunchSpec } from './runners/launch.ts';
import { SlotQueue, type SlotClass } from './slots.ts';

export type DeploymentStatus =
  | 'DEPLOYING'
  | 'DEPLOY_FAILED'
  | 'ACTIVE'
  | 'UNHEALTHY'
  | 'INACTIVE'
  | 'SCALED_TO_ZERO'
  | 'WAKING_UP';

export interface SupervisorOptions {
  dataDir: string;
  registry: Registry;
  secrets: Secrets;
  logs: LogBook;
  /** Probe period once a replica is ready. */
  probeIntervalMs?: number;
}

/** Variables of Girder's own environment that replicas inherit; everything else (keys!) stays out. */
const INHERITED_ENV = [
  'PATH',
  'HOME',
  'LANG',
  'LC_ALL',
  'LC_CTYPE',
  'TZ',
  'TMPDIR',
  'USER',
  'LOGNAME',
  'SHELL',
  'SSL_CERT_FILE',
  'SSL_CERT_DIR',
  'NODE_EXTRA_CA_CERTS',
  'REQUESTS_CA_BUNDLE',
  'PYTHONPATH',
  'VIRTUAL_ENV',
  'HF_HOME',
];

const MAX_BACKOFF_MS = 30_000;

/** The live state of one deployment: its replicas, their slots and the restart bookkeeping. */
class DeploymentRuntime {
  deployment: DeploymentRecord;
  readonly slots = new SlotQueue<Replica>();
  /** Started on demand (a request or a wake) though nothing requires it to run. */
  woken = false;
  /** Consecutive replica starts that ended before ready or crashed: drives the backoff. */
  failures = 0;
  everReady = false;
  restartTimer: NodeJS.Timeout | undefined;

  constructor(deployment: DeploymentRecord) {
    this.deployment = deployment;
  }

  get live(): Replica[] {
    return this.slots.replicas.filter((r) => r.state !== 'stopping' && r.state !== 'exited');
  }
}

/**
 * Starts, probes, restarts and stops the replicas of every deployment, following the registry:
 * a deployment that serves an environment, or a development deployment, runs
 * max(1, min_replica) replicas (bounded by max_replica); one that serves nothing runs none until a
 * request or a wake starts one. Replicas that crash are restarted with exponential backoff.
 */
export class Supervisor {
  readonly #opts: SupervisorOptions;
  readonly #deps = new Map<string, DeploymentRuntime>();
  /** Replicas stopped on purpose: their exit is not a crash and starts no backoff. */
  readonly #intentional = new WeakSet<Replica>();
  #closing = false;
  readonly #record: ReplicaRecord;

  constructor(opts: SupervisorOptions) {
    this.#opts = opts;
    mkdirSync(join(opts.dataDir, 'run'), { recursive: true });
    this.#record = new ReplicaRecord(join(opts.dataDir, 'run', 'replicas.json'), opts.dataDir);
    opts.registry.on('change', (e) => this.#onChange(e));
  }

  /** Reaps replicas a killed predecessor left, then brings every deployment to its desired replica count. */
  start(): void {
    this.#record.reapLeftovers();
    for (const d of this.#opts.registry.deployments.values()) this.#reconcile(this.#runtime(d));
  }

  #runtime(d: DeploymentRecord): DeploymentRuntime {
    let rt = this.#deps.get(d.id);
    if (!rt) this.#deps.set(d.id, (rt = new DeploymentRuntime(d)));
    return rt;
  }

  #onChange(e: RegistryEvent): void {
    const rt = this.#runtime(e.deployment);
    rt.deployment = e.deployment;
    if (e.type === 'deployment-removed') {
      this.#deps.delete(e.deployment.id);
      void this.#stopAll(
        rt,
        new GirderError('model_does_not_exist', `Deployment ${e.deployment.id} was deleted.`, undefined, {
          reason: 'deployment_deleted',
        }),
      );
      return;
    }
    if (e.type === 'deployment-replaced') {
      // A development push replaced the files: every replica restarts on the new code.
      rt.woken = false;
      rt.failures = 0;
      void this.#stopAll(rt).then(() => this.#reconcile(rt));
      return;
    }
    rt.woken = false;
    if (!e.deployment.active) {
      void this.#stopAll(
        rt,
        new GirderError('model_unavailable', `Deployment ${e.deployment.id} was deactivated.`, undefined, {
          status: 404,
          reason: 'deployment_deactivated',
        }),
      );
    }
    this.#reconcile(rt);
  }

  #desired(rt: DeploymentRuntime): number {
    const d = rt.deployment;
    if (!d.active || this.#closing) return 0;
    const serving = d.isDevelopment || rt.woken || this.#opts.registry.environmentOf(d) !== undefined;
    if (!serving) return 0;
    const { min_replica, max_replica } = d.autoscaling;
    return Math.max(1, Math.min(min_replica, max_replica));
  }

  #reconcile(rt: DeploymentRuntime): void {
    if (rt.restartTimer) return; // a backoff is pending; it reconciles when it fires
    const desired = this.#desired(rt);
    const live = rt.live;
    for (let i = live.length; i < desired; i++) this.#startReplica(rt);
    // Drop the extra replicas, least useful first: not ready, then least loaded.
    const extra = live
      .slice(desired)
      .sort((a, b) => Number(a.routable) - Number(b.routable) || a.inflight - b.inflight);
    for (const r of extra) void this.#drainAndStop(r);
  }

  #startReplica(rt: DeploymentRuntime): void {
    const d = rt.deployment;
    const config = d.config;
    const spec = launchSpec(d.dir, config);
    if (typeof spec === 'string') {
      this.#opts.logs.note(d.id, '-', 'error', spec);
      rt.slots.rejectAll(
        new GirderError('model_unavailable', `Deployment ${d.id} cannot start.`, spec, {
          reason: 'replica_cannot_start',
        }),
      );
      return;
    }
    const replica = new Replica({
      deploymentId: d.id,
      spec,
      env: this.#env(rt, spec),
      capacity: config.runtime?.predict_concurrency ?? 1,
      logs: this.#opts.logs,
      startupTimeoutMs: (config.runtime?.health_checks?.startup_threshold_seconds ?? 1800) * 1000,
      stopTrafficAfterMs: (config.runtime?.health_checks?.stop_traffic_threshold_seconds ?? 0) * 1000,
      restartAfterMs: (config.runtime?.health_checks?.restart_threshold_seconds ?? 30) * 1000,
      probeIntervalMs: this.#opts.probeIntervalMs ?? 2_000,
    });
    rt.slots.replicas.push(replica);
    replica.on('state', (state) => {
      if (state === 'ready') {
        rt.everReady = true;
        rt.failures = 0;
        rt.slots.drain();
      }
    });
    replica.on('failed', () => void replica.stop(1_000));
    replica.on('exit', () => {
      this.#onExit(rt, replica);
      this.#saveRecord();
    });
    replica.start().then(
      () => this.#saveRecord(),
      (err) => {
        this.#opts.logs.note(d.id, replica.id, 'error', `could not start: ${err.message}`);
        replica.killNow();
      },
    );
  }

  #onExit(rt: DeploymentRuntime, replica: Replica): void {
    const i = rt.slots.replicas.indexOf(replica);
    if (i >= 0) rt.slots.replicas.splice(i, 1);
    if (this.#closing || this.#intentional.has(replica) || this.#deps.get(rt.deployment.id) !== rt) return;
    const wanted = rt.live.length < this.#desired(rt);
    if (!wanted) return;
    rt.failures++;
    if (!replica.wasReady && !rt.live.some((r) => r.routable)) {
      // It could not even start: nobody will serve the parked requests soon, so tell them now rather
      // than at their deadline. (Requests parked behind a replica that crashed after serving wait for its restart.)
      rt.slots.rejectAll(
        new GirderError(
          'model_unavailable',
          `The replica of deployment ${rt.deployment.id} exited (${replica.exitInfo}) before it could serve.`,
          `See the replica's output with \`girder logs ${rt.deployment.modelId} --deployment ${rt.deployment.id}\`.`,
          { reason: 'replica_cannot_start' },
        ),
      );
    }
    const delay = Math.min(MAX_BACKOFF_MS, 500 * 2 ** (rt.failures - 1));
    this.#opts.logs.note(rt.deployment.id, replica.id, 'info', `restarting in ${(delay / 1000).toFixed(1)} s`);
    rt.restartTimer = setTimeout(() => {
      rt.restartTimer = undefined;
      this.#reconcile(rt);
    }, delay);
    rt.restartTimer.unref();
  }

  #saveRecord(): void {
    const pids: number[] = [];
    for (const rt of this.#deps.values())
      for (const r of rt.slots.replicas) if (r.pid && r.state !== 'exited') pids.push(r.pid);
    this.#record.save(pids);
  }

  #env(rt: DeploymentRuntime, spec: LaunchSpec): Record<string, string> {
    const d = rt.deployment;
    const config = d.config;
    const env: Record<string, string> = {};
    for (const k of INHERITED_ENV) if (process.env[k] !== undefined) env[k] = process.env[k]!;
    // `node` in a custom start command is the Node that runs Girder.
    env.PATH = `${dirname(process.execPath)}:${env.PATH ?? '/usr/bin:/bin'}`;
    const secretsDir = join(this.#opts.dataDir, 'run', d.id, 'secrets');
    rmSync(secretsDir, { recursive: true, force: true });
    mkdirSync(secretsDir, { recursive: true, mode: 0o700 });
    for (const [name, value] of this.#opts.secrets.values(Object.keys(config.secrets ?? {}))) {
      writeFileSync(join(secretsDir, name), value, { mode: 0o600 });
    }
    const envRecord = this.#opts.registry.environmentOf(d);
    return {
      ...env,
      ...(config.environment_variables ?? {}),
      GIRDER_MODEL_DIR: d.dir,
      GIRDER_CONFIG: JSON.stringify(configForReplica(config, spec.modelClassFilename ?? '')),
      GIRDER_SECRETS_DIR: secretsDir,
      GIRDER_ENVIRONMENT: JSON.stringify(envRecord ? { name: envRecord.name } : null),
      BT_MODEL_ID: d.modelId,
      BT_MODEL_DEPLOYMENT_ID: d.id,
    };
  }

  /** Stops routing to a replica, lets its in-flight requests finish (up to `graceMs`), then stops it. */
  async #drainAndStop(replica: Replica, graceMs = 30_000): Promise<void> {
    this.#intentional.add(replica);
    await replica.drain(graceMs);
  }

  async #stopAll(rt: DeploymentRuntime, reason?: GirderError): Promise<void> {
    clearTimeout(rt.restartTimer);
    rt.restartTimer = undefined;
    if (reason) rt.slots.rejectAll(reason);
    for (const r of rt.slots.replicas) this.#intentional.add(r);
    await Promise.all(rt.slots.replicas.map((r) => r.stop()));
  }

  /** A slot on a ready replica now, or undefined (nothing parks here). Starts a replica if none runs. */
  tryAcquire(deployment: DeploymentRecord, cls: SlotClass): Replica | undefined {
    const rt = this.#runtime(deployment);
    const now = rt.slots.tryAcquire(cls);
    if (!now && rt.live.length === 0) this.wake(deployment);
    return now;
  }

  /**
   * Takes a slot on one of the deployment's replicas, starting one first if none runs (scale from
   * zero). Parks until a slot frees; rejects with `signal.reason` when the signal aborts.
   */
  acquire(deployment: DeploymentRecord, cls: SlotClass, signal: AbortSignal): Replica | Promise<Replica> {
    return this.tryAcquire(deployment, cls) ?? this.#runtime(deployment).slots.acquire(cls, signal);
  }

  release(deploymentId: string, replica: Replica): void {
    const rt = this.#deps.get(deploymentId);
    if (rt) rt.slots.release(replica);
    else replica.released();
  }

  /** Starts a replica of a deployment that runs none (a wake, or the first request after idle). */
  wake(deployment: DeploymentRecord): void {
    const rt = this.#runtime(deployment);
    if (!deployment.active) return;
    rt.woken = true;
    this.#reconcile(rt);
  }

  status(deployment: DeploymentRecord): { status: DeploymentStatus; active_replica_count: number } {
    const rt = this.#deps.get(deployment.id);
    const ready = rt ? rt.live.filter((r) => r.routable).length : 0;
    let status: DeploymentStatus;
    if (!deployment.active) status = 'INACTIVE';
    else if (ready > 0) status = 'ACTIVE';
    else if (!rt || (rt.live.length === 0 && !rt.restartTimer)) status = 'SCALED_TO_ZERO';
    else if (rt.failures > 0) status = rt.everReady ? 'UNHEALTHY' : 'DEPLOY_FAILED';
    else status = rt.woken ? 'WAKING_UP' : 'DEPLOYING';
    return { status, active_replica_count: ready };
  }

  /** Replicas of a deployment, for tests and the management API. */
  replicas(deploymentId: string): Replica[] {
    return this.#deps.get(deploymentId)?.slots.replicas ?? [];
  }

  /** Stops every replica (server shutdown). */
  async close(): Promise<void> {
    this.#closing = true;
    const stopping = new GirderError('model_unavailable', 'Girder is shutting down.', 'Retry once it is back.', {
      reason: 'shutting_down',
    });
    await Promise.all([...this.#deps.values()].map((rt) => this.#stopAll(rt, stopping)));
  }

  /** Kills every replica at once, for a process that is exiting and cannot wait. */
  killAll(): void {
    for (const rt of this.#deps.values()) for (const r of rt.slots.replicas) r.killNow();
  }
}
