import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { RegistryEvent } from '../control/registry.ts';
import type { GirderError } from '../errors.ts';
import type { DeploymentRecord } from '../records/control.ts';
import { DeploymentRuntime, type DeploymentStatus, NO_LOAD, unbuilt } from './deployment-runtime.ts';
import { ReplicaRecord } from './orphans.ts';
import { Replica } from './replica.ts';
import { type DeploymentLoad, type ReplicaCountPolicy, ServingPolicy, type WakeCause } from './replica-count.ts';
import { DeploymentLeftovers } from './run-dirs.ts';
import { launchSpec } from './runners/launch.ts';
import type { SlotClass } from './slots.ts';
import { withSecrets } from './chainlet-env.ts';
import type { ReplicaFactory, SupervisorOptions } from './supervisor-options.ts';
import { unavailable } from './unavailable.ts';

export type { DeploymentStatus } from './deployment-runtime.ts';
export type { ReplicaFactory, SupervisorOptions } from './supervisor-options.ts';

/**
 * Starts, probes, restarts and stops the replicas of every deployment, following the registry: each
 * deployment runs as many replicas as its `ReplicaCountPolicy` says (by default `ServingPolicy`).
 * Replicas that crash are restarted with exponential backoff; a deployment whose replicas keep
 * exiting before they are ready stops trying after `maxFailedStarts` (DEPLOY_FAILED, 503 at once)
 * until a push, an activate or a wake.
 */
export class Supervisor {
  readonly #opts: SupervisorOptions;
  readonly #policy: ReplicaCountPolicy;
  readonly #createReplica: ReplicaFactory;
  readonly #deps = new Map<string, DeploymentRuntime>();
  /** Replicas stopped on purpose: their exit is not a crash and starts no backoff. */
  readonly #intentional = new WeakSet<Replica>();
  #closing = false;
  readonly #record: ReplicaRecord;
  /** What deployments keep on disk besides their snapshot; the management API awaits its cleanups. */
  readonly leftovers: DeploymentLeftovers;

