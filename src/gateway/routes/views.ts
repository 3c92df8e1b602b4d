import { createHash } from 'node:crypto';
import type { ChainDeploymentRecord } from '../../records/chains.ts';
import type { ApiKeyRecord, DeploymentRecord, EnvironmentRecord, ModelRecord } from '../../records/control.ts';
import type { AsyncRequestState, CancelResult, QueueCounts } from '../../queue/queue.ts';
import type { App } from '../app-context.ts';

/** Everything runs on this machine's CPU: one instance type, named honestly. */
export const INSTANCE_TYPE = {
  id: 'local',
  name: 'local',
  memory_limit_mib: 0,
  millicpu_limit: 0,
  gpu_count: 0,
  gpu_type: null,
  gpu_memory_limit_mib: null,
};
/** One workspace: the `team_name` of everything. */
export const TEAM = 'default';

/** ModelV1 of Baseten's management API. */
export function modelView(app: App, m: ModelRecord) {
  const production = app.registry.environment(m.id, 'production');
  return {
    id: m.id,
    created_at: m.createdAt,
    name: m.name,
    deployments_count: app.registry.deploymentsOf(m.id).length,
    production_deployment_id: production?.currentDeploymentId ?? null,
    development_deployment_id: app.registry.developmentOf(m.id)?.id ?? null,
    instance_type_name: INSTANCE_TYPE.name,
    team_name: TEAM,
  };
}

/** DeploymentV1, with the live status from the supervisor. */
export function deploymentView(app: App, d: DeploymentRecord) {
  const env = app.registry.environmentOf(d);
  const { status, active_replica_count } = app.supervisor.status(d);
  return {
    id: d.id,
    created_at: d.createdAt,
    name: d.name,
    model_id: d.modelId,
    is_production: env?.name === 'production',
    is_development: d.isDevelopment,
    status,
    active_replica_count,
    autoscaling_settings: d.autoscaling,
    instance_type_name: INSTANCE_TYPE.name,
    environment: env?.name ?? null,
    labels: d.labels,
    // Girder's: how its environment was built (null: nothing to build).
    build: d.build
      ? {
          status: d.build.status,
          error: d.build.error,
          runs: d.build.runs,
          started_at: d.build.startedAt,
          finished_at: d.build.finishedAt,
        }
      : null,
  };
}

/** EnvironmentV1. */
export function environmentView(app: App, e: EnvironmentRecord) {
  const current = e.currentDeploymentId ? app.registry.deployments.get(e.currentDeploymentId) : undefined;
  return {
    name: e.name,
    created_at: e.createdAt,
    model_id: e.modelId,
    current_deployment: current ? deploymentView(app, current) : null,
    candidate_deployment: null,
    in_progress_promotion: null,
    autoscaling_settings: e.autoscaling,
    promotion_settings: e.promotion,
    instance_type: INSTANCE_TYPE,
  };
}

/** APIKeyInfoV1: never the key itself. */
export function apiKeyView(k: ApiKeyRecord) {
  return {
    prefix: k.prefix,
    name: k.name,
    type: k.type,
    model_ids: k.modelIds,
    team_name: TEAM,
    created_at: k.createdAt,
    // Girder's `/v1` limits (README, "Limits and usage").
    rpm: k.rpm ?? null,
    tpm: k.tpm ?? null,
  };
}

/** SecretV1: a stable id derived from the name, never the value. */
export function secretView(s: { name: string; created_at: string; updated_at: string }) {
  const id = createHash('sha256').update(s.name).digest('hex').slice(0, 7);
  return { id, created_at: s.created_at, updated_at: s.updated_at, name: s.name, team_name: TEAM };
}

/**
 * The status of an async request (`GET /async_request/{id}`): times as ISO-8601, `output` only when kept.
 *
 * @example
 *   asyncStatusView(await app.queue.status(id, { kind: 'model', id: modelId })); // { request_id, model_id, …, status: 'SUCCEEDED', … }
 */
export function asyncStatusView({ head: h, output }: AsyncRequestState): Record<string, unknown> {
  // A chain's request: `chain_id` instead of `model_id`, and its chain deployment (Baseten's shape).
  const owner = h.chainId !== undefined ? { chain_id: h.chainId } : { model_id: h.modelId };
  const body: Record<string, unknown> = {
    request_id: h.id,
    ...owner,
    deployment_id: h.chainDeploymentId ?? h.deploymentId,
    status: h.status,
    webhook_status: h.webhookStatus,
    created_at: new Date(h.createdAt).toISOString(),
    status_at: new Date(h.statusAt).toISOString(),
    errors: h.errors,
  };
  if (output !== undefined) body.output = output;
  return body;
}

/**
 * The answer of `DELETE /async_request/{id}`.
 *
 * @example
 *   cancelView(id, { canceled: true }); // { request_id: id, canceled: true, message: 'Request canceled.' }
 */
export function cancelView(requestId: string, r: CancelResult) {
  return {
    request_id: requestId,
    canceled: r.canceled,
    message: r.canceled ? 'Request canceled.' : `Request is ${r.status}; only QUEUED requests can be canceled.`,
  };
}

/**
 * The answer of `GET /{target}/async_queue_status`.
 *
 * @example
 *   queueStatusView(d, app.queue.queueStatus(d.id)); // { model_id, deployment_id, num_queued_requests: 2, … }
 */
export function queueStatusView(d: DeploymentRecord, counts: QueueCounts) {
  return {
    model_id: d.modelId,
    deployment_id: d.id,
    num_queued_requests: counts.queued,
    num_in_progress_requests: counts.inProgress,
  };
}

/**
 * `GET /chain-{id}/{target}/async_queue_status`: the chain and chain deployment, with the counts of its
 * entrypoint (the only chainlet async requests run on).
 *
 * @example
 *   chainQueueStatusView(cd, app.queue.queueStatus(entry.id)); // { chain_id, deployment_id, num_queued_requests: 2, … }
 */
export function chainQueueStatusView(d: ChainDeploymentRecord, counts: QueueCounts) {
  return {
    chain_id: d.chainId,
    deployment_id: d.id,
    num_queued_requests: counts.queued,
    num_in_progress_requests: counts.inProgress,
  };
}
