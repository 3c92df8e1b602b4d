/**
 * What Girder does with each key of Truss's `config.yaml` schema, so that none is ignored silently: a
 * key is honoured (as Truss does), honoured by the build (the requirements, installed at push), of no
 * effect (in Truss either), or warned about at push with what happens instead. The table in
 * docs/compatibility.md is this one; `truss-support.test.ts` checks that every key of `truss-keys.ts`
 * is classified here.
 */
import type { Machine } from './machine.ts';

export type Support = 'honoured' | 'build' | 'no-effect' | 'warned';

export interface KeyRule {
  support: Support;
  /**
   * For a `warned` key: the warning for this value, or null when the value asks for nothing Girder
   * leaves undone (absent, empty, false, the default).
   */
  warn?: (value: unknown, context: WarnContext) => string | null;
  /** Warn even when the key is absent (Truss's default then applies), pointing at this key's line instead. */
  whenAbsent?: string;
}

export interface WarnContext {
  machine: Machine;
  /** The whole parsed config.yaml. */
  raw: Record<string, unknown>;
}

/** A value that asks for something: not null, false, '', [] or {}. */
function isSet(value: unknown): boolean {
  if (value === undefined || value === null || value === false || value === '') return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object') return Object.keys(value).length > 0;
  return true;
}

/** A `warned` rule whose warning is `message` whenever the value is set. */
const whenSet = (message: string): KeyRule => ({ support: 'warned', warn: (v) => (isSet(v) ? message : null) });

const honoured: KeyRule = { support: 'honoured' };
const build: KeyRule = { support: 'build' };
const noEffect: KeyRule = { support: 'no-effect' };

const short = (value: unknown): string => {
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
};

const gib = (bytes: number): string => `${Math.round(bytes / 2 ** 30)} GiB`;

const NO_GPU = 'this machine has no GPU: the model runs on the CPU';

/** `resources.accelerator`: a GPU type and count (`A10G`, `H100:8`), which Girder cannot choose. */
function accelerator(value: unknown, { machine }: WarnContext): string | null {
  if (!isSet(value)) return null;
  const n = machine.gpuDevices.length;
  if (n === 0) return `${NO_GPU} (${short(value)} asked)`;
  return `not enforced: replicas see every GPU of this machine (${machine.gpuDevices.join(', ')}), whatever type or count is asked (${short(value)})`;
}

const NOT_FETCHED = 'lazy_data_resolver has nothing pending, so load() must fetch the files itself';
const NO_IMAGE =
  "replicas run on this machine, with its python3 (or the build's virtual environment) and its libraries";

