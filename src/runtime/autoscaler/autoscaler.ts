import type { RegistryEvent } from '../../control/registry.ts';
import type { DeploymentRecord, EnvironmentRecord } from '../../records/control.ts';
import type { Replica } from '../replica.ts';
import type { ReplicaCountHost, ReplicaCountPolicy, WakeCause } from '../replica-count.ts';
import {
  decide,
  type ScaleChange,
  type ScaleNumbers,
  type ScaleReason,
  ScaleState,
  scaleNumbers,
  setCount,
} from './scale-rule.ts';
import { type ScaleSettings, scaleSettings } from './scale-settings.ts';
import { type ColdStart, type ScalingEvent, ScalingEvents } from './scaling-events.ts';

/** What the autoscaler reads of the registry. */
export interface ScaledRegistry {
  deployments: ReadonlyMap<string, DeploymentRecord>;
  environmentOf(d: DeploymentRecord): EnvironmentRecord | undefined;
}

export interface AutoscalerOptions {
  registry: ScaledRegistry;
  /**
   * How many async requests of the deployment could run now (its backlog). Injected: the queue sits
   * above the runtime. They count as load, so a backlog scales out to max_replica.
   */
  backlog?: (deploymentId: string) => number;
  /** How often it samples the load and decides (default 1 s). */
  tickMs?: number;
  /** Multiplies every duration of the settings (default 1; tests and benchmarks shrink them). */
  timeScale?: number;
  /** How long scaling events and cold starts are kept (default a day). */
  eventRetentionMs?: number;
}

/** Why the count is what it is, now: for the scaling events endpoint and `girder scaling`. */
export interface ScalingReport {
  desired: number;
  load_now: number;
  numbers: ScaleNumbers;
  events: ScalingEvent[];
  cold_starts: ColdStart[];
}

/**
 * The `ReplicaCountPolicy` that follows the traffic, by Baseten's rules (`scale-rule.ts`): every tick it
 * samples each deployment's load through the supervisor's host (plus the async backlog), decides, and
 * asks the supervisor to reconcile when the desired count changed. The request path pays nothing but
 * the slot counters it already keeps. Each change is recorded with its reason in `events`.
 *
 * @example
 *   const autoscaler = new Autoscaler({ registry, backlog: (id) => queue.runnable(id) });
 *   const supervisor = new Supervisor({ ...opts, replicaCount: autoscaler });
 *   autoscaler.report(deployment).events; // [{ from: 1, to: 3, reason: 'load', message: 'average load 1.9 …' }]
 */
