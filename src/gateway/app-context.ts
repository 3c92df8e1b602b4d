import type { Deployments } from '../control/deployments.ts';
import type { Environments } from '../control/environments.ts';
import type { ChainEnvironments } from '../control/chain-environments.ts';
import type { ChainRegistry } from '../control/chain-registry.ts';
import type { Chains } from '../control/chains.ts';
import type { KeyRing } from '../control/keys.ts';
import type { Sandbox } from '../runtime/sandbox.ts';
import type { Pushes } from '../control/pushes.ts';
import type { Registry } from '../control/registry.ts';
import type { Secrets } from '../control/secrets.ts';
import type { UsageMeter } from '../control/usage.ts';
import type { Autoscaler } from '../runtime/autoscaler/autoscaler.ts';
import type { Builder } from '../runtime/build/builder.ts';
import type { LogBook } from '../runtime/logs.ts';
import type { SandboxMode } from '../runtime/sandbox.ts';
import type { AsyncQueue } from '../queue/queue.ts';
import type { WebhookSecrets } from '../queue/webhook-secrets.ts';
import type { Supervisor } from '../runtime/supervisor.ts';
import { DEFAULT_UID_BASE } from '../runtime/replica-users.ts';

/** Server settings, from `girder serve` flags and environment variables. */
export interface GirderOptions {
  dataDir: string;
  host: string;
  port: number;
  /** Base domain of the host forms `model-{id}.{domain}`. */
  domain: string;
  /** Request bodies above this get 413 (Baseten's edge limit: 100 MB). */
  maxBodyBytes: number;
  /** Largest model directory `girder push` accepts. */
  maxPushBytes: number;
  /**
   * A request head (on the fast path: head and body) that has not all arrived this long after it
   * started gets 408 (60 s).
   */
  headersTimeoutMs: number;
  /**
   * A request body that is being read and gets no byte for this long gets 408 (60 s). Silence
   * while Girder does not read (a request waiting for a slot, a replica slow to take the upload)
   * is not counted, and an upload that keeps flowing is never cut, however long it takes.
   */
  bodyTimeoutMs: number;
  /** Sync predict timeout (1200 s); a deployment may set its own. */
  predictTimeoutSeconds: number;
  /** Probe period of ready replicas. */
  probeIntervalMs: number;
  /** How often the autoscaler samples the load and decides. */
  autoscalerTickMs: number;
  /** Multiplies every duration of the autoscaling settings: 1, except to run tests and benchmarks fast. */
  scalingTimeScale: number;
  /** Sync requests that may wait for a slot of one deployment (at zero, or all busy); beyond, 429 (1,000). */
  maxWaitingRequests: number;
  /** Async submit bodies above this get 413 (256 KiB). */
  asyncMaxBodyBytes: number;
  /** QUEUED + IN_PROGRESS per deployment above this get 429 (100,000). */
  asyncMaxOutstanding: number;
  /** One async model call (MODEL_PREDICT_TIMEOUT after). */
  asyncPredictTimeoutSeconds: number;
  /** Finished async requests stay readable this long (an hour). */
  asyncRetentionSeconds: number;
  /** Keep async outputs for polling by default (a request's keep_output overrides). */
  asyncKeepOutputs: boolean;
  webhookAttempts: number;
  webhookRetryDelayMs: number;
  webhookTimeoutMs: number;
  /** Let webhooks reach loopback and private addresses (off: a key holder could reach internal services). */
  allowPrivateWebhooks: boolean;
  /** A deployment's log file is rotated at this size (64 MiB)… */
  logMaxBytes: number;
  /** …and this many files of it are kept, the current one included (3). */
  logMaxFiles: number;
  /** Replicas in a row that exit before ready, after which a deployment stops trying to start (5; 0: never). */
  maxFailedStarts: number;
  /** How replicas are isolated: bwrap when it works (`auto`), bwrap or refuse to start, or none. */
  sandbox: SandboxMode;
  /** Who replicas run as: `auto` (as root: a user per snapshot), `self`, or a user name or uid. */
  replicaUser: string;
  /** First uid of the per-snapshot users (they take 65,536 from there). */
  replicaUidBase: number;
  /** More host paths every sandbox shows read-only (caches, tools, virtualenvs). */
  sandboxReadOnly: string[];
}

export const DEFAULT_OPTIONS: Omit<GirderOptions, 'dataDir'> = {
  host: '127.0.0.1',
  port: 8080,
  domain: 'localhost',
  maxBodyBytes: 100 * 1000 * 1000,
  maxPushBytes: 10 * 1024 * 1024 * 1024,
  headersTimeoutMs: 60_000,
  bodyTimeoutMs: 60_000,
  predictTimeoutSeconds: 1200,
  probeIntervalMs: 2000,
  autoscalerTickMs: 1000,
  scalingTimeScale: 1,
  maxWaitingRequests: 1000,
  asyncMaxBodyBytes: 256 * 1024,
  asyncMaxOutstanding: 100_000,
  asyncPredictTimeoutSeconds: 3600,
  asyncRetentionSeconds: 3600,
  asyncKeepOutputs: false,
  webhookAttempts: 2,
  webhookRetryDelayMs: 2000,
  webhookTimeoutMs: 10_000,
  allowPrivateWebhooks: false,
  logMaxBytes: 64 * 1024 * 1024,
  logMaxFiles: 3,
  maxFailedStarts: 5,
  sandbox: 'auto',
  replicaUser: 'auto',
  replicaUidBase: DEFAULT_UID_BASE,
  sandboxReadOnly: [],
};

/** What route handlers reach: the planes of one Girder, wired together by `Girder.start`. */
export interface App {
  options: GirderOptions;
  /** What exists, read from memory; the three below change it. */
  registry: Registry;
  deployments: Deployments;
  environments: Environments;
  pushes: Pushes;
  keys: KeyRing;
  /** Chains in memory (chains, chain deployments, chain environments); the two below change them. */
  chainRegistry: ChainRegistry;
  chains: Chains;
  chainEnvironments: ChainEnvironments;
  /** How replicas are isolated; a chain push describes its chain file in it too. */
  sandbox: Sandbox;
  secrets: Secrets;
  logs: LogBook;
  supervisor: Supervisor;
  /** Builds pushes (requirements, npm dependencies, external data) before they deploy. */
  builder: Builder;
  /** Decides each deployment's replica count, and says why. */
  autoscaler: Autoscaler;
  queue: AsyncQueue;
  webhookSecrets: WebhookSecrets;
  /** `/v1` usage per hour, key and model. */
  usage: UsageMeter;
}
