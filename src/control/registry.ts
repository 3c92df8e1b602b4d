import { EventEmitter } from 'node:events';
import { GirderError, badRequest, notFound } from '../errors.ts';
import { newDeploymentId, newModelId } from '../ids.ts';
import type { Store } from '../store/store.ts';
import {
  DEFAULT_AUTOSCALING,
  DEFAULT_PROMOTION,
  type AutoscalingSettings,
  type DeploymentRecord,
  type EnvironmentRecord,
  type ModelRecord,
} from '../records/control.ts';
import type { ModelConfig } from '../records/model-config.ts';

/** What a request names: `production`, `development`, `environments/{name}` or `deployment/{id}`. */
export type TargetRef =
  | { kind: 'production' }
  | { kind: 'development' }
  | { kind: 'environment'; name: string }
  | { kind: 'deployment'; id: string };

export interface RegistryEvent {
  /** `deployment-replaced`: a development push put new files under the same deployment. */
  type: 'deployment-added' | 'deployment-changed' | 'deployment-replaced' | 'deployment-removed';
  deployment: DeploymentRecord;
}

export interface NewDeployment {
  modelName: string;
  dir: string;
  config: ModelConfig;
  /** Create or replace the model's development deployment. */
  development?: boolean;
  /** Promote to production even when production already has a deployment. */
  promote?: boolean;
  /** Deploy straight into this environment, creating it. */
  environment?: string;
  labels?: Record<string, unknown> | null;
}

export interface PushResult {
  model: ModelRecord;
  deployment: DeploymentRecord;
  /** The directory a replaced development deployment used, now free to delete. */
  replacedDir: string | null;
}

const ENV_NAME_RE = /^[a-z0-9][a-z0-9-]{0,62}$/;
const now = (): string => new Date().toISOString();

/**
 * The control plane's source of truth in memory: models, deployments and environments, loaded
 * from the store at start and written through on every change. The request path reads only
 * these maps; no request touches the disk.
 *
 * Changes are announced as RegistryEvents so that the runtime can start and stop replicas.
 */
export class Registry extends EventEmitter<{ change: [RegistryEvent] }> {
  readonly #store: Store;
  readonly models = new Map<string, ModelRecord>();
  readonly deployments = new Map<string, DeploymentRecord>();
  /** key: `${modelId}/${envName}` */
  readonly #environments = new Map<string, EnvironmentRecord>();

  constructor(store: Store) {
    super();
    this.#store = store;
  }

