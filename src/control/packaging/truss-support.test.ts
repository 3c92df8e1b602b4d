import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Machine } from './machine.ts';
import { KNOWN_SECTION_KEYS, TRUSS_TOP_LEVEL_KEYS } from './truss-keys.ts';
import { TRUSS_KEY_RULES, unhonouredKeys } from './truss-support.ts';

const CPU_ONLY: Machine = { cpus: 2, memoryBytes: 8 * 2 ** 30, gpuDevices: [] };
const WITH_GPU: Machine = { ...CPU_ONLY, gpuDevices: ['/dev/nvidia0'] };

const warned = (raw: Record<string, unknown>, machine = CPU_ONLY): string[] =>
  unhonouredKeys(raw, machine).map((u) => u.path.join('.'));

test('every key of Truss schema, top-level and in its sections, is classified', () => {
  const keys = [...TRUSS_TOP_LEVEL_KEYS];
  for (const section of ['runtime', 'resources', 'build', 'docker_server'])
    for (const key of KNOWN_SECTION_KEYS[section]) keys.push(`${section}.${key}`);
  const missing = keys.filter((k) => !TRUSS_KEY_RULES[k]);
  assert.deepEqual(missing, []);
  for (const [key, rule] of Object.entries(TRUSS_KEY_RULES))
    assert.equal(rule.support === 'warned', typeof rule.warn === 'function', `${key}: a warned key has a warning`);
});

test('a config that asks only for what Girder does, or for defaults, gets no warning', () => {
  const raw = {
    model_name: 'My Model v2',
    requirements: ['requests'],
    python_version: 'py311',
    build_commands: ['echo hi'],
    system_packages: [],
    external_package_dirs: [],
    base_image: null,
    resources: { accelerator: null, use_gpu: false },
    runtime: { predict_concurrency: 2, transport: { kind: 'http' }, enable_tracing_data: false },
    live_reload: false,
    apply_library_patches: true,
    model_cache: [],
    trt_llm: null,
    spec_version: '2.0',
  };
  assert.deepEqual(warned(raw), []);
});

test('each key Girder cannot honour is named, with what happens instead', () => {
  const raw = {
    base_image: { image: 'vllm/vllm-openai:v0.6.3' },
    system_packages: ['ffmpeg'],
    resources: { cpu: '4', memory: '16Gi', accelerator: 'A10G', use_gpu: true },
    trt_llm: { build: { base_model: 'llama' } },
    model_cache: [{ repo_id: 'org/model' }],
    live_reload: true,
    runtime: { transport: { kind: 'websocket' } },
    docker_server: { no_build: true },
    requirements: ['openai-whisper'],
  };
  const all = unhonouredKeys(raw, CPU_ONLY);
  assert.deepEqual(
    all.map((u) => u.path.join('.')),
    [
      'base_image',
      'system_packages',
      'resources.cpu',
      'resources.memory',
      'resources.accelerator',
      'resources.use_gpu',
      'runtime.transport',
      'docker_server.no_build',
      'model_cache',
      'trt_llm',
      'live_reload',
      'apply_library_patches',
    ],
  );
  const say = (key: string) => all.find((u) => u.path.join('.') === key)?.message ?? '';
  assert.match(say('resources.accelerator'), /no GPU: the model runs on the CPU \(A10G asked\)/);
  assert.match(say('resources.cpu'), /share this machine's 2 CPUs \(4 asked\)/);
  assert.match(say('resources.memory'), /8 GiB of memory \(16Gi asked\)/);
  assert.match(say('live_reload'), /girder push --watch/);
  assert.match(say('system_packages'), /ffmpeg/);
});

test('on a machine with a GPU, use_gpu is honoured and the accelerator type is not enforced', () => {
  const all = unhonouredKeys({ resources: { accelerator: 'H100:8', use_gpu: true } }, WITH_GPU);
  assert.deepEqual(
    all.map((u) => u.path.join('.')),
    ['resources.accelerator'],
  );
  assert.match(all[0].message, /every GPU of this machine \(\/dev\/nvidia0\).*H100:8/);
});
