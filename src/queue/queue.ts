import type { Registry } from '../control/registry.ts';
import type { DeploymentRecord } from '../records/control.ts';
import { GirderError, notFound } from '../errors.ts';
import { REQUEST_ID_RE } from '../ids.ts';
import type { LogBook } from '../runtime/logs.ts';
import type { Replica } from '../runtime/replica.ts';
import type { Supervisor } from '../runtime/supervisor.ts';
import type { Store } from '../store/store.ts';
import { Backlog } from './backlog.ts';
import { Committer } from './committer.ts';
import { type CallOutcome, callModel } from './model-call.ts';
import type { AsyncError, AsyncRequestHead, AsyncRequestPatch, AsyncStatus } from '../records/async.ts';
import { checkWebhookUrl } from './webhook-target.ts';
import type { WebhookSender } from './webhooks.ts';
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

/** Per deployment: the backlog that may run now, counts, and the dispatch loop's state. */
class DeploymentQueue {
  readonly backlog = new Backlog();
  queued = 0;
  inProgress = 0;
  pumping = false;
  /** Aborts the dispatch loop's wait for a slot when nothing is left to run. */
  waiting: AbortController | undefined;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms).unref());

/**
 * Durable async inference. A submit answers only once its request is committed (group commit), then
 * each deployment's dispatch loop takes requests by (priority, arrival) whenever a replica slot is free,
 * yielding to parked sync requests. Outcomes are retried per `inference_retry_config`, recorded, and
 * sent to the webhook. On start, requests a crash left IN_PROGRESS run again (at least once, never lost).
 */
export class AsyncQueue {
  readonly #store: Store;
  readonly #registry: Registry;
  readonly #supervisor: Supervisor;
  readonly #webhooks: WebhookSender;
  readonly #logs: LogBook;
  readonly #opts: QueueOptions;
  readonly #committer: Committer;
  /** Every request not finished yet: QUEUED, IN_PROGRESS, or waiting for its webhook. */
  readonly #heads = new Map<string, AsyncRequestHead>();
  /** Terminal states whose write is still on its way to disk: a status read waits for it (output included). */
  readonly #finishing = new Map<string, Promise<void>>();
  readonly #deps = new Map<string, DeploymentQueue>();
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
    this.#logs = logs;
    this.#registry = registry;
    this.#supervisor = supervisor;
    this.#webhooks = webhooks;
    this.#opts = opts;
    this.#committer = new Committer(store);
    registry.on('change', (e) => {
      if (e.type === 'deployment-removed') this.#failDeployment(e.deployment.id);
      else if (this.#deps.has(e.deployment.id)) this.#detach(this.#pump(e.deployment.id));
    });
  }

