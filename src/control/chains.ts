import { badRequest, notFound } from '../errors.ts';
import { newDeploymentId, newModelId } from '../ids.ts';
import {
  type ChainDeploymentRecord,
  type ChainGraphRecord,
  type ChainRecord,
  chainletModelName,
} from '../records/chains.ts';
import type { DeploymentBuild, DeploymentRecord, ModelRecord } from '../records/control.ts';
import type { Store } from '../store/store.ts';
import { chainletAutoscaling, chainletConfig, modelDependencies } from './chain-config.ts';
import { chainName } from './model-name.ts';
import type { ChainRegistry } from './chain-registry.ts';
import { keyPrefix, type KeyRing } from './keys.ts';

/** What a chain push records, once its snapshot is unpacked and its graph described. */
export interface NewChainDeployment {
  chainName: string;
  /** The snapshot of the chain file's folder. */
  dir: string;
  graph: ChainGraphRecord;
  /** The development chain deployment: replaces the existing one. */
  development?: boolean;
  /**
   * With `development`: the existing development chain deployment is not removed here but returned
   * as `previous`, and keeps serving `development` until the caller removes it (`discard`), once the
   * new one is ready: a re-push that fails leaves the last good one serving.
   */
  keepPrevious?: boolean;
  /** What the folder's build made (its package.json's packages), shared by every chainlet. */
  build?: DeploymentBuild | null;
}
const now = (): string => new Date().toISOString();

/**
 * Chains and chain deployments as records: a chain is created by its first push; a chain deployment
 * is one deployment per chainlet (each chainlet's internal model created when the chain first has
 * it) plus a chain-scoped invoke key, written in one store transaction. Activating, deactivating and
 * deleting a chain deployment act on every chainlet deployment and on its key together. Each change is
 * written to the store first, then reported to the `ChainRegistry`, the `Registry` (whose events start
 * and stop replicas) and the `KeyRing`. Environments and promotion are `chain-environments.ts`'s.
 *
 * @example
 *   const chains = new Chains(store, chainRegistry, keys);
 *   const { chain, deployment } = await chains.createDeployment({ chainName: 'hello', dir, graph });
 *   await chains.setActive(deployment.id, false); // every chainlet stops; the chain key is revoked
 */
export class Chains {
  readonly #store: Store;
  readonly #chains: ChainRegistry;
  readonly #keys: KeyRing;

  constructor(store: Store, chains: ChainRegistry, keys: KeyRing) {
    this.#store = store;
    this.#chains = chains;
    this.#keys = keys;
  }

  /**
   * The chain of that name, created (with no deployment) when there is none; `created` says which.
   *
   * @example
   *   const { chain } = await chains.chainNamed('hello-chain');
   */
  async chainNamed(raw: string): Promise<{ chain: ChainRecord; created: boolean }> {
    const name = chainName(raw);
    const known = this.#chains.chainByName(name);
    if (known) return { chain: known, created: false };
    const chain: ChainRecord = { id: newModelId(), name, createdAt: now(), deploymentSeq: 0 };
    await this.#store.insertChain(chain);
    this.#chains.chainAdded(chain);
    return { chain, created: true };
  }

  /**
   * Records a new chain deployment (`deployment-N`, or `development`, which replaces the existing
   * development chain deployment), active, serving no environment yet: its chainlet deployments are
   * added (the runtime may start them) and its key verifies. A model dependency that does not exist
   * is a 400 naming the chainlet, before anything is written.
   *
   * @example
   *   const { deployment } = await chains.createDeployment({ chainName: 'hello', dir, graph });
   */
  async createDeployment(input: NewChainDeployment): Promise<{
    chain: ChainRecord;
    created: boolean;
    deployment: ChainDeploymentRecord;
    previous?: ChainDeploymentRecord;
  }> {
    const modelDeps = modelDependencies(this.#chains.registry, input.graph);
    const { chain, created } = await this.chainNamed(input.chainName);
    const old = input.development ? this.#chains.developmentOf(chain.id) : undefined;
    if (old && !input.keepPrevious) await this.#remove(old);
    // inserted after `old`: while both exist, the registries' developmentOf() still finds `old` first
    const deployment = await this.#insert(
      chain,
      input.dir,
      input.graph,
      input.development === true,
      modelDeps,
      input.build ?? null,
    );
    return { chain, created, deployment, ...(old && input.keepPrevious && { previous: old }) };
  }

