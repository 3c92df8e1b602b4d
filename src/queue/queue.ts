import type { Registry } from '../control/registry.ts';
import type { DeploymentRecord } from '../records/control.ts';
import { GirderError, notFound } from '../errors.ts';
import { REQUEST_ID_RE } from '../ids.ts';
import type { LogBook } from '../runtime/logs.ts';
import type { Supervisor } from '../runtime/supervisor.ts';
import type { Store } from '../store/store.ts';
import { Committer } from './committer.ts';
import { Completion } from './completion.ts';
import { Dispatcher } from './dispatch.ts';
import type { AsyncErrorCode, AsyncRequestHead, AsyncStatus } from '../records/async.ts';
import { checkWebhookUrl } from './webhook-target.ts';
import type { WebhookSender } from './webhooks.ts';
import { type AsyncOwner, type ChainOfRequest, ownedBy } from './owner.ts';
import type { AsyncWrapper } from './wrapper.ts';

export interface QueueOptions {
  /** Most QUEUED + IN_PROGRESS requests per deployment before 429. */
  maxOutstanding: number;
  /** Timeout of one model call (MODEL_PREDICT_TIMEOUT after). */
  predictTimeoutMs: number;
  /** Finished requests stay readable this long. */
  retentionMs: number;
  /** Keep outputs for polling unless a request says otherwise. */
  keepOutputs: boolean;
  allowPrivateWebhooks: boolean;
}

/** What `status()` knows of a request: its head as it was when asked, and its output when kept. */
export interface AsyncRequestState {
  head: AsyncRequestHead;
  /** Set only when the request keeps its output and finished with one (null if the answer is gone). */
  output?: unknown;
}

/** A deployment's outstanding requests, as `async_queue_status` counts them. */
export interface QueueCounts {
  queued: number;
  inProgress: number;
}

/** What `cancel()` did: only a QUEUED request is canceled; otherwise the status that kept it. */
export type CancelResult = { canceled: true } | { canceled: false; status: AsyncStatus };

/**
 * Durable async inference. A submit answers only once its request is committed (group commit), then
 * each deployment's dispatch loop takes requests by (priority, arrival) whenever a replica slot is free,
 * yielding to parked sync requests. Outcomes are retried per `inference_retry_config`, recorded, and
 * sent to the webhook. On start, requests a crash left IN_PROGRESS run again (at least once, never lost).
 *
 * This file holds a request's way in (submit), what can be asked of it (status, cancel, queue counts),
 * expiry, resuming at start, and close; `dispatch.ts` runs requests, `completion.ts` ends them.
 *
 * @example
 *   const queue = new AsyncQueue(store, registry, supervisor, webhooks, logs, opts);
 *   await queue.start(); // resumes what the last run left
 *   const id = await queue.submit(deployment, parseWrapper(body), requestId); // durable: answer 201
 *   const { head } = await queue.status(id, { kind: 'model', id: deployment.modelId });
 */
export class AsyncQueue {
  readonly #store: Store;
  readonly #opts: QueueOptions;
  readonly #committer: Committer;
  /** Every request not finished yet: QUEUED, IN_PROGRESS, or waiting for its webhook. */
  readonly #heads = new Map<string, AsyncRequestHead>();
  readonly #completion: Completion;
  readonly #dispatch: Dispatcher;
  readonly #timers: NodeJS.Timeout[] = [];
  #seq = Date.now() * 1000;
  /** Aborted by close(): dispatch stops, and deliveries stop before their next attempt. */
  readonly #closed = new AbortController();

