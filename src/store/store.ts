import type {
  ApiKeyLimits,
  ApiKeyRecord,
  DeploymentRecord,
  EnvironmentRecord,
  ModelRecord,
  SecretRecord,
} from '../records/control.ts';
import type { UsageQuery, UsageRecord } from '../records/usage.ts';
import type { AsyncRequestHead, AsyncRequestPatch, AsyncRequestRecord, WebhookSecretRecord } from '../records/async.ts';

/**
 * The storage contract. Every backend (SQLite embedded, Postgres for several nodes) implements it
 * and passes the one conformance suite in `conformance.ts`.
 *
 * Methods are async even where SQLite is synchronous, so that a networked backend fits the same
 * callers. Nothing on the inference hot path calls the store: the registry keeps an in-memory view.
 */
export interface Store {
  listModels(): Promise<ModelRecord[]>;
  insertModel(model: ModelRecord): Promise<void>;
  /** Deletes the model with its deployments and environments. */
  deleteModel(id: string): Promise<void>;
  /** Atomically increments the model's deployment counter and returns the new value. */
  nextDeploymentSeq(modelId: string): Promise<number>;

  listDeployments(): Promise<DeploymentRecord[]>;
  insertDeployment(deployment: DeploymentRecord): Promise<void>;
  updateDeployment(id: string, patch: Partial<Omit<DeploymentRecord, 'id' | 'modelId'>>): Promise<void>;
  deleteDeployment(id: string): Promise<void>;

  listEnvironments(): Promise<EnvironmentRecord[]>;
  /** Inserts or replaces by (modelId, name). */
  putEnvironment(env: EnvironmentRecord): Promise<void>;

  listApiKeys(): Promise<ApiKeyRecord[]>;
  insertApiKey(key: ApiKeyRecord): Promise<void>;
  /** Returns false when no key had that prefix. */
  deleteApiKey(prefix: string): Promise<boolean>;
  /** Sets or clears a key's `/v1` limits (undefined fields stay); false when no key had that prefix. */
  setApiKeyLimits(prefix: string, limits: ApiKeyLimits): Promise<boolean>;

  listSecrets(): Promise<SecretRecord[]>;
  /** Inserts or updates by name; keeps createdAt of an existing secret. */
  putSecret(name: string, value: string, now: string): Promise<SecretRecord>;
  deleteSecret(name: string): Promise<boolean>;

  /**
   * Writes new async requests and changes to existing ones in one durable transaction: when the promise
   * resolves, all of it survives a crash. Callers batch concurrent submits into one call (group commit).
   * A batch with a duplicate id writes nothing.
   */
  writeAsyncRequests(inserts: AsyncRequestRecord[], patches: AsyncRequestPatch[]): Promise<void>;
  getAsyncRequest(id: string): Promise<AsyncRequestRecord | undefined>;
  /** Requests still QUEUED or IN_PROGRESS, or whose webhook is still PENDING: what a start must resume. */
  listUnfinishedAsyncRequests(): Promise<AsyncRequestHead[]>;
  /** Deletes finished requests (terminal, webhook no longer pending) whose status changed before `before`. */
  deleteFinishedAsyncRequests(before: number): Promise<number>;

  listWebhookSecrets(): Promise<WebhookSecretRecord[]>;
  insertWebhookSecret(secret: WebhookSecretRecord): Promise<void>;
  setWebhookSecretExpiry(id: string, expiresAt: string | null): Promise<boolean>;
  deleteWebhookSecret(id: string): Promise<boolean>;

  /** Adds each row's counters to its (hour, key, model), creating it; the model name is updated. */
  addUsage(rows: UsageRecord[]): Promise<void>;
  /** Usage rows by hour, then key, then model. */
  listUsage(query: UsageQuery): Promise<UsageRecord[]>;

  close(): Promise<void>;
}
