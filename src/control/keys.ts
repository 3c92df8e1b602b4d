import { hash, timingSafeEqual } from 'node:crypto';
import { badRequest, notFound } from '../errors.ts';
import { MODEL_ID_RE, newApiKey } from '../ids.ts';
import type { Store } from '../store/store.ts';
import { API_KEY_TYPES, type ApiKeyLimits, type ApiKeyRecord, type ApiKeyType } from '../records/control.ts';

const NAME_RE = /^[a-z0-9-]{1,64}$/;

// The one-shot hash: no Hash object per request.
const sha256 = (s: string): Buffer => hash('sha256', s, 'buffer');

/**
 * The lookup prefix of a key: the part before the first dot, or its first 8 characters.
 *
 * @example
 *   keyPrefix('abcd1234.s3cr3t'); // 'abcd1234'
 */
export function keyPrefix(key: string): string {
  const dot = key.indexOf('.');
  return dot > 0 ? key.slice(0, dot) : key.slice(0, 8);
}

/**
 * Keys that may use the management API.
 *
 * @example
 *   if (!canManage(key)) throw new GirderError('forbidden', 'This key cannot manage models.');
 */
export const canManage = (k: ApiKeyRecord): boolean => k.type === 'PERSONAL' || k.type === 'WORKSPACE_MANAGE_ALL';

/**
 * Whether the key may call a model: manage keys and unscoped invoke keys call every model.
 *
 * @example
 *   canInvoke({ ...record, type: 'WORKSPACE_INVOKE', modelIds: ['abcd1234'] }, 'abcd1234'); // true
 */
export function canInvoke(k: ApiKeyRecord, modelId: string): boolean {
  if (canManage(k)) return true;
  if (k.type !== 'WORKSPACE_INVOKE') return false;
  return k.modelIds == null || k.modelIds.includes(modelId);
}

/** 400 unless each limit given is a whole number of at least 1 (null clears it). */
function checkLimits(limits: ApiKeyLimits): void {
  for (const k of ['rpm', 'tpm'] as const) {
    const v = limits[k];
    if (v != null && (!Number.isSafeInteger(v) || v < 1))
      throw badRequest(`${k} must be a whole number of at least 1, or null for no limit (got ${v}).`);
  }
}

/**
 * API keys, held in memory as sha256 digests by prefix and written through to the store.
 * Verifying a key costs one hash and one constant-time compare; the key itself is never stored.
 *
 * @example
 *   const { key } = await keys.create({ type: 'WORKSPACE_INVOKE', name: 'ci', modelIds: ['abcd1234'] });
 *   keys.verify(key)?.type // 'WORKSPACE_INVOKE'
 */
export class KeyRing {
  readonly #store: Store;
  readonly #byPrefix = new Map<string, { record: ApiKeyRecord; digest: Buffer }>();

  constructor(store: Store) {
    this.#store = store;
  }

  async load(): Promise<void> {
    for (const record of await this.#store.listApiKeys()) {
      this.#byPrefix.set(record.prefix, { record, digest: Buffer.from(record.hash, 'hex') });
    }
  }

  /** The record of a valid key, or undefined. */
  verify(key: string): ApiKeyRecord | undefined {
    const entry = this.#byPrefix.get(keyPrefix(key));
    if (!entry) return undefined;
    return timingSafeEqual(sha256(key), entry.digest) ? entry.record : undefined;
  }

