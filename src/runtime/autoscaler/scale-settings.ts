import { DEFAULT_AUTOSCALING, type DeploymentRecord } from '../../records/control.ts';

/** A deployment's autoscaling settings as the autoscaler uses them: defaults filled in, times in ms. */
export interface ScaleSettings {
  min: number;
  max: number;
  windowMs: number;
  /** The last tenth of the window (at least one tick): what a burst is measured over. */
  burstWindowMs: number;
  delayMs: number;
  /** max_scale_down_rate as a fraction of the running replicas. */
  rate: number;
  /** concurrency_target × target_utilization: the load one replica is meant to carry. */
  perReplica: number;
  /** The settings as configured (seconds, percent), for the explanation of each decision. */
  shown: {
    min_replica: number;
    max_replica: number;
    autoscaling_window: number;
    scale_down_delay: number;
    max_scale_down_rate: number;
    concurrency_target: number;
    target_utilization_percentage: number;
  };
  /** Seconds of the settings per real millisecond ÷ 1000: 1 except in tests and benchmarks. */
  timeScale: number;
}

/**
 * What the autoscaler applies to a deployment. A development deployment runs 0 or 1 replica,
 * whatever its settings say. `timeScale` shrinks every duration (tests and benchmarks run Baseten's
 * valid settings, 10 s windows and more, in a fraction of the time); `tickMs` bounds the burst window
 * from below, since nothing shorter than a tick can be measured.
 *
 * @example
 *   scaleSettings(deployment, 1, 1000); // { min: 0, max: 1, windowMs: 60_000, burstWindowMs: 6000, … }
 */
export function scaleSettings(d: DeploymentRecord, timeScale: number, tickMs: number): ScaleSettings {
  const a = { ...DEFAULT_AUTOSCALING, ...withoutNulls(d.autoscaling) };
  const shown = {
    min_replica: a.min_replica,
    max_replica: a.max_replica,
    autoscaling_window: a.autoscaling_window ?? 60,
    scale_down_delay: a.scale_down_delay ?? 900,
    max_scale_down_rate: a.max_scale_down_rate ?? 50,
    concurrency_target: a.concurrency_target,
    target_utilization_percentage: a.target_utilization_percentage ?? 70,
  };
  const max = d.isDevelopment ? 1 : Math.max(1, shown.max_replica);
  const windowMs = shown.autoscaling_window * 1000 * timeScale;
  return {
    min: Math.min(shown.min_replica, max),
    max,
    windowMs,
    burstWindowMs: Math.max(tickMs, windowMs / 10),
    delayMs: shown.scale_down_delay * 1000 * timeScale,
    rate: shown.max_scale_down_rate / 100,
    perReplica: (shown.concurrency_target * shown.target_utilization_percentage) / 100,
    shown,
    timeScale,
  };
}

/** Stored settings may hold nulls (Baseten's nullable fields): they mean "the default". */
function withoutNulls<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v != null)) as Partial<T>;
}
