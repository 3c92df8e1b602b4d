import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, configForReplica, parseModelConfig } from './config.ts';
import { thisMachine } from './machine.ts';

/** Runs `fn`, which must throw a ConfigError, and returns it. */
function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected a ConfigError, nothing was thrown');
}

const TRUSS_CONFIG = `model_name: Llama 3 8B Instruct
description: A chat model
python_version: py311
model_metadata:
  example_model_input:
    prompt: What is the meaning of life?
    max_tokens: 128
  tags: [chat, llm]
requirements:
  - torch==2.3.0
  - transformers==4.41.0
system_packages:
  - ffmpeg
environment_variables:
  HF_HUB_ENABLE_HF_TRANSFER: 1
  LOG_LEVEL: info
secrets:
  hf_access_token: null
resources:
  accelerator: A10G
  cpu: "4"
  memory: 16Gi
  use_gpu: true
runtime:
  predict_concurrency: 16
  streaming_read_timeout: 120
  health_checks:
    startup_threshold_seconds: 600
    stop_traffic_threshold_seconds: 60
    restart_threshold_seconds: 90
`;

const DOCKER_SERVER = `model_name: vllm
base_image:
  image: vllm/vllm-openai:v0.6.3
docker_server:
  start_command: vllm serve meta-llama/Llama-3.1-8B --port 8000
  server_port: 8000
  predict_endpoint: /v1/chat/completions
  readiness_endpoint: /health
  liveness_endpoint: /health
  run_as_user_id: 1000
`;

/** `runtime` when config.yaml says nothing about it. */
const DEFAULT_RUNTIME = {
  predict_concurrency: 1,
  streaming_read_timeout: 60,
  predict_timeout_seconds: null,
  health_checks: {
    startup_threshold_seconds: null,
    stop_traffic_threshold_seconds: null,
    restart_threshold_seconds: null,
    restart_check_delay_seconds: null,
  },
};

test('an empty file is a valid config with every default filled', () => {
  const { config, warnings } = parseModelConfig('');
  assert.deepEqual(warnings, []);
  assert.deepEqual(config, {
    model_name: null,
    description: null,
    model_metadata: {},
    environment_variables: {},
    secrets: {},
    runtime: DEFAULT_RUNTIME,
    docker_server: null,
    model_module_dir: 'model',
    model_class_filename: null,
    model_class_name: 'Model',
    data_dir: 'data',
    resources: {},
    raw: {},
  });
});

test('a comment-only file and empty sections also give the defaults', () => {
  const { config } = parseModelConfig('# nothing yet\nruntime:\nsecrets:\n');
  assert.equal(config.runtime.predict_concurrency, 1);
  assert.deepEqual(config.secrets, {});
});

/** The `file:line: key` each warning starts with. */
const warnedKeys = (warnings: string[]): string[] => warnings.map((w) => w.split(': ').slice(0, 2).join(': '));

test('a full Truss config parses, names each key Girder cannot honour here, and keeps what it does not model', () => {
  const { config, warnings } = parseModelConfig(TRUSS_CONFIG);
  // The requirements are the build's; the machine decides whether use_gpu is honoured (no GPU in CI).
  const gpu = thisMachine().gpuDevices.length > 0;
  assert.deepEqual(warnedKeys(warnings), [
    'config.yaml:12: system_packages',
    'config.yaml:20: resources.accelerator',
    'config.yaml:21: resources.cpu',
    'config.yaml:22: resources.memory',
    ...(gpu ? [] : ['config.yaml:23: resources.use_gpu']),
  ]);
  assert.equal(config.model_name, 'Llama 3 8B Instruct');
  assert.equal(config.description, 'A chat model');
  assert.deepEqual(config.model_metadata, {
    example_model_input: { prompt: 'What is the meaning of life?', max_tokens: 128 },
    tags: ['chat', 'llm'],
  });
  assert.deepEqual(config.environment_variables, { HF_HUB_ENABLE_HF_TRANSFER: '1', LOG_LEVEL: 'info' });
  assert.deepEqual(config.secrets, { hf_access_token: null });
  assert.deepEqual(config.resources, { accelerator: 'A10G', cpu: '4', memory: '16Gi', use_gpu: true });
  assert.deepEqual(config.runtime, {
    predict_concurrency: 16,
    streaming_read_timeout: 120,
    predict_timeout_seconds: null,
    health_checks: {
      startup_threshold_seconds: 600,
      stop_traffic_threshold_seconds: 60,
      restart_threshold_seconds: 90,
      restart_check_delay_seconds: null,
    },
  });
  assert.equal(config.docker_server, null);
  assert.deepEqual(config.raw.requirements, ['torch==2.3.0', 'transformers==4.41.0']);
  assert.equal(config.raw.python_version, 'py311');
});