  /**
   * Runs work nobody awaits (a dispatch, a delivery) so that a failure (a full disk, say) is reported
   * and the server keeps serving, instead of an unhandled rejection ending the process.
   */
  #detach(work: Promise<unknown>): void {
    work.catch((err) => console.error('girder: async queue:', err));
  }

  #dep(id: string): DeploymentQueue {
    let q = this.#deps.get(id);
    if (!q) this.#deps.set(id, (q = new DeploymentQueue()));
    return q;
  }

  /** Resumes what the last run left: re-queues IN_PROGRESS requests, redelivers pending webhooks. */
  async start(): Promise<void> {
    for (const h of await this.#store.listUnfinishedAsyncRequests()) {
      this.#seq = Math.max(this.#seq, h.seq + 1);
      this.#heads.set(h.id, h);
      if (h.status === 'IN_PROGRESS') {
        if (h.attempts >= h.retry.max_attempts) {
          this.#detach(
            this.#finish(
              h,
              'FAILED',
              [{ code: 'INTERNAL_SERVER_ERROR', message: 'Girder stopped during the last attempt.' }],
              null,
            ),
          );
          continue;
        }
        h.status = 'QUEUED';
        this.#detach(this.#committer.update({ id: h.id, status: 'QUEUED' }));
      }
      if (h.status === 'QUEUED') {
        this.#dep(h.deploymentId).queued++;
        this.#enqueue(h);
      } else {
        this.#detach(this.#deliver(h));
      }
    }
    this.#timers.push(
      setInterval(() => this.#expire(), 1000),
      setInterval(() => void this.#sweep(), 60_000),
    );
    for (const t of this.#timers) t.unref();
  }

  /** Accepts a request; resolves with its id once it is durable. 429 over the outstanding limit. */
  async submit(deployment: DeploymentRecord, w: AsyncWrapper, id: string): Promise<string> {
    // A bad request is a 400 whatever the load; only a valid one can be turned away for capacity.
    if (w.webhookEndpoint) await checkWebhookUrl(w.webhookEndpoint, this.#opts.allowPrivateWebhooks);
    const q = this.#dep(deployment.id);
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
    };
    q.queued++; // counted before the commit, so that concurrent submits cannot overshoot the limit
    try {
      await this.#committer.insert({ ...head, input: w.input, output: null });
    } catch (err) {
      q.queued--;
      throw err;
    }
    this.#heads.set(id, head);
    this.#enqueue(head);
    return id;
  }

  #enqueue(h: AsyncRequestHead): void {
    const wait = h.notBefore - Date.now();
    if (wait > 0) {
      // A retry waiting for its delay; a cancel meanwhile changes its status and it stays out.
      setTimeout(() => {
        h.notBefore = 0;
        if (h.status === 'QUEUED') this.#enqueue(h);
      }, wait).unref();
      return;
    }
    this.#dep(h.deploymentId).backlog.add(h);
    this.#detach(this.#pump(h.deploymentId));
  }

  /** The dispatch loop of one deployment: a slot first, then the best request for it. */
  async #pump(deploymentId: string): Promise<void> {
    const q = this.#dep(deploymentId);
    if (q.pumping || this.#closed.signal.aborted) return;
    q.pumping = true;
    try {
      while (q.backlog.size && !this.#closed.signal.aborted) {
        const deployment = this.#registry.deployments.get(deploymentId);
        if (!deployment?.active) break; // a deactivated deployment keeps its queue; activation pumps again
        q.waiting = new AbortController();
        let replica: Replica;
        try {
          replica = await this.#supervisor.acquire(deployment, 'async', q.waiting.signal);
        } catch {
          // Aborted (nothing left to run), or the deployment cannot start now: try again shortly.
          if (q.backlog.size && !this.#closed.signal.aborted) await sleep(1000);
          continue;
        } finally {
          q.waiting = undefined;
        }
        const head = q.backlog.shift();
        if (!head) {
          this.#supervisor.release(deploymentId, replica);
          break;
        }
        this.#detach(this.#run(head, q, replica));
      }
    } finally {
      q.pumping = false;
    }
  }

  async #run(h: AsyncRequestHead, q: DeploymentQueue, replica: Replica): Promise<void> {
    q.queued--;
    q.inProgress++;
    Object.assign(h, { status: 'IN_PROGRESS', attempts: h.attempts + 1, statusAt: Date.now() });
    // Not awaited: a crash before this lands just runs the request again (at least once).
    void this.#committer
      .update({ id: h.id, status: h.status, attempts: h.attempts, statusAt: h.statusAt })
      .catch(() => {});
    let outcome: CallOutcome;
    try {
      const record = await this.#store.getAsyncRequest(h.id);
      outcome = await callModel(replica, h.id, record!.input, this.#opts.predictTimeoutMs);
    } finally {
      this.#supervisor.release(h.deploymentId, replica);
      q.inProgress--;
    }
    if (this.#closed.signal.aborted) return; // interrupted by shutdown: still IN_PROGRESS on disk, resumed at the next start
    if (outcome.ok) return this.#finish(h, 'SUCCEEDED', [], outcome.output);
    if (!outcome.retryable || h.attempts >= h.retry.max_attempts)
      return this.#finish(h, 'FAILED', [outcome.error], null);
    const { initial_delay_ms, max_delay_ms } = h.retry;
    const delay = Math.min(initial_delay_ms * 2 ** (h.attempts - 1), max_delay_ms);
    Object.assign(h, {
      status: 'QUEUED',
      statusAt: Date.now(),
      notBefore: Date.now() + delay,
      errors: [outcome.error],
    });
    await this.#committer.update({
      id: h.id,
      status: h.status,
      statusAt: h.statusAt,
      notBefore: h.notBefore,
      errors: h.errors,
    });
    q.queued++;
    this.#enqueue(h);
  }

  /** Records a terminal state, then hands the request to its webhook (if any). */
  async #finish(h: AsyncRequestHead, status: AsyncStatus, errors: AsyncError[], output: unknown): Promise<void> {
    const webhook = h.webhookEndpoint !== null && status !== 'CANCELED';
    Object.assign(h, { status, errors, statusAt: Date.now() });
    if (h.webhookEndpoint && !webhook) h.webhookStatus = 'CANCELED';
    const patch: AsyncRequestPatch = { id: h.id, status, errors, statusAt: h.statusAt, webhookStatus: h.webhookStatus };
    // The output waits on disk for the webhook (it must survive a restart), or for polling when kept.
    if (output !== null && (webhook || h.keepOutput)) patch.output = JSON.stringify(output);
    const written = this.#committer.update(patch);
    this.#finishing.set(h.id, written);
    try {
      await written;
    } finally {
      this.#finishing.delete(h.id);
    }
    if (webhook) await this.#deliver(h);
    else this.#heads.delete(h.id);
  }

  async #deliver(h: AsyncRequestHead): Promise<void> {
    const record = await this.#store.getAsyncRequest(h.id);
    const payload = {
      request_id: h.id,
      model_id: h.modelId,
      deployment_id: h.deploymentId,
      data: record?.output != null ? JSON.parse(record.output) : null,
      errors: h.errors,
    };
    const report = await this.#webhooks.deliver(h.webhookEndpoint!, payload, {
      signal: this.#closed.signal,
      onFailedAttempt: (n, detail) =>
        this.#logs.note(
          h.deploymentId,
          '-',
          'warn',
          `webhook for async request ${h.id} to ${h.webhookEndpoint} failed (attempt ${h.webhookAttempts + n}): ${detail}`,
        ),
    });
    h.webhookAttempts += report.attempts;
    if (report.outcome === 'interrupted') return; // still PENDING on disk: delivered after the next start
    const delivered = report.outcome === 'delivered';
    h.webhookStatus = delivered ? 'SUCCEEDED' : 'FAILED';
    const patch: AsyncRequestPatch = { id: h.id, webhookStatus: h.webhookStatus, webhookAttempts: h.webhookAttempts };
    if (!delivered && h.status === 'SUCCEEDED')
      Object.assign(patch, { status: (h.status = 'WEBHOOK_FAILED'), statusAt: (h.statusAt = Date.now()) });
    if (!h.keepOutput) patch.output = null;
    await this.#committer.update(patch);
    this.#heads.delete(h.id);
  }

  /** QUEUED requests never started within max_time_in_queue_seconds become EXPIRED. */
  #expire(): void {
    const now = Date.now();
    for (const q of this.#deps.values()) {
      const expired = q.backlog.removeWhere((h) => h.attempts === 0 && h.createdAt + h.maxTimeInQueueMs <= now);
      for (const h of expired) {
        q.queued--;
        this.#detach(
          this.#finish(
            h,
            'EXPIRED',
            [
              {
                code: 'MODEL_NOT_READY',
                message: `Not started within max_time_in_queue_seconds (${h.maxTimeInQueueMs / 1000} s).`,
              },
            ],
            null,
          ),
        );
      }
      if (expired.length && !q.backlog.size) q.waiting?.abort();
    }
  }

  async #sweep(): Promise<void> {
    await this.#store.deleteFinishedAsyncRequests(Date.now() - this.#opts.retentionMs).catch(() => {});
  }

  #failDeployment(deploymentId: string): void {
    const q = this.#deps.get(deploymentId);
    if (!q) return;
    for (let h = q.backlog.shift(); h; h = q.backlog.shift()) {
      q.queued--;
      this.#detach(
        this.#finish(
          h,
          'FAILED',
          [{ code: 'MODEL_DOES_NOT_EXIST', message: `Deployment ${deploymentId} was deleted.` }],
          null,
        ),
      );
    }
    q.waiting?.abort();
  }

  /**
   * Cancels a QUEUED request; anything else is reported, not changed. 404 for ids the model does not own.
   *
   * @example
   *   const r = await queue.cancel(id, modelId); // { canceled: false, status: 'IN_PROGRESS' }
   */
  async cancel(id: string, modelId: string): Promise<CancelResult> {
    const h = this.#heads.get(id) ?? (await this.#read(id, modelId));
    if (h.modelId !== modelId) throw notFound(`Async request ${id} was not found.`);
    if (h.status !== 'QUEUED') return { canceled: false, status: h.status };
    const q = this.#dep(h.deploymentId);
    q.backlog.remove(h);
    q.queued--;
    if (!q.backlog.size) q.waiting?.abort();
    await this.#finish(h, 'CANCELED', [], null);
    return { canceled: true };
  }

  /**
   * The state of a request the model owns; 404 for unknown ids and for those past retention. The output
   * comes with it when the request keeps it, once its write has landed.
   *
   * @example
   *   const { head, output } = await queue.status(id, modelId); // head.status === 'SUCCEEDED'
   */
  async status(id: string, modelId: string): Promise<AsyncRequestState> {
    const h = this.#heads.get(id) ?? (await this.#read(id, modelId));
    if (h.modelId !== modelId) throw notFound(`Async request ${id} was not found.`);
    // A copy: the answer shows the request as it was when asked, whatever changes while the output is read.
    const head = { ...h };
    if (!h.keepOutput || (h.status !== 'SUCCEEDED' && h.status !== 'WEBHOOK_FAILED')) return { head };
    await this.#finishing.get(id)?.catch(() => {});
    const record = await this.#store.getAsyncRequest(id);
    return { head, output: record?.output != null ? JSON.parse(record.output) : null };
  }

  async #read(id: string, modelId: string): Promise<AsyncRequestHead> {
    const r = REQUEST_ID_RE.test(id) ? await this.#store.getAsyncRequest(id) : undefined;
    if (!r || r.modelId !== modelId || r.statusAt + this.#opts.retentionMs < Date.now()) {
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
    const q = this.#deps.get(deploymentId);
    return { queued: q?.queued ?? 0, inProgress: q?.inProgress ?? 0 };
  }

  /** Stops dispatching; what is in flight stays on disk as it is and resumes at the next start. */
  async close(): Promise<void> {
    this.#closed.abort();
    for (const t of this.#timers) clearInterval(t);
    for (const q of this.#deps.values()) q.waiting?.abort();
    await this.#committer.drain();
  }
}
