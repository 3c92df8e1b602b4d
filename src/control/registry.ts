import { EventEmitter } from 'node:events';
import { GirderError, notFound } from '../errors.ts';
import type { Store } from '../store/store.ts';
import type { DeploymentRecord, EnvironmentRecord, ModelRecord } from '../records/control.ts';

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
  /**
   * A promotion's cleanup asks the runtime to take the deployment to zero replicas now, whatever
   * load it had: no record field says "now", so the event carries it.
   */
  scaleToZero?: boolean;
}

/** The fields of a deployment that change after it is created. */
export type DeploymentPatch = Partial<Omit<DeploymentRecord, 'id' | 'modelId'>>;

/**
 * The control plane's source of truth in memory: models, deployments and environments, loaded
 * from the store at start. The request path reads only these maps; no request touches the disk.
 *
 * Nothing here writes to the store. The writers (`deployments.ts`, `environments.ts`, `pushes.ts`)
 * write first and then report the change through the `…Added`/`…Changed`/`…Removed`/`…Saved`
 * methods, so that memory never holds what the store refused, and so that this is the one place
 * that emits the RegistryEvents the runtime and the queue follow.
 *
 * @example
 *   const registry = new Registry(store);
 *   await registry.load();
 *   registry.on('change', (e) => console.log(e.type, e.deployment.id));
 *   const d = registry.resolve(modelId, { kind: 'production' });
 */
export class Registry extends EventEmitter<{ change: [RegistryEvent] }> {
  readonly #store: Store;
  readonly #models = new Map<string, ModelRecord>();
  readonly #deployments = new Map<string, DeploymentRecord>();
  /** key: `${modelId}/${envName}` */
  readonly #environments = new Map<string, EnvironmentRecord>();

  constructor(store: Store) {
    super();
    this.#store = store;
  }

  /** Every model by id. Read-only: changes go through the writers, which report them here. */
  get models(): ReadonlyMap<string, ModelRecord> {
    return this.#models;
  }

  /** Every deployment by id. Read-only, as `models`. */
  get deployments(): ReadonlyMap<string, DeploymentRecord> {
    return this.#deployments;
  }

  async load(): Promise<void> {
    for (const m of await this.#store.listModels()) this.#models.set(m.id, m);
    for (const d of await this.#store.listDeployments()) this.#deployments.set(d.id, d);
    for (const e of await this.#store.listEnvironments()) this.#environments.set(`${e.modelId}/${e.name}`, e);
  }

  model(id: string): ModelRecord {
    const model = this.#models.get(id);
    if (!model) throw notFound(`Model ${id} was not found.`, 'List your models with `girder models`.');
    return model;
  }

  modelByName(name: string): ModelRecord | undefined {
    for (const m of this.#models.values()) if (m.name === name) return m;
    return undefined;
  }

  deploymentsOf(modelId: string): DeploymentRecord[] {
    return [...this.#deployments.values()].filter((d) => d.modelId === modelId);
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
    for (const d of this.#deployments.values()) if (d.modelId === modelId && d.isDevelopment) return d;
    return undefined;
  }

  /** A deployment of the model by id, or the `production` / `development` aliases of the management API. */
  deploymentOf(modelId: string, idOrAlias: string): DeploymentRecord {
    this.model(modelId);
    if (idOrAlias === 'production' || idOrAlias === 'development') {
      return this.resolve(modelId, { kind: idOrAlias }, { allowInactive: true });
    }
    const d = this.#deployments.get(idOrAlias);
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
    const model = this.#models.get(modelId);
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
        deployment = env.currentDeploymentId ? this.#deployments.get(env.currentDeploymentId) : undefined;
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
        deployment = this.#deployments.get(target.id);
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
        `Activate it with \`girder activate ${modelId} ${deployment.name}\` (POST /api/v1/models/${modelId}/deployments/${deployment.id}/activate).`,
        { status: 404, reason: 'deployment_deactivated' },
      );
    }
    return deployment;
  }

  // What the writers report, once the store holds it. Records are updated in place (Object.assign)
  // rather than replaced, because the runtime and requests in flight hold them.

  /** A new model is stored. No event: the runtime follows deployments, not models. */
  modelAdded(model: ModelRecord): void {
    this.#models.set(model.id, model);
  }

  /** A model's stored fields changed (its deployment counter). No event, as `modelAdded`. */
  modelChanged(id: string, patch: Partial<Omit<ModelRecord, 'id'>>): ModelRecord {
    return Object.assign(this.#known(this.#models, id, 'model'), patch);
  }

  /** A model is deleted with its deployments and environments: emits `deployment-removed` for each deployment. */
  modelRemoved(id: string): DeploymentRecord[] {
    const removed = this.deploymentsOf(id);
    this.#models.delete(id);
    for (const e of this.environmentsOf(id)) this.#environments.delete(`${id}/${e.name}`);
    for (const d of removed) {
      this.#deployments.delete(d.id);
      this.emit('change', { type: 'deployment-removed', deployment: d });
    }
    return removed;
  }

  /** A new deployment is stored: emits `deployment-added`. */
  deploymentAdded(deployment: DeploymentRecord): void {
    this.#deployments.set(deployment.id, deployment);
    this.emit('change', { type: 'deployment-added', deployment });
  }

  /** A deployment's settings changed (active, autoscaling): emits `deployment-changed`. */
  deploymentChanged(id: string, patch: DeploymentPatch, hint: { scaleToZero?: boolean } = {}): DeploymentRecord {
    const deployment = Object.assign(this.#known(this.#deployments, id, 'deployment'), patch);
    this.emit('change', { type: 'deployment-changed', deployment, ...hint });
    return deployment;
  }

  /** A deployment got new files under the same id (a development push): emits `deployment-replaced`. */
  deploymentReplaced(id: string, patch: DeploymentPatch): DeploymentRecord {
    const deployment = Object.assign(this.#known(this.#deployments, id, 'deployment'), patch);
    this.emit('change', { type: 'deployment-replaced', deployment });
    return deployment;
  }

  /** A deployment is deleted: emits `deployment-removed`. */
  deploymentRemoved(id: string): DeploymentRecord {
    const deployment = this.#known(this.#deployments, id, 'deployment');
    this.#deployments.delete(id);
    this.emit('change', { type: 'deployment-removed', deployment });
    return deployment;
  }

  /**
   * An environment is stored, new or changed. The deployment it points at, and the one it pointed at
   * before, get `deployment-changed`: whether a deployment serves an environment decides how many
   * replicas it runs and what environment its replicas are told.
   */
  environmentSaved(env: EnvironmentRecord): EnvironmentRecord {
    const key = `${env.modelId}/${env.name}`;
    const existing = this.#environments.get(key);
    const previousId = existing?.currentDeploymentId ?? null;
    const saved = existing ? Object.assign(existing, env) : env;
    this.#environments.set(key, saved);
    const current = saved.currentDeploymentId ? this.#deployments.get(saved.currentDeploymentId) : undefined;
    if (current) this.emit('change', { type: 'deployment-changed', deployment: current });
    const previous = previousId && previousId !== current?.id ? this.#deployments.get(previousId) : undefined;
    if (previous) this.emit('change', { type: 'deployment-changed', deployment: previous });
    return saved;
  }

  /** The record behind a reported change. A miss is a writer's bug (it reported what it never stored). */
  #known<T>(map: Map<string, T>, id: string, what: string): T {
    const record = map.get(id);
    if (!record) throw new Error(`registry: no ${what} ${id} to change`);
    return record;
  }
}