test('a complete docker_server is normalized; base_image and run_as_user_id stay in raw, with a warning', () => {
  const { config, warnings } = parseModelConfig(DOCKER_SERVER);
  assert.deepEqual(warnedKeys(warnings), ['config.yaml:2: base_image', 'config.yaml:10: docker_server.run_as_user_id']);
  assert.deepEqual(config.docker_server, {
    start_command: 'vllm serve meta-llama/Llama-3.1-8B --port 8000',
    server_port: 8000,
    predict_endpoint: '/v1/chat/completions',
    readiness_endpoint: '/health',
    liveness_endpoint: '/health',
  });
  assert.equal((config.raw.docker_server as Record<string, unknown>).run_as_user_id, 1000);
});

test('a docker_server without start_command is refused, naming the key', () => {
  const text = DOCKER_SERVER.replace(/ {2}start_command: .*\n/, '');
  const err = configError(() => parseModelConfig(text));
  assert.equal(err.key, 'docker_server.start_command');
  assert.equal(err.reason, 'is required');
  assert.equal(err.line, 4); // the `docker_server:` line
  assert.equal(err.message, 'config.yaml:4: docker_server.start_command: is required');
});

test('a docker_server endpoint must start with "/"', () => {
  const err = configError(() =>
    parseModelConfig(DOCKER_SERVER.replace('readiness_endpoint: /health', 'readiness_endpoint: health')),
  );
  assert.equal(err.key, 'docker_server.readiness_endpoint');
  assert.equal(err.line, 8);
});

test('a bad value reports key, line and reason', () => {
  const text = `model_name: demo
environment_variables:
  A: b

# tuning
runtime:
  predict_concurrency: two
`;
  const err = configError(() => parseModelConfig(text, 'my-model/config.yaml'));
  assert.equal(err.key, 'runtime.predict_concurrency');
  assert.equal(err.line, 7);
  assert.equal(err.reason, 'must be an integer >= 1 (got "two")');
  assert.equal(err.message, 'my-model/config.yaml:7: runtime.predict_concurrency: must be an integer >= 1 (got "two")');
});

test('a health check threshold outside 10–3000 is refused', () => {
  const err = configError(() => parseModelConfig('runtime:\n  health_checks:\n    restart_threshold_seconds: 5\n'));
  assert.equal(err.key, 'runtime.health_checks.restart_threshold_seconds');
  assert.equal(err.line, 3);
});

test('a YAML syntax error is a ConfigError with its line', () => {
  const err = configError(() =>
    parseModelConfig('model_name: x\nruntime:\n  predict_concurrency: [1, 2\nresources: {}\n'),
  );
  assert.equal(err.key, '');
  assert.equal(err.line, 4);
  assert.match(err.message, /^config\.yaml:4: invalid YAML: /);
});

test('a line indented under a plain value is named, not the value above it', () => {
  const err = configError(() => parseModelConfig('model_name: x\ndescription: a model\n  runtime: 2\n'));
  assert.equal(err.line, 3);
  assert.match(err.message, /^config\.yaml:3: invalid YAML: this line is indented under line 2/);
});

test('a duplicate key is a syntax error', () => {
  const err = configError(() => parseModelConfig('model_name: a\nmodel_name: b\n'));
  assert.equal(err.line, 2);
});

