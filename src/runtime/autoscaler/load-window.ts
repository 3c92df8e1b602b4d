/**
 * Load samples in time order, for the averages the autoscaler decides on: the whole
 * `autoscaling_window` (steady) and its last tenth (a burst). An average is over the samples the
 * window holds, so a deployment just woken decides on what it has seen, not on zeros it never had.
 *
 * @example
 *   const w = new LoadWindow();
 *   w.add(1000, 2); w.add(2000, 4);
 *   w.average(0); // 3
 *   w.average(1500); // 4
 *   w.prune(1500); // forgets the sample at 1000
 */
export class LoadWindow {
  readonly #times: number[] = [];
  readonly #loads: number[] = [];
  /** Index of the oldest sample kept: dropping from the front is a move of this index, not a shift. */
  #head = 0;

  /** Adds a sample taken at `t` (never before the last one). */
  add(t: number, load: number): void {
    this.#times.push(t);
    this.#loads.push(load);
  }

  /** Forgets the samples taken before `since`. */
  prune(since: number): void {
    while (this.#head < this.#times.length && this.#times[this.#head] < since) this.#head++;
    if (this.#head > 1024 && this.#head * 2 > this.#times.length) {
      this.#times.splice(0, this.#head);
      this.#loads.splice(0, this.#head);
      this.#head = 0;
    }
  }

  /** Forgets every sample (a deployment taken to zero on purpose starts afresh). */
  clear(): void {
    this.prune(Number.POSITIVE_INFINITY);
  }

  /** The mean of the samples taken at or after `since`; 0 when there is none. */
  average(since: number): number {
    let sum = 0;
    let n = 0;
    for (let i = this.#times.length - 1; i >= this.#head && this.#times[i] >= since; i--) {
      sum += this.#loads[i];
      n++;
    }
    return n ? sum / n : 0;
  }
}
