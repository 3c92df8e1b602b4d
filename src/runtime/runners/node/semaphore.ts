/**
 * Bounds how many predicts run at once (`runtime.predict_concurrency`); the rest wait in FIFO order.
 *
 * @example
 *   const slots = new Semaphore(1);
 *   await slots.acquire();
 *   try { await model.predict(input, ctx); } finally { slots.release(); }
 */
export class Semaphore {
  #free: number;
  readonly #waiting: Array<() => void> = [];

  constructor(size: number) {
    this.#free = size;
  }

  acquire(): Promise<void> | undefined {
    if (this.#free > 0) {
      this.#free--;
      return undefined;
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  /** Hands the slot straight to the next waiter, so a newcomer cannot overtake it. */
  release(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#free++;
  }
}
