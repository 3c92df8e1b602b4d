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
  model_id: string;
  deployment_id: string;
  /** The model's raw output, or null on error. */
  data: unknown;
  errors: AsyncError[];
}

/** Baseten's `time`: UTC ISO-8601 with microseconds. */
const microTime = (): string => new Date().toISOString().replace('Z', '000Z');

/**
 * Delivers `async_request_completed` webhooks: compact JSON (so that receivers verifying a re-serialized
 * body agree), signed with every active secret, redirects never followed, retried on 5xx and on
 * connection failures.
 */
export class WebhookSender {
  readonly #opts: WebhookOptions;
  readonly #secrets: WebhookSecrets;
  readonly #agent: Agent;

  constructor(opts: WebhookOptions, secrets: WebhookSecrets) {
    this.#opts = opts;
    this.#secrets = secrets;
    this.#agent = new Agent({
      connections: 32,
      keepAliveTimeout: 10_000,
      connect: opts.allowPrivate ? {} : { lookup: publicOnlyLookup },
    });
  }

  /** One attempt. Returns whether it was delivered, and whether a failure is worth retrying. */
  async attempt(url: string, payload: WebhookPayload): Promise<{ ok: boolean; retryable: boolean; detail: string }> {
    const body = JSON.stringify({
      request_id: payload.request_id,
      model_id: payload.model_id,
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

  get options(): WebhookOptions {
    return this.#opts;
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }
}
