import type { RegistryEvent } from '../control/registry.ts';
import type { DeploymentRecord, EnvironmentRecord } from '../records/control.ts';
import type { Replica } from './replica.ts';

/** What one deployment carries right now, for a policy that scales on load. */
export interface DeploymentLoad {
  /** Requests being served by its replicas. */
  inflight: number;
  /** Requests waiting for a slot (sync and async). */
  parked: number;
  /** Of those, async ones: the dispatch loop waits for a slot before it picks a request of its backlog. */
  parkedAsync: number;
  /** Replicas starting or running (not stopping). */
  replicas: number;
  /** Replicas taking traffic now. */
  ready: number;
  /** Replicas not ready yet since they started (not those whose readiness fails after serving). */
  starting: number;
  /** Slots handed out since the deployment's runtime was made: a counter, for activity between samples. */
  served: number;
}

/** What woke a deployment: a request (sync or async) finding no replica, or `POST /wake`. */
export type WakeCause = 'request' | 'wake';

/** What the supervisor offers the policy it asks. */
export interface ReplicaCountHost {
  /** Asks the supervisor to bring a deployment to `desired()` again; the policy calls it when its answer changed. */
  reconcile(deploymentId: string): void;
  /** The deployment's load now (zeros for a deployment that runs nothing). */
  load(deploymentId: string): DeploymentLoad;
}

/**
 * Decides how many replicas each deployment runs. The supervisor asks `desired()` whenever it
 * reconciles, and reconciles to the answer without knowing why; a policy whose answer changes by
 * itself (the autoscaler, over its load window) says so through `host.reconcile()`.
 */
export interface ReplicaCountPolicy {
  /** Called once by the supervisor that asks this policy. */
  attach(host: ReplicaCountHost): void;
  /** How many replicas the deployment should run now. */
  desired(deployment: DeploymentRecord): number;
  /** A request or a wake wants the active deployment running (scale from zero); the supervisor reconciles next. */
  wake(deployment: DeploymentRecord, cause?: WakeCause): void;
  /** A replica of the deployment became ready: the first time ends its cold start (`replica.times`); again after an unready spell. */
  replicaReady?(deploymentId: string, replica: Replica): void;
  /** The registry changed the deployment; the supervisor reconciles next (except after a removal). */
  changed(event: RegistryEvent): void;
  /** The supervisor is shutting down: every answer is 0 from now on, timers stop. */
  close(): void;
}

/** The replica count of a deployment that runs: min_replica bounded by max_replica, and at least 1; a development deployment runs 1, whatever its settings. */
export function servingCount(deployment: DeploymentRecord): number {
  const { min_replica, max_replica } = deployment.autoscaling;
  return deployment.isDevelopment ? 1 : Math.max(1, Math.min(min_replica, max_replica));
}

/** What `ServingPolicy` needs of the registry. */
export type EnvironmentLookup = { environmentOf(d: DeploymentRecord): EnvironmentRecord | undefined };

/**
 * Today's rule, without load: an active deployment that serves an environment, or a development
 * deployment, or one woken by a request or a wake since the registry last changed it, runs
 * `servingCount()` replicas; any other runs none.
 *
 * @example
 *   const policy = new ServingPolicy(registry);
 *   policy.desired(productionDeployment); // → 1 with min_replica 0
 *   policy.desired(oldDeployment); // → 0 until policy.wake(oldDeployment)
 */
export class ServingPolicy implements ReplicaCountPolicy {
  readonly #registry: EnvironmentLookup;
  /** Deployments started on demand though nothing requires them to run. */
  readonly #woken = new Set<string>();
  #closed = false;

  constructor(registry: EnvironmentLookup) {
    this.#registry = registry;
  }

  /** This policy changes its answers only when told (wake, change), so it never calls the host. */
  attach(_host: ReplicaCountHost): void {}

  desired(d: DeploymentRecord): number {
    if (!d.active || this.#closed) return 0;
    const serving = d.isDevelopment || this.#woken.has(d.id) || this.#registry.environmentOf(d) !== undefined;
    return serving ? servingCount(d) : 0;
  }

  wake(d: DeploymentRecord): void {
    if (d.active) this.#woken.add(d.id);
  }

  /** Any change (promotion, deactivation, a new push) ends a wake: what it serves now decides. */
  changed(e: RegistryEvent): void {
    this.#woken.delete(e.deployment.id);
  }

  close(): void {
    this.#closed = true;
  }
}
