import { badRequest, notFound } from '../errors.ts';
import { newDeploymentId, newModelId } from '../ids.ts';
import {
  DEFAULT_AUTOSCALING,
  type AutoscalingSettings,
  type DeploymentBuild,
  type DeploymentRecord,
  type ModelRecord,
} from '../records/control.ts';
import type { ModelConfig } from '../records/model-config.ts';
import type { Store } from '../store/store.ts';
import { patchAutoscaling } from './autoscaling.ts';
import type { Registry } from './registry.ts';

/** What a deployment runs: its snapshot directory and parsed config.yaml. */
export interface DeploymentFiles {
  dir: string;
  config: ModelConfig;
  labels?: Record<string, unknown> | null;
  /** Its build (`runtime/build/`): BUILDING until its environment exists; absent, nothing to build. */
  build?: DeploymentBuild | null;
}

/** What a published copy takes from its source; the rest (id, name, autoscaling, …) is its own. */
type CopiedFields = Omit<DeploymentRecord, 'id' | 'name' | 'createdAt' | 'isDevelopment' | 'active' | 'autoscaling'>;

const now = (): string => new Date().toISOString();

/**
 * Models and their deployments as records: creating them (`deployment-N` names, the development
 * deployment), activating, autoscaling and deleting. Each change is written to the store first and
 * then reported to the registry, which emits the event the runtime follows.
 *
 * Which environment a deployment serves is `environments.ts`'s business, and what a push records
 * is `pushes.ts`'s; both build on these methods.
 *
 * @example
 *   const deployments = new Deployments(store, registry);
 *   const model = await deployments.modelNamed('hello');
 *   const d = await deployments.publish(model, { dir, config });   // deployment-1
 *   await deployments.setActive(d.id, false);
 */
export class Deployments {
  readonly #store: Store;
  readonly #registry: Registry;

  constructor(store: Store, registry: Registry) {
    this.#store = store;
    this.#registry = registry;
  }

  /**
   * The model of that name, created (with no deployment) when there is none.
   *
   * @example
   *   const model = await deployments.modelNamed('hello');
   */
  async modelNamed(name: string): Promise<ModelRecord> {
    const known = this.#registry.modelByName(name);
    if (known) return known;
    const model: ModelRecord = { id: newModelId(), name, createdAt: now(), deploymentSeq: 0 };
    await this.#store.insertModel(model);
    this.#registry.modelAdded(model);
    return model;
  }

