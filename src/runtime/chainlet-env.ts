/**
 * What a chainlet's replica gets besides what a model's gets (PROTOCOL.md, "Chainlets"): the chain
 * deployment's key as the secret `baseten_chain_api_key`, and the dynamic chainlet config, a JSON file
 * in its run folder naming the URL of each dependency (the dependency chainlets of the same chain
 * deployment, and the models it calls) on Girder's gateway, at GIRDER_DYNAMIC_CHAINLET_CONFIG.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CHAIN_KEY_SECRET } from '../control/chain-config.ts';
import type { ChainRegistry } from '../control/chain-registry.ts';
import type { Secrets } from '../control/secrets.ts';
import type { ChainletDependency } from '../records/chains.ts';
import type { DeploymentRecord } from '../records/control.ts';
import type { ChainletExtras } from './supervisor-options.ts';

/** The dynamic chainlet config's path inside a deployment's run folder. */
export const DYNAMIC_CONFIG_FILE = 'dynamic_chainlet_config';

/**
 * Makes `SupervisorOptions.chainletExtras`: for a chainlet's deployment, its key and the config file
 * (written now, before the replica starts); undefined for a model's. `gatewayUrl` is Girder's own
 * address, which every hop goes through.
 *
 * @example
 *   const extras = chainletExtras(chainRegistry, dataDir, () => girder.url);
 */
export function chainletExtras(chains: ChainRegistry, dataDir: string, gatewayUrl: () => string) {
  return (d: DeploymentRecord): ChainletExtras | string | undefined => {
    try {
      return extrasOf(chains, dataDir, gatewayUrl(), d);
    } catch (err) {
      return `cannot start the chainlet: ${(err as Error).message}`;
    }
  };
}

function extrasOf(
  chains: ChainRegistry,
  dataDir: string,
  base: string,
  d: DeploymentRecord,
): ChainletExtras | undefined {
  {
    const of = chains.chainletOf(d.id);
    if (!of) return undefined;
    const { chainDeployment } = of;
    const urls: Record<string, { predict_url: string }> = {};
    for (const dep of of.node.deps)
      urls[configKey(dep)] = { predict_url: `${base}${dependencyPath(chains, chainDeployment.chainlets, dep)}` };
    const runDir = join(dataDir, 'run', d.id);
    mkdirSync(runDir, { recursive: true, mode: 0o700 });
    const file = join(runDir, DYNAMIC_CONFIG_FILE);
    writeFileSync(file, JSON.stringify(urls, null, 2), { mode: 0o644 });
    const secrets = new Map<string, string>();
    if (chainDeployment.invokeKey) secrets.set(CHAIN_KEY_SECRET, chainDeployment.invokeKey);
    return { secrets, env: { GIRDER_DYNAMIC_CHAINLET_CONFIG: file } };
  }
}

/** A dependency's key in the config: the chainlet's name (as Truss), or `model:{name or id}`. */
function configKey(dep: ChainletDependency): string {
  return dep.kind === 'chainlet' ? dep.chainlet : `model:${dep.model.key}`;
}

/**
 * The gateway path a dependency is called at: a chainlet of the same chain deployment by its
 * deployment (`run_remote`, which answers errors in the wire form), a model by its target (`predict`).
 */
function dependencyPath(
  chains: ChainRegistry,
  refs: { name: string; modelId: string; deploymentId: string }[],
  dep: ChainletDependency,
): string {
  if (dep.kind === 'chainlet') {
    const ref = refs.find((r) => r.name === dep.chainlet);
    if (!ref) throw new Error(`the chain deployment has no chainlet ${dep.chainlet}`);
    return `/model-${ref.modelId}/deployment/${ref.deploymentId}/run_remote`;
  }
  const m = dep.model;
  const model = m.id ? chains.registry.models.get(m.id) : chains.registry.modelByName(m.name ?? '');
  if (!model) throw new Error(`model ${m.key} does not exist (any more)`);
  const target = m.deploymentId
    ? `deployment/${m.deploymentId}`
    : m.environment && m.environment !== 'production'
      ? `environments/${encodeURIComponent(m.environment)}`
      : 'production';
  return `/model-${model.id}/${target}/predict`;
}

/** `secrets` plus values of its own (a chainlet's chain key), which win. */
export function withSecrets(
  secrets: Pick<Secrets, 'values'>,
  extra: Map<string, string> | undefined,
): Pick<Secrets, 'values'> {
  if (!extra) return secrets;
  return {
    values(names) {
      const list = [...names];
      const out = secrets.values(list);
      for (const name of list) {
        const value = extra.get(name);
        if (value !== undefined) out.set(name, value);
      }
      return out;
    },
  };
}
