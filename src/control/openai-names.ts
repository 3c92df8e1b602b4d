import { badRequest } from '../errors.ts';
import type { DeploymentRecord, ModelRecord } from '../records/control.ts';
import type { ModelConfig } from '../records/model-config.ts';
import type { Registry } from './registry.ts';

/**
 * The names the OpenAI-compatible API (`/v1`) routes by: every model's own name, and the aliases the
 * config.yaml of its production deployment declares under `model_metadata.openai` (README, "OpenAI-
 * compatible API"). `model_metadata` is Truss's free-form section, so such a config.yaml stays valid
 * for Truss and Baseten too:
 *
 *   model_metadata:
 *     openai:
 *       aliases: [llama-8b]                                  # more names a client may send as `model`
 *       served_model_name: meta-llama/Llama-3.1-8B-Instruct  # what the upstream expects; default: unchanged
 *       context_length: 131072                               # shown by GET /v1/models
 */

/** An alias: a Hugging Face style name, with at most one `org/` part (model names are free text: model-name.ts). */
export const OPENAI_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}(?:\/[A-Za-z0-9][A-Za-z0-9._-]{0,99})?$/;

/** The fields of a `/v1/models` entry (reference notes §9.4) a config.yaml may set. */
const LISTING_KEYS: Record<string, 'int' | 'string' | 'strings' | 'pricing'> = {
  context_length: 'int',
  max_completion_tokens: 'int',
  quantization: 'string',
  hugging_face_id: 'string',
  owned_by: 'string',
  supported_features: 'strings',
  supported_sampling_parameters: 'strings',
  input_modalities: 'strings',
  output_modalities: 'strings',
  pricing: 'pricing',
};

export interface OpenAISettings {
  aliases: string[];
  /** The `model` the upstream gets; null: the name the client sent, unchanged. */
  servedModelName: string | null;
  /** §9.4 fields for `GET /v1/models`. */
  listing: Record<string, unknown>;
}

const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');

/**
 * What is wrong with a config's `model_metadata.openai`, as `key: reason`; null when it is fine.
 *
 * @example
 *   openAISettingsProblem({ ...config, model_metadata: { openai: { aliases: 'x' } } });
 *   // 'model_metadata.openai.aliases: must be a list of names'
 */
export function openAISettingsProblem(config: ModelConfig): string | null {
  const raw = (config.model_metadata as { openai?: unknown }).openai;
  if (raw === undefined || raw === null) return null;
  const at = 'model_metadata.openai';
  if (typeof raw !== 'object' || Array.isArray(raw)) return `${at}: must be a mapping`;
  for (const [key, value] of Object.entries(raw as Record<string, unknown>)) {
    const kind = LISTING_KEYS[key];
    if (key === 'aliases') {
      if (!isStrings(value)) return `${at}.aliases: must be a list of names`;
      const bad = value.find((a) => !OPENAI_NAME_RE.test(a));
      if (bad !== undefined)
        return `${at}.aliases: "${bad}" is not a valid name (letters, digits, ".", "_", "-", one "/")`;
    } else if (key === 'served_model_name') {
      if (typeof value !== 'string' || value === '') return `${at}.served_model_name: must be a non-empty string`;
    } else if (kind === 'int') {
      if (!Number.isInteger(value) || (value as number) < 1) return `${at}.${key}: must be an integer >= 1`;
    } else if (kind === 'string') {
      if (typeof value !== 'string') return `${at}.${key}: must be a string`;
    } else if (kind === 'strings') {
      if (!isStrings(value)) return `${at}.${key}: must be a list of strings`;
    } else if (kind === 'pricing') {
      if (!value || typeof value !== 'object' || !Object.values(value).every((v) => typeof v === 'string'))
        return `${at}.pricing: must be a mapping of strings`;
    } else {
      return `${at}.${key}: unknown key (known: aliases, served_model_name, ${Object.keys(LISTING_KEYS).join(', ')})`;
    }
  }
  return null;
}

const settingsCache = new WeakMap<ModelConfig, OpenAISettings>();

/**
 * A deployment's `/v1` settings, read once per config (a config that fails the push's check reads as
 * having none of the bad keys).
 *
 * @example
 *   openAISettings(deployment.config).servedModelName; // null unless config.yaml sets it
 */