  async load(): Promise<void> {
    for (const m of await this.#store.listModels()) this.models.set(m.id, m);
    for (const d of await this.#store.listDeployments()) this.deployments.set(d.id, d);
    for (const e of await this.#store.listEnvironments()) this.#environments.set(`${e.modelId}/${e.name}`, e);
  }

  model(id: string): ModelRecord {
    const model = this.models.get(id);
    if (!model) throw notFound(`Model ${id} was not found.`, 'List your models with `girder models`.');
    return model;
  }

  modelByName(name: string): ModelRecord | undefined {
    for (const m of this.models.values()) if (m.name === name) return m;
    return undefined;
  }

  deploymentsOf(modelId: string): DeploymentRecord[] {
    return [...this.deployments.values()].filter((d) => d.modelId === modelId);
  }

  environmentsOf(modelId: string): EnvironmentRecord[] {
    return [...this.#environments.values()].filter((e) => e.modelId === modelId);
  }

  environment(modelId: string, name: string): EnvironmentRecord | undefined {
    return this.#environments.get(`${modelId}/${name}`);
  }

  /** The environment a deployment currently serves, if any. */
  environmentOf(deployment: DeploymentRecord): EnvironmentRecord | undefined {
    for (const e of this.#environments.values()) {
      if (e.modelId === deployment.modelId && e.currentDeploymentId === deployment.id) return e;
    }
    return undefined;
  }

  developmentOf(modelId: string): DeploymentRecord | undefined {
    for (const d of this.deployments.values()) if (d.modelId === modelId && d.isDevelopment) return d;
    return undefined;
  }

  /** A deployment of the model by id, or the `production` / `development` aliases of the management API. */
  deploymentOf(modelId: string, idOrAlias: string): DeploymentRecord {
    this.model(modelId);
    if (idOrAlias === 'production' || idOrAlias === 'development') {
      return this.resolve(modelId, { kind: idOrAlias }, { allowInactive: true });
    }
    const d = this.deployments.get(idOrAlias);
    if (!d || d.modelId !== modelId)
      throw notFound(
        `Deployment ${idOrAlias} of model ${modelId} was not found.`,
        'List deployments with `girder deployments MODEL`.',
      );
    return d;
  }

  /**
   * Resolves what a request names to the deployment that serves it.
   * Throws 404 model_does_not_exist for unknown names, 404 model_unavailable for a deactivated deployment.
   */
  resolve(modelId: string, target: TargetRef, opts: { allowInactive?: boolean } = {}): DeploymentRecord {
    const model = this.models.get(modelId);
    if (!model)
      throw notFound(`Model ${modelId} was not found.`, 'Check the model id in the URL; `girder models` lists them.');
    let deployment: DeploymentRecord | undefined;
    switch (target.kind) {
      case 'production':
      case 'environment': {
        const name = target.kind === 'production' ? 'production' : target.name;
        const env = this.#environments.get(`${modelId}/${name}`);
        if (!env)
          throw notFound(
            `Model ${model.name} (${modelId}) has no environment "${name}".`,
            `Create it with \`girder push DIR --environment ${name}\`.`,
          );
        deployment = env.currentDeploymentId ? this.deployments.get(env.currentDeploymentId) : undefined;
        if (!deployment)
          throw notFound(
            `Environment "${name}" of model ${model.name} (${modelId}) has no deployment.`,
            'Promote a deployment to it with `girder promote`.',
          );
        break;
      }
      case 'development':
        deployment = this.developmentOf(modelId);
        if (!deployment)
          throw notFound(
            `Model ${model.name} (${modelId}) has no development deployment.`,
            'Create one with `girder push DIR --watch`.',
          );
        break;
      case 'deployment':
        deployment = this.deployments.get(target.id);
        if (!deployment || deployment.modelId !== modelId)
          throw notFound(
            `Deployment ${target.id} of model ${modelId} was not found.`,
            'List deployments with `girder deployments MODEL`.',
          );
        break;
    }
    if (!deployment.active && !opts.allowInactive) {
      throw new GirderError(
        'model_unavailable',
        `Deployment ${deployment.name} (${deployment.id}) of model ${model.name} is deactivated.`,
        `Activate it with POST /api/v1/models/${modelId}/deployments/${deployment.id}/activate.`,
        { status: 404, reason: 'deployment_deactivated' },
      );
    }
    return deployment;
  }

  /**
   * Records a pushed deployment. The first published deployment of a model goes to production;
   * `promote` sends a later one there; `environment` deploys into that environment (creating it);
   * `development` replaces the model's development deployment in place (same id).
   */
  async addDeployment(input: NewDeployment): Promise<PushResult> {
    if (input.environment !== undefined && !ENV_NAME_RE.test(input.environment)) {
      throw badRequest(
        `Invalid environment name "${input.environment}".`,
        'Use lowercase letters, digits and hyphens.',
      );
    }
    let model = this.modelByName(input.modelName);
    if (!model) {
      model = { id: newModelId(), name: input.modelName, createdAt: now(), deploymentSeq: 0 };
      await this.#store.insertModel(model);
      this.models.set(model.id, model);
    }
    if (input.development) return this.#replaceDevelopment(model, input);

    const seq = await this.#store.nextDeploymentSeq(model.id);
    model.deploymentSeq = seq;
    const deployment: DeploymentRecord = {
      id: newDeploymentId(),
      modelId: model.id,
      name: `deployment-${seq}`,
      createdAt: now(),
      isDevelopment: false,
      active: true,
      dir: input.dir,
      config: input.config,
      autoscaling: { ...DEFAULT_AUTOSCALING },
      labels: input.labels ?? null,
    };
    await this.#store.insertDeployment(deployment);
    this.deployments.set(deployment.id, deployment);
    this.emit('change', { type: 'deployment-added', deployment });

    const production = this.environment(model.id, 'production');
    if (input.environment) await this.promote(model.id, deployment.id, input.environment, { create: true });
    else if (input.promote || !production?.currentDeploymentId)
      await this.promote(model.id, deployment.id, 'production', { create: true });
    return { model, deployment, replacedDir: null };
  }

  async #replaceDevelopment(model: ModelRecord, input: NewDeployment): Promise<PushResult> {
    const existing = this.developmentOf(model.id);
    if (existing) {
      const replacedDir = existing.dir === input.dir ? null : existing.dir;
      const patch = { dir: input.dir, config: input.config, active: true };
      await this.#store.updateDeployment(existing.id, patch);
      Object.assign(existing, patch);
      this.emit('change', { type: 'deployment-replaced', deployment: existing });
      return { model, deployment: existing, replacedDir };
    }
    const deployment: DeploymentRecord = {
      id: newDeploymentId(),
      modelId: model.id,
      name: 'development',
      createdAt: now(),
      isDevelopment: true,
      active: true,
      dir: input.dir,
      config: input.config,
      autoscaling: { ...DEFAULT_AUTOSCALING, max_replica: 1 },
      labels: input.labels ?? null,
    };
    await this.#store.insertDeployment(deployment);
    this.deployments.set(deployment.id, deployment);
    this.emit('change', { type: 'deployment-added', deployment });
    return { model, deployment, replacedDir: null };
  }

  /**
   * Points an environment at a deployment. As on Baseten, a development deployment, or one that
   * already serves another environment, is first copied into a new published deployment (new id,
   * same immutable snapshot). Returns the deployment now serving the environment.
   */
  async promote(
    modelId: string,
    deploymentId: string,
    envName: string,
    opts: { create?: boolean } = {},
  ): Promise<DeploymentRecord> {
    let deployment = this.deploymentOf(modelId, deploymentId);
    let env = this.environment(modelId, envName);
    if (!env) {
      if (!opts.create)
        throw notFound(
          `Model ${modelId} has no environment "${envName}".`,
          'Create it first with POST /api/v1/models/{id}/environments.',
        );
      env = await this.createEnvironment(modelId, envName);
    }
    const serving = this.environmentOf(deployment);
    if (deployment.isDevelopment || (serving && serving.name !== envName))
      deployment = await this.#copyAsPublished(deployment);
    if (!deployment.active) await this.setActive(deployment.id, true);
    const previous = env.currentDeploymentId ? this.deployments.get(env.currentDeploymentId) : undefined;
    env.currentDeploymentId = deployment.id;
    await this.#store.putEnvironment(env);
    this.emit('change', { type: 'deployment-changed', deployment });
    if (previous && previous.id !== deployment.id)
      this.emit('change', { type: 'deployment-changed', deployment: previous });
    return deployment;
  }

  async #copyAsPublished(source: DeploymentRecord): Promise<DeploymentRecord> {
    const model = this.model(source.modelId);
    model.deploymentSeq = await this.#store.nextDeploymentSeq(model.id);
    const copy: DeploymentRecord = {
      ...source,
      id: newDeploymentId(),
      name: `deployment-${model.deploymentSeq}`,
      createdAt: now(),
      isDevelopment: false,
      active: true,
      autoscaling: { ...DEFAULT_AUTOSCALING },
    };
    await this.#store.insertDeployment(copy);
    this.deployments.set(copy.id, copy);
    this.emit('change', { type: 'deployment-added', deployment: copy });
    return copy;
  }

  async createEnvironment(
    modelId: string,
    name: string,
    autoscaling?: Partial<AutoscalingSettings>,
  ): Promise<EnvironmentRecord> {
    this.model(modelId);
    if (!ENV_NAME_RE.test(name))
      throw badRequest(
        `Invalid environment name "${name}".`,
        'Use lowercase letters, digits and hyphens (at most 63).',
      );
    if (this.environment(modelId, name)) throw badRequest(`Environment "${name}" already exists on model ${modelId}.`);
    const env: EnvironmentRecord = {
      modelId,
      name,
      createdAt: now(),
      currentDeploymentId: null,
      autoscaling: { ...DEFAULT_AUTOSCALING, ...autoscaling },
      promotion: { ...DEFAULT_PROMOTION },
    };
    await this.#store.putEnvironment(env);
    this.#environments.set(`${modelId}/${name}`, env);
    return env;
  }

  async setActive(deploymentId: string, active: boolean): Promise<DeploymentRecord> {
    const deployment = this.deployments.get(deploymentId);
    if (!deployment) throw notFound(`Deployment ${deploymentId} was not found.`);
    if (deployment.active !== active) {
      await this.#store.updateDeployment(deploymentId, { active });
      deployment.active = active;
      this.emit('change', { type: 'deployment-changed', deployment });
    }
    return deployment;
  }

  async updateAutoscaling(deploymentId: string, patch: Partial<AutoscalingSettings>): Promise<DeploymentRecord> {
    const deployment = this.deployments.get(deploymentId);
    if (!deployment) throw notFound(`Deployment ${deploymentId} was not found.`);
    deployment.autoscaling = { ...deployment.autoscaling, ...patch };
    await this.#store.updateDeployment(deploymentId, { autoscaling: deployment.autoscaling });
    this.emit('change', { type: 'deployment-changed', deployment });
    return deployment;
  }

  /** Deletes a deployment that serves no environment and is not the model's only one (as Baseten). */
  async deleteDeployment(modelId: string, deploymentId: string): Promise<DeploymentRecord> {
    const deployment = this.deploymentOf(modelId, deploymentId);
    const env = this.environmentOf(deployment);
    if (env)
      throw badRequest(
        `Deployment ${deployment.id} serves environment "${env.name}" and cannot be deleted.`,
        'Promote another deployment to that environment first.',
      );
    if (this.deploymentsOf(modelId).length === 1)
      throw badRequest(
        `Deployment ${deployment.id} is the only deployment of model ${modelId}.`,
        'Delete the model instead.',
      );
    await this.#store.deleteDeployment(deployment.id);
    this.deployments.delete(deployment.id);
    this.emit('change', { type: 'deployment-removed', deployment });
    return deployment;
  }

  async deleteModel(modelId: string): Promise<DeploymentRecord[]> {
    this.model(modelId);
    const removed = this.deploymentsOf(modelId);
    await this.#store.deleteModel(modelId);
    this.models.delete(modelId);
    for (const e of this.environmentsOf(modelId)) this.#environments.delete(`${modelId}/${e.name}`);
    for (const d of removed) {
      this.deployments.delete(d.id);
      this.emit('change', { type: 'deployment-removed', deployment: d });
    }
    return removed;
  }
}
