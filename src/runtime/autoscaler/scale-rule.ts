import { LoadWindow } from './load-window.ts';
import type { ScaleSettings } from './scale-settings.ts';

/** What one tick measured of a deployment. */
export interface LoadSample {
  /** Concurrent requests: in flight on a replica plus waiting for a slot (sync, and async that could run). */
  load: number;
  /** Replicas taking traffic now. */
  ready: number;
  /** Replicas starting (never ready yet). */
  starting: number;
  /** Slots handed out so far (a counter): a request that came and went between two ticks still counts as activity. */
  served: number;
}

/** Why the desired count changed. */
export type ScaleReason =
  | 'load'
  | 'burst'
  | 'scale_down'
  | 'idle'
  | 'min_replica'
  | 'max_replica'
  | 'wake'
  | 'deployed'
  | 'promoted'
  | 'promotion_cleanup'
  | 'deactivated';

/** The numbers behind a decision, in the settings' units (seconds, percent, requests). */
export interface ScaleNumbers {
  average_load: number;
  window_seconds: number;
  burst_load: number;
  burst_window_seconds: number;
  ready_replicas: number;
  concurrency_target: number;
  target_utilization_percentage: number;
  min_replica: number;
  max_replica: number;
  scale_down_delay_seconds: number;
  max_scale_down_rate: number;
  /** For a step down: how long the desired count had been below the running one. */
  below_for_seconds?: number;
  in_burst: boolean;
}

/** One change of a deployment's desired replica count, explained. */
export interface ScaleChange {
  from: number;
  to: number;
  reason: ScaleReason;
  message: string;
  numbers: ScaleNumbers;
}

/**
 * One deployment's autoscaling state between ticks: `decide()` reads and updates it.
 *
 * @example
 *   const st = new ScaleState();
 *   decide(st, settings, Date.now(), sample); // st.count is now the desired replica count
 */
export class ScaleState {
  /** The desired replica count: what the supervisor reconciles to. */
  count = 0;
  readonly window = new LoadWindow();
  /** The last time it had load, a request, a wake or a deploy: scale to zero waits scale_down_delay from it. */
  lastActivity = Number.NEGATIVE_INFINITY;
  served = 0;
  load = 0;
  ready = 0;
  /** Since when the desired count has been below `count` (undefined: it is not). */
  belowSince: number | undefined;
  lastStepDown = Number.NEGATIVE_INFINITY;
  /** Since when it is in burst mode (Knative's panic mode), and when a burst was last seen. */
  burstSince: number | undefined;
  lastBurst = Number.NEGATIVE_INFINITY;
  /** What the registry said last: a change of these is a deploy, a promotion or a deactivation. */
  active = false;
  serving = false;
}

const EPSILON = 1e-9;
/**
 * Replicas needed to carry `load` at `perReplica` each; the epsilon keeps 1.4 / 0.7 at 2.
 *
 * @example
 *   replicasFor(25, 10 * 0.7); // 4
 */
export const replicasFor = (load: number, perReplica: number): number => Math.ceil(load / perReplica - EPSILON);
const round = (x: number): number => Math.round(x * 100) / 100;

/**
 * One decision on a deployment's replica count, by Baseten's rules plus Knative's burst mode:
 *
 * - desired = ceil(average load over `autoscaling_window` ÷ (concurrency_target × utilization)),
 *   clamped to [min_replica, max_replica] and at least 1; with min_replica 0, it is 0 once the
 *   deployment had no load, request or wake for `scale_down_delay`, whatever the window still averages;
 * - burst: when the load over the last tenth of the window needs more than twice the ready replicas,
 *   scale on that short window, and remove nothing until a whole window has passed without a burst;
 * - up at once; down only once desired stayed below the count for `scale_down_delay`, by at most
 *   `max_scale_down_rate` of the replicas (at least one), then `scale_down_delay` again before the next
 *   step. A lowered max_replica applies at once.
 *
 * `sample` is the tick's measurement; without one (a settings change) it decides on what it has.
 * Returns the change, already applied to `st`, or undefined.
 *
 * @example
 *   const st = new ScaleState();
 *   decide(st, scaleSettings(d, 1, 1000), Date.now(), { load: 25, ready: 1, starting: 0, served: 25 });
 *   // with concurrency_target 10, 70 % and max_replica 8: { from: 0, to: 4, reason: 'burst', … }
 */
