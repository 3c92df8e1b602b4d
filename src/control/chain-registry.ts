import { GirderError, notFound } from '../errors.ts';
import type {
  ChainDeploymentRecord,
  ChainEnvironmentRecord,
  ChainletDeploymentRef,
  ChainletNode,
  ChainRecord,
} from '../records/chains.ts';
import type { DeploymentRecord } from '../records/control.ts';
import type { Store } from '../store/store.ts';
import type { Registry, TargetRef } from './registry.ts';

/** What the runtime needs to know about a deployment that serves a chainlet. */
export interface ChainletOfDeployment {
  chain: ChainRecord;
  chainDeployment: ChainDeploymentRecord;
  chainlet: ChainletDeploymentRef;
  node: ChainletNode;
}

/**
 * Chains in memory: chains, chain deployments and chain environments, loaded from the store at start,
 * beside the `Registry` that holds their chainlets' models and deployments. The request path reads
 * only these maps (`resolveEntrypoint`, `chainletOf`); nothing here writes to the store. The writer
 * (`chains.ts`) writes first and reports each change through the `…Added`/`…Changed`/`…Removed`/
 * `…Saved` methods, which also keep the chainlets' records in the `Registry` (its events start and
 * stop their replicas).
 *
 * @example
 *   const chains = new ChainRegistry(store, registry);
 *   await chains.load();
 *   const entry = chains.resolveEntrypoint(chainId, { kind: 'production' }); // a DeploymentRecord
 */
export class ChainRegistry {
  readonly #store: Store;
  readonly #registry: Registry;
  readonly #chains = new Map<string, ChainRecord>();
  readonly #deployments = new Map<string, ChainDeploymentRecord>();
  /** key: `${chainId}/${envName}` */
  readonly #environments = new Map<string, ChainEnvironmentRecord>();
  /** chainlet deployment id → its chain deployment */
  readonly #byChainletDeployment = new Map<string, ChainDeploymentRecord>();

  constructor(store: Store, registry: Registry) {
    this.#store = store;
    this.#registry = registry;
  }

  /** The models and deployments registry the chainlets live in. */
  get registry(): Registry {
    return this.#registry;
  }

