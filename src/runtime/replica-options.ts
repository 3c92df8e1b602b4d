import type { LogBook } from './logs.ts';
import type { LaunchSpec } from './runners/launch.ts';
import type { ReplicaLaunch, SpawnPlan } from './sandbox.ts';

/** What a replica is told when it is made: its command, environment, capacity, health checks, sandbox. */
export interface ReplicaOptions {
  deploymentId: string;
  spec: LaunchSpec;
  /** The replica protocol's environment (PORT is added here). */
  env: Record<string, string>;
  capacity: number;
  logs: LogBook;
  /** Give up on a replica that is not ready after this long. */
  startupTimeoutMs: number;
  /** Stop routing to a replica whose readiness has failed this long (0: at the first failure). */
  stopTrafficAfterMs: number;
  /** Restart a replica whose liveness has failed this long. */
  restartAfterMs: number;
  probeIntervalMs: number;
  /** The snapshot's directory on the pusher's machine: output naming the snapshot's files names these instead. */
  sourceDir?: string | null;
  /** Wraps the process in a sandbox, as another user (`Sandbox`); without it the command runs as is. */
  sandbox?: { plan(launch: ReplicaLaunch): Promise<SpawnPlan> };
}