export function decide(st: ScaleState, s: ScaleSettings, now: number, sample?: LoadSample): ScaleChange | undefined {
  if (sample) {
    st.window.add(now, sample.load);
    st.window.prune(now - s.windowMs);
    // Waking up counts as activity: the hold of scale_down_delay starts once it can serve, so that a
    // slow start is never scaled away before its first request (KServe's GPU pods deleted before ready).
    const waking = sample.ready === 0 && sample.starting > 0;
    if (sample.load > 0 || sample.served !== st.served || waking) st.lastActivity = now;
    Object.assign(st, { served: sample.served, load: sample.load, ready: sample.ready });
  }
  const average = st.window.average(now - s.windowMs);
  const burst = st.window.average(now - s.burstWindowMs);
  const steady = replicasFor(average, s.perReplica);
  const needed = replicasFor(burst, s.perReplica);
  if (burst / s.perReplica > 2 * Math.max(1, st.ready)) {
    st.lastBurst = now;
    st.burstSince ??= now;
  } else if (st.burstSince !== undefined && now - st.lastBurst >= s.windowMs) {
    st.burstSince = undefined;
  }
  const inBurst = st.burstSince !== undefined;
  // With min_replica 0, no load at all for scale_down_delay means zero, whatever the window still averages.
  const idle = s.min === 0 && st.load === 0 && now - st.lastActivity >= s.delayMs;
  const wanted = inBurst ? Math.max(steady, needed, st.count) : steady;
  const desired = idle ? 0 : Math.min(s.max, Math.max(s.min, 1, wanted));
  const numbers = scaleNumbers(st, s, now);
  const change = (to: number, reason: ScaleReason, message: string): ScaleChange =>
    setCount(st, to, reason, message, numbers)!;
  const target = `${s.shown.concurrency_target} × ${s.shown.target_utilization_percentage} %`;

  if (desired > st.count) {
    st.belowSince = undefined;
    const capped = wanted > s.max ? `, capped at max_replica ${s.max}` : '';
    if (inBurst && needed >= desired && needed > steady)
      return change(
        desired,
        'burst',
        `burst: load ${numbers.burst_load} over the last ${numbers.burst_window_seconds} s needs ${needed} replicas, more than twice the ${st.ready} ready; scaling on the short window${capped}`,
      );
    if (steady >= desired)
      return change(
        desired,
        'load',
        `average load ${numbers.average_load} over ${s.shown.autoscaling_window} s ÷ (${target}) → ${steady}${capped}`,
      );
    if (s.min >= desired) return change(desired, 'min_replica', `min_replica is ${s.min}`);
    return change(desired, 'wake', 'activity within scale_down_delay holds one replica');
  }
  if (desired === st.count) {
    st.belowSince = undefined;
    return undefined;
  }
  if (st.count > s.max) return change(s.max, 'max_replica', `max_replica is ${s.max}`);
  st.belowSince ??= now;
  // Zero is wanted because nothing happened since lastActivity: desired has been below since then.
  if (desired === 0) st.belowSince = Math.min(st.belowSince, st.lastActivity);
  if (inBurst) return undefined;
  const since = Math.max(st.belowSince, st.lastStepDown);
  if (now - since < s.delayMs) return undefined;
  const to = Math.max(desired, st.count - Math.max(1, Math.floor(st.count * s.rate)));
  st.lastStepDown = now;
  numbers.below_for_seconds = Number.isFinite(since) ? round((now - since) / 1000 / s.timeScale) : undefined;
  const delay = `scale_down_delay ${s.shown.scale_down_delay} s`;
  const why =
    desired === 0
      ? `no load for ${delay} and min_replica 0`
      : `desired ${desired} (average load ${numbers.average_load} over ${s.shown.autoscaling_window} s ÷ (${target})) stayed below ${st.count} for ${delay}`;
  const done =
    to === 0
      ? change(0, 'idle', `${why}: to zero`)
      : change(
          to,
          'scale_down',
          `${why}; removing ${st.count - to} (max_scale_down_rate ${s.shown.max_scale_down_rate} %)`,
        );
  st.belowSince = to > desired ? now : undefined;
  return done;
}

/**
 * The numbers a decision rests on now: both averages, the ready replicas and the settings.
 *
 * @example
 *   scaleNumbers(st, settings, Date.now()).average_load; // 2.5
 */
export function scaleNumbers(st: ScaleState, s: ScaleSettings, now: number): ScaleNumbers {
  return {
    average_load: round(st.window.average(now - s.windowMs)),
    window_seconds: s.shown.autoscaling_window,
    burst_load: round(st.window.average(now - s.burstWindowMs)),
    burst_window_seconds: round(s.burstWindowMs / 1000 / s.timeScale),
    ready_replicas: st.ready,
    concurrency_target: s.shown.concurrency_target,
    target_utilization_percentage: s.shown.target_utilization_percentage,
    min_replica: s.shown.min_replica,
    max_replica: s.max,
    scale_down_delay_seconds: s.shown.scale_down_delay,
    max_scale_down_rate: s.shown.max_scale_down_rate,
    in_burst: st.burstSince !== undefined,
  };
}

/**
 * Sets the desired count for a reason other than a tick's decision (a wake, a deploy, a cleanup);
 * returns the change, or undefined when the count already is `to`.
 *
 * @example
 *   setCount(st, 1, 'wake', 'POST /wake', scaleNumbers(st, settings, Date.now()));
 */
export function setCount(
  st: ScaleState,
  to: number,
  reason: ScaleReason,
  message: string,
  numbers: ScaleNumbers,
): ScaleChange | undefined {
  if (to === st.count) return undefined;
  const c = { from: st.count, to, reason, message, numbers };
  if (to > st.count) st.belowSince = undefined;
  st.count = to;
  return c;
}