  /**
   * Records a new published deployment of the model, named `deployment-N` from the model's counter
   * (never reused after a delete), active, with default autoscaling. It serves no environment yet.
   *
   * @example
   *   const d = await deployments.publish(model, { dir, config });
   */
  async publish(model: ModelRecord, files: DeploymentFiles): Promise<DeploymentRecord> {
    return this.#insertPublished(model, {
      modelId: model.id,
      dir: files.dir,
      config: files.config,
      labels: files.labels ?? null,
      ...(files.build && { build: files.build }),
    });
  }

  /**
   * Copies a deployment into a new published one that shares its snapshot (same files, config and
   * labels, new id and name, default autoscaling). Promotion does this, as Baseten does, for the
   * development deployment and for one that already serves another environment.
   *
   * @example
   *   const copy = await deployments.copyAsPublished(registry.developmentOf(modelId)!);
   */
  async copyAsPublished(source: DeploymentRecord): Promise<DeploymentRecord> {
    return this.#insertPublished(this.#registry.model(source.modelId), source);
  }

  async #insertPublished(model: ModelRecord, fields: CopiedFields): Promise<DeploymentRecord> {
    const seq = await this.#store.nextDeploymentSeq(model.id);
    this.#registry.modelChanged(model.id, { deploymentSeq: seq });
    const deployment: DeploymentRecord = {
      ...fields,
      id: newDeploymentId(),
      name: `deployment-${seq}`,
      createdAt: now(),
      isDevelopment: false,
      active: true,
      autoscaling: { ...DEFAULT_AUTOSCALING },
    };
    await this.#store.insertDeployment(deployment);
    this.#registry.deploymentAdded(deployment);
    return deployment;
  }

  /**
   * Creates the model's development deployment (one replica at most), or replaces the files of the
   * existing one in place: same id, so that `development` keeps naming it, and reactivated.
   * `replacedDir` is the snapshot the replaced files were in (null if none, or the same), for the
   * caller to delete once nothing uses it.
   *
   * @example
   *   const { deployment, replacedDir } = await deployments.putDevelopment(model, { dir, config });
   */
  async putDevelopment(
    model: ModelRecord,
    files: DeploymentFiles,
  ): Promise<{ deployment: DeploymentRecord; replacedDir: string | null }> {
    const existing = this.#registry.developmentOf(model.id);
    if (existing) {
      const replacedDir = existing.dir === files.dir ? null : existing.dir;
      const patch = { dir: files.dir, config: files.config, active: true, build: files.build ?? null };
      await this.#store.updateDeployment(existing.id, patch);
      return { deployment: this.#registry.deploymentReplaced(existing.id, patch), replacedDir };
    }
    const deployment: DeploymentRecord = {
      id: newDeploymentId(),
      modelId: model.id,
      name: 'development',
      createdAt: now(),
      isDevelopment: true,
      active: true,
      dir: files.dir,
      config: files.config,
      autoscaling: { ...DEFAULT_AUTOSCALING, max_replica: 1 },
      labels: files.labels ?? null,
      ...(files.build && { build: files.build }),
    };
    await this.#store.insertDeployment(deployment);
    this.#registry.deploymentAdded(deployment);
    return { deployment, replacedDir: null };
  }

  /**
   * Records how a deployment's build ended (or that it builds again). A change of the registry, so
   * the supervisor starts the replicas of one that is now built.
   *
   * @example
   *   await deployments.setBuild(d.id, { ...d.build!, status: 'BUILT', finishedAt: new Date().toISOString() });
   */
  async setBuild(deploymentId: string, build: DeploymentBuild): Promise<DeploymentRecord> {
    this.#byId(deploymentId);
    await this.#store.updateDeployment(deploymentId, { build });
    return this.#registry.deploymentChanged(deploymentId, { build });
  }

  /**
   * Activates or deactivates a deployment. A deactivated one runs no replica and its requests get
   * 404 model_unavailable. Setting the state it already has changes nothing and emits nothing.
   *
   * @example
   *   await deployments.setActive(d.id, false);
   */
  async setActive(deploymentId: string, active: boolean): Promise<DeploymentRecord> {
    const deployment = this.#byId(deploymentId);
    if (deployment.active === active) return deployment;
    await this.#store.updateDeployment(deploymentId, { active });
    return this.#registry.deploymentChanged(deploymentId, { active });
  }

  /**
   * Updates the fields of a deployment's autoscaling settings that the patch names. `changed` is
   * false, and nothing is written, when they already have those values; min above max is a 400.
   *
   * @example
   *   const { changed } = await deployments.updateAutoscaling(d.id, { min_replica: 1 });
   */
  async updateAutoscaling(
    deploymentId: string,
    patch: Partial<AutoscalingSettings>,
  ): Promise<{ deployment: DeploymentRecord; changed: boolean }> {
    const deployment = this.#byId(deploymentId);
    const { settings, changed } = patchAutoscaling(deployment.autoscaling, patch);
    if (!changed) return { deployment, changed };
    await this.#store.updateDeployment(deploymentId, { autoscaling: settings });
    return { deployment: this.#registry.deploymentChanged(deploymentId, { autoscaling: settings }), changed };
  }

  /**
   * Sets a deployment's `min_replica` to 0 and asks the runtime to take it to zero replicas now (the
   * event says so), whatever its load: a promotion's `SCALE_TO_ZERO` cleanup. A request by its id
   * still wakes it, and it scales by its settings from then on.
   *
   * @example
   *   await deployments.scaleToZero(previous.id);
   */
  async scaleToZero(deploymentId: string): Promise<DeploymentRecord> {
    const deployment = this.#byId(deploymentId);
    const { settings, changed } = patchAutoscaling(deployment.autoscaling, { min_replica: 0 });
    if (changed) await this.#store.updateDeployment(deploymentId, { autoscaling: settings });
    return this.#registry.deploymentChanged(deploymentId, { autoscaling: settings }, { scaleToZero: true });
  }

  /**
   * Deletes a deployment (by id or alias) that serves no environment and is not the model's only
   * one, as Baseten does. Its snapshot is the caller's to remove once nothing uses it.
   *
   * @example
   *   const gone = await deployments.delete(modelId, deploymentId);
   */
  async delete(modelId: string, idOrAlias: string): Promise<DeploymentRecord> {
    const deployment = this.#registry.deploymentOf(modelId, idOrAlias);
    const env = this.#registry.environmentOf(deployment);
    if (env)
      throw badRequest(
        `Deployment ${deployment.id} serves environment "${env.name}" and cannot be deleted.`,
        'Promote another deployment to that environment first.',
      );
    if (this.#registry.deploymentsOf(modelId).length === 1)
      throw badRequest(
        `Deployment ${deployment.id} is the only deployment of model ${modelId}.`,
        'Delete the model instead.',
      );
    await this.#store.deleteDeployment(deployment.id);
    return this.#registry.deploymentRemoved(deployment.id);
  }

  /**
   * Deletes a model with its deployments and environments; returns the deployments removed, whose
   * snapshots are the caller's to remove.
   *
   * @example
   *   for (const d of await deployments.deleteModel(modelId)) await removeUnusedSnapshot(registry, d.dir);
   */
  async deleteModel(modelId: string): Promise<DeploymentRecord[]> {
    this.#registry.model(modelId);
    await this.#store.deleteModel(modelId);
    return this.#registry.modelRemoved(modelId);
  }

  #byId(deploymentId: string): DeploymentRecord {
    const deployment = this.#registry.deployments.get(deploymentId);
    if (!deployment) throw notFound(`Deployment ${deploymentId} was not found.`);
    return deployment;
  }
}
