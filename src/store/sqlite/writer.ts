import { Worker } from 'node:worker_threads';
import type { AsyncRequestPatch, AsyncRequestRecord } from '../../records/async.ts';
import type { UsageRecord } from '../../records/usage.ts';

/**
 * The main-thread side of the writer thread: hands it batches and resolves when each is committed.
 */
export class BatchWriter {
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();
  #next = 0;
  readonly #inflight = new Set<Promise<void>>();

  constructor(path: string) {
    this.#worker = new Worker(new URL('./writer-thread.ts', import.meta.url), {
      workerData: { path },
      // node:sqlite warns that it is experimental in every thread that loads it; the CLI hides it in its own.
      execArgv: ['--disable-warning=ExperimentalWarning'],
    });
    this.#worker.on('message', (msg: { id: number; error?: string }) => {
      const p = this.#pending.get(msg.id)!;
      this.#pending.delete(msg.id);
      if (msg.error) p.reject(new Error(msg.error));
      else p.resolve();
    });
    this.#worker.on('error', (err) => {
      for (const p of this.#pending.values()) p.reject(err);
      this.#pending.clear();
    });
    // An idle writer must not keep the process alive.
    this.#worker.unref();
  }

  write(inserts: AsyncRequestRecord[], patches: AsyncRequestPatch[]): Promise<void> {
    return this.#send({ inserts, patches });
  }

  /** Adds usage counters (`usage-batch.ts`) in the thread. */
  addUsage(usage: UsageRecord[]): Promise<void> {
    return this.#send({ usage });
  }

  #send(batch: object): Promise<void> {
    const id = this.#next++;
    const done = new Promise<void>((resolve, reject) => this.#pending.set(id, { resolve, reject }));
    this.#worker.postMessage({ id, ...batch });
    this.#worker.ref();
    const tracked = done.finally(() => {
      this.#inflight.delete(tracked);
      if (!this.#pending.size) this.#worker.unref();
    });
    this.#inflight.add(tracked);
    return tracked;
  }

  /** Waits for the batches handed over so far, then stops the thread. */
  async close(): Promise<void> {
    await Promise.allSettled(this.#inflight);
    this.#worker.ref(); // keep the process alive until the thread has closed its connection
    this.#worker.postMessage('close');
    await new Promise<void>((r) => this.#worker.once('exit', () => r()));
  }
}
