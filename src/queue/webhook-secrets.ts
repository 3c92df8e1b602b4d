import { createHmac } from 'node:crypto';
import { notFound } from '../errors.ts';
import { newDeploymentId, newWebhookSecret } from '../ids.ts';
import type { Store } from '../store/store.ts';
import type { WebhookSecretRecord } from '../records/async.ts';

/** A rotated secret stays valid this long, so receivers can switch over (Baseten: 24 h). */
export const ROTATION_OVERLAP_MS = 24 * 3600 * 1000;

/**
 * `X-BASETEN-SIGNATURE` for a body: one `v1=<hex HMAC-SHA256>` per secret, comma-separated, newest first.
 *
 * @example
 *   signature('{"a":1}', ['whsec_new', 'whsec_old']) // 'v1=9f…,v1=3c…'
 */
export function signature(body: string, secrets: string[]): string {
  return secrets.map((s) => `v1=${createHmac('sha256', s).update(body).digest('hex')}`).join(',');
}

/** The workspace's webhook secrets (`whsec_…`), in memory and written through to the store. */
export class WebhookSecrets {
  readonly #store: Store;
  #all: WebhookSecretRecord[] = [];

  constructor(store: Store) {
    this.#store = store;
  }

  async load(): Promise<void> {
    this.#all = await this.#store.listWebhookSecrets();
  }

  /** Secrets that sign deliveries now, newest first (rotated ones until they expire). */
  active(now = Date.now()): string[] {
    return this.#all.filter((s) => !s.expiresAt || Date.parse(s.expiresAt) > now).map((s) => s.secret);
  }

  /** Metadata only: values are shown once, at creation. */
  list(now = Date.now()): { id: string; created_at: string; expires_at: string | null; active: boolean }[] {
    return this.#all.map((s) => ({
      id: s.id,
      created_at: s.createdAt,
      expires_at: s.expiresAt,
      active: !s.expiresAt || Date.parse(s.expiresAt) > now,
    }));
  }

  async create(): Promise<WebhookSecretRecord> {
    const record: WebhookSecretRecord = {
      id: newDeploymentId(),
      secret: newWebhookSecret(),
      createdAt: new Date().toISOString(),
      expiresAt: null,
    };
    await this.#store.insertWebhookSecret(record);
    this.#all.unshift(record);
    return record;
  }

  /** Creates a new secret; the rotated one keeps signing for 24 hours, then stops. */
  async rotate(id: string): Promise<WebhookSecretRecord> {
    const old = this.#find(id);
    const expiresAt = new Date(Date.now() + ROTATION_OVERLAP_MS).toISOString();
    await this.#store.setWebhookSecretExpiry(id, expiresAt);
    old.expiresAt = expiresAt;
    return this.create();
  }

  /** Deletes at once: deliveries stop carrying its signature. */
  async delete(id: string): Promise<void> {
    this.#find(id);
    await this.#store.deleteWebhookSecret(id);
    this.#all = this.#all.filter((s) => s.id !== id);
  }

  #find(id: string): WebhookSecretRecord {
    const s = this.#all.find((x) => x.id === id);
    if (!s) throw notFound(`No webhook secret with id "${id}".`, 'List them with `girder webhook-secrets list`.');
    return s;
  }
}