/** Every key of the schema, dotted for nested ones; nested sections not listed here are left to their parent. */
export const TRUSS_KEY_RULES: Record<string, KeyRule> = {
  model_name: honoured,
  model_metadata: honoured,
  description: honoured,
  examples_filename: whenSet('not used: Girder has no example playground (`girder predict MODEL --data …` sends one)'),
  data_dir: honoured,
  external_data: build,
  external_package_dirs: whenSet(
    'not pushed: only the model directory is uploaded; copy those packages into its packages/ folder (bundled_packages_dir)',
  ),
  python_version: build,
  base_image: {
    support: 'warned',
    warn: (v) =>
      isSet(v) ? `not used: no image ${short((v as { image?: unknown }).image ?? v)} is pulled; ${NO_IMAGE}` : null,
  },
  requirements_file: build,
  requirements: build,
  system_packages: {
    support: 'warned',
    warn: (v) =>
      isSet(v)
        ? `not installed (Girder runs no apt): the model sees this machine's system packages, which may lack ${short(v)}`
        : null,
  },
  environment_variables: honoured,
  secrets: honoured,
  resources: honoured,
  'resources.cpu': {
    support: 'warned',
    warn: (v, { machine }) =>
      isSet(v) ? `not enforced: replicas share this machine's ${machine.cpus} CPUs (${short(v)} asked)` : null,
  },
  'resources.memory': {
    support: 'warned',
    warn: (v, { machine }) =>
      isSet(v)
        ? `not enforced: replicas share this machine's ${gib(machine.memoryBytes)} of memory (${short(v)} asked)`
        : null,
  },
  'resources.accelerator': { support: 'warned', warn: accelerator },
  'resources.use_gpu': {
    support: 'warned',
    warn: (v, { machine }) => (v === true && machine.gpuDevices.length === 0 ? NO_GPU : null),
  },
  'resources.instance_type': whenSet('not used: replicas run on this machine, with its CPUs, memory and GPUs'),
  'resources.node_count': {
    support: 'warned',
    warn: (v) =>
      typeof v === 'number' && v > 1 ? `not used: a replica runs on this one machine (${v} nodes asked)` : null,
  },
  'resources.fabric': whenSet('not used: a replica runs on this one machine, with no multi-node network'),
  runtime: honoured,
  'runtime.predict_concurrency': honoured,
  'runtime.streaming_read_timeout': honoured,
  'runtime.predict_timeout_seconds': honoured, // Girder's own
  'runtime.health_checks': honoured,
  'runtime.num_workers': honoured, // only 1, as Truss
  'runtime.enable_debug_logs': honoured, // the python runner logs at DEBUG
  'runtime.enable_tracing_data': whenSet(
    'not used: Girder exports no trace data (the traceparent header still reaches the model)',
  ),
  'runtime.transport': {
    support: 'warned',
    warn: (v) => {
      const kind = (v as { kind?: unknown } | null)?.kind;
      return isSet(v) && kind !== 'http'
        ? `not served: replicas speak HTTP only (${short(kind ?? v)} transport asked); requests arrive as plain HTTP calls`
        : null;
    },
  },
  'runtime.is_websocket_endpoint': whenSet('not served: replicas speak HTTP only, no websockets'),
  'runtime.oidc': whenSet('not available: Girder issues no workload identity tokens to replicas'),
  'runtime.remote_ssh': whenSet('not available: replicas are local processes (read them with `girder logs`)'),
  'runtime.egress_restrictions': whenSet("not enforced: replicas share this machine's network"),
  'runtime.truss_server_version_override': whenSet("not used: Girder's own Truss-compatible runner serves the model"),
  build: honoured,
  'build.model_server': {
    support: 'warned',
    warn: (v) =>
      isSet(v) && v !== 'TrussServer'
        ? `not available: no ${short(v)} engine is built; the model class is served by Girder's runner`
        : null,
  },
  'build.arguments': whenSet('not used: Girder builds no engine or image'),
  'build.secret_to_path_mapping': whenSet('not used: builds see no secrets (the model gets them when it runs)'),
  'build.no_cache': whenSet('not used: builds are cached by what they install'),
  build_commands: build,
  docker_server: honoured,
  'docker_server.start_command': honoured,
  'docker_server.server_port': honoured,
  'docker_server.predict_endpoint': honoured,
  'docker_server.readiness_endpoint': honoured,
  'docker_server.liveness_endpoint': honoured,
  'docker_server.run_as_user_id': whenSet(
    "not used: replicas run as Girder's user, or as a user of their own per model when Girder runs as root",
  ),
  'docker_server.no_build': whenSet(
    'nothing to build: start_command runs on this machine; /sync/ routes reach the server as they are, and /predict still goes to predict_endpoint',
  ),
  model_cache: whenSet(`not downloaded: Girder does not fetch model_cache repos; ${NOT_FETCHED}`),
  weights: whenSet(`not downloaded: there is no Baseten Delivery Network here; ${NOT_FETCHED}`),
  cache_internal: whenSet(`not downloaded: Girder does not fetch cached repos; ${NOT_FETCHED}`),
  trt_llm: whenSet('not available: no TensorRT-LLM engine is built; model/ is served as a plain Truss model'),
  bis_llm: whenSet('not available: no BIS-LLM engine here; model/ is served as a plain Truss model'),
  training_checkpoints: whenSet('not downloaded: Baseten training checkpoints are not reachable from here'),
  input_type: noEffect,
  model_framework: noEffect,
  model_type: noEffect,
  model_module_dir: honoured,
  model_class_filename: honoured,
  model_class_name: honoured,
  bundled_packages_dir: honoured,
  use_local_src: whenSet("not used: Girder's runner is its own, not a local Truss source tree"),
  live_reload: whenSet('not used: `girder push --watch` redeploys the development deployment on every change instead'),
  apply_library_patches: {
    support: 'warned',
    whenAbsent: 'requirements', // Truss's default is true
    // Truss patches a library only when a requirement names it; its one patch today is openai-whisper's download.
    warn: (v, { raw }) =>
      v !== false && Array.isArray(raw.requirements) && raw.requirements.some((r) => String(r).includes('whisper'))
        ? "not applied: Truss's patch of openai-whisper's model download (for chunked answers) is not installed"
        : null,
  },
  spec_version: noEffect,
};

export interface Unhonoured {
  /** The key's path in config.yaml (`['resources', 'accelerator']`). */
  path: string[];
  /** Where in config.yaml to point: the key, or for an absent one the key that made it matter. */
  at: string[];
  message: string;
}

/**
 * The keys of this config.yaml that Girder cannot honour on this machine, each with what happens
 * instead, in the table's order. `config.ts` turns each into a push warning with its line.
 *
 * @example
 *   unhonouredKeys({ system_packages: ['ffmpeg'] }, thisMachine());
 *   // [{ path: ['system_packages'], at: ['system_packages'], message: "not installed (Girder runs no apt): …" }]
 */
export function unhonouredKeys(raw: Record<string, unknown>, machine: Machine): Unhonoured[] {
  const out: Unhonoured[] = [];
  for (const [key, rule] of Object.entries(TRUSS_KEY_RULES)) {
    if (!rule.warn) continue;
    const path = key.split('.');
    let value: unknown = raw;
    for (const segment of path)
      value = value && typeof value === 'object' ? (value as Record<string, unknown>)[segment] : undefined;
    if (value === undefined && !rule.whenAbsent) continue;
    const message = rule.warn(value, { machine, raw });
    const at = value === undefined && rule.whenAbsent ? rule.whenAbsent.split('.') : path;
    if (message) out.push({ path, at, message });
  }
  return out;
}