  constructor(
    store: Store,
    registry: Registry,
    supervisor: Supervisor,
    webhooks: WebhookSender,
    logs: LogBook,
    opts: QueueOptions,
  ) {
    this.#store = store;
    this.#opts = opts;
    this.#committer = new Committer(store);
    this.#completion = new Completion({
      store,
      committer: this.#committer,
      webhooks,
      logs,
      closed: this.#closed.signal,
      forget: (h) => this.#heads.delete(h.id),
    });
    this.#dispatch = new Dispatcher({
      registry,
      supervisor,
      store,
      committer: this.#committer,
      predictTimeoutMs: opts.predictTimeoutMs,
      finish: (h, status, errors, output) => this.#completion.finish(h, status, errors, output),
      detach: (work) => this.#detach(work),
    });
    registry.on('change', (e) => {
      if (e.type === 'deployment-removed') this.#failDeployment(e.deployment.id);
    });
  }

  /**
   * Runs work nobody awaits (a dispatch, a delivery) so that a failure (a full disk, say) is reported
   * and the server keeps serving, instead of an unhandled rejection ending the process.
   */
  #detach(work: Promise<unknown>): void {
    work.catch((err) => console.error('girder: async queue:', err));
  }

  /** Ends, without an output and not awaited, a request that will not run (again). */
  #end(h: AsyncRequestHead, status: AsyncStatus, code: AsyncErrorCode, message: string): void {
    this.#detach(this.#completion.finish(h, status, [{ code, message }], null));
  }

  /** Resumes what the last run left: re-queues IN_PROGRESS requests, redelivers pending webhooks. */
  async start(): Promise<void> {
    for (const h of await this.#store.listUnfinishedAsyncRequests()) {
      this.#seq = Math.max(this.#seq, h.seq + 1);
      this.#heads.set(h.id, h);
      if (h.status === 'IN_PROGRESS') {
        if (h.attempts >= h.retry.max_attempts) {
          this.#end(h, 'FAILED', 'INTERNAL_SERVER_ERROR', 'Girder stopped during the last attempt.');
          continue;
        }
        h.status = 'QUEUED';
        this.#detach(this.#committer.update({ id: h.id, status: 'QUEUED' }));
      }
      if (h.status === 'QUEUED') {
        this.#dispatch.of(h.deploymentId).queued++;
        this.#dispatch.enqueue(h);
      } else {
        this.#detach(this.#completion.deliver(h));
      }
    }
    this.#timers.push(
      setInterval(() => this.#expire(), 1000),
      setInterval(() => void this.#sweep(), 60_000),
    );
    for (const t of this.#timers) t.unref();
  }

  /**
   * Accepts a request; resolves with its id once it is durable (group commit: a 201 is a promise that
   * survives a crash). 429 over the outstanding limit, 400 for a webhook URL that may not be called.
   * A chain's request (`chain` set) runs on `deployment`, its entrypoint chainlet's.
   *
   * @example
   *   await queue.submit(deployment, parseWrapper('{"model_input":{}}'), newRequestId());
   */
  async submit(deployment: DeploymentRecord, w: AsyncWrapper, id: string, chain?: ChainOfRequest): Promise<string> {
    // A bad request is a 400 whatever the load; only a valid one can be turned away for capacity.
    if (w.webhookEndpoint) await checkWebhookUrl(w.webhookEndpoint, this.#opts.allowPrivateWebhooks);
    const q = this.#dispatch.of(deployment.id);
    if (q.queued + q.inProgress >= this.#opts.maxOutstanding) {
      throw new GirderError(
        'rate_limited',
        `Deployment ${deployment.id} already has ${this.#opts.maxOutstanding} outstanding async requests.`,
        'Wait for some to finish (see async_queue_status), or raise --async-max-outstanding.',
      );
    }
    const now = Date.now();
    const head: AsyncRequestHead = {
      id,
      modelId: deployment.modelId,
      deploymentId: deployment.id,
      priority: w.priority,
      seq: this.#seq++,
      webhookEndpoint: w.webhookEndpoint,
      maxTimeInQueueMs: w.maxTimeInQueueMs,
      retry: w.retry,
      keepOutput: w.keepOutput ?? this.#opts.keepOutputs,
      status: 'QUEUED',
      webhookStatus: w.webhookEndpoint ? 'PENDING' : 'NO_WEBHOOK_PROVIDED',
      attempts: 0,
      notBefore: 0,
      webhookAttempts: 0,
      createdAt: now,
      statusAt: now,
      errors: [],
      ...chain,
    };
    q.queued++; // counted before the commit, so that concurrent submits cannot overshoot the limit
    try {
      await this.#committer.insert({ ...head, input: w.input, output: null });
    } catch (err) {
      q.queued--;
      throw err;
    }
    this.#heads.set(id, head);
    this.#dispatch.enqueue(head);
    return id;
  }

  /** QUEUED requests never started within max_time_in_queue_seconds become EXPIRED. */
  #expire(): void {
    const now = Date.now();
    for (const q of this.#dispatch.queues()) {
      const expired = q.backlog.removeWhere((h) => h.attempts === 0 && h.createdAt + h.maxTimeInQueueMs <= now);
      for (const h of expired) {
        q.queued--;
        const why = `Not started within max_time_in_queue_seconds (${h.maxTimeInQueueMs / 1000} s).`;
        this.#end(h, 'EXPIRED', 'MODEL_NOT_READY', why);
      }
      if (expired.length) q.stopWaitingIfEmpty();
    }
  }

  /** Deletes finished requests past the retention period (a failure waits for the next sweep). */
  async #sweep(): Promise<void> {
    await this.#store.deleteFinishedAsyncRequests(Date.now() - this.#opts.retentionMs).catch(() => {});
  }

  /** A deleted deployment's queued requests fail at once: nothing will ever run them. */
  #failDeployment(deploymentId: string): void {
    const q = this.#dispatch.get(deploymentId);
    if (!q) return;
    for (let h = q.backlog.shift(); h; h = q.backlog.shift()) {
      q.queued--;
      this.#end(h, 'FAILED', 'MODEL_DOES_NOT_EXIST', `Deployment ${deploymentId} was deleted.`);
    }
    q.stopWaitingIfEmpty();
  }

  /**
   * Cancels a QUEUED request; anything else is reported, not changed. 404 for ids the owner does not own.
   *
   * @example
   *   const r = await queue.cancel(id, { kind: 'model', id: modelId }); // { canceled: false, status: 'IN_PROGRESS' }
   */
  async cancel(id: string, owner: AsyncOwner): Promise<CancelResult> {
    const h = this.#heads.get(id) ?? (await this.#read(id, owner));
    if (!ownedBy(h, owner)) throw notFound(`Async request ${id} was not found.`);
    if (h.status !== 'QUEUED') return { canceled: false, status: h.status };
    const q = this.#dispatch.of(h.deploymentId);
    q.backlog.remove(h);
    q.queued--;
    q.stopWaitingIfEmpty();
    await this.#completion.finish(h, 'CANCELED', [], null);
    return { canceled: true };
  }

  /**
   * The state of a request the model (or chain) owns; 404 for unknown ids and for those past retention.
   * The output comes with it when the request keeps it, once its write has landed.
   *
   * @example
   *   const { head, output } = await queue.status(id, { kind: 'chain', id: chainId }); // head.status === 'SUCCEEDED'
   */
  async status(id: string, owner: AsyncOwner): Promise<AsyncRequestState> {
    const h = this.#heads.get(id) ?? (await this.#read(id, owner));
    if (!ownedBy(h, owner)) throw notFound(`Async request ${id} was not found.`);
    // A copy: the answer shows the request as it was when asked, whatever changes while the output is read.
    const head = { ...h };
    if (!h.keepOutput || (h.status !== 'SUCCEEDED' && h.status !== 'WEBHOOK_FAILED')) return { head };
    await this.#completion.writing(id)?.catch(() => {});
    const record = await this.#store.getAsyncRequest(id);
    return { head, output: record?.output != null ? JSON.parse(record.output) : null };
  }

  async #read(id: string, owner: AsyncOwner): Promise<AsyncRequestHead> {
    const r = REQUEST_ID_RE.test(id) ? await this.#store.getAsyncRequest(id) : undefined;
    if (!r || !ownedBy(r, owner) || r.statusAt + this.#opts.retentionMs < Date.now()) {
      throw notFound(
        `Async request ${id} was not found.`,
        'Statuses are kept for a limited time after the request finished.',
      );
    }
    return r;
  }

  /**
   * How many requests of a deployment are queued and in progress.
   *
   * @example
   *   queue.queueStatus(deployment.id); // { queued: 2, inProgress: 1 }
   */
  queueStatus(deploymentId: string): QueueCounts {
    const q = this.#dispatch.get(deploymentId);
    return { queued: q?.queued ?? 0, inProgress: q?.inProgress ?? 0 };
  }

  /** Its QUEUED requests that could run now (no retry delay to wait out), the autoscaler's load: `queue.runnable(d.id)`. */
  runnable(deploymentId: string): number {
    return this.#dispatch.get(deploymentId)?.backlog.size ?? 0;
  }

  /** Stops dispatching; what is in flight stays on disk as it is and resumes at the next start. */
  async close(): Promise<void> {
    this.#closed.abort();
    for (const t of this.#timers) clearInterval(t);
    this.#dispatch.close();
    await this.#committer.drain();
  }
}