export function openAISettings(config: ModelConfig): OpenAISettings {
  let s = settingsCache.get(config);
  if (s) return s;
  const raw = ((config.model_metadata as { openai?: unknown }).openai ?? {}) as Record<string, unknown>;
  const listing: Record<string, unknown> = {};
  for (const key of Object.keys(LISTING_KEYS)) if (raw[key] !== undefined) listing[key] = raw[key];
  s = {
    aliases: isStrings(raw.aliases) ? raw.aliases.filter((a) => OPENAI_NAME_RE.test(a)) : [],
    servedModelName: typeof raw.served_model_name === 'string' && raw.served_model_name ? raw.served_model_name : null,
    listing,
  };
  settingsCache.set(config, s);
  return s;
}

/** One name `/v1` answers to. */
export interface OpenAIName {
  name: string;
  model: ModelRecord;
  alias: boolean;
}

/**
 * The names `/v1` routes by, indexed in memory and rebuilt only after the registry changes: a
 * request costs one Map lookup. A model's own name always wins over another model's alias; between
 * two aliases (pushes refuse a clash, but promoting an old deployment can bring one back) the older
 * model keeps it.
 *
 * @example
 *   OpenAINames.of(registry).resolve('llm-stand-in')?.model.id
 */
export class OpenAINames {
  static readonly #byRegistry = new WeakMap<Registry, OpenAINames>();
  readonly #registry: Registry;
  #index: Map<string, OpenAIName> | undefined;

  /** The index of a registry (one per registry, made on first use). */
  static of(registry: Registry): OpenAINames {
    let names = OpenAINames.#byRegistry.get(registry);
    if (!names) {
      names = new OpenAINames(registry);
      OpenAINames.#byRegistry.set(registry, names);
    }
    return names;
  }

  private constructor(registry: Registry) {
    this.#registry = registry;
    // Models are added before any of their deployments, so a deployment event covers a new model too.
    registry.on('change', () => {
      this.#index = undefined;
    });
  }

  resolve(name: string): OpenAIName | undefined {
    return this.#built().get(name);
  }

  /** Every name, models first, in the order models were created. */
  names(): OpenAIName[] {
    return [...this.#built().values()];
  }

  /** The production deployment of a model, if it has one. */
  production(modelId: string): DeploymentRecord | undefined {
    const id = this.#registry.environment(modelId, 'production')?.currentDeploymentId;
    return id ? this.#registry.deployments.get(id) : undefined;
  }

  #built(): Map<string, OpenAIName> {
    if (this.#index) return this.#index;
    const models = [...this.#registry.models.values()]
      .filter((m) => m.chainId === undefined) // a chainlet is not an OpenAI model
      .sort((a, b) => a.createdAt.localeCompare(b.createdAt));
    const index = new Map<string, OpenAIName>();
    for (const model of models) index.set(model.name, { name: model.name, model, alias: false });
    for (const model of models) {
      const d = this.production(model.id);
      for (const alias of d ? openAISettings(d.config).aliases : []) {
        if (!index.has(alias)) index.set(alias, { name: alias, model, alias: true });
      }
    }
    this.#index = index;
    return index;
  }
}

/**
 * Refuses (400) a push whose `model_metadata.openai` is malformed, or whose name or aliases are
 * already another model's name or alias: a `/v1` name must lead to one model.
 *
 * @example
 *   checkOpenAINames(registry, 'my-llm', config); // throws GirderError client_error on a clash
 */
export function checkOpenAINames(registry: Registry, modelName: string, config: ModelConfig): void {
  const problem = openAISettingsProblem(config);
  if (problem) throw badRequest(`config.yaml: ${problem}.`, 'Fix model_metadata.openai in config.yaml and push again.');
  const names = OpenAINames.of(registry);
  const taken = (name: string): OpenAIName | undefined => {
    const owner = names.resolve(name);
    return owner && owner.model.name !== modelName ? owner : undefined;
  };
  const own = taken(modelName);
  if (own?.alias)
    throw badRequest(
      `The name "${modelName}" is an alias of model ${own.model.name} on /v1.`,
      'Pick another model name.',
    );
  for (const alias of openAISettings(config).aliases) {
    const owner = taken(alias);
    if (owner)
      throw badRequest(
        `The alias "${alias}" is already ${owner.alias ? 'an alias' : 'the name'} of model ${owner.model.name} on /v1.`,
        'Remove it from model_metadata.openai.aliases, or pick another.',
      );
  }
}
