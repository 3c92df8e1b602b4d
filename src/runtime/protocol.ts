/**
 * The replica protocol as Girder speaks it (the whole contract: `runners/PROTOCOL.md`): the paths
 * of Truss's internal server, how a replica's error body reads, and how a runner marks its own errors.
 */

import { type ErrorCode, GirderError } from '../errors.ts';
import { chainError } from './chain-errors.ts';

/** Liveness, readiness and predict of the node and python runners (Truss's server). */
export const RUNNER_PATHS = {
  livenessPath: '/',
  readinessPath: '/v1/models/model',
  predictPath: '/v1/models/model:predict',
} as const;

/**
 * The model's error message from a replica's error body: `{"error": ...}` (Truss), `detail` or
 * `message` (common in custom servers), or the raw text.
 *
 * @example
 *   modelErrorMessage('{"error":"bad input"}') // 'bad input'
 */
export function modelErrorMessage(body: string): string {
  try {
    const parsed = JSON.parse(body);
    const e = parsed?.error ?? parsed?.detail ?? parsed?.message;
    if (typeof e === 'string') return e;
    if (e !== undefined) return JSON.stringify(e);
  } catch {
    /* not JSON */
  }
  return body.trim() || 'The model returned an error without a message.';
}

/** The header a runner marks its own errors with (PROTOCOL.md, "Errors of the runner itself"). */
export const RUNNER_ERROR_HEADER = 'x-girder-runner-error';

/** The only codes a runner may mark its errors with; any other value leaves the answer the model's. */
export type RunnerErrorCode = Extract<ErrorCode, 'client_error' | 'model_does_not_exist' | 'model_not_ready'>;
const RUNNER_ERROR_CODES: ReadonlySet<string> = new Set<RunnerErrorCode>([
  'client_error',
  'model_does_not_exist',
  'model_not_ready',
]);

/**
 * The code of an answer the runner itself sent, from its `x-girder-runner-error` header, or
 * undefined for an answer of the model's.
 *
 * @example
 *   runnerErrorCode(headers['x-girder-runner-error']) // 'client_error' for invalid JSON, undefined for a model's 500
 */
export function runnerErrorCode(value: string | string[] | undefined): RunnerErrorCode | undefined {
  return typeof value === 'string' && RUNNER_ERROR_CODES.has(value) ? (value as RunnerErrorCode) : undefined;
}

/**
 * A runner's own error answer as the GirderError the client gets: its code, its `error` and
 * `detail`, and its status (the code's own when the runner sent no error status).
 *
 * @example
 *   runnerError('client_error', 400, '{"error":"Invalid JSON payload: …","error_code":"client_error","detail":"…"}')
 */
export function runnerError(code: RunnerErrorCode, status: number, body: string): GirderError {
  let parsed: { error?: unknown; detail?: unknown } = {};
  try {
    parsed = JSON.parse(body) ?? {};
  } catch {
    /* a runner that broke the contract's body: the code and status still hold */
  }
  const error =
    typeof parsed.error === 'string' && parsed.error ? parsed.error : `The model's runner refused the request.`;
  const detail = typeof parsed.detail === 'string' ? parsed.detail : undefined;
  return new GirderError(code, error, detail, { status: status >= 400 && status <= 599 ? status : undefined });
}

/**
 * The error a replica's non-2xx answer becomes, from its (at most 64 KiB of) body: the runner's own
 * error when it marked it (`code`), else the model's `application_error`, with the model's status
 * (500 for a non-error status) and where its traceback is.
 *
 * @example
 *   errorAnswer(undefined, 422, '{"error":"text is required"}', () => 'See `girder logs`.')
 *   // → GirderError application_error 422 "text is required"
 */
export function errorAnswer(
  code: RunnerErrorCode | undefined,
  status: number,
  body: string,
  logsHint: () => string,
): GirderError {
  if (code) return runnerError(code, status, body);
  const chain = chainError(status, body);
  if (chain) return chain;
  return new GirderError(
    'application_error',
    modelErrorMessage(body),
    `The model answered HTTP ${status}. ${logsHint()}`,
    {
      status: status < 400 ? 500 : status,
      reason: 'model_error',
    },
  );
}