  constructor(opts: SupervisorOptions) {
    this.#opts = opts;
    this.#policy = opts.replicaCount ?? new ServingPolicy(opts.registry);
    this.#createReplica = opts.createReplica ?? ((o) => new Replica(o));
    mkdirSync(join(opts.dataDir, 'run'), { recursive: true });
    this.#record = new ReplicaRecord(join(opts.dataDir, 'run', 'replicas.json'), opts.dataDir);
    this.leftovers = new DeploymentLeftovers(opts.dataDir, opts.logs, opts.secrets);
    opts.registry.on('change', (e) => this.#onChange(e));
    this.#policy.attach({
      reconcile: (id) => this.#reconcileById(id),
      load: (id) => this.load(id),
    });
  }

  /** Reaps replicas a killed predecessor left, then brings every deployment to its desired replica count. */
  start(): void {
    this.#record.reapLeftovers();
    this.leftovers.sweep((id) => this.#opts.registry.deployments.has(id));
    for (const d of this.#opts.registry.deployments.values()) this.#reconcile(this.#runtime(d));
  }

  /** The deployment's live state, created on first use. */
  #runtime(d: DeploymentRecord): DeploymentRuntime {
    let rt = this.#deps.get(d.id);
    if (!rt) this.#deps.set(d.id, (rt = new DeploymentRuntime(d)));
    return rt;
  }

  /** Follows the registry: a removal or deactivation stops the replicas, a new push restarts them. */
  #onChange(e: RegistryEvent): void {
    this.#policy.changed(e);
    const rt = this.#runtime(e.deployment);
    rt.deployment = e.deployment;
    rt.woken = false;
    if (e.type === 'deployment-removed') {
      this.#deps.delete(e.deployment.id);
      this.leftovers.forget(e.deployment.id, this.#stopAll(rt, unavailable.deleted(e.deployment)));
      return;
    }
    if (e.type === 'deployment-replaced') {
      // A development push replaced the files: every replica restarts on the new code.
      rt.retry();
      void this.#stopAll(rt).then(() => this.#reconcile(rt));
      return;
    }
    if (!e.deployment.active) {
      rt.retry(); // an activation starts afresh
      void this.#stopAll(rt, unavailable.deactivated(e.deployment));
    }
    this.#reconcile(rt);
  }

  /** The policy's answer, except while shutting down or unbuilt: then nothing starts, whatever a policy says. */
  #desired(rt: DeploymentRuntime): number {
    return this.#closing || unbuilt(rt.deployment) ? 0 : this.#policy.desired(rt.deployment);
  }

  /** The policy asked: reconcile a deployment the registry still has. */
  #reconcileById(deploymentId: string): void {
    const d = this.#opts.registry.deployments.get(deploymentId);
    if (d) this.#reconcile(this.#runtime(d));
  }

  /** Starts or drains replicas until as many run as the policy wants. */
  #reconcile(rt: DeploymentRuntime): void {
    // A backoff is pending (it reconciles when it fires), or it stopped trying to start.
    if (rt.restartTimer || rt.gaveUp) return;
    const desired = this.#desired(rt);
    const live = rt.live;
    for (let i = live.length; i < desired; i++) this.#startReplica(rt);
    // Drop the extra replicas, least useful first: not ready, then least loaded, then the newest.
    const extra = [...live]
      .reverse()
      .sort((a, b) => Number(a.routable) - Number(b.routable) || a.inflight - b.inflight)
      .slice(0, Math.max(0, live.length - desired));
    for (const r of extra) {
      this.#intentional.add(r);
      void r.drain(this.#opts.drainGraceMs ?? 30_000);
    }
  }

  /** Starts one more replica, or fails the parked requests when the deployment holds no runnable model. */
  #startReplica(rt: DeploymentRuntime): void {
    const d = rt.deployment;
    const spec = launchSpec(d.dir, d.config, d.build);
    const extras = typeof spec === 'string' ? undefined : this.#opts.chainletExtras?.(d);
    if (typeof spec === 'string' || typeof extras === 'string') {
      const problem = typeof spec === 'string' ? spec : (extras as string);
      this.#opts.logs.note(d.id, '-', 'error', problem);
      rt.slots.rejectAll(unavailable.cannotLaunch(d, problem));
      return;
    }
    const { dataDir, secrets, registry, logs, probeIntervalMs = 2_000 } = this.#opts;
    const env = { secrets: withSecrets(secrets, extras?.secrets), extraEnv: extras?.env };
    const host = { dataDir, ...env, environment: registry.environmentOf(d), logs, probeIntervalMs };
    const replica = this.#createReplica(rt.replicaOptions(spec, host));
    rt.slots.replicas.push(replica);
    this.#watch(rt, replica);
    replica.start().then(
      () => this.#saveRecord(),
      (err) => {
        this.#opts.logs.note(d.id, replica.id, 'error', `could not start: ${err.message}`);
        replica.killNow();
      },
    );
  }

  /** Parked requests go to a replica once it is ready; a failed one is stopped, an exit maybe restarted. */
  #watch(rt: DeploymentRuntime, replica: Replica): void {
    replica.on('state', (state) => {
      if (state !== 'ready') return;
      this.#policy.replicaReady?.(rt.deployment.id, replica);
      rt.lastColdStartMs = replica.times.ready - replica.times.created;
      rt.ready();
    });
    replica.on('failed', () => void replica.stop(1_000));
    replica.on('exit', () => {
      this.#onExit(rt, replica);
      this.#saveRecord();
    });
  }

  /** A replica ended: one that was still wanted crashed, and is restarted after a growing backoff. */
  #onExit(rt: DeploymentRuntime, replica: Replica): void {
    const i = rt.slots.replicas.indexOf(replica);
    if (i >= 0) rt.slots.replicas.splice(i, 1);
    if (this.#closing || this.#intentional.has(replica) || this.#deps.get(rt.deployment.id) !== rt) return;
    const wanted = rt.live.length < this.#desired(rt);
    if (!wanted) return;
    const delay = rt.crashed(replica, this.#opts.maxFailedStarts ?? 5, this.#opts.logs);
    if (delay === undefined) return; // it stopped trying
    this.#opts.logs.note(rt.deployment.id, replica.id, 'info', `restarting in ${(delay / 1000).toFixed(1)} s`);
    rt.restartTimer = setTimeout(() => {
      rt.restartTimer = undefined;
      this.#reconcile(rt);
    }, delay);
    rt.restartTimer.unref();
  }

  /** Writes the pids of running replicas, so that the next start can reap them after a kill. */
  #saveRecord(): void {
    const pids: number[] = [];
    for (const rt of this.#deps.values())
      for (const r of rt.slots.replicas) if (r.pid && r.state !== 'exited') pids.push(r.pid);
    this.#record.save(pids);
  }

  /** Stops every replica of the deployment at once, failing its parked requests with `reason`. */
  async #stopAll(rt: DeploymentRuntime, reason?: GirderError): Promise<void> {
    clearTimeout(rt.restartTimer);
    rt.restartTimer = undefined;
    if (reason) rt.slots.rejectAll(reason);
    for (const r of rt.slots.replicas) this.#intentional.add(r);
    await Promise.all(rt.slots.replicas.map((r) => r.stop()));
  }

  /** A slot on a ready replica now, or undefined (nothing parks here). Starts a replica if none runs. */
  tryAcquire(deployment: DeploymentRecord, cls: SlotClass): Replica | undefined {
    if (unbuilt(deployment)) return undefined;
    const rt = this.#runtime(deployment);
    const now = rt.slots.tryAcquire(cls);
    if (!now && rt.live.length === 0 && !rt.gaveUp) this.#start(rt, 'request');
    return now;
  }

  /**
   * Takes a slot on one of the deployment's replicas, starting one first if none runs (scale from
   * zero). Parks until a slot frees; rejects with `signal.reason` when the signal aborts, and at once
   * with 429 when `maxWaiting` requests wait already.
   */
  acquire(deployment: DeploymentRecord, cls: SlotClass, signal: AbortSignal): Replica | Promise<Replica> {
    // Nothing serves before its build is done: say so at once rather than at the deadline.
    if (unbuilt(deployment)) return Promise.reject(unavailable.unbuilt(deployment));
    const now = this.tryAcquire(deployment, cls);
    if (now) return now;
    const rt = this.#runtime(deployment);
    // It stopped trying to start and nothing runs: waiting would only end at the deadline.
    if (rt.gaveUp && rt.live.length === 0) return Promise.reject(rt.gaveUp());
    return rt.park(cls, signal, this.#opts.maxWaiting ?? 1000);
  }

  /** A slot on that replica of the deployment now, if it has one free (`SlotQueue.tryAcquireOn`). */
  tryAcquireOn(deployment: DeploymentRecord, replica: Replica, cls: SlotClass): Replica | undefined {
    return this.#deps.get(deployment.id)?.slots.tryAcquireOn(replica, cls);
  }

  /** Gives back a slot `tryAcquire` or `acquire` took. */
  release(deploymentId: string, replica: Replica): void {
    const rt = this.#deps.get(deploymentId);
    if (rt) rt.slots.release(replica);
    else replica.released();
  }

  /** A wake: starts a replica of a deployment that runs none, trying again if it had stopped trying. */
  wake(deployment: DeploymentRecord, cause: WakeCause = 'wake'): void {
    if (!deployment.active) return;
    const rt = this.#runtime(deployment);
    if (rt.gaveUp) rt.retry();
    this.#start(rt, cause);
  }

  /**
   * An activate: a deployment that stopped trying to start tries again (if its policy wants it
   * running), as when it was pushed.
   *
   * @example
   *   supervisor.retry(await deployments.setActive(d.id, true));
   */
  retry(deployment: DeploymentRecord): void {
    const rt = this.#runtime(deployment);
    if (!rt.gaveUp) return;
    rt.retry();
    this.#reconcile(rt);
  }

  /** Starts a replica of a deployment that runs none (the first request after idle, a wake). */
  #start(rt: DeploymentRuntime, cause: WakeCause): void {
    if (!rt.deployment.active) return;
    rt.woken = true;
    this.#policy.wake(rt.deployment, cause);
    this.#reconcile(rt);
  }

  /** The deployment's status and how many of its replicas take traffic, derived from the live replicas. */
  status(deployment: DeploymentRecord): { status: DeploymentStatus; active_replica_count: number } {
    const rt = this.#deps.get(deployment.id);
    const ready = rt ? rt.live.filter((r) => r.routable).length : 0;
    const build = unbuilt(deployment);
    const status = !deployment.active ? 'INACTIVE' : build || (rt?.activeStatus() ?? 'SCALED_TO_ZERO');
    return { status, active_replica_count: ready };
  }

  /** How the deployment's last replica that exited before it was ready ended, and what it printed. */
  lastFailedStart(deploymentId: string): { exitInfo: string; output: string[] } | undefined {
    return this.#deps.get(deploymentId)?.lastFailedStart;
  }

  /** What the deployment carries now (in flight, waiting, replicas), for the scaling view and tests. */
  load(deploymentId: string): DeploymentLoad {
    return this.#deps.get(deploymentId)?.load() ?? { ...NO_LOAD };
  }

  /** Replicas of a deployment, for tests and the management API. */
  replicas(deploymentId: string): Replica[] {
    return this.#deps.get(deploymentId)?.slots.replicas ?? [];
  }

  /** Stops every replica (server shutdown). */
  async close(): Promise<void> {
    this.#closing = true;
    this.#policy.close();
    const stopping = unavailable.shuttingDown();
    await Promise.all([...this.#deps.values()].map((rt) => this.#stopAll(rt, stopping)));
    // Each exit saved the replica record; those writes land before close() resolves.
    await this.#record.flushed();
  }

  /** Kills every replica at once, for a process that is exiting and cannot wait. */
  killAll(): void {
    for (const rt of this.#deps.values()) for (const r of rt.slots.replicas) r.killNow();
  }
}
