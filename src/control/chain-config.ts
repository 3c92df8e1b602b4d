/**
 * What a chainlet's deployment runs, as the `ModelConfig` every deployment has: the chain file as its
 * model file (the node runner serves the chainlet named `model_class_name` from it), and the chainlet's
 * settings as the keys of a config.yaml would set them.
 */
import { DEFAULT_AUTOSCALING, type AutoscalingSettings } from '../records/control.ts';
import type { ChainGraphRecord, ChainletNode } from '../records/chains.ts';
import type { ModelConfig } from '../records/model-config.ts';
import { badRequest } from '../errors.ts';
import { RuntimeSchema } from './packaging/config-schema.ts';
import type { Registry } from './registry.ts';

/** The secret every chainlet gets: the chain-scoped invoke key, under Truss Chains' name. */
export const CHAIN_KEY_SECRET = 'baseten_chain_api_key';

/**
 * The config of `node`'s deployment in a chain whose file is `graph.file`.
 *
 * @example
 *   chainletConfig(graph, graph.chainlets[1]).model_class_name; // 'SayHello'
 */
export function chainletConfig(graph: ChainGraphRecord, node: ChainletNode): ModelConfig {
  const s = node.settings;
  const h = s.healthChecks;
  const secrets: Record<string, null> = { [CHAIN_KEY_SECRET]: null };
  for (const name of s.secrets) secrets[name] = null;
  return {
    ...chainBuildConfig(graph.file),
    model_name: node.name,
    environment_variables: { ...s.envVariables },
    secrets,
    runtime: {
      ...RuntimeSchema.parse({}),
      predict_concurrency: s.predictConcurrency,
      health_checks: {
        startup_threshold_seconds: h.startupThresholdSeconds ?? null,
        stop_traffic_threshold_seconds: h.stopTrafficThresholdSeconds ?? null,
        restart_threshold_seconds: h.restartThresholdSeconds ?? null,
        restart_check_delay_seconds: h.restartCheckDelaySeconds ?? null,
      },
    },
    model_class_name: node.name,
    raw: { model_name: node.name, girder_chainlet: node.name },
  };
}

/**
 * What a chain's folder is built with before its chainlets are known: the chain file as a node
 * model, so a `package.json` beside it is installed as for a TypeScript model (`runtime/build/`).
 *
 * @example
 *   chainBuildConfig('chain.ts').model_class_filename; // 'chain.ts'
 */
export function chainBuildConfig(file: string): ModelConfig {
  return {
    model_name: null,
    description: null,
    model_metadata: {},
    environment_variables: {},
    secrets: {},
    // Truss's defaults, as a config.yaml that says nothing gets them
    runtime: RuntimeSchema.parse({}),
    docker_server: null,
    model_module_dir: '.',
    model_class_filename: file,
    model_class_name: 'Chainlet',
    data_dir: 'data',
    resources: {},
    raw: {},
  };
}

/**
 * A chainlet's autoscaling settings: its `settings.autoscaling` over Girder's defaults. They seed the
 * chainlet's environment when the environment is first created; the environment's settings win after.
 *
 * @example
 *   chainletAutoscaling(node).max_replica; // node.settings.autoscaling.maxReplica ?? 1
 */
export function chainletAutoscaling(node: ChainletNode, development = false): AutoscalingSettings {
  const a = node.settings.autoscaling;
  const out = { ...DEFAULT_AUTOSCALING };
  if (a.minReplica !== undefined) out.min_replica = a.minReplica;
  if (a.maxReplica !== undefined) out.max_replica = a.maxReplica;
  if (a.autoscalingWindow !== undefined) out.autoscaling_window = a.autoscalingWindow;
  if (a.scaleDownDelay !== undefined) out.scale_down_delay = a.scaleDownDelay;
  if (a.concurrencyTarget !== undefined) out.concurrency_target = a.concurrencyTarget;
  if (a.targetUtilizationPercentage !== undefined) out.target_utilization_percentage = a.targetUtilizationPercentage;
  if (out.max_replica < out.min_replica) out.max_replica = out.min_replica;
  if (development) {
    out.max_replica = 1;
    out.min_replica = Math.min(out.min_replica, 1);
  }
  return out;
}

/**
 * The ids of the models the graph's chainlets call; a 400 naming the chainlet for one that does not
 * exist (or is a chainlet's own model), before anything of the chain is written.
 *
 * @example
 *   modelDependencies(registry, graph); // → ['ab12cd34'] for a chain that calls model({ name: 'classifier' })
 */
export function modelDependencies(registry: Registry, graph: ChainGraphRecord): string[] {
  const ids: string[] = [];
  for (const node of graph.chainlets) {
    for (const dep of node.deps) {
      if (dep.kind !== 'model') continue;
      const model = dep.model.id ? registry.models.get(dep.model.id) : registry.modelByName(dep.model.name ?? '');
      if (!model || model.chainId !== undefined)
        throw badRequest(
          `Chainlet \`${node.name}\` depends on model \`${dep.model.key}\`, which does not exist.`,
          'Push that model first (`girder push DIR`), or fix its name or id in model(…).',
        );
      ids.push(model.id);
    }
  }
  return ids;
}
