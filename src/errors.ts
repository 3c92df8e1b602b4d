/**
 * Every failure Girder reports, in one table: the `error_code` of Baseten's `ErrorResponse`
 * and the HTTP status it travels with (docs/compatibility.md says why each).
 *
 * Throw a `GirderError` anywhere on the request path; the gateway turns it into
 * `{"error", "error_code", "detail"}` with the table's status.
 *
 * @example
 *   throw new GirderError('model_does_not_exist', `No model with id ${id}.`, 'List models with `girder models`.')
 */
export const ERROR_STATUS = {
  client_error: 400,
  unauthorized: 401,
  model_does_not_exist: 404,
  payload_too_large: 413,
  rate_limited: 429,
  application_error: 500,
  model_unavailable: 503,
  model_not_ready: 503,
  timeout: 504,
  insufficient_storage: 507,
  internal_baseten_error: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

/**
 * What to do about an error that was raised without a detail of its own: every ErrorResponse
 * Girder sends tells the caller a next step. A specific detail at the throw site is better.
 */
const DEFAULT_DETAIL: Record<ErrorCode, string> = {
  client_error: 'Fix the request as the error says, then send it again.',
  unauthorized: 'Send a valid key as `Authorization: Api-Key <key>`; `girder keys create` makes one.',
  model_does_not_exist: 'Check the ids and names in the URL; `girder models` lists what exists.',
  payload_too_large: 'Send a smaller body.',
  rate_limited: 'Retry later, when fewer requests are outstanding.',
  application_error: 'The model failed: see its output with `girder logs MODEL`.',
  model_unavailable: 'Retry shortly; `girder models` shows the state of the deployment.',
  model_not_ready: 'Retry shortly; the replicas are starting or busy.',
  timeout: 'Retry, or raise the timeout that expired.',
  insufficient_storage: 'Free space on the disk of the data directory, then push again.',
  internal_baseten_error: "This is a bug in Girder: report it with the answer's x-baseten-request-id.",
};

export interface ErrorResponse {
  error: string;
  error_code: ErrorCode;
  detail?: string;
}

/**
 * Why a request failed, finer than its wire `error_code`: `model_unavailable` alone covers a
 * deactivated deployment, a replica that died, one that cannot start and a server shutting down.
 * Logs and metrics label by it, and a client reads it in the `x-girder-error-reason` header.
 * An error without a reason of its own has its code as reason.
 */
export type ErrorReason =
  | ErrorCode
  /** A valid key used outside its scope (403). */
  | 'forbidden'
  | 'deployment_deactivated'
  | 'deployment_deleted'
  /** The connection to the replica broke mid-request: its process died, or it dropped the connection. */
  | 'replica_lost'
  /** The deployment's replica cannot start: no model file, or it exited before it could serve. */
  | 'replica_cannot_start'
  | 'shutting_down'
  /** The deployment's build is still running (`runtime/build/`). */
  | 'building'
  /** The deployment's build failed: its requirements, package.json or build commands. */
  | 'build_failed'
  /** The model answered, with an error status. */
  | 'model_error'
  /** The model stopped sending a streamed answer for longer than `streaming_read_timeout`. */
  | 'stream_stalled'
  /** As many requests as the gateway lets wait already wait for a slot of the deployment (429). */
  | 'too_many_waiting';

export interface ErrorOptions {
  /** Overrides the table where the code allows several statuses (403, 502, a model's own status). */
  status?: number;
  reason?: ErrorReason;
  /** Seconds after which a retry may succeed: sent as `Retry-After` (every 429 has one). */
  retryAfterSeconds?: number;
}

export class GirderError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Always set: a thrower's detail, or the code's default next step. */
  readonly detail: string;
  readonly reason: ErrorReason;
  readonly retryAfterSeconds: number | undefined;

  constructor(code: ErrorCode, message: string, detail?: string, opts: ErrorOptions = {}) {
    super(message);
    this.code = code;
    this.detail = detail || DEFAULT_DETAIL[code];
    this.status = opts.status ?? ERROR_STATUS[code];
    this.reason = opts.reason ?? code;
    this.retryAfterSeconds = opts.retryAfterSeconds ?? (this.status === 429 ? 1 : undefined);
  }

  toJSON(): ErrorResponse {
    return { error: this.message, error_code: this.code, detail: this.detail };
  }
}

/** Wraps anything thrown into a GirderError; unknown errors become internal_baseten_error. */
export function toGirderError(err: unknown): GirderError {
  if (err instanceof GirderError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new GirderError(
    'internal_baseten_error',
    `Internal error in Girder: ${message}`,
    DEFAULT_DETAIL.internal_baseten_error,
  );
}

/** A valid key used outside its scope: `unauthorized` with 403. */
export function forbidden(message: string, detail?: string): GirderError {
  return new GirderError('unauthorized', message, detail, { status: 403, reason: 'forbidden' });
}

/** A missing thing on the management API, e.g. an unknown deployment id. */
export function notFound(message: string, detail?: string): GirderError {
  return new GirderError('model_does_not_exist', message, detail);
}

export function badRequest(message: string, detail?: string): GirderError {
  return new GirderError('client_error', message, detail);
}
