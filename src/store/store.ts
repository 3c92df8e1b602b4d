import type {
  ApiKeyLimits,
  ApiKeyRecord,
  DeploymentRecord,
  EnvironmentRecord,
  ModelRecord,
  SecretRecord,
} from '../records/control.ts';
import type { UsageQuery, UsageRecord } from '../records/usage.ts';
import type { ChainDeploymentRecord, ChainEnvironmentRecord, ChainRecord } from '../records/chains.ts';
import type { AsyncRequestHead, AsyncRequestPatch, AsyncRequestRecord, WebhookSecretRecord } from '../records/async.ts';

/** A deployment's changed fields, as `updateDeployment` takes them. */
export interface DeploymentPatchWrite {
  id: string;
  patch: Partial<Omit<DeploymentRecord, 'id' | 'modelId'>>;
}

/** What `insertChainDeployment` writes at once. */
export interface ChainDeploymentWrite {
  /** Chainlet models new to the chain (`chainId` and `chainletName` set). */
  models: ModelRecord[];
  /** One new deployment per chainlet. */
  deployments: DeploymentRecord[];
  chainDeployment: ChainDeploymentRecord;
  /** The chain-scoped key (`chainDeploymentId` set), or null. */
  key: ApiKeyRecord | null;
}

/** What `updateChainDeployment` writes at once. */
export interface ChainDeploymentUpdate {
  id: string;
  patch: Partial<Omit<ChainDeploymentRecord, 'id' | 'chainId'>>;
  /** Chainlet deployments changed with it (active, files). */
  deployments: DeploymentPatchWrite[];
  /** Chainlet deployments inserted with it (a development chain deployment that gained a chainlet). */
  inserts?: DeploymentRecord[];
  /** Chainlet models inserted with it. */
  models?: ModelRecord[];
  /** Prefixes of keys to delete (a revoked chain key). */
  deleteKeys?: string[];
  /** A key to insert (a new chain key). */
  key?: ApiKeyRecord | null;
}

/** The chainlet side of `putChainEnvironment`. */
export interface ChainletEnvironmentWrite {
  environments: EnvironmentRecord[];
  deployments: DeploymentPatchWrite[];
}

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

  listChains(): Promise<ChainRecord[]>;
  /** Names are unique among chains. */
  insertChain(chain: ChainRecord): Promise<void>;
  /**
   * Deletes the chain with its chain deployments, chain environments, chainlet models (with their
   * deployments and environments) and the keys of its chain deployments.
   */
  deleteChain(id: string): Promise<void>;
  /** Atomically increments the chain's deployment counter and returns the new value. */
  nextChainDeploymentSeq(chainId: string): Promise<number>;

  listChainDeployments(): Promise<ChainDeploymentRecord[]>;
  /**
   * Writes a new chain deployment in one transaction: the chainlet models it creates (a chainlet new
   * to the chain), one deployment per chainlet, the chain deployment and its key. All or nothing.
   */
  insertChainDeployment(write: ChainDeploymentWrite): Promise<void>;
  /** Replaces a chain deployment's fields (not its id or chain) and its chainlet deployments' patches, in one transaction. */
  updateChainDeployment(update: ChainDeploymentUpdate): Promise<void>;
  /** Deletes a chain deployment, its chainlet deployments and its key, in one transaction. */
  deleteChainDeployment(id: string): Promise<void>;

  listChainEnvironments(): Promise<ChainEnvironmentRecord[]>;
  /**
   * Inserts or replaces a chain environment by (chainId, name), with its chainlet models' environments
   * (by (modelId, name)) and patches of their deployments, in one transaction: a promotion moves every
   * chainlet together or none.
   */
  putChainEnvironment(env: ChainEnvironmentRecord, chainlets: ChainletEnvironmentWrite): Promise<void>;

  /** Adds each row's counters to its (hour, key, model), creating it; the model name is updated. */
  addUsage(rows: UsageRecord[]): Promise<void>;
  /** Usage rows by hour, then key, then model. */
  listUsage(query: UsageQuery): Promise<UsageRecord[]>;

  close(): Promise<void>;
}
