import { readSource } from '../control/packaging/source.ts';
import type { Secrets } from '../control/secrets.ts';
import type { GirderError } from '../errors.ts';
import type { DeploymentRecord, EnvironmentRecord } from '../records/control.ts';
import type { LogBook } from './logs.ts';
import type { Replica, ReplicaOptions } from './replica.ts';
import type { DeploymentLoad } from './replica-count.ts';
import { replicaEnv } from './replica-env.ts';
import type { LaunchSpec } from './runners/launch.ts';
import { type SlotClass, SlotQueue } from './slots.ts';
import { unavailable } from './unavailable.ts';

const MAX_BACKOFF_MS = 30_000;

/** The load of a deployment that has no runtime yet: `supervisor.load(id)` for one never called. */
/** BUILDING or BUILD_FAILED while its build is not done (`runtime/build/`), else undefined. */
export const unbuilt = (d: DeploymentRecord): 'BUILDING' | 'BUILD_FAILED' | undefined =>
  d.build && d.build.status !== 'BUILT' ? d.build.status : undefined;

export const NO_LOAD: Readonly<DeploymentLoad> = {
  inflight: 0,
  parked: 0,
  parkedAsync: 0,
  replicas: 0,
  ready: 0,
  starting: 0,
  served: 0,
};

export type DeploymentStatus =
  | 'BUILDING'
  | 'BUILD_FAILED'
  | 'DEPLOYING'
  | 'DEPLOY_FAILED'
  | 'LOADING_MODEL'
  | 'ACTIVE'
  | 'UNHEALTHY'
  | 'INACTIVE'
  | 'SCALED_TO_ZERO'
  | 'WAKING_UP';

/** What the supervisor gives a deployment's new replicas besides its own settings. */
export interface ReplicaHost {
  dataDir: string;
  secrets: Pick<Secrets, 'values'>;
  /** Added to the replica's environment (a chainlet's GIRDER_DYNAMIC_CHAINLET_CONFIG). */
  extraEnv?: Record<string, string>;
  /** The environment the deployment serves now, if any. */
  environment: EnvironmentRecord | undefined;
  logs: LogBook;
  probeIntervalMs: number;
}

/**
 * The live state of one deployment, as the supervisor keeps it: its replicas, their slots and the
 * restart bookkeeping. Its status and load are derived from these, never stored.
 */
export class DeploymentRuntime {
  deployment: DeploymentRecord;
  readonly slots = new SlotQueue<Replica>();
  /** A request or a wake asked for it since the registry last changed it: a start now is WAKING_UP. */
  woken = false;
  /** Consecutive replica starts that ended before ready or crashed: drives the backoff. */
  failures = 0;
  /** Consecutive replicas that exited before they were ever ready: past a limit, it stops trying. */
  failedStarts = 0;
  /** The last replica that exited before it was ready: how it ended and what it printed (a chain push reports it). */
  lastFailedStart: { exitInfo: string; output: string[] } | undefined;
  /** Set once it stopped trying to start: builds the 503 its requests get, until `retry()`. */
  gaveUp: (() => GirderError) | undefined;
  everReady = false;
  restartTimer: NodeJS.Timeout | undefined;
  /** How long its last replica took from start to ready: a waiting request's Retry-After when none is ready. */
  lastColdStartMs = 0;

  constructor(deployment: DeploymentRecord) {
    this.deployment = deployment;
  }

  /** Replicas starting or running: the ones that count towards the desired replica count. */
  get live(): Replica[] {
    return this.slots.replicas.filter((r) => r.state !== 'stopping' && r.state !== 'exited');
  }

  /** Baseten's status of the deployment while active (INACTIVE is the caller's), from what its replicas do now. */
  activeStatus(): DeploymentStatus {
    const live = this.live;
    if (live.some((r) => r.routable)) return 'ACTIVE';
    if (this.gaveUp) return 'DEPLOY_FAILED';
    if (live.length === 0 && !this.restartTimer) return 'SCALED_TO_ZERO';
    if (this.failures > 0) return this.everReady ? 'UNHEALTHY' : 'DEPLOY_FAILED';
    // Its server answers: the process is up and the model loads (Baseten's Waking up → Loading model).
    if (live.some((r) => r.times.up)) return 'LOADING_MODEL';
    return this.woken ? 'WAKING_UP' : 'DEPLOYING';
  }

  /** A replica passed readiness: the failures are over, and the requests parked for it go to it. */
  ready(): void {
    this.everReady = true;
    this.failures = 0;
    this.failedStarts = 0;
    this.slots.drain();
  }

