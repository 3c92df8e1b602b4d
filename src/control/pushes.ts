import { badRequest } from '../errors.ts';
import type { DeploymentBuild, DeploymentRecord, ModelRecord } from '../records/control.ts';
import type { DeploymentFiles, Deployments } from './deployments.ts';
import { isEnvironmentName, type Environments } from './environments.ts';
import { checkOpenAINames } from './openai-names.ts';
import type { Registry } from './registry.ts';

export interface NewDeployment extends DeploymentFiles {
  modelName: string;
  /** Create or replace the model's development deployment. */
  development?: boolean;
  /** Promote to production even when production already has a deployment. */
  promote?: boolean;
  /** Deploy straight into this environment, creating it. */
  environment?: string;
}

export interface PushResult {
  model: ModelRecord;
  deployment: DeploymentRecord;
  /** The directory a replaced development deployment used, now free to delete. */
  replacedDir: string | null;
}

/**
 * What a push records, once its snapshot is unpacked and validated (`packaging/push.ts`): the model
 * (created by its first push), a deployment, and where that deployment goes. The first published
 * deployment of a model goes to production; `promote` sends a later one there; `environment` deploys
 * into that environment, creating it; `development` replaces the development deployment in place.
 *
 * @example
 *   const pushes = new Pushes(registry, deployments, environments);
 *   const { model, deployment } = await pushes.record({ modelName: 'hello', dir, config });
 */
export class Pushes {
  readonly #registry: Registry;
  readonly #deployments: Deployments;
  readonly #environments: Environments;

  constructor(registry: Registry, deployments: Deployments, environments: Environments) {
    this.#registry = registry;
    this.#deployments = deployments;
    this.#environments = environments;
  }

  /**
   * Records a pushed deployment (see the class). An invalid environment name is refused (400)
   * before anything is recorded.
   *
   * @example
   *   await pushes.record({ modelName: 'hello', dir, config, environment: 'staging' });
   */
  async record(input: NewDeployment): Promise<PushResult> {
    if (input.environment !== undefined && !isEnvironmentName(input.environment)) {
      throw badRequest(
        `Invalid environment name "${input.environment}".`,
        'Use lowercase letters, digits and hyphens.',
      );
    }
    checkOpenAINames(this.#registry, input.modelName, input.config);
    const model = await this.#deployments.modelNamed(input.modelName);
    if (input.development) return { model, ...(await this.#deployments.putDevelopment(model, input)) };

    if (input.build?.status === 'BUILDING') {
      // Where it goes is decided once it is built: a failed build moves no environment.
      const onBuilt = {
        ...(input.promote && { promote: true }),
        ...(input.environment && { environment: input.environment }),
      };
      const deployment = await this.#deployments.publish(model, { ...input, build: { ...input.build, onBuilt } });
      return { model, deployment, replacedDir: null };
    }
    const deployment = await this.#deployments.publish(model, input);
    await this.#place(deployment, input);
    return { model, deployment, replacedDir: null };
  }

  /**
   * Records how a deployment's build ended. A built one then goes where its push asked (the first
   * of a model to production), as an unbuilt push would have at once; a failed one goes nowhere, so
   * the deployments that served keep serving.
   *
   * @example
   *   await pushes.buildEnded(d.id, { ...d.build!, status: 'BUILT', envs: { python: venv }, finishedAt });
   */
  async buildEnded(deploymentId: string, build: DeploymentBuild): Promise<DeploymentRecord> {
    const onBuilt = this.#registry.deployments.get(deploymentId)?.build?.onBuilt ?? null;
    const deployment = await this.#deployments.setBuild(deploymentId, { ...build, onBuilt: null });
    if (build.status === 'BUILT' && !deployment.isDevelopment) await this.#place(deployment, onBuilt ?? {});
    return deployment;
  }

  /** Sends a new published deployment where its push asked: an environment, or production (see the class). */
  async #place(deployment: DeploymentRecord, to: { promote?: boolean; environment?: string }): Promise<void> {
    const production = this.#registry.environment(deployment.modelId, 'production');
    if (to.environment)
      await this.#environments.promote(deployment.modelId, deployment.id, to.environment, { create: true });
    else if (to.promote || !production?.currentDeploymentId)
      await this.#environments.promote(deployment.modelId, deployment.id, 'production', { create: true });
  }
}
