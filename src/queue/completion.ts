import type { AsyncError, AsyncRequestHead, AsyncRequestPatch, AsyncStatus } from '../records/async.ts';
import type { LogBook } from '../runtime/logs.ts';
import type { Store } from '../store/store.ts';
import type { Committer } from './committer.ts';
import type { WebhookSender } from './webhooks.ts';

export interface CompletionOptions {
  store: Store;
  committer: Committer;
  webhooks: WebhookSender;
  logs: LogBook;
  /** The queue's shutdown: a delivery stops before its next attempt and stays PENDING on disk. */
  closed: AbortSignal;
  /** Called once a request needs nothing more (no webhook, or its delivery is decided). */
  forget: (h: AsyncRequestHead) => void;
}

/**
 * The end of an async request: its terminal state, written durably, then its webhook, whose outcome
 * is recorded (webhook status, WEBHOOK_FAILED for a delivered-nowhere success, the output dropped
 * unless kept).
 *
 * @example
 *   const completion = new Completion({ store, committer, webhooks, logs, closed: signal, forget });
 *   await completion.finish(head, 'SUCCEEDED', [], output); // then the webhook, if any
 */
export class Completion {
  readonly #opts: CompletionOptions;
  /** Terminal states whose write is still on its way to disk: a status read waits for it (output included). */
  readonly #finishing = new Map<string, Promise<void>>();

  constructor(opts: CompletionOptions) {
    this.#opts = opts;
  }

  /**
   * The write of a request's terminal state while it is still on its way to disk, else undefined.
   *
   * @example
   *   await completion.writing(id)?.catch(() => {}); // now the output can be read
   */
  writing(id: string): Promise<void> | undefined {
    return this.#finishing.get(id);
  }

  /**
   * Records a terminal state, then hands the request to its webhook (if any, and not for a cancel).
   *
   * @example
   *   await completion.finish(head, 'FAILED', [{ code: 'MODEL_PREDICT_ERROR', message: 'HTTP 500: …' }], null);
   */
  async finish(h: AsyncRequestHead, status: AsyncStatus, errors: AsyncError[], output: unknown): Promise<void> {
    const webhook = h.webhookEndpoint !== null && status !== 'CANCELED';
    Object.assign(h, { status, errors, statusAt: Date.now() });
    if (h.webhookEndpoint && !webhook) h.webhookStatus = 'CANCELED';
    const patch: AsyncRequestPatch = { id: h.id, status, errors, statusAt: h.statusAt, webhookStatus: h.webhookStatus };
    // The output waits on disk for the webhook (it must survive a restart), or for polling when kept.
    if (output !== null && (webhook || h.keepOutput)) patch.output = JSON.stringify(output);
    const written = this.#opts.committer.update(patch);
    this.#finishing.set(h.id, written);
    try {
      await written;
    } finally {
      this.#finishing.delete(h.id);
    }
    if (webhook) await this.deliver(h);
    else this.#opts.forget(h);
  }

  /**
   * Sends a finished request's webhook (with the sender's retries) and records how it went. Also what a
   * start runs for a request whose delivery the last run left PENDING.
   *
   * @example
   *   await completion.deliver(head); // head.webhookStatus is now SUCCEEDED or FAILED, or still PENDING at shutdown
   */
  async deliver(h: AsyncRequestHead): Promise<void> {
    const { store, webhooks, logs, committer, closed } = this.#opts;
    const record = await store.getAsyncRequest(h.id);
    // A chain's request names its chain and chain deployment, as Baseten's chain webhooks do.
    const owner = h.chainId !== undefined ? { chain_id: h.chainId } : { model_id: h.modelId };
    const payload = {
      request_id: h.id,
      ...owner,
      deployment_id: h.chainDeploymentId ?? h.deploymentId,
      data: record?.output != null ? JSON.parse(record.output) : null,
      errors: h.errors,
    };
    const report = await webhooks.deliver(h.webhookEndpoint!, payload, {
      signal: closed,
      onFailedAttempt: (n, detail) =>
        logs.note(
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
    await committer.update(patch);
    this.#opts.forget(h);
  }
}
