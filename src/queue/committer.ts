import type { Store } from '../store/store.ts';
import type { AsyncRequestPatch, AsyncRequestRecord } from '../records/async.ts';

interface Batch {
  inserts: AsyncRequestRecord[];
  patches: AsyncRequestPatch[];
  waiters: { resolve: () => void; reject: (err: unknown) => void }[];
}

/**
 * Group commit: every insert and patch that arrives while a transaction is being written waits for
 * the next one, so N concurrent submits cost one transaction (one fsync), not N. A caller's promise
 * resolves once its write is durable.
 *
 * @example
 *   await committer.insert(record); // now safe to answer 201
 */
export class Committer {
  readonly #store: Store;
  #next: Batch = { inserts: [], patches: [], waiters: [] };
  #flushing: Promise<void> | null = null;
  #scheduled = false;

  constructor(store: Store) {
    this.#store = store;
  }

  insert(record: AsyncRequestRecord): Promise<void> {
    this.#next.inserts.push(record);
    return this.#wait();
  }

  update(patch: AsyncRequestPatch): Promise<void> {
    this.#next.patches.push(patch);
    return this.#wait();
  }

  #wait(): Promise<void> {
    const p = new Promise<void>((resolve, reject) => this.#next.waiters.push({ resolve, reject }));
    // Let the requests that arrived in this turn of the event loop join the batch.
    if (!this.#scheduled && !this.#flushing) {
      this.#scheduled = true;
      setImmediate(() => void this.#flush());
    }
    return p;
  }

  async #flush(): Promise<void> {
    this.#scheduled = false;
    while (this.#next.waiters.length) {
      const batch = this.#next;
      this.#next = { inserts: [], patches: [], waiters: [] };
      this.#flushing = this.#write(batch);
      await this.#flushing;
    }
    this.#flushing = null;
  }

  async #write(batch: Batch): Promise<void> {
    try {
      await this.#store.writeAsyncRequests(batch.inserts, batch.patches);
      for (const w of batch.waiters) w.resolve();
    } catch (err) {
      for (const w of batch.waiters) w.reject(err);
    }
  }

  /** Resolves once everything handed over so far is written. */
  async drain(): Promise<void> {
    while (this.#flushing || this.#next.waiters.length) {
      if (!this.#flushing) await this.#flush();
      else await this.#flushing;
    }
  }
}