  async load(): Promise<void> {
    for (const c of await this.#store.listChains()) this.#chains.set(c.id, c);
    for (const d of await this.#store.listChainDeployments()) this.#index(d);
    for (const e of await this.#store.listChainEnvironments()) this.#environments.set(`${e.chainId}/${e.name}`, e);
  }

  /** Every chain by id. Read-only: changes go through `Chains`, which reports them here. */
  get chains(): ReadonlyMap<string, ChainRecord> {
    return this.#chains;
  }

  /** Every chain deployment by id. */
  get deployments(): ReadonlyMap<string, ChainDeploymentRecord> {
    return this.#deployments;
  }

  chain(id: string): ChainRecord {
    const chain = this.#chains.get(id);
    if (!chain) throw notFound(`Chain ${id} was not found.`, 'List your chains with `girder chains`.');
    return chain;
  }

  chainByName(name: string): ChainRecord | undefined {
    for (const c of this.#chains.values()) if (c.name === name) return c;
    return undefined;
  }

  /** The chain's deployments, oldest first. */
  deploymentsOf(chainId: string): ChainDeploymentRecord[] {
    return [...this.#deployments.values()].filter((d) => d.chainId === chainId);
  }

  environmentsOf(chainId: string): ChainEnvironmentRecord[] {
    return [...this.#environments.values()].filter((e) => e.chainId === chainId);
  }

  environment(chainId: string, name: string): ChainEnvironmentRecord | undefined {
    return this.#environments.get(`${chainId}/${name}`);
  }

  /** The environment a chain deployment serves, if any. */
  environmentOf(d: ChainDeploymentRecord): ChainEnvironmentRecord | undefined {
    for (const e of this.#environments.values()) {
      if (e.chainId === d.chainId && e.currentDeploymentId === d.id) return e;
    }
    return undefined;
  }

  developmentOf(chainId: string): ChainDeploymentRecord | undefined {
    for (const d of this.#deployments.values()) if (d.chainId === chainId && d.isDevelopment) return d;
    return undefined;
  }

  /** A chain deployment by id, or the `production` / `development` aliases of the management API. */
  deploymentOf(chainId: string, idOrAlias: string): ChainDeploymentRecord {
    this.chain(chainId);
    if (idOrAlias === 'production' || idOrAlias === 'development') {
      return this.resolve(chainId, { kind: idOrAlias }, { allowInactive: true });
    }
    const d = this.#deployments.get(idOrAlias);
    if (!d || d.chainId !== chainId)
      throw notFound(
        `Deployment ${idOrAlias} of chain ${chainId} was not found.`,
        'List its deployments with `girder chain-deployments CHAIN`.',
      );
    return d;
  }

  /** The internal model of a chainlet of the chain, by chainlet name. */
  chainletModel(chainId: string, chainletName: string) {
    for (const m of this.#registry.models.values()) {
      if (m.chainId === chainId && m.chainletName === chainletName) return m;
    }
    return undefined;
  }

  /**
   * Resolves what a request names to the chain deployment that serves it: 404 `model_does_not_exist`
   * for an unknown chain, environment or deployment, 404 `model_unavailable` for a deactivated one.
   */
  resolve(chainId: string, target: TargetRef, opts: { allowInactive?: boolean } = {}): ChainDeploymentRecord {
    const chain = this.#chains.get(chainId);
    if (!chain)
      throw notFound(`Chain ${chainId} was not found.`, 'Check the chain id in the URL; `girder chains` lists them.');
    let d: ChainDeploymentRecord | undefined;
    if (target.kind === 'production' || target.kind === 'environment') {
      const name = target.kind === 'production' ? 'production' : target.name;
      const env = this.#environments.get(`${chainId}/${name}`);
      if (!env)
        throw notFound(
          `Chain ${chain.name} (${chainId}) has no environment "${name}".`,
          `Create it with \`girder push CHAIN.ts --environment ${name}\`.`,
        );
      d = env.currentDeploymentId ? this.#deployments.get(env.currentDeploymentId) : undefined;
      if (!d)
        throw notFound(
          `Environment "${name}" of chain ${chain.name} (${chainId}) has no deployment.`,
          'Promote a chain deployment to it.',
        );
    } else if (target.kind === 'development') {
      d = this.developmentOf(chainId);
      if (!d)
        throw notFound(
          `Chain ${chain.name} (${chainId}) has no development deployment.`,
          'Create one with `girder push CHAIN.ts --watch`.',
        );
    } else {
      d = this.#deployments.get(target.id);
      if (!d || d.chainId !== chainId)
        throw notFound(
          `Deployment ${target.id} of chain ${chainId} was not found.`,
          'List its deployments with `girder chain-deployments CHAIN`.',
        );
    }
    if (!d.active && !opts.allowInactive) {
      throw new GirderError(
        'model_unavailable',
        `Deployment ${d.name} (${d.id}) of chain ${chain.name} is deactivated.`,
        `Activate it with POST /api/v1/chains/${chainId}/deployments/${d.id}/activate.`,
        { status: 404, reason: 'deployment_deactivated' },
      );
    }
    return d;
  }

  /**
   * The deployment of the chain's entrypoint chainlet that serves what a `run_remote` names: map
   * lookups only, for the request path.
   *
   * @example
   *   const entry = chains.resolveEntrypoint(chainId, { kind: 'environment', name: 'staging' });
   */
  resolveEntrypoint(chainId: string, target: TargetRef): DeploymentRecord {
    return this.entrypointOf(this.resolve(chainId, target));
  }

  /**
   * The deployment of a chain deployment's entrypoint chainlet (what `run_remote` and `async_run_remote` call).
   *
   * @example
   *   const entry = chains.entrypointOf(chains.resolve(chainId, { kind: 'production' }));
   */
  entrypointOf(d: ChainDeploymentRecord): DeploymentRecord {
    const ref = d.chainlets.find((c) => c.name === d.graph.entrypoint) ?? d.chainlets[0];
    const deployment = this.#registry.deployments.get(ref.deploymentId);
    if (!deployment) throw new Error(`chain deployment ${d.id}: no deployment ${ref.deploymentId} for ${ref.name}`);
    return deployment;
  }

  /** The chain, chain deployment and chainlet a deployment serves, or undefined for a model's deployment. */
  chainletOf(deploymentId: string): ChainletOfDeployment | undefined {
    const chainDeployment = this.#byChainletDeployment.get(deploymentId);
    if (!chainDeployment) return undefined;
    const chainlet = chainDeployment.chainlets.find((c) => c.deploymentId === deploymentId)!;
    const node = chainDeployment.graph.chainlets.find((n) => n.name === chainlet.name)!;
    return { chain: this.#chains.get(chainDeployment.chainId)!, chainDeployment, chainlet, node };
  }

  // What the writer reports, once the store holds it. Chainlet models and deployments go to the
  // Registry too (through its own report methods), so that its events start and stop replicas.

  chainAdded(chain: ChainRecord): void {
    this.#chains.set(chain.id, chain);
  }

  chainChanged(id: string, patch: Partial<Omit<ChainRecord, 'id'>>): ChainRecord {
    const chain = this.chain(id);
    return Object.assign(chain, patch);
  }

  /** A chain deployment is stored with its chainlet models and deployments (reported to the Registry first). */
  chainDeploymentAdded(d: ChainDeploymentRecord): void {
    this.#index(d);
  }

  /** A chain deployment's fields changed (in place: requests in flight hold it). */
  chainDeploymentChanged(
    id: string,
    patch: Partial<Omit<ChainDeploymentRecord, 'id' | 'chainId'>>,
  ): ChainDeploymentRecord {
    const d = this.#deployments.get(id);
    if (!d) throw new Error(`chain registry: no chain deployment ${id} to change`);
    for (const c of d.chainlets) this.#byChainletDeployment.delete(c.deploymentId);
    Object.assign(d, patch);
    this.#index(d);
    return d;
  }

  chainDeploymentRemoved(id: string): ChainDeploymentRecord | undefined {
    const d = this.#deployments.get(id);
    if (!d) return undefined;
    this.#deployments.delete(id);
    for (const c of d.chainlets) this.#byChainletDeployment.delete(c.deploymentId);
    return d;
  }

  chainEnvironmentSaved(env: ChainEnvironmentRecord): ChainEnvironmentRecord {
    const key = `${env.chainId}/${env.name}`;
    const existing = this.#environments.get(key);
    const saved = existing ? Object.assign(existing, env) : env;
    this.#environments.set(key, saved);
    return saved;
  }

  /** The chain is deleted: its chain deployments and environments go from memory (its models via the Registry). */
  chainRemoved(id: string): void {
    this.#chains.delete(id);
    for (const d of this.deploymentsOf(id)) this.chainDeploymentRemoved(d.id);
    for (const e of this.environmentsOf(id)) this.#environments.delete(`${id}/${e.name}`);
  }

  #index(d: ChainDeploymentRecord): void {
    this.#deployments.set(d.id, d);
    for (const c of d.chainlets) this.#byChainletDeployment.set(c.deploymentId, d);
  }
}