test('a top level that is not a mapping is refused', () => {
  const err = configError(() => parseModelConfig('- model_name: x\n'));
  assert.equal(err.key, '');
  assert.match(err.reason, /must be a mapping/);
});

test('an unknown top-level key warns with its line and is kept in raw', () => {
  const { config, warnings } = parseModelConfig('model_name: x\n\nmy_setting:\n  a: 1\n');
  assert.deepEqual(warnings, ['config.yaml:3: unknown key "my_setting" (ignored)']);
  assert.deepEqual(config.raw.my_setting, { a: 1 });
});

test('an unknown runtime key warns with its line and is kept in raw', () => {
  const text = 'runtime:\n  predict_concurrency: 2\n  warp_speed: true\n  enable_debug_logs: true\n';
  const { config, warnings } = parseModelConfig(text);
  assert.deepEqual(warnings, ['config.yaml:3: unknown key "runtime.warp_speed" (ignored)']);
  assert.deepEqual(config.raw.runtime, { predict_concurrency: 2, warp_speed: true, enable_debug_logs: true });
});

test('a model_module_dir that leaves the model directory is refused', () => {
  const err = configError(() => parseModelConfig('model_module_dir: ../x\n'));
  assert.equal(err.key, 'model_module_dir');
  assert.equal(err.line, 1);
  assert.match(err.reason, /relative path inside the model directory/);
});

test('absolute data_dir and model_class_filename are refused', () => {
  assert.equal(configError(() => parseModelConfig('data_dir: /var/data\n')).key, 'data_dir');
  assert.equal(
    configError(() => parseModelConfig('model_class_filename: sub/../../m.py\n')).key,
    'model_class_filename',
  );
});

test('environment_variables values become strings, numbers as written, booleans lowercase', () => {
  const text = 'environment_variables:\n  PORT: 8000\n  RATIO: 1.0\n  DEBUG: yes\n  QUIET: false\n  NAME: demo\n';
  const { config } = parseModelConfig(text);
  assert.deepEqual(config.environment_variables, {
    PORT: '8000',
    RATIO: '1.0',
    DEBUG: 'true',
    QUIET: 'false',
    NAME: 'demo',
  });
});

test('a secret name that is not a safe file name is refused', () => {
  const err = configError(() => parseModelConfig('secrets:\n  ../token: null\n'));
  assert.equal(err.key, 'secrets.../token');
  assert.equal(err.line, 2);
});

test('configForReplica writes the normalized config over raw and sets model_class_filename', () => {
  const { config } = parseModelConfig(`${TRUSS_CONFIG}  transport:\n    kind: websocket\nmy_extra: 1\n`);
  const replica = configForReplica(config, 'model.ts');
  assert.equal(replica.model_class_filename, 'model.ts');
  assert.equal(replica.model_module_dir, 'model');
  assert.equal(replica.model_class_name, 'Model');
  assert.equal(replica.data_dir, 'data');
  assert.equal(replica.my_extra, 1);
  assert.equal(replica.python_version, 'py311');
  assert.equal('raw' in replica, false);
  assert.deepEqual(replica.environment_variables, { HF_HUB_ENABLE_HF_TRANSFER: '1', LOG_LEVEL: 'info' });
  assert.deepEqual(replica.runtime, {
    predict_concurrency: 16,
    streaming_read_timeout: 120,
    predict_timeout_seconds: null,
    transport: { kind: 'websocket' },
    health_checks: {
      startup_threshold_seconds: 600,
      stop_traffic_threshold_seconds: 60,
      restart_threshold_seconds: 90,
      restart_check_delay_seconds: null,
    },
  });
  assert.deepEqual(JSON.parse(JSON.stringify(replica)), replica);
});

test('configForReplica fills defaults for an empty config and keeps docker_server extras', () => {
  assert.deepEqual(configForReplica(parseModelConfig('').config, 'model.py').runtime, DEFAULT_RUNTIME);
  const docker = configForReplica(parseModelConfig(DOCKER_SERVER).config, 'model.py').docker_server;
  assert.equal((docker as Record<string, unknown>).run_as_user_id, 1000);
});
