import type { GirderError } from '../errors.ts';

/** What the slot queue needs of a replica. */
export interface SlotHolder {
  readonly id: string;
  /** Requests in flight on it now. */
  readonly inflight: number;
  /** Counts a slot taken on it. */
  acquired(): void;
  /** Counts a slot given back; a draining replica learns here that it may stop. */
  released(): void;
  /** Its `predict_concurrency`. */
  readonly capacity: number;
  /** Whether it takes traffic (ready, not draining). */
  readonly routable: boolean;
}

/** Sync requests are served before async ones, as on Baseten (docs/compatibility.md). */
export type SlotClass = 'sync' | 'async';

interface Waiter<R> {
  resolve: (replica: R) => void;
  reject: (err: Error) => void;
  cleanup: () => void;
}

/**
 * The slots of one deployment's replicas: each replica takes at most `capacity` requests; the rest
 * park here in arrival order and get the next freed slot on the least-loaded routable replica.
 * Parked sync requests always go before parked async ones, so async work never takes a slot a sync
 * request is waiting for.
 *
 * @example
 *   const replica = await slots.acquire('sync', AbortSignal.timeout(1_200_000));
 *   try { ...call replica... } finally { slots.release(replica); }
 */
export class SlotQueue<R extends SlotHolder> {
  readonly replicas: R[] = [];
  /** Slots handed out so far: the autoscaler sees a request that came and went between two of its samples. */
  served = 0;
  readonly #parked: Record<SlotClass, Waiter<R>[]> = { sync: [], async: [] };

  /** How many requests wait for a slot, by class. */
  get parked(): { sync: number; async: number } {
    return { sync: this.#parked.sync.length, async: this.#parked.async.length };
  }

  /** The least-loaded routable replica with a free slot, if any (ties: the first, to pack traffic). */
  #pick(): R | undefined {
    let best: R | undefined;
    for (const r of this.replicas) {
      if (!r.routable || r.inflight >= r.capacity) continue;
      if (!best || r.inflight < best.inflight) best = r;
    }
    return best;
  }

  /** Takes a slot now, or undefined when every slot is taken. Never jumps over parked requests. */
  tryAcquire(cls: SlotClass = 'sync'): R | undefined {
    if (this.#parked.sync.length || (cls === 'async' && this.#parked.async.length)) return undefined;
    const r = this.#pick();
    if (r) this.served++;
    r?.acquired();
    return r;
  }

  /**
   * Takes a slot, parking until one frees up. Rejects with the signal's reason when it aborts, so the
   * caller decides between timeout and disconnect.
   */
  acquire(cls: SlotClass, signal: AbortSignal): R | Promise<R> {
    const now = this.tryAcquire(cls);
    if (now) return now;
    signal.throwIfAborted();
    return new Promise<R>((resolve, reject) => {
      const queue = this.#parked[cls];
      const onAbort = () => {
        const i = queue.indexOf(waiter);
        if (i >= 0) queue.splice(i, 1);
        reject(signal.reason);
      };
      const waiter: Waiter<R> = {
        resolve,
        reject,
        cleanup: () => signal.removeEventListener('abort', onAbort),
      };
      signal.addEventListener('abort', onAbort, { once: true });
      queue.push(waiter);
    });
  }

  /** Gives a slot back and hands freed capacity to parked requests. */
  release(replica: R): void {
    replica.released();
    this.drain();
  }

  /** Hands free slots to parked requests; call when a replica becomes routable or a slot frees. */
  drain(): void {
    for (;;) {
      const queue = this.#parked.sync.length ? this.#parked.sync : this.#parked.async;
      if (!queue.length) return;
      const r = this.#pick();
      if (!r) return;
      const waiter = queue.shift()!;
      waiter.cleanup();
      this.served++;
      r.acquired();
      waiter.resolve(r);
    }
  }

  /**
   * Takes a slot on this replica now, or undefined when it has none free, takes no traffic or is
   * not (any more) one of these replicas. As `tryAcquire`, it never jumps over parked requests. For
   * session affinity: a conversation goes back to the replica that holds its prefix cache.
   */
  tryAcquireOn(replica: R, cls: SlotClass = 'sync'): R | undefined {
    if (this.#parked.sync.length || (cls === 'async' && this.#parked.async.length)) return undefined;
    if (!replica.routable || replica.inflight >= replica.capacity || !this.replicas.includes(replica)) return undefined;
    this.served++;
    replica.acquired();
    return replica;
  }

  /** Fails every parked request, e.g. when the deployment is stopped or its replica cannot start. */
  rejectAll(err: GirderError): void {
    for (const queue of [this.#parked.sync, this.#parked.async]) {
      for (const waiter of queue.splice(0)) {
        waiter.cleanup();
        waiter.reject(err);
      }
    }
  }
}
