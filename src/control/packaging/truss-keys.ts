/**
 * The keys of a Truss `config.yaml` that Girder knows of, kept apart from the parser so that following a
 * Truss release is an edit of these lists alone. A key not listed here is kept in `raw` and warned
 * about by `config.ts` (a typo, or a Truss feature Girder does not have).
 */

/** Top-level keys of Truss's `TrussConfig` (the `properties` of its JSON schema). */
export const TRUSS_TOP_LEVEL_KEYS = new Set([
  'model_name',
  'model_metadata',
  'description',
  'examples_filename',
  'data_dir',
  'external_data',
  'external_package_dirs',
  'python_version',
  'base_image',
  'requirements_file',
  'requirements',
  'system_packages',
  'environment_variables',
  'secrets',
  'resources',
  'runtime',
  'build',
  'build_commands',
  'docker_server',
  'model_cache',
  'weights',
  'trt_llm',
  'training_checkpoints',
  'bis_llm',
  'input_type',
  'model_framework',
  'model_type',
  'model_module_dir',
  'model_class_filename',
  'model_class_name',
  'bundled_packages_dir',
  'use_local_src',
  'cache_internal',
  'live_reload',
  'apply_library_patches',
  'spec_version',
]);

/** Known keys of the nested sections: Truss's `$defs` Runtime, HealthChecks, Resources, Build, DockerServer, plus Girder's own. */
export const KNOWN_SECTION_KEYS: Record<string, Set<string>> = {
  runtime: new Set([
    'predict_concurrency',
    'streaming_read_timeout',
    'enable_tracing_data',
    'enable_debug_logs',
    'transport',
    'is_websocket_endpoint',
    'health_checks',
    'oidc',
    'remote_ssh',
    'egress_restrictions',
    'truss_server_version_override',
    'num_workers', // removed by Truss (must be 1), still accepted
    'predict_timeout_seconds', // Girder extension
  ]),
  'runtime.health_checks': new Set([
    'restart_check_delay_seconds',
    'restart_threshold_seconds',
    'stop_traffic_threshold_seconds',
    'startup_threshold_seconds',
  ]),
  resources: new Set(['cpu', 'memory', 'accelerator', 'use_gpu', 'instance_type', 'node_count', 'fabric']),
  build: new Set(['model_server', 'arguments', 'secret_to_path_mapping', 'no_cache']),
  docker_server: new Set([
    'start_command',
    'server_port',
    'predict_endpoint',
    'readiness_endpoint',
    'liveness_endpoint',
    'run_as_user_id',
    'no_build',
  ]),
};