  /**
   * A new published chain deployment running what `source` runs (same snapshot and graph), with new
   * chainlet deployments and key: what promotion makes of a development chain deployment, or of one
   * already serving another environment.
   */
  async copyAsPublished(source: ChainDeploymentRecord): Promise<ChainDeploymentRecord> {
    const chain = this.#chains.chain(source.chainId);
    const build = this.#chains.registry.deployments.get(source.chainlets[0]?.deploymentId ?? '')?.build ?? null;
    return this.#insert(
      chain,
      source.dir,
      source.graph,
      false,
      modelDependencies(this.#chains.registry, source.graph),
      build,
    );
  }

  /**
   * Activates or deactivates a chain deployment with all its chainlets. Deactivated, it runs no
   * replica, its requests get 404 model_unavailable and its key is revoked; activated, it gets a new
   * key. The state it already has changes nothing.
   *
   * @example
   *   await chains.setActive(deploymentId, false);
   */
  async setActive(chainDeploymentId: string, active: boolean): Promise<ChainDeploymentRecord> {
    const d = this.#byId(chainDeploymentId);
    if (d.active === active) return d;
    const deployments = d.chainlets.map((c) => ({ id: c.deploymentId, patch: { active } }));
    const oldPrefix = d.invokeKey ? keyPrefix(d.invokeKey) : null;
    const minted = active
      ? this.#keys.mintChainKey(d.id, this.#scope(d.chainId, modelDependencies(this.#chains.registry, d.graph)))
      : null;
    await this.#store.updateChainDeployment({
      id: d.id,
      patch: { active, invokeKey: minted?.key ?? null },
      deployments,
      deleteKeys: oldPrefix ? [oldPrefix] : [],
      key: minted?.record ?? null,
    });
    if (oldPrefix) this.#keys.removed(oldPrefix);
    if (minted) this.#keys.added(minted.record);
    const changed = this.#chains.chainDeploymentChanged(d.id, { active, invokeKey: minted?.key ?? null });
    for (const { id, patch } of deployments) this.#chains.registry.deploymentChanged(id, patch);
    return changed;
  }

  /**
   * Deletes a chain deployment (by id or alias) that serves no environment and is not the chain's only
   * one, with its chainlet deployments and key. Its snapshot is the caller's to remove once unused.
   *
   * @example
   *   const gone = await chains.deleteDeployment(chainId, deploymentId);
   */
  async deleteDeployment(chainId: string, idOrAlias: string): Promise<ChainDeploymentRecord> {
    const d = this.#chains.deploymentOf(chainId, idOrAlias);
    const env = this.#chains.environmentOf(d);
    if (env)
      throw badRequest(
        `Chain deployment ${d.id} serves environment "${env.name}" and cannot be deleted.`,
        'Promote another chain deployment to that environment first.',
      );
    if (this.#chains.deploymentsOf(chainId).length === 1)
      throw badRequest(
        `Chain deployment ${d.id} is the only deployment of chain ${chainId}.`,
        'Delete the chain instead.',
      );
    await this.#remove(d);
    return d;
  }

  /**
   * Deletes a new chain deployment whatever it serves: a push that failed takes back what it wrote
   * (and the chain, when the push created it and nothing else is left).
   */
  async discard(d: ChainDeploymentRecord, opts: { chainToo?: boolean } = {}): Promise<void> {
    if (!this.#chains.deployments.has(d.id)) return;
    if (opts.chainToo && this.#chains.deploymentsOf(d.chainId).length === 1) {
      await this.deleteChain(d.chainId);
      return;
    }
    await this.#remove(d);
  }

  /**
   * Deletes a chain with everything it has: chain deployments, environments, chainlet models and their
   * deployments, keys. Returns the chain deployments removed, whose snapshots are the caller's to remove.
   *
   * @example
   *   for (const d of await chains.deleteChain(chainId)) await removeUnusedSnapshot(registry, d.dir);
   */
  async deleteChain(chainId: string): Promise<ChainDeploymentRecord[]> {
    this.#chains.chain(chainId);
    const removed = this.#chains.deploymentsOf(chainId);
    const models = [...this.#chains.registry.models.values()].filter((m) => m.chainId === chainId);
    await this.#store.deleteChain(chainId);
    for (const d of removed) if (d.invokeKey) this.#keys.removed(keyPrefix(d.invokeKey));
    this.#chains.chainRemoved(chainId);
    for (const m of models) this.#chains.registry.modelRemoved(m.id);
    return removed;
  }

  async #insert(
    chain: ChainRecord,
    dir: string,
    graph: ChainGraphRecord,
    development: boolean,
    modelDeps: string[],
    build: DeploymentBuild | null,
  ): Promise<ChainDeploymentRecord> {
    let name = 'development';
    if (!development) {
      const seq = await this.#store.nextChainDeploymentSeq(chain.id);
      this.#chains.chainChanged(chain.id, { deploymentSeq: seq });
      name = `deployment-${seq}`;
    }
    const id = newDeploymentId();
    const createdAt = now();
    const models: ModelRecord[] = [];
    const deployments: DeploymentRecord[] = graph.chainlets.map((node) => {
      let model = this.#chains.chainletModel(chain.id, node.name);
      if (!model) {
        model = { id: newModelId(), name: chainletModelName(chain.id, node.name), createdAt, deploymentSeq: 0 };
        Object.assign(model, { chainId: chain.id, chainletName: node.name });
        models.push(model);
      }
      return {
        id: newDeploymentId(),
        modelId: model.id,
        name,
        createdAt,
        isDevelopment: development,
        active: true,
        dir,
        config: chainletConfig(graph, node),
        autoscaling: chainletAutoscaling(node, development),
        labels: null,
        build,
      };
    });
    const scope = [...new Set([...deployments.map((d) => d.modelId), ...modelDeps])];
    const { key, record } = this.#keys.mintChainKey(id, scope);
    const chainDeployment: ChainDeploymentRecord = {
      id,
      chainId: chain.id,
      name,
      createdAt,
      isDevelopment: development,
      active: true,
      dir,
      graph,
      chainlets: graph.chainlets.map((node, i) => ({
        name: node.name,
        modelId: deployments[i].modelId,
        deploymentId: deployments[i].id,
      })),
      invokeKey: key,
    };
    await this.#store.insertChainDeployment({ models, deployments, chainDeployment, key: record });
    this.#keys.added(record);
    for (const m of models) this.#chains.registry.modelAdded(m);
    // before the deployments: the runtime asks the chain registry what a new deployment serves
    this.#chains.chainDeploymentAdded(chainDeployment);
    for (const d of deployments) this.#chains.registry.deploymentAdded(d);
    return chainDeployment;
  }

  async #remove(d: ChainDeploymentRecord): Promise<void> {
    await this.#store.deleteChainDeployment(d.id);
    if (d.invokeKey) this.#keys.removed(keyPrefix(d.invokeKey));
    this.#chains.chainDeploymentRemoved(d.id);
    for (const c of d.chainlets) {
      if (this.#chains.registry.deployments.has(c.deploymentId))
        this.#chains.registry.deploymentRemoved(c.deploymentId);
    }
  }

  /** What a chain deployment's key may call: the chain's chainlet models and the models it depends on. */
  #scope(chainId: string, modelDeps: string[]): string[] {
    const chainlets = [...this.#chains.registry.models.values()].filter((m) => m.chainId === chainId).map((m) => m.id);
    return [...new Set([...chainlets, ...modelDeps])];
  }

  #byId(id: string): ChainDeploymentRecord {
    const d = this.#chains.deployments.get(id);
    if (!d) throw notFound(`Chain deployment ${id} was not found.`);
    return d;
  }
}
