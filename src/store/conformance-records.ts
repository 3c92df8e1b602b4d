/** Records for the store conformance suite: whole, valid, and small. */
import { DEFAULT_AUTOSCALING, type DeploymentRecord } from '../records/control.ts';
import type { AsyncRequestRecord } from '../records/async.ts';
import type { ModelConfig } from '../records/model-config.ts';
import type { Store } from './store.ts';

export const T0 = '2026-01-01T00:00:00.000Z';

/** A whole config, as the packaging layer would hand it over. */
export function modelConfig(runtime: Partial<ModelConfig['runtime']> = {}): ModelConfig {
  return {
    model_name: 'm',
    description: null,
    model_metadata: {},
    environment_variables: {},
    secrets: {},
    runtime: {
      predict_concurrency: 1,
      streaming_read_timeout: 60,
      predict_timeout_seconds: null,
      health_checks: {
        startup_threshold_seconds: null,
        stop_traffic_threshold_seconds: null,
        restart_threshold_seconds: null,
        restart_check_delay_seconds: null,
      },
      ...runtime,
    },
    docker_server: null,
    model_module_dir: 'model',
    model_class_filename: null,
    model_class_name: 'Model',
    data_dir: 'data',
    resources: {},
    raw: { model_name: 'm' },
  };
}

export function deployment(id: string, modelId: string, extra: Partial<DeploymentRecord> = {}): DeploymentRecord {
  return {
    id,
    modelId,
    name: `deployment-${id}`,
    createdAt: T0,
    isDevelopment: false,
    active: true,
    dir: `/tmp/${id}`,
    config: modelConfig(),
    autoscaling: DEFAULT_AUTOSCALING,
    labels: null,
    ...extra,
  };
}

export function asyncRequest(id: string, extra: Partial<AsyncRequestRecord> = {}): AsyncRequestRecord {
  return {
    id,
    modelId: 'aaaaaaaa',
    deploymentId: 'd000001',
    priority: 1,
    seq: 1,
    webhookEndpoint: 'https://example.com/hook',
    maxTimeInQueueMs: 600_000,
    retry: { max_attempts: 3, initial_delay_ms: 1000, max_delay_ms: 5000 },
    keepOutput: false,
    status: 'QUEUED',
    webhookStatus: 'PENDING',
    attempts: 0,
    notBefore: 0,
    webhookAttempts: 0,
    createdAt: 1000,
    statusAt: 1000,
    errors: [],
    input: '{"x":1}',
    output: null,
    ...extra,
  };
}

/** Runs `fn` on a fresh store from `makeStore`, and closes it whatever happens. */
export const withStore =
  (makeStore: () => Promise<Store>) => (fn: (s: Store) => Promise<void>) => async (): Promise<void> => {
    const store = await makeStore();
    try {
      await fn(store);
    } finally {
      await store.close();
    }
  };