export class Autoscaler implements ReplicaCountPolicy {
  readonly events: ScalingEvents;
  readonly #registry: ScaledRegistry;
  readonly #backlog: (deploymentId: string) => number;
  readonly #tickMs: number;
  readonly #timeScale: number;
  readonly #states = new Map<string, ScaleState>();
  readonly #coldStarted = new WeakSet<Replica>();
  #host: ReplicaCountHost | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(opts: AutoscalerOptions) {
    this.#registry = opts.registry;
    this.#backlog = opts.backlog ?? (() => 0);
    this.#tickMs = opts.tickMs ?? 1000;
    this.#timeScale = opts.timeScale ?? 1;
    this.events = new ScalingEvents(opts.eventRetentionMs ?? 86_400_000);
  }

  /** Starts the decision timer. */
  attach(host: ReplicaCountHost): void {
    this.#host = host;
    this.#timer = setInterval(() => this.tick(), this.#tickMs);
    this.#timer.unref();
  }

  desired(d: DeploymentRecord): number {
    if (this.#closed || !d.active) return 0;
    return this.#state(d).count;
  }

  /** A request at zero, or `POST /wake`: one replica now, and activity that holds it for scale_down_delay. */
  wake(d: DeploymentRecord, cause: WakeCause = 'wake'): void {
    if (this.#closed || !d.active) return;
    const st = this.#state(d);
    st.lastActivity = Date.now();
    const why =
      cause === 'request'
        ? 'a request arrived at zero replicas: it waits while one starts'
        : 'POST /wake: one replica, held for scale_down_delay as a request would';
    this.#set(d, st, Math.max(st.count, 1), 'wake', why);
  }

  /** Follows the registry: deploys, promotions, cleanups, deactivations and settings apply at once. */
  changed(e: RegistryEvent): void {
    const d = e.deployment;
    const st = this.#states.get(d.id);
    if (e.type === 'deployment-removed') {
      this.#states.delete(d.id);
      this.events.forget(d.id);
    } else if (!st) {
      this.#state(d);
    } else if (!d.active) {
      if (st.active) this.#set(d, st, 0, 'deactivated', 'deactivated: no replica until it is activated');
      this.#states.set(d.id, new ScaleState()); // activation starts afresh, as a deploy
    } else if (!st.active) {
      this.#begin(d, st, 'activated');
    } else if (e.type === 'deployment-replaced') {
      st.lastActivity = Date.now();
      this.#set(d, st, Math.max(st.count, 1), 'deployed', 'new code pushed: holds one replica for scale_down_delay');
    } else {
      this.#follow(d, st, e.scaleToZero === true);
    }
  }

  /** A change of settings or of the environment served; `scaleToZero`: a promotion's cleanup. */
  #follow(d: DeploymentRecord, st: ScaleState, scaleToZero: boolean): void {
    const now = Date.now();
    const serving = this.#serves(d);
    const promoted = serving && !st.serving;
    st.serving = serving;
    if (scaleToZero) {
      // Requests it served since the last tick are no activity to hold it up: the cleanup wants it at zero.
      const served = this.#host?.load(d.id).served ?? st.served;
      Object.assign(st, {
        lastActivity: Number.NEGATIVE_INFINITY,
        belowSince: undefined,
        burstSince: undefined,
        served,
      });
      st.window.clear();
      this.#set(d, st, this.#settings(d).min, 'promotion_cleanup', 'replaced by a promotion (SCALE_TO_ZERO)');
      return;
    }
    if (promoted) {
      st.lastActivity = now;
      const env = this.#registry.environmentOf(d)?.name ?? 'development';
      this.#set(d, st, Math.max(st.count, 1), 'promoted', `now serves ${env}: holds one replica for scale_down_delay`);
    }
    const c = decide(st, this.#settings(d), now);
    if (c) this.events.change(d.id, c, now);
  }

  /** Records the cold start of a replica the first time it becomes ready. */
  replicaReady(deploymentId: string, replica: Replica): void {
    if (this.#coldStarted.has(replica)) return;
    this.#coldStarted.add(replica);
    const { created, up, ready } = replica.times;
    const answered = up || ready;
    this.events.coldStart(deploymentId, {
      replica_id: replica.id,
      from_zero: (this.#host?.load(deploymentId).ready ?? 1) <= 1,
      process_ms: answered - created,
      load_ms: ready - answered,
      total_ms: ready - created,
    });
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
  }

  /**
   * Why the deployment's desired count is what it is: the count, the numbers now, and the events kept.
   *
   * @example
   *   const { desired, numbers, events } = autoscaler.report(deployment);
   */
  report(d: DeploymentRecord): ScalingReport {
    const st = this.#states.get(d.id) ?? new ScaleState();
    const numbers = scaleNumbers(st, this.#settings(d), Date.now());
    return { desired: this.desired(d), load_now: st.load, numbers, ...this.events.of(d.id) };
  }

  /** One round of decisions, now: the timer calls it every tick (a test may call it itself). */
  tick(now = Date.now()): void {
    const host = this.#host;
    if (!host || this.#closed) return;
    for (const [id, st] of this.#states) {
      const d = this.#registry.deployments.get(id);
      if (!d?.active) continue;
      const l = host.load(id);
      // The dispatch loop's one parked wait stands for the backlog's first request: count the backlog once.
      const load = l.inflight + l.parked - l.parkedAsync + Math.max(l.parkedAsync, this.#backlog(id));
      const c = decide(st, this.#settings(d), now, { load, ready: l.ready, starting: l.starting, served: l.served });
      if (!c) continue;
      this.events.change(id, c, now);
      host.reconcile(id);
    }
  }

  /** The deployment's state, made on first sight as a deploy (a push, or Girder starting). */
  #state(d: DeploymentRecord): ScaleState {
    let st = this.#states.get(d.id);
    if (!st) {
      this.#states.set(d.id, (st = new ScaleState()));
      if (d.active) this.#begin(d, st, 'deployed');
    }
    return st;
  }

  /**
   * A deployment starts (deployed, activated, or found at Girder's start): one that serves an
   * environment, or the development one, holds a replica for scale_down_delay as after a request, so
   * that it is ready for its first caller and still scales to zero when nobody comes.
   */
  #begin(d: DeploymentRecord, st: ScaleState, how: 'deployed' | 'activated'): void {
    const s = this.#settings(d);
    st.active = true;
    st.serving = this.#serves(d);
    st.served = this.#host?.load(d.id).served ?? 0;
    if (st.serving) st.lastActivity = Date.now();
    const to = Math.min(s.max, Math.max(s.min, st.serving ? 1 : 0));
    const why = st.serving ? 'holds one replica for scale_down_delay' : `runs min_replica (${s.min}) until called`;
    this.#set(d, st, to, 'deployed', `${how}: ${why}`);
  }

  #set(d: DeploymentRecord, st: ScaleState, to: number, reason: ScaleReason, message: string): void {
    const s = this.#settings(d);
    const c: ScaleChange | undefined = setCount(st, to, reason, message, scaleNumbers(st, s, Date.now()));
    if (c) this.events.change(d.id, c);
  }

  #serves(d: DeploymentRecord): boolean {
    return d.isDevelopment || this.#registry.environmentOf(d) !== undefined;
  }

  #settings(d: DeploymentRecord): ScaleSettings {
    return scaleSettings(d, this.#timeScale, this.#tickMs);
  }
}
