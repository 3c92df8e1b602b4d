import type { UsageQuery, UsageRecord } from '../records/usage.ts';
import type { Store } from '../store/store.ts';

const HOUR_MS = 3_600_000;

/** The start of the hour `ms` falls in, as the store keeps it. */
export const hourOf = (ms: number): string => new Date(Math.floor(ms / HOUR_MS) * HOUR_MS).toISOString();

/**
 * Usage of the OpenAI-compatible API per hour, key and model, counted in memory on the request path
 * (one Map update) and written in the background: a flush every `flushMs` adds the counters to the
 * store in one transaction (the SQLite store commits it on its writer thread). A crash loses at most
 * the last `flushMs` of counts; `close()` writes what is left.
 *
 * @example
 *   const usage = new UsageMeter(store);
 *   usage.record('abcd1234', { id: model.id, name: model.name }, { prompt: 12, completion: 40 });
 *   await usage.read({ since: hourOf(Date.now() - 86_400_000) });
 */
export class UsageMeter {
  readonly #store: Store;
  readonly #flushMs: number;
  readonly #now: () => number;
  #pending = new Map<string, UsageRecord>();
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();

  constructor(store: Store, opts: { flushMs?: number; now?: () => number } = {}) {
    this.#store = store;
    this.#flushMs = opts.flushMs ?? 5000;
    this.#now = opts.now ?? Date.now;
  }

  /** Counts one request of a key to a model, with the tokens its answer reported (if any). */
  record(
    keyPrefix: string,
    model: { id: string; name: string },
    tokens?: { prompt: number; completion: number },
  ): void {
    this.#add({
      hour: hourOf(this.#now()),
      keyPrefix,
      modelId: model.id,
      modelName: model.name,
      requests: 1,
      promptTokens: tokens?.prompt ?? 0,
      completionTokens: tokens?.completion ?? 0,
    });
  }

  #add(row: UsageRecord): void {
    const id = `${row.hour} ${row.keyPrefix} ${row.modelId}`;
    const r = this.#pending.get(id);
    if (!r) this.#pending.set(id, row);
    else {
      r.requests += row.requests;
      r.promptTokens += row.promptTokens;
      r.completionTokens += row.completionTokens;
    }
    if (!this.#timer) {
      this.#timer = setTimeout(() => void this.flush(), this.#flushMs);
      // Counting must not keep a process alive; close() writes what is left.
      this.#timer.unref();
    }
  }

  /** Writes what was counted so far. A failed write keeps its counts for the next flush. */
  flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const rows = [...this.#pending.values()];
    this.#pending = new Map();
    // Flushes run one after the other, so that a failed one can hand its counts back in order.
    this.#flushing = this.#flushing.then(async () => {
      if (!rows.length) return;
      try {
        await this.#store.addUsage(rows);
      } catch (err) {
        console.error(`girder: usage not written yet, retrying at the next flush: ${(err as Error).message}`);
        for (const r of rows) this.#add(r);
      }
    });
    return this.#flushing;
  }

  /** Usage rows as stored, counted up to now (it flushes first). */
  async read(query: UsageQuery): Promise<UsageRecord[]> {
    await this.flush();
    return this.#store.listUsage(query);
  }

  /** Writes what is left; for shutdown, before the store closes. */
  close(): Promise<void> {
    return this.flush();
  }
}
