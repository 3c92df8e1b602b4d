import { badRequest, notFound } from '../errors.ts';
import type { ChainDeploymentRecord, ChainEnvironmentRecord } from '../records/chains.ts';
import {
  type AutoscalingSettings,
  DEFAULT_PROMOTION,
  type EnvironmentRecord,
  type PromotionSettings,
} from '../records/control.ts';
import type { DeploymentPatchWrite, Store } from '../store/store.ts';
import { patchAutoscaling } from './autoscaling.ts';
import { chainletAutoscaling } from './chain-config.ts';
import type { ChainRegistry } from './chain-registry.ts';
import type { Chains } from './chains.ts';
import type { Deployments } from './deployments.ts';
import { type Environments, isEnvironmentName } from './environments.ts';

const now = (): string => new Date().toISOString();

/** Per-chainlet autoscaling of an environment, by chainlet name (Baseten's `chainlet_settings`). */
export type ChainletAutoscaling = Record<string, Partial<AutoscalingSettings>>;

/**
 * A chain's environments. A chain environment points at a chain deployment; each chainlet's internal
 * model has an environment of the same name pointing at that chainlet's deployment, whose autoscaling
 * settings are the chainlet's settings in that environment. Promotion moves the chain environment and
 * every chainlet's environment in one store transaction, so a request never meets half a promotion.
 *
 * @example
 *   const envs = new ChainEnvironments(store, chainRegistry, chains, deployments, environments);
 *   await envs.promote(chainId, deploymentId, 'production', { create: true });
 */
export class ChainEnvironments {
  readonly #store: Store;
  readonly #chains: ChainRegistry;
  readonly #writer: Chains;
  readonly #deployments: Deployments;
  readonly #environments: Environments;

  constructor(
    store: Store,
    chains: ChainRegistry,
    writer: Chains,
    deployments: Deployments,
    environments: Environments,
  ) {
    this.#store = store;
    this.#chains = chains;
    this.#writer = writer;
    this.#deployments = deployments;
    this.#environments = environments;
  }