  /**
   * Counts a replica that ended while it was still wanted, and returns the backoff before the next
   * start, or undefined once `maxFailedStarts` replicas in a row (0: no limit) exited before they
   * were ever ready: then it stops trying, and its requests get 503 at once with what the last one
   * printed (`gaveUp`), until `retry()`. Replicas that still serve keep serving.
   */
  crashed(replica: Replica, maxFailedStarts: number, logs: LogBook): number | undefined {
    this.failures++;
    const serving = this.live.some((r) => r.routable);
    if (!replica.wasReady)
      this.lastFailedStart = { exitInfo: replica.exitInfo, output: logs.output(this.deployment.id, replica.id) };
    if (!replica.wasReady && ++this.failedStarts >= maxFailedStarts && maxFailedStarts > 0) {
      const { failedStarts, deployment } = this;
      this.gaveUp = () =>
        unavailable.gaveUp(this.deployment, failedStarts, replica.exitInfo, logs.output(deployment.id, replica.id));
      const why = `not restarting after ${failedStarts} failed starts in a row; a push, an activate or a wake tries again`;
      logs.note(deployment.id, replica.id, 'error', why);
      if (!serving) this.slots.rejectAll(this.gaveUp());
      return undefined;
    }
    if (!replica.wasReady && !serving) {
      // It could not even start: nobody will serve the parked requests soon, so tell them now rather
      // than at their deadline. (Requests parked behind a replica that crashed after serving wait for its restart.)
      this.slots.rejectAll(unavailable.exitedBeforeReady(this.deployment, replica.exitInfo));
    }
    return Math.min(MAX_BACKOFF_MS, 500 * 2 ** (this.failures - 1));
  }

  /** Forgets the failures (a push, an activate, a wake, a deactivation): the next start is a first try. */
  retry(): void {
    this.failures = 0;
    this.failedStarts = 0;
    this.gaveUp = undefined;
  }

  /** What a new replica of it is told: its command, environment, capacity and health checks. */
  replicaOptions(spec: LaunchSpec, host: ReplicaHost): ReplicaOptions {
    const d = this.deployment;
    const runtime = d.config.runtime;
    const { dataDir, secrets, environment, logs } = host;
    return {
      deploymentId: d.id,
      spec,
      env: {
        ...withSpecEnv(replicaEnv({ dataDir, deployment: d, spec, secrets, environment }), spec),
        ...host.extraEnv,
      },
      capacity: runtime?.predict_concurrency ?? 1,
      logs,
      startupTimeoutMs: (runtime?.health_checks?.startup_threshold_seconds ?? 1800) * 1000,
      stopTrafficAfterMs: (runtime?.health_checks?.stop_traffic_threshold_seconds ?? 0) * 1000,
      restartAfterMs: (runtime?.health_checks?.restart_threshold_seconds ?? 30) * 1000,
      probeIntervalMs: host.probeIntervalMs,
      sourceDir: readSource(d.dir),
    };
  }

  /**
   * Waits for a slot in arrival order, unless `max` requests wait already: then 429 with a Retry-After
   * of a second when a replica serves (slots turn over), else of the last cold start.
   */
  park(cls: SlotClass, signal: AbortSignal, max: number): Replica | Promise<Replica> {
    const { sync, async } = this.slots.parked;
    if (cls === 'sync' && sync + async >= max) {
      const serving = this.live.some((r) => r.routable);
      const retry = serving ? 1 : Math.max(1, Math.ceil(this.lastColdStartMs / 1000));
      throw unavailable.tooManyWaiting(this.deployment, max, retry);
    }
    return this.slots.acquire(cls, signal);
  }

  /** What it carries now, for a replica-count policy that scales on load. */
  load(): DeploymentLoad {
    const { sync, async } = this.slots.parked;
    let inflight = 0;
    let ready = 0;
    let starting = 0;
    for (const r of this.slots.replicas) {
      inflight += r.inflight;
      if (r.routable) ready++;
      if (r.state === 'starting') starting++;
    }
    const { served } = this.slots;
    return { inflight, parked: sync + async, parkedAsync: async, replicas: this.live.length, ready, starting, served };
  }
}

/**
 * The replica's environment with its launch's own on top: a built environment's `VIRTUAL_ENV` or
 * `GIRDER_NODE_MODULES`, and its `bin` before the rest of PATH.
 *
 * @example
 *   withSpecEnv({ PATH: '/usr/bin' }, { env: { VIRTUAL_ENV: '/v' }, binDir: '/v/bin' }) // → { PATH: '/v/bin:/usr/bin', VIRTUAL_ENV: '/v' }
 */
export function withSpecEnv(env: Record<string, string>, spec: Pick<LaunchSpec, 'env' | 'binDir'>) {
  const out = { ...env, ...spec.env };
  if (spec.binDir) out.PATH = `${spec.binDir}:${env.PATH ?? '/usr/bin:/bin'}`;
  return out;
}
