import { Agent, request } from 'undici';
import { publicOnlyLookup } from './webhook-target.ts';
import { signature, type WebhookSecrets } from './webhook-secrets.ts';
import type { AsyncError } from '../records/async.ts';

export interface WebhookOptions {
  /** Attempts per delivery, the first included (Baseten: 2). */
  attempts: number;
  /** Pause between attempts (Baseten: about 2 s). */
  retryDelayMs: number;
  /** Per attempt (Baseten: 10 s). */
  timeoutMs: number;
  /** Let webhooks reach loopback and private addresses (development, tests). */
  allowPrivate: boolean;
}

export interface WebhookPayload {
  request_id: string;
  /** A model's request; a chain's has `chain_id` instead. */
  model_id?: string;
  chain_id?: string;
  /** The model's deployment, or the chain deployment of a chain's request. */
  deployment_id: string;
  /** The model's raw output, or null on error. */
  data: unknown;
  errors: AsyncError[];
}

/** How a delivery ended. */
export interface DeliveryReport {
  /**
   * `delivered`: a 2xx. `failed`: an answer not worth retrying (3xx, 4xx), or every attempt failed.
   * `interrupted`: the sender closed (or the caller's signal aborted) before the next attempt, so nothing
   * is decided and the delivery should run again later.
   */
  outcome: 'delivered' | 'failed' | 'interrupted';
  /** Attempts this delivery made. */
  attempts: number;
  /** The last attempt's status or error ('' when none was made). */
  detail: string;
}

export interface DeliverOptions {
  /** When aborted, no further attempt starts (an attempt in flight finishes). */
  signal?: AbortSignal;
  /** Called after each failed attempt, numbered from 1: the sender knows no request, the caller logs. */
  onFailedAttempt?: (attempt: number, detail: string) => void;
}

/** Baseten's `time`: UTC ISO-8601 with microseconds. */
const microTime = (): string => new Date().toISOString().replace('Z', '000Z');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms).unref());

/**
 * Delivers `async_request_completed` webhooks: compact JSON (so that receivers verifying a re-serialized
 * body agree), signed with every active secret, redirects never followed, retried on 5xx and on
 * connection failures.
 *
 * @example
 *   const sender = new WebhookSender({ attempts: 2, retryDelayMs: 2000, timeoutMs: 10_000, allowPrivate: false }, secrets);
 *   const r = await sender.deliver('https://example.com/hook', payload, { onFailedAttempt: (n, why) => log(n, why) });
 *   if (r.outcome === 'failed') console.warn(`gave up after ${r.attempts} attempts: ${r.detail}`);
 */
export class WebhookSender {
  readonly #opts: WebhookOptions;
  readonly #secrets: WebhookSecrets;
  readonly #agent: Agent;
  /** Set by close(); a second close() waits for the first. */
  #closed: Promise<void> | undefined;

  constructor(opts: WebhookOptions, secrets: WebhookSecrets) {
    this.#opts = opts;
    this.#secrets = secrets;
    this.#agent = new Agent({
      connections: 32,
      keepAliveTimeout: 10_000,
      connect: opts.allowPrivate ? {} : { lookup: publicOnlyLookup },
    });
  }

  /**
   * Delivers with retries: up to `attempts` attempts, `retryDelayMs` apart, retrying only failures worth
   * it (5xx, connection errors). Stops before the next attempt once the sender is closed or
   * `opts.signal` aborts, and says so (`interrupted`), so that the caller keeps the delivery for later.
   *
   * @example
   *   const { outcome, attempts } = await sender.deliver(url, payload, { signal: shutdown.signal });
   */
  async deliver(url: string, payload: WebhookPayload, opts: DeliverOptions = {}): Promise<DeliveryReport> {
    let attempts = 0;
    let detail = '';
    for (;;) {
      if (attempts > 0) await sleep(this.#opts.retryDelayMs);
      if (this.#closed || opts.signal?.aborted) return { outcome: 'interrupted', attempts, detail };
      const r = await this.attempt(url, payload);
      attempts++;
      detail = r.detail;
      if (r.ok) return { outcome: 'delivered', attempts, detail };
      opts.onFailedAttempt?.(attempts, r.detail);
      if (!r.retryable || attempts >= this.#opts.attempts) return { outcome: 'failed', attempts, detail };
    }
  }

  /**
   * One attempt. Returns whether it was delivered, and whether a failure is worth retrying.
   *
   * @example
   *   const { ok, retryable, detail } = await sender.attempt(url, payload); // detail: '200', 'HTTP 503', or an error
   */
  async attempt(url: string, payload: WebhookPayload): Promise<{ ok: boolean; retryable: boolean; detail: string }> {
    const body = JSON.stringify({
      request_id: payload.request_id,
      ...(payload.chain_id !== undefined ? { chain_id: payload.chain_id } : { model_id: payload.model_id }),
      deployment_id: payload.deployment_id,
      type: 'async_request_completed',
      time: microTime(),
      data: payload.data,
      errors: payload.errors,
    });
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'x-baseten-request-id': payload.request_id,
    };
    const secrets = this.#secrets.active();
    if (secrets.length) headers['x-baseten-signature'] = signature(body, secrets);
    try {
      const res = await request(url, {
        method: 'POST',
        headers,
        body,
        dispatcher: this.#agent, // undici's request never follows redirects
        headersTimeout: this.#opts.timeoutMs,
        bodyTimeout: this.#opts.timeoutMs,
        signal: AbortSignal.timeout(this.#opts.timeoutMs),
      });
      await res.body.dump();
      if (res.statusCode >= 200 && res.statusCode < 300)
        return { ok: true, retryable: false, detail: String(res.statusCode) };
      return { ok: false, retryable: res.statusCode >= 500, detail: `HTTP ${res.statusCode}` };
    } catch (err) {
      return { ok: false, retryable: true, detail: (err as Error).message };
    }
  }

  /** Stops retrying (deliveries report `interrupted` before their next attempt), then closes the connections. */
  close(): Promise<void> {
    this.#closed ??= this.#agent.close();
    return this.#closed;
  }
}