  /** The keys users made; chain-scoped keys are Girder's own, listed and revoked with their chains. */
  list(): ApiKeyRecord[] {
    return [...this.#byPrefix.values()].map((e) => e.record).filter((k) => k.chainDeploymentId === undefined);
  }

  /**
   * A new chain-scoped invoke key for a chain deployment, not yet stored: the chain writer stores it
   * with the chain deployment, in one transaction, then reports it with `added`.
   *
   * @example
   *   const { key, record } = keys.mintChainKey(chainDeploymentId, modelIds);
   */
  mintChainKey(chainDeploymentId: string, modelIds: string[]): { key: string; record: ApiKeyRecord } {
    let key = newApiKey();
    while (this.#byPrefix.has(keyPrefix(key))) key = newApiKey();
    const record: ApiKeyRecord = {
      prefix: keyPrefix(key),
      hash: sha256(key).toString('hex'),
      name: null,
      type: 'WORKSPACE_INVOKE',
      modelIds,
      createdAt: new Date().toISOString(),
      chainDeploymentId,
    };
    return { key, record };
  }

  /** A key another writer stored (a chain key): now it verifies. */
  added(record: ApiKeyRecord): void {
    this.#byPrefix.set(record.prefix, { record, digest: Buffer.from(record.hash, 'hex') });
  }

  /** A key another writer deleted (a chain key revoked with its chain deployment): now it fails. */
  removed(prefix: string): void {
    this.#byPrefix.delete(prefix);
  }

  /** Creates a new random key; the plain key is returned once and never again. */
  async create(opts: {
    type: ApiKeyType;
    name?: string | null;
    modelIds?: string[] | null;
    /** `/v1` limits (requests and tokens per minute). */
    rpm?: number | null;
    tpm?: number | null;
  }): Promise<{ key: string; record: ApiKeyRecord }> {
    checkLimits(opts);
    if (!(API_KEY_TYPES as readonly string[]).includes(opts.type))
      throw badRequest(`Unknown API key type "${opts.type}".`, `Use one of ${API_KEY_TYPES.join(', ')}.`);
    if (opts.name != null && !NAME_RE.test(opts.name))
      throw badRequest(`Invalid key name "${opts.name}".`, 'Use lowercase letters, digits and hyphens.');
    const modelIds = opts.modelIds?.length ? opts.modelIds : null;
    if (modelIds && opts.type !== 'WORKSPACE_INVOKE' && opts.type !== 'WORKSPACE_EXPORT_METRICS') {
      throw badRequest('model_ids may only be set on WORKSPACE_INVOKE and WORKSPACE_EXPORT_METRICS keys.');
    }
    for (const id of modelIds ?? []) if (!MODEL_ID_RE.test(id)) throw badRequest(`"${id}" is not a model id.`);
    let key = newApiKey();
    while (this.#byPrefix.has(keyPrefix(key))) key = newApiKey();
    const record = await this.register(key, { type: opts.type, name: opts.name ?? null, modelIds });
    if (opts.rpm != null || opts.tpm != null) await this.setLimits(record.prefix, opts);
    return { key, record };
  }

  /**
   * Sets or clears a key's `/v1` limits. The record in memory changes in place, so the next request
   * of that key is held to the new limits without a store read.
   *
   * @example
   *   await keys.setLimits('abcd1234', { rpm: 60, tpm: null }); // 60 requests a minute, no token limit
   */
  async setLimits(prefix: string, limits: ApiKeyLimits): Promise<ApiKeyRecord> {
    checkLimits(limits);
    const entry = this.#byPrefix.get(prefix);
    if (!entry) throw notFound(`No API key with prefix "${prefix}".`, 'List keys with `girder keys list`.');
    const change = {
      ...(limits.rpm !== undefined && { rpm: limits.rpm }),
      ...(limits.tpm !== undefined && { tpm: limits.tpm }),
    };
    await this.#store.setApiKeyLimits(prefix, change);
    const record = entry.record;
    for (const k of ['rpm', 'tpm'] as const) {
      if (change[k] === null) delete record[k];
      else if (change[k] !== undefined) record[k] = change[k];
    }
    return record;
  }

  /** Stores a given key (e.g. GIRDER_API_KEY); a no-op when that exact key is already known. */
  async register(
    key: string,
    opts: { type: ApiKeyType; name: string | null; modelIds?: string[] | null },
  ): Promise<ApiKeyRecord> {
    const known = this.verify(key);
    if (known) return known;
    const prefix = keyPrefix(key);
    if (this.#byPrefix.has(prefix)) throw badRequest(`Another key already uses the prefix "${prefix}".`);
    const digest = sha256(key);
    const record: ApiKeyRecord = {
      prefix,
      hash: digest.toString('hex'),
      name: opts.name,
      type: opts.type,
      modelIds: opts.modelIds ?? null,
      createdAt: new Date().toISOString(),
    };
    await this.#store.insertApiKey(record);
    this.#byPrefix.set(prefix, { record, digest });
    return record;
  }

  async revoke(prefix: string): Promise<ApiKeyRecord> {
    const entry = this.#byPrefix.get(prefix);
    if (!entry) throw notFound(`No API key with prefix "${prefix}".`, 'List keys with `girder keys list`.');
    await this.#store.deleteApiKey(prefix);
    this.#byPrefix.delete(prefix);
    return entry.record;
  }
}
