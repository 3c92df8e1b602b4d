/**
 * Every failure Girder reports, in one table: the `error_code` of Baseten's `ErrorResponse`
 * and the HTTP status it travels with (decision 8 of the API notes).
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
  internal_baseten_error: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export interface ErrorResponse {
  error: string;
  error_code: ErrorCode;
  detail?: string;
}

export class GirderError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly detail: string | undefined;

  /** `status` overrides the table where the code allows several (403, 502, a model's own status). */
  constructor(code: ErrorCode, message: string, detail?: string, status?: number) {
    super(message);
    this.code = code;
    this.detail = detail;
    this.status = status ?? ERROR_STATUS[code];
  }

  toJSON(): ErrorResponse {
    const body: ErrorResponse = { error: this.message, error_code: this.code };
    if (this.detail !== undefined) body.detail = this.detail;
    return body;
  }
}

/** Wraps anything thrown into a GirderError; unknown errors become internal_baseten_error. */
export function toGirderError(err: unknown): GirderError {
  if (err instanceof GirderError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new GirderError('internal_baseten_error', 'Internal error in Girder.', message);
}

/** A valid key used outside its scope: `unauthorized` with 403 (decision 8). */
export function forbidden(message: string, detail?: string): GirderError {
  return new GirderError('unauthorized', message, detail, 403);
}

/** A missing thing on the management API, e.g. an unknown deployment id. */
export function notFound(message: string, detail?: string): GirderError {
  return new GirderError('model_does_not_exist', message, detail);
}

export function badRequest(message: string, detail?: string): GirderError {
  return new GirderError('client_error', message, detail);
}