  /**
   * Creates a chain environment with no deployment, with the chainlets' environments for the chainlets
   * the chain has (`chainlets` overrides their autoscaling; an unknown chainlet name is a 400).
   *
   * @example
   *   await envs.create(chainId, 'staging', { promotion: { promotion_cleanup_strategy: 'KEEP' }, chainlets: { SayHello: { min_replica: 1 } } });
   */
  async create(
    chainId: string,
    name: string,
    opts: { promotion?: Partial<PromotionSettings>; chainlets?: ChainletAutoscaling } = {},
  ): Promise<ChainEnvironmentRecord> {
    this.#chains.chain(chainId);
    if (!isEnvironmentName(name))
      throw badRequest(
        `Invalid environment name "${name}".`,
        'Use lowercase letters, digits and hyphens (at most 63).',
      );
    if (this.#chains.environment(chainId, name))
      throw badRequest(`Environment "${name}" already exists on chain ${chainId}.`);
    const models = this.#chainletModels(chainId, opts.chainlets ?? {});
    const env: ChainEnvironmentRecord = {
      chainId,
      name,
      createdAt: now(),
      currentDeploymentId: null,
      promotion: { ...DEFAULT_PROMOTION, ...opts.promotion },
    };
    const environments = models
      .filter(({ model }) => !this.#chains.registry.environment(model.id, name))
      .map(({ model, patch }) => {
        const base = chainletAutoscaling(this.#nodeOf(chainId, model.chainletName ?? ''));
        return this.#newChainletEnv(model.id, name, patchAutoscaling(base, patch).settings, null);
      });
    await this.#store.putChainEnvironment(env, { environments, deployments: [] });
    for (const e of environments) this.#chains.registry.environmentSaved(e);
    return this.#chains.chainEnvironmentSaved(env);
  }

  /**
   * Points a chain environment at a chain deployment (by id or alias), every chainlet at once. As for
   * models, a development chain deployment, or one serving another environment, is first copied into a
   * new published one; a deactivated one is activated; each chainlet deployment takes its chainlet's
   * autoscaling settings in the environment (created from the chainlet's own settings the first time).
   * The chain deployment it replaces is then cleaned up by the environment's `promotion_cleanup_strategy`
   * (`keepPrevious`: KEEP). Returns the chain deployment now serving.
   *
   * @example
   *   const serving = await envs.promote(chainId, 'development', 'production', { create: true });
   */
  async promote(
    chainId: string,
    idOrAlias: string,
    envName: string,
    opts: { create?: boolean; keepPrevious?: boolean } = {},
  ): Promise<ChainDeploymentRecord> {
    let d = this.#chains.deploymentOf(chainId, idOrAlias);
    let env = this.#chains.environment(chainId, envName);
    if (!env) {
      if (!opts.create)
        throw notFound(
          `Chain ${chainId} has no environment "${envName}".`,
          'Create it first with POST /api/v1/chains/{id}/environments.',
        );
      env = await this.create(chainId, envName);
    }
    const serving = this.#chains.environmentOf(d);
    if (d.isDevelopment || (serving && serving.name !== envName)) d = await this.#writer.copyAsPublished(d);
    if (!d.active) d = await this.#writer.setActive(d.id, true);
    const environments: EnvironmentRecord[] = [];
    const deployments: DeploymentPatchWrite[] = [];
    for (const ref of d.chainlets) {
      const node = d.graph.chainlets.find((n) => n.name === ref.name)!;
      const known = this.#chains.registry.environment(ref.modelId, envName);
      const chainletEnv = known
        ? { ...known, currentDeploymentId: ref.deploymentId }
        : this.#newChainletEnv(ref.modelId, envName, chainletAutoscaling(node), ref.deploymentId);
      environments.push(chainletEnv);
      deployments.push({ id: ref.deploymentId, patch: { autoscaling: { ...chainletEnv.autoscaling } } });
    }
    // a chainlet the new chain deployment no longer has stops serving the environment too
    for (const model of this.#chains.registry.models.values()) {
      if (model.chainId !== chainId || d.chainlets.some((c) => c.modelId === model.id)) continue;
      const stale = this.#chains.registry.environment(model.id, envName);
      if (stale?.currentDeploymentId) environments.push({ ...stale, currentDeploymentId: null });
    }
    const previousId = env.currentDeploymentId;
    const next = { ...env, currentDeploymentId: d.id };
    await this.#store.putChainEnvironment(next, { environments, deployments });
    for (const { id, patch } of deployments) this.#chains.registry.deploymentChanged(id, patch);
    for (const e of environments) this.#chains.registry.environmentSaved(e);
    this.#chains.chainEnvironmentSaved(next);
    if (previousId && previousId !== d.id)
      await this.#cleanUp(previousId, opts.keepPrevious ? 'KEEP' : next.promotion.promotion_cleanup_strategy);
    return d;
  }

  /**
   * Updates a chain environment's promotion settings (only the fields sent); `changed` is false when
   * nothing had to change.
   */
  async update(
    chainId: string,
    name: string,
    promotion: Partial<PromotionSettings>,
  ): Promise<{ environment: ChainEnvironmentRecord; changed: boolean }> {
    const env = this.#environment(chainId, name);
    const changed = Object.entries(promotion).some(([k, v]) => env.promotion[k as keyof PromotionSettings] !== v);
    if (!changed) return { environment: env, changed };
    const next = { ...env, promotion: { ...env.promotion, ...promotion } };
    await this.#store.putChainEnvironment(next, { environments: [], deployments: [] });
    return { environment: this.#chains.chainEnvironmentSaved(next), changed };
  }

  /**
   * Updates chainlets' autoscaling settings in an environment (Baseten's per-chainlet
   * `autoscaling_settings`): each chainlet model's environment, and the chainlet deployment serving
   * it, at once. An unknown chainlet name is a 400 before anything is written.
   *
   * @example
   *   await envs.updateChainletAutoscaling(chainId, 'production', { SayHello: { max_replica: 4 } });
   */
  async updateChainletAutoscaling(chainId: string, envName: string, updates: ChainletAutoscaling): Promise<boolean> {
    this.#environment(chainId, envName);
    const plan = this.#chainletModels(chainId, updates)
      .filter(({ patch }) => Object.keys(patch).length > 0)
      .map(({ model, patch }) => {
        const known = this.#chains.registry.environment(model.id, envName);
        const base = known?.autoscaling ?? chainletAutoscaling(this.#nodeOf(chainId, model.chainletName ?? ''));
        patchAutoscaling(base, patch); // min above max: a 400 before anything is written
        return { model, patch, known, base };
      });
    let changed = false;
    for (const { model, patch, known, base } of plan) {
      if (known)
        changed = (await this.#environments.update(model.id, envName, { autoscaling: patch })).changed || changed;
      else {
        await this.#environments.create(model.id, envName, { ...base, ...patch });
        changed = true;
      }
    }
    return changed;
  }

  async #cleanUp(chainDeploymentId: string, strategy: PromotionSettings['promotion_cleanup_strategy']): Promise<void> {
    const previous = this.#chains.deployments.get(chainDeploymentId);
    if (!previous || strategy === 'KEEP') return;
    if (strategy === 'DEACTIVATE') await this.#writer.setActive(previous.id, false);
    else for (const c of previous.chainlets) await this.#deployments.scaleToZero(c.deploymentId);
  }

  /** A chainlet model's new environment, with the chainlet's settings (`base`) as its autoscaling. */
  #newChainletEnv(modelId: string, name: string, base: AutoscalingSettings, current: string | null): EnvironmentRecord {
    return {
      modelId,
      name,
      createdAt: now(),
      currentDeploymentId: current,
      autoscaling: { ...base },
      promotion: { ...DEFAULT_PROMOTION },
    };
  }

  /** The chain's chainlet models with the patch `byName` gives each; a name the chain lacks is a 400. */
  #chainletModels(chainId: string, byName: ChainletAutoscaling) {
    const models = [...this.#chains.registry.models.values()].filter((m) => m.chainId === chainId);
    for (const name of Object.keys(byName)) {
      if (!models.some((m) => m.chainletName === name))
        throw badRequest(
          `Chain ${chainId} has no chainlet "${name}".`,
          `Its chainlets: ${models.map((m) => m.chainletName).join(', ') || 'none yet'}.`,
        );
    }
    return models.map((model) => ({ model, patch: byName[model.chainletName!] ?? {} }));
  }

  /** The chainlet's node in the chain's newest deployment that has it. */
  #nodeOf(chainId: string, name: string) {
    for (const d of this.#chains.deploymentsOf(chainId).reverse()) {
      const node = d.graph.chainlets.find((n) => n.name === name);
      if (node) return node;
    }
    throw badRequest(`Chain ${chainId} has no chainlet "${name}".`);
  }

  #environment(chainId: string, name: string): ChainEnvironmentRecord {
    this.#chains.chain(chainId);
    const env = this.#chains.environment(chainId, name);
    if (!env) throw notFound(`Chain ${chainId} has no environment "${name}".`);
    return env;
  }
}
