import type { DeploymentRecord } from '../records/control.ts';
import type { Replica } from './replica.ts';
import type { DeploymentLoad } from './replica-count.ts';
import { type SlotClass, SlotQueue } from './slots.ts';
import { unavailable } from './unavailable.ts';

/** The load of a deployment that has no runtime yet: `supervisor.load(id)` for one never called. */
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
  | 'DEPLOYING'
  | 'DEPLOY_FAILED'
  | 'LOADING_MODEL'
  | 'ACTIVE'
  | 'UNHEALTHY'
  | 'INACTIVE'
  | 'SCALED_TO_ZERO'
  | 'WAKING_UP';

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
    if (live.length === 0 && !this.restartTimer) return 'SCALED_TO_ZERO';
    if (this.failures > 0) return this.everReady ? 'UNHEALTHY' : 'DEPLOY_FAILED';
    // Its server answers: the process is up and the model loads (Baseten's Waking up → Loading model).
    if (live.some((r) => r.times.up)) return 'LOADING_MODEL';
    return this.woken ? 'WAKING_UP' : 'DEPLOYING';
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
