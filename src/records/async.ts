/** The async request records: what a submit keeps until its status expires. Times are epoch milliseconds. */

export type AsyncStatus = 'QUEUED' | 'IN_PROGRESS' | 'SUCCEEDED' | 'FAILED' | 'EXPIRED' | 'CANCELED' | 'WEBHOOK_FAILED';
export type WebhookStatus = 'PENDING' | 'SUCCEEDED' | 'FAILED' | 'CANCELED' | 'NO_WEBHOOK_PROVIDED';
export type AsyncErrorCode =
  | 'MODEL_PREDICT_ERROR'
  | 'MODEL_PREDICT_TIMEOUT'
  | 'MODEL_NOT_READY'
  | 'MODEL_DOES_NOT_EXIST'
  | 'MODEL_UNAVAILABLE'
  | 'MODEL_INVALID_INPUT'
  | 'ASYNC_REQUEST_NOT_SUPPORTED'
  | 'INTERNAL_SERVER_ERROR';

export interface AsyncError {
  code: AsyncErrorCode;
  message: string;
}

export interface RetryConfig {
  max_attempts: number;
  initial_delay_ms: number;
  max_delay_ms: number;
}

/** What the dispatcher keeps in memory for each active request: everything but the input. */
export interface AsyncRequestHead {
  id: string;
  /** The model called; for a chain's request, its entrypoint chainlet's internal model. */
  modelId: string;
  /** The deployment that runs it; for a chain's request, its entrypoint chainlet's deployment. */
  deploymentId: string;
  /** A chain's request (`async_run_remote`): the chain, which owns it and is named in its status and webhook. */
  chainId?: string;
  /** A chain's request: the chain deployment it was sent to (its `deployment_id` for the caller). */
  chainDeploymentId?: string;
  priority: number;
  /** Arrival order: ties of priority go first come, first served. */
  seq: number;
  webhookEndpoint: string | null;
  maxTimeInQueueMs: number;
  retry: RetryConfig;
  keepOutput: boolean;
  status: AsyncStatus;
  webhookStatus: WebhookStatus;
  /** Model calls started so far. */
  attempts: number;
  /** A retry waits until then. */
  notBefore: number;
  webhookAttempts: number;
  createdAt: number;
  statusAt: number;
  errors: AsyncError[];
}

export interface AsyncRequestRecord extends AsyncRequestHead {
  /** `model_input` as JSON text, exactly as the client sent it. */
  input: string;
  /** The model's answer (raw bytes as text), kept until the webhook is delivered, or longer when `keepOutput`. */
  output: string | null;
}

/** Fields that change as a request moves on. */
export type AsyncRequestPatch = Partial<
  Pick<
    AsyncRequestRecord,
    'status' | 'webhookStatus' | 'attempts' | 'notBefore' | 'webhookAttempts' | 'statusAt' | 'errors' | 'output'
  >
> & { id: string };

export interface WebhookSecretRecord {
  id: string;
  secret: string;
  createdAt: string;
  /** Set on rotation: still valid (signing too) until then. */
  expiresAt: string | null;
}

export const TERMINAL: ReadonlySet<AsyncStatus> = new Set([
  'SUCCEEDED',
  'FAILED',
  'EXPIRED',
  'CANCELED',
  'WEBHOOK_FAILED',
]);
