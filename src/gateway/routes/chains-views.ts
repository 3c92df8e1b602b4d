/**
 * Baseten's shapes of chains (`ChainV1`, `ChainDeploymentV1`, `ChainletV1`, `ChainEnvironmentV1`), with
 * the live status of each chainlet from the supervisor. Fields Girder has no meaning for follow the
 * model views (`team_name`, `instance_type_name`, `instance_type`).
 */
import type { ChainDeploymentRecord, ChainEnvironmentRecord, ChainRecord } from '../../records/chains.ts';
import type { DeploymentStatus } from '../../runtime/deployment-runtime.ts';
import type { App } from '../app-context.ts';
import { INSTANCE_TYPE, TEAM } from './views.ts';

/** ChainV1, with Girder's `production_deployment_id` and `development_deployment_id` as ModelV1 has them. */
export function chainView(app: App, c: ChainRecord) {
  return {
    id: c.id,
    created_at: c.createdAt,
    name: c.name,
    deployments_count: app.chainRegistry.deploymentsOf(c.id).length,
    production_deployment_id: app.chainRegistry.environment(c.id, 'production')?.currentDeploymentId ?? null,
    development_deployment_id: app.chainRegistry.developmentOf(c.id)?.id ?? null,
    team_name: TEAM,
  };
}

/**
 * ChainletV1: `id` is the chainlet's deployment id (the `chainlet_id` of the logs route), with Girder's
 * `model_id` (its internal model) and `entrypoint`.
 */
function chainletViews(app: App, d: ChainDeploymentRecord) {
  return d.chainlets.map((c) => {
    const record = app.registry.deployments.get(c.deploymentId);
    const live = record ? app.supervisor.status(record) : { status: 'INACTIVE' as const, active_replica_count: 0 };
    return {
      id: c.deploymentId,
      name: c.name,
      autoscaling_settings: record?.autoscaling ?? null,
      instance_type_name: INSTANCE_TYPE.name,
      active_replica_count: live.active_replica_count,
      status: live.status,
      model_id: c.modelId,
      entrypoint: c.name === d.graph.entrypoint,
    };
  });
}

/** Statuses that say a chainlet is on its way, most telling first. */
const PENDING: DeploymentStatus[] = ['DEPLOYING', 'LOADING_MODEL', 'WAKING_UP'];

/**
 * One status for a chain deployment from its chainlets': INACTIVE when deactivated, then the worst
 * failure (DEPLOY_FAILED, UNHEALTHY), then a chainlet still starting, then ACTIVE when any chainlet
 * serves (a chainlet at zero wakes on its first call), else SCALED_TO_ZERO.
 *
 * @example
 *   chainStatus(true, ['ACTIVE', 'SCALED_TO_ZERO']); // 'ACTIVE'
 */
export function chainStatus(active: boolean, statuses: DeploymentStatus[]): DeploymentStatus {
  if (!active) return 'INACTIVE';
  for (const s of ['DEPLOY_FAILED', 'UNHEALTHY', ...PENDING] as DeploymentStatus[]) if (statuses.includes(s)) return s;
  return statuses.includes('ACTIVE') ? 'ACTIVE' : 'SCALED_TO_ZERO';
}

/** ChainDeploymentV1, with Girder's `name` (`deployment-N` or `development`) and `is_development`. */
export function chainDeploymentView(app: App, d: ChainDeploymentRecord) {
  const chainlets = chainletViews(app, d);
  return {
    id: d.id,
    created_at: d.createdAt,
    chain_id: d.chainId,
    name: d.name,
    is_development: d.isDevelopment,
    environment: app.chainRegistry.environmentOf(d)?.name ?? null,
    chainlets,
    status: chainStatus(
      d.active,
      chainlets.map((c) => c.status),
    ),
  };
}

/**
 * The chainlets an environment has settings for, in the order of its deployment's graph: those of its
 * current deployment, or (with none yet) every chainlet of the chain with an environment of that name.
 */
function chainletSettingsView(app: App, e: ChainEnvironmentRecord, current: ChainDeploymentRecord | undefined) {
  const models = [...app.registry.models.values()].filter((m) => m.chainId === e.chainId);
  const names = current
    ? current.chainlets.map((c) => c.name)
    : models.filter((m) => app.registry.environment(m.id, e.name)).map((m) => m.chainletName!);
  return names.map((name) => {
    const model = models.find((m) => m.chainletName === name);
    const env = model ? app.registry.environment(model.id, e.name) : undefined;
    return { chainlet_name: name, autoscaling_settings: env?.autoscaling ?? null, instance_type: INSTANCE_TYPE };
  });
}

/** ChainEnvironmentV1: per-chainlet settings are the chainlet models' environments of that name. */
export function chainEnvironmentView(app: App, e: ChainEnvironmentRecord) {
  const current = e.currentDeploymentId ? app.chainRegistry.deployments.get(e.currentDeploymentId) : undefined;
  return {
    name: e.name,
    created_at: e.createdAt,
    chain_id: e.chainId,
    promotion_settings: e.promotion,
    chainlet_settings: chainletSettingsView(app, e, current),
    current_deployment: current ? chainDeploymentView(app, current) : null,
    candidate_deployment: null,
  };
}
