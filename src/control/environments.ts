import { badRequest, notFound } from '../errors.ts';
import {
  DEFAULT_AUTOSCALING,
  DEFAULT_PROMOTION,
  type AutoscalingSettings,
  type DeploymentRecord,
  type EnvironmentRecord,
} from '../records/control.ts';
import type { Store } from '../store/store.ts';
import type { Deployments } from './deployments.ts';
import type { Registry } from './registry.ts';

const ENV_NAME_RE = /^[a-z0-9][a-z0-9-]{0,62}$/;

/**
 * Whether `name` can name an environment: lowercase letters, digits and hyphens, at most 63, as it
 * appears in hostnames (`environments/{name}`).
 *
 * @example
 *   isEnvironmentName('canary'); // true
 *   isEnvironmentName('Canary'); // false
 */
export function isEnvironmentName(name: string): boolean {
  return ENV_NAME_RE.test(name);
}

const now = (): string => new Date().toISOString();

/**
 * A model's environments (`production` and any others): creating them and promotion, which points
 * an environment at a deployment. Each change is written to the store first and then reported to
 * the registry, which tells the runtime which deployments now serve (and which no longer do).
 *
 * @example
 *   const environments = new Environments(store, registry, deployments);
 *   await environments.create(modelId, 'canary');
 *   const serving = await environments.promote(modelId, deploymentId, 'canary');
 */
export class Environments {
  readonly #store: Store;
  readonly #registry: Registry;
  readonly #deployments: Deployments;

  constructor(store: Store, registry: Registry, deployments: Deployments) {
    this.#store = store;
    this.#registry = registry;
    this.#deployments = deployments;
  }

  /**
   * Creates an environment with no deployment; `autoscaling` overrides the defaults. Refuses an
   * invalid name and one the model already has (400).
   *
   * @example
   *   const env = await environments.create(modelId, 'staging', { min_replica: 1 });
   */
  async create(
    modelId: string,
    name: string,
    autoscaling: Partial<AutoscalingSettings> = {},
  ): Promise<EnvironmentRecord> {
    this.#registry.model(modelId);
    if (!isEnvironmentName(name))
      throw badRequest(
        `Invalid environment name "${name}".`,
        'Use lowercase letters, digits and hyphens (at most 63).',
      );
    if (this.#registry.environment(modelId, name))
      throw badRequest(`Environment "${name}" already exists on model ${modelId}.`);
    const env: EnvironmentRecord = {
      modelId,
      name,
      createdAt: now(),
      currentDeploymentId: null,
      autoscaling: { ...DEFAULT_AUTOSCALING, ...autoscaling },
      promotion: { ...DEFAULT_PROMOTION },
    };
    await this.#store.putEnvironment(env);
    return this.#registry.environmentSaved(env);
  }

  /**
   * Points an environment at a deployment (by id or alias). As on Baseten, a development deployment,
   * or one that already serves another environment, is first copied into a new published deployment
   * (new id, same immutable snapshot); a deactivated one is activated. `create` creates a missing
   * environment instead of answering 404. Returns the deployment now serving the environment.
   *
   * @example
   *   const serving = await environments.promote(modelId, 'development', 'production', { create: true });
   */
  async promote(
    modelId: string,
    deploymentId: string,
    envName: string,
    opts: { create?: boolean } = {},
  ): Promise<DeploymentRecord> {
    let deployment = this.#registry.deploymentOf(modelId, deploymentId);
    let env = this.#registry.environment(modelId, envName);
    if (!env) {
      if (!opts.create)
        throw notFound(
          `Model ${modelId} has no environment "${envName}".`,
          'Create it first with POST /api/v1/models/{id}/environments.',
        );
      env = await this.create(modelId, envName);
    }
    const serving = this.#registry.environmentOf(deployment);
    if (deployment.isDevelopment || (serving && serving.name !== envName))
      deployment = await this.#deployments.copyAsPublished(deployment);
    if (!deployment.active) await this.#deployments.setActive(deployment.id, true);
    const next = { ...env, currentDeploymentId: deployment.id };
    await this.#store.putEnvironment(next);
    this.#registry.environmentSaved(next);
    return deployment;
  }
}
