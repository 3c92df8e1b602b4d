import type { AsyncRequestHead } from '../records/async.ts';

/**
 * The QUEUED requests of one deployment that may run now, by priority (0 first) and, within a
 * priority, by arrival. Retries come back in at their arrival position, not at the end.
 */
export class Backlog {
  readonly #levels: AsyncRequestHead[][] = [[], [], []];

  get size(): number {
    return this.#levels[0].length + this.#levels[1].length + this.#levels[2].length;
  }

  add(head: AsyncRequestHead): void {
    const level = this.#levels[head.priority];
    // Arrivals have the highest seq so far: the common case is a push at the end.
    if (!level.length || level[level.length - 1].seq < head.seq) {
      level.push(head);
      return;
    }
    let lo = 0;
    let hi = level.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (level[mid].seq < head.seq) lo = mid + 1;
      else hi = mid;
    }
    level.splice(lo, 0, head);
  }

  /** The next request to run, removed from the backlog. */
  shift(): AsyncRequestHead | undefined {
    for (const level of this.#levels) if (level.length) return level.shift();
    return undefined;
  }

  remove(head: AsyncRequestHead): boolean {
    const level = this.#levels[head.priority];
    const i = level.indexOf(head);
    if (i < 0) return false;
    level.splice(i, 1);
    return true;
  }

  /** Removes and returns the requests `expired` picks (used by the expiry sweep). */
  removeWhere(expired: (h: AsyncRequestHead) => boolean): AsyncRequestHead[] {
    const out: AsyncRequestHead[] = [];
    for (let p = 0; p < this.#levels.length; p++) {
      const level = this.#levels[p];
      if (!level.some(expired)) continue;
      const kept: AsyncRequestHead[] = [];
      for (const h of level) (expired(h) ? out : kept).push(h);
      this.#levels[p] = kept;
    }
    return out;
  }
}
