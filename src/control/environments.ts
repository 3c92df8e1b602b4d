import { badRequest, notFound } from '../errors.ts';
import {
  DEFAULT_AUTOSCALING,
  DEFAULT_PROMOTION,
  type AutoscalingSettings,
  type DeploymentRecord,
  type EnvironmentRecord,
  type PromotionSettings,
} from '../records/control.ts';
import type { Store } from '../store/store.ts';
import { patchAutoscaling } from './autoscaling.ts';
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
   * Creates an environment with no deployment; `autoscaling` and `promotion` override the defaults.
   * Refuses an invalid name, one the model already has, and min_replica above max_replica (400).
   *
   * @example
   *   const env = await environments.create(modelId, 'staging', { min_replica: 1 });
   */
  async create(
    modelId: string,
    name: string,
    autoscaling: Partial<AutoscalingSettings> = {},
    promotion: Partial<PromotionSettings> = {},
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
      autoscaling: patchAutoscaling(DEFAULT_AUTOSCALING, autoscaling).settings,
      promotion: { ...DEFAULT_PROMOTION, ...promotion },
    };
    await this.#store.putEnvironment(env);
    return this.#registry.environmentSaved(env);
  }

  /**
   * Points an environment at a deployment (by id or alias). As on Baseten, a development deployment,
   * or one that already serves another environment, is first copied into a new published deployment
   * (new id, same immutable snapshot); a deactivated one is activated; the deployment takes the
   * environment's autoscaling settings. The deployment it replaces is then cleaned up by the
   * environment's `promotion_cleanup_strategy` (`keepPrevious`: KEEP, whatever the environment says).
   * `create` creates a missing environment instead of answering 404. Returns the deployment now
   * serving the environment.
   *
   * @example
   *   const serving = await environments.promote(modelId, 'development', 'production', { create: true });
   */
  async promote(
    modelId: string,
    deploymentId: string,
    envName: string,
    opts: { create?: boolean; keepPrevious?: boolean } = {},
  ): Promise<DeploymentRecord> {
    let deployment = this.#registry.deploymentOf(modelId, deploymentId);
    const build = deployment.build?.status;
    if (build && build !== 'BUILT')
      throw badRequest(
        `Deployment ${deployment.name} is ${build}: only a built deployment can serve an environment.`,
        build === 'BUILDING'
          ? 'Wait for its build to finish (`girder logs MODEL --build --deployment D`).'
          : 'Fix the error in its build log and push again.',
      );
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
    await this.#deployments.updateAutoscaling(deployment.id, { ...DEFAULT_AUTOSCALING, ...env.autoscaling });
    const previousId = env.currentDeploymentId;
    const next = { ...env, currentDeploymentId: deployment.id };
    await this.#store.putEnvironment(next);
    this.#registry.environmentSaved(next);
    if (previousId && previousId !== deployment.id)
      await this.#cleanUp(previousId, opts.keepPrevious ? 'KEEP' : next.promotion.promotion_cleanup_strategy);
    return deployment;
  }

  /** What becomes of the deployment a promotion replaced; SCALE_TO_ZERO unless the environment says otherwise. */
  async #cleanUp(deploymentId: string, strategy: PromotionSettings['promotion_cleanup_strategy']): Promise<void> {
    if (!this.#registry.deployments.has(deploymentId)) return;
    if (strategy === 'KEEP') return;
    if (strategy === 'DEACTIVATE') await this.#deployments.setActive(deploymentId, false);
    else await this.#deployments.scaleToZero(deploymentId);
  }

  /**
   * Updates an environment's autoscaling and promotion settings (only the fields sent). The
   * autoscaling fields also go to the deployment serving it, at once, as Baseten manages scaling per
   * environment. `changed` is false when nothing had to change. Min above max, on the environment or
   * on its deployment, is a 400 before anything is written.
   *
   * @example
   *   await environments.update(modelId, 'production', { autoscaling: { max_replica: 4 } });
   */
  async update(
    modelId: string,
    name: string,
    patch: { autoscaling?: Partial<AutoscalingSettings>; promotion?: Partial<PromotionSettings> },
  ): Promise<{ environment: EnvironmentRecord; changed: boolean }> {
    this.#registry.model(modelId);
    const env = this.#registry.environment(modelId, name);
    if (!env) throw notFound(`Model ${modelId} has no environment "${name}".`);
    const autoscaling = patch.autoscaling ?? {};
    const scaling = patchAutoscaling(env.autoscaling, autoscaling);
    const current = env.currentDeploymentId ? this.#registry.deployments.get(env.currentDeploymentId) : undefined;
    const onCurrent = current ? patchAutoscaling(current.autoscaling, autoscaling) : undefined;
    const promotion = { ...env.promotion, ...patch.promotion };
    const promoted = Object.entries(patch.promotion ?? {}).some(
      ([k, v]) => env.promotion[k as keyof PromotionSettings] !== v,
    );
    if (scaling.changed || promoted) {
      const next = { ...env, autoscaling: scaling.settings, promotion };
      await this.#store.putEnvironment(next);
      this.#registry.environmentSaved(next);
    }
    if (current && onCurrent?.changed) await this.#deployments.updateAutoscaling(current.id, autoscaling);
    return { environment: env, changed: scaling.changed || promoted || Boolean(onCurrent?.changed) };
  }
}
