import type { Registry } from '../control/registry.ts';
import type { DeploymentRecord } from '../records/control.ts';
import type { Secrets } from '../control/secrets.ts';
import type { LogBook } from './logs.ts';
import type { Replica, ReplicaOptions } from './replica.ts';
import type { ReplicaCountPolicy } from './replica-count.ts';

/** What a Supervisor is made with: the planes it follows, and the knobs of its replicas. */
export interface SupervisorOptions {
  dataDir: string;
  registry: Registry;
  secrets: Secrets;
  logs: LogBook;
  /** Probe period once a replica is ready. */
  probeIntervalMs?: number;
  /** How many replicas each deployment runs; default `ServingPolicy` (no load, scale from zero on a wake). */
  replicaCount?: ReplicaCountPolicy;
  /** Makes each replica; default `new Replica(opts)`. Tests and sandboxing supply their own. */
  createReplica?: ReplicaFactory;
  /** Replicas in a row that exit before they are ready, after which a deployment stops trying (0: never); 5. */
  maxFailedStarts?: number;
  /** How long a replica being scaled down may take to finish its requests (streams too); default 30 s. */
  drainGraceMs?: number;
  /**
   * What a chainlet's replica gets besides a model's (`chainlet-env.ts`): more secrets (the chain key)
   * and environment; undefined for a model's deployment, a message when the chainlet cannot start.
   */
  chainletExtras?: (d: DeploymentRecord) => ChainletExtras | string | undefined;
  /** Most requests that may wait for a slot of one deployment; beyond, 429 with Retry-After. Default 1000. */
  maxWaiting?: number;
}

/** What `SupervisorOptions.chainletExtras` gives a chainlet's replica. */
export interface ChainletExtras {
  secrets: Map<string, string>;
  env: Record<string, string>;
}

export type ReplicaFactory = (opts: ReplicaOptions) => Replica;
