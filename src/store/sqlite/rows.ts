/**
 * How records are stored: each table's row → its record (`toModel`, …), and the columns a
 * deployment patch may set. JSON-valued fields are TEXT columns.
 */
import type {
  ApiKeyRecord,
  DeploymentRecord,
  EnvironmentRecord,
  ModelRecord,
  SecretRecord,
} from '../../records/control.ts';
import type { AsyncRequestHead, AsyncRequestRecord, WebhookSecretRecord } from '../../records/async.ts';
import type { ChainDeploymentRecord } from '../../records/chains.ts';
import type { UsageRecord } from '../../records/usage.ts';
import type { Columns } from './set-clause.ts';

export type Row = Record<string, unknown>;

export const json = (v: unknown): string => JSON.stringify(v);
const parse = <T>(v: unknown): T => JSON.parse(String(v)) as T;

export const toModel = (r: Row): ModelRecord => ({
  id: String(r.id),
  name: String(r.name),
  createdAt: String(r.created_at),
  deploymentSeq: Number(r.deployment_seq),
  // Only on a chainlet's model, so that a pushed model reads as it was written.
  ...(r.chain_id != null && { chainId: String(r.chain_id), chainletName: String(r.chainlet_name) }),
});

export const toDeployment = (r: Row): DeploymentRecord => ({
  id: String(r.id),
  modelId: String(r.model_id),
  name: String(r.name),
  createdAt: String(r.created_at),
  isDevelopment: r.is_development === 1,
  active: r.active === 1,
  dir: String(r.dir),
  config: parse(r.config),
  autoscaling: parse(r.autoscaling),
  labels: r.labels == null ? null : parse(r.labels),
  // Only when set, so that a deployment with nothing to build reads as it was written.
  ...(r.build != null && { build: parse(r.build) }),
});

export const toEnvironment = (r: Row): EnvironmentRecord => ({
  modelId: String(r.model_id),
  name: String(r.name),
  createdAt: String(r.created_at),
  currentDeploymentId: r.current_deployment_id == null ? null : String(r.current_deployment_id),
  autoscaling: parse(r.autoscaling),
  promotion: parse(r.promotion),
});

export const toApiKey = (r: Row): ApiKeyRecord => ({
  prefix: String(r.prefix),
  hash: String(r.hash),
  name: r.name == null ? null : String(r.name),
  type: String(r.type) as ApiKeyRecord['type'],
  modelIds: r.model_ids == null ? null : parse(r.model_ids),
  createdAt: String(r.created_at),
  // Only when set, so that a key without limits reads as it was written.
  ...(r.rpm != null && { rpm: Number(r.rpm) }),
  ...(r.tpm != null && { tpm: Number(r.tpm) }),
  ...(r.chain_deployment_id != null && { chainDeploymentId: String(r.chain_deployment_id) }),
});

export const toSecret = (r: Row): SecretRecord => ({
  name: String(r.name),
  value: String(r.value),
  createdAt: String(r.created_at),
  updatedAt: String(r.updated_at),
});

export const toAsyncHead = (r: Row): AsyncRequestHead => ({
  id: String(r.id),
  modelId: String(r.model_id),
  deploymentId: String(r.deployment_id),
  priority: Number(r.priority),
  seq: Number(r.seq),
  webhookEndpoint: r.webhook_endpoint == null ? null : String(r.webhook_endpoint),
  maxTimeInQueueMs: Number(r.max_time_in_queue_ms),
  retry: parse(r.retry),
  keepOutput: r.keep_output === 1,
  status: String(r.status) as AsyncRequestHead['status'],
  webhookStatus: String(r.webhook_status) as AsyncRequestHead['webhookStatus'],
  attempts: Number(r.attempts),
  notBefore: Number(r.not_before),
  webhookAttempts: Number(r.webhook_attempts),
  createdAt: Number(r.created_at),
  statusAt: Number(r.status_at),
  errors: parse(r.errors),
  ...(r.chain_id != null && { chainId: String(r.chain_id) }),
  ...(r.chain_deployment_id != null && { chainDeploymentId: String(r.chain_deployment_id) }),
});

export const toAsync = (r: Row): AsyncRequestRecord => ({
  ...toAsyncHead(r),
  input: String(r.input),
  output: r.output == null ? null : String(r.output),
});

export const toWebhookSecret = (r: Row): WebhookSecretRecord => ({
  id: String(r.id),
  secret: String(r.secret),
  createdAt: String(r.created_at),
  expiresAt: r.expires_at == null ? null : String(r.expires_at),
});

/** Column names of the deployments table for each patchable field. */
export const DEPLOYMENT_COLUMNS: Columns<DeploymentRecord> = {
  name: ['name', (v) => v],
  createdAt: ['created_at', (v) => v],
  isDevelopment: ['is_development', (v) => (v ? 1 : 0)],
  active: ['active', (v) => (v ? 1 : 0)],
  dir: ['dir', (v) => v],
  config: ['config', json],
  autoscaling: ['autoscaling', json],
  labels: ['labels', (v) => (v == null ? null : json(v))],
  build: ['build', (v) => (v == null ? null : json(v))],
};

export const CHAIN_DEPLOYMENT_COLUMNS: Columns<ChainDeploymentRecord> = {
  name: ['name', (v) => v],
  createdAt: ['created_at', (v) => v],
  isDevelopment: ['is_development', (v) => (v ? 1 : 0)],
  active: ['active', (v) => (v ? 1 : 0)],
  dir: ['dir', (v) => v],
  graph: ['graph', json],
  chainlets: ['chainlets', json],
  invokeKey: ['invoke_key', (v) => v],
};

export const toUsage = (r: Row): UsageRecord => ({
  hour: String(r.hour),
  keyPrefix: String(r.key_prefix),
  modelId: String(r.model_id),
  modelName: String(r.model_name),
  requests: Number(r.requests),
  promptTokens: Number(r.prompt_tokens),
  completionTokens: Number(r.completion_tokens),
});
