import type { ScaleChange } from './scale-rule.ts';

/** A change of the desired replica count, as the scaling events endpoint shows it. */
export interface ScalingEvent extends Omit<ScaleChange, 'numbers'> {
  at: string;
  numbers: ScaleChange['numbers'];
}

/** How long one replica took to serve, from the moment Girder asked for it. */
export interface ColdStart {
  at: string;
  replica_id: string;
  /** No other replica of the deployment was ready: its requests waited for this one. */
  from_zero: boolean;
  /** From the decision to start it to its server answering HTTP: the process and its runtime starting. */
  process_ms: number;
  /** From its server answering to its readiness check passing: the model loading. */
  load_ms: number;
  /** From the decision to its first passing readiness check. */
  total_ms: number;
}

interface Kept<T> {
  t: number;
  item: T;
}

/**
 * What the autoscaler did and why, per deployment: changes of the desired count and cold starts,
 * kept for `retentionMs` and at most `maxPerDeployment` of each (the oldest go first). In memory
 * only: they explain the present, and a restart starts a new story.
 *
 * @example
 *   const events = new ScalingEvents(3_600_000);
 *   events.change('q1w2e3r', change);
 *   events.of('q1w2e3r'); // { events: [{ at, from: 1, to: 4, reason: 'burst', … }], cold_starts: [] }
 */
export class ScalingEvents {
  readonly #retentionMs: number;
  readonly #max: number;
  readonly #changes = new Map<string, Kept<ScalingEvent>[]>();
  readonly #coldStarts = new Map<string, Kept<ColdStart>[]>();

  constructor(retentionMs: number, maxPerDeployment = 500) {
    this.#retentionMs = retentionMs;
    this.#max = maxPerDeployment;
  }

  /** Records a change of the desired count. */
  change(deploymentId: string, c: ScaleChange, now = Date.now()): void {
    this.#add(this.#changes, deploymentId, now, { at: new Date(now).toISOString(), ...c });
  }

  /** Records a replica that became ready. */
  coldStart(deploymentId: string, c: Omit<ColdStart, 'at'>, now = Date.now()): void {
    this.#add(this.#coldStarts, deploymentId, now, { at: new Date(now).toISOString(), ...c });
  }

  /** A deployment's events and cold starts still kept, oldest first. */
  of(deploymentId: string, now = Date.now()): { events: ScalingEvent[]; cold_starts: ColdStart[] } {
    return {
      events: this.#kept(this.#changes, deploymentId, now),
      cold_starts: this.#kept(this.#coldStarts, deploymentId, now),
    };
  }

  /** Forgets a deleted deployment. */
  forget(deploymentId: string): void {
    this.#changes.delete(deploymentId);
    this.#coldStarts.delete(deploymentId);
  }

  #add<T>(map: Map<string, Kept<T>[]>, id: string, now: number, item: T): void {
    let list = map.get(id);
    if (!list) map.set(id, (list = []));
    list.push({ t: now, item });
    this.#expire(list, now);
  }

  #kept<T>(map: Map<string, Kept<T>[]>, id: string, now: number): T[] {
    const list = map.get(id) ?? [];
    this.#expire(list, now);
    return list.map((k) => k.item);
  }

  #expire<T>(list: Kept<T>[], now: number): void {
    let drop = Math.max(0, list.length - this.#max);
    while (drop < list.length && list[drop].t < now - this.#retentionMs) drop++;
    if (drop) list.splice(0, drop);
  }
}
